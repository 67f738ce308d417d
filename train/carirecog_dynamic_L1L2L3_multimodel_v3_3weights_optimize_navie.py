"""The original script carirecog_dynamic_L1L2L3_multimodel_v3_3weights_optimize_navie.py: train/train.py with --dataset cavi --task_weighting naive preset."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cari_mtl.commands.train import run  # noqa: E402

if __name__ == "__main__":
    run({"dataset": "cavi", "task_weighting": "naive"})

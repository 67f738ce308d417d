"""The original script webcari_naivedynamic_L1L2L3_multimodel_v3_3weights_optimize_onelayer.py: train/train.py with --dataset webcari --task_weighting naive preset."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cari_mtl.commands.train import run  # noqa: E402

if __name__ == "__main__":
    run({"dataset": "webcari", "task_weighting": "naive"})

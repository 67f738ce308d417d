"""Train the dynamic multi-task photo-caricature network; see --help and README "Training"."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cari_mtl.commands.train import run  # noqa: E402

if __name__ == "__main__":
    run()

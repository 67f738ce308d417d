"""Train the dynamic multi-task photo-caricature network; see --help and README "Training"."""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.train import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

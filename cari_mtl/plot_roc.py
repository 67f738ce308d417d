"""`python -m cari_mtl.plot_roc`: the command lives in cari_mtl.commands.plot_roc."""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.plot_roc import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

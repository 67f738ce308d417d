"""`python -m cari_mtl.convert_checkpoint`: the command lives in cari_mtl.commands.convert_checkpoint."""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.convert_checkpoint import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

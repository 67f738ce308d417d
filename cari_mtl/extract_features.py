"""`python -m cari_mtl.extract_features`: the command lives in cari_mtl.commands.extract_features."""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.extract_features import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

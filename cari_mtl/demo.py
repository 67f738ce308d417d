"""`python -m cari_mtl.demo`: the command lives in cari_mtl.commands.demo."""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.demo import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

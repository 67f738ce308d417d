"""`python -m cari_mtl.export`: the command lives in cari_mtl.commands.export."""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.export import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

"""Photo-caricature verification on CaVI test pairs (the original's evaluate_cavi.py).

The command lives in cari_mtl.commands.evaluate_cavi; `--help` lists its flags.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.evaluate_cavi import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

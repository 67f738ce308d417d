"""Photo-caricature verification on a WebCaricature protocol file (the original's evaluate_webcavi.py).

The command lives in cari_mtl.commands.evaluate_webcavi; `--help` lists its flags.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.evaluate_webcavi import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

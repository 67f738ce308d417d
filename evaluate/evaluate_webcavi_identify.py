"""Caricature/photo identification on WebCaricature (the original's evaluate_webcavi_identify.py).

The command lives in cari_mtl.commands.evaluate_webcavi_identify; `--help` lists its flags.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.evaluate_webcavi_identify import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

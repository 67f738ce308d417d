"""Photo-caricature verification on a WebCaricature protocol file (the original's evaluate_webcavi.py).

The code is `cari_mtl.evaluate_webcavi`,
also installed as the console script `cari-evaluate-webcavi`; see --help.
"""

import sys

from cari_mtl.cli import run_cli
from cari_mtl.evaluate_webcavi import main  # noqa: F401

if __name__ == "__main__":
    sys.exit(run_cli(main))

"""Photo-caricature verification on CaVI test pairs (the original's evaluate_cavi.py).

The code is `cari_mtl.evaluate_cavi`,
also installed as the console script `cari-evaluate-cavi`; see --help.
"""

import sys

from cari_mtl.cli import run_cli
from cari_mtl.evaluate_cavi import main  # noqa: F401

if __name__ == "__main__":
    sys.exit(run_cli(main))

"""Caricature/photo identification on WebCaricature (the original's evaluate_webcavi_identify.py).

The code is `cari_mtl.evaluate_webcavi_identify`,
also installed as the console script `cari-evaluate-webcavi-identify`; see --help.
"""

import sys

from cari_mtl.cli import run_cli
from cari_mtl.evaluate_webcavi_identify import main, protocol_folds  # noqa: F401

if __name__ == "__main__":
    sys.exit(run_cli(main))

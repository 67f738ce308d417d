"""Crops WebCaricature faces with the box of their landmarks (the original's get_faces_webcari.py).

The code is `cari_mtl.crop_webcaricature`,
also installed as the console script `cari-crop-webcari`; see --help.
"""

import sys

from cari_mtl.cli import run_cli
from cari_mtl.crop_webcaricature import main  # noqa: F401

if __name__ == "__main__":
    sys.exit(run_cli(main))

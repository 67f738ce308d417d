"""MTCNN face alignment of an identity-folder tree (the original's align_ext/face_detect_mtcnn.py).

The code is `cari_mtl.align_dataset_mtcnn`,
also installed as the console script `cari-align`; see --help.
"""

import sys

from cari_mtl.cli import run_cli
from cari_mtl.align_dataset_mtcnn import main  # noqa: F401

if __name__ == "__main__":
    sys.exit(run_cli(main))

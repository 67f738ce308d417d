"""Detects, crops and resizes the face of every image of an identity-folder tree with MTCNN
(the original's align_ext/face_detect_mtcnn.py).

The command lives in cari_mtl.commands.align_dataset_mtcnn; `--help` lists its flags.
"""

import sys

from cari_mtl.commands.align_dataset_mtcnn import main
from cari_mtl.commands.cli import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))

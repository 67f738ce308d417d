"""Crops the faces of WebCaricature's OriginalImages with the box of their FacialPoints landmarks
(the original's get_faces_webcari.py).

The command lives in cari_mtl.commands.crop_webcaricature; `--help` lists its flags.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.crop_webcaricature import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

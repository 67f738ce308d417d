r"""Crops the faces of WebCaricature's OriginalImages with the box of their FacialPoints landmarks
(the original's get_faces_webcari.py).

    python align/crop_webcaricature.py --images_dir WebCaricature/OriginalImages \
        --points_dir WebCaricature/FacialPoints --output_dir WebCaricature/FaceDetected

The box spans the 17 landmarks, scaled around its centre (1.5 x wide, 1.2 x high) and clipped to
the image. Writes <output_dir>/<identity>/<name>.jpg (not resized), the boxes to
<output_dir>/bounding_boxes.txt and images without landmarks to <output_dir>/failed_images.txt.
Run the same command again to resume an interrupted run.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.crop_webcaricature import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

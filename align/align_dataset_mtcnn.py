r"""Detects, crops and resizes the face of every image of an identity-folder tree with MTCNN
(the original's align_ext/face_detect_mtcnn.py).

    python align/align_dataset_mtcnn.py --input_dir CaVI_Dataset/Real --output_dir Real_182 \
        [--image_size 182 --margin 44]

Writes <output_dir>/<same folders>/<image name>.png, appends boxes and landmarks to
<output_dir>/bounding_boxes.txt and lists images without a face (or unreadable) in
<output_dir>/failed_images.txt. Run the same command again to resume an interrupted run.
"""

import sys

from cari_mtl.commands.align_dataset_mtcnn import main
from cari_mtl.commands.cli import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(main))

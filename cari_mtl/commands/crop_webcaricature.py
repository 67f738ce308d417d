r"""Crops the faces of WebCaricature's OriginalImages with the box of their FacialPoints landmarks
(the original's get_faces_webcari.py).

    python align/crop_webcaricature.py --images_dir WebCaricature/OriginalImages \
        --points_dir WebCaricature/FacialPoints --output_dir WebCaricature/FaceDetected

The box spans the 17 landmarks, scaled around its centre (1.5 x wide, 1.2 x high) and clipped to
the image. Writes <output_dir>/<identity>/<name>.jpg (not resized), the boxes to
<output_dir>/bounding_boxes.txt and images without landmarks to <output_dir>/failed_images.txt.
Run the same command again to resume an interrupted run.
"""

import argparse
import sys
from pathlib import Path

from cari_mtl.alignment.image_jobs import FAILURES_FILE
from cari_mtl.alignment.webcari_crop import SCALE_HORIZONTAL, SCALE_VERTICAL, crop_webcaricature


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images_dir", required=True, help="WebCaricature's OriginalImages: <identity>/<name>.jpg.")
    parser.add_argument("--points_dir", required=True, help="WebCaricature's FacialPoints: <identity>/<name>.txt.")
    parser.add_argument("--output_dir", required=True, help="Directory for the face crops (created).")
    parser.add_argument("--scale_horizontal", type=float, default=SCALE_HORIZONTAL,
                        help="Width of the box relative to the landmarks' extent (default %(default)s).")
    parser.add_argument("--scale_vertical", type=float, default=SCALE_VERTICAL,
                        help="Height of the box relative to the landmarks' extent (default %(default)s).")
    parser.add_argument("--retry_failed", action="store_true",
                        help="Try again the images listed in failed_images.txt by an earlier run.")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    summary = crop_webcaricature(
        args.images_dir,
        args.points_dir,
        args.output_dir,
        scale_horizontal=args.scale_horizontal,
        scale_vertical=args.scale_vertical,
        retry_failed=args.retry_failed,
    )
    print(summary.describe())
    if summary.nothing_done():
        raise ValueError(f"no image was written to {args.output_dir}: {summary.failed} of {summary.total} failed "
                         f"(reasons in {Path(args.output_dir) / FAILURES_FILE})")
    return 0


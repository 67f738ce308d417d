r"""Detects, crops and resizes the face of every image of an identity-folder tree with MTCNN
(the original's align_ext/face_detect_mtcnn.py).

    python align/align_dataset_mtcnn.py --input_dir CaVI_Dataset/Real --output_dir Real_182 \
        [--image_size 182 --margin 44]

Writes <output_dir>/<same folders>/<image name>.png, appends boxes and landmarks to
<output_dir>/bounding_boxes.txt and lists images without a face (or unreadable) in
<output_dir>/failed_images.txt. Run the same command again to resume an interrupted run.
"""

import argparse
import sys
from pathlib import Path

from cari_mtl.alignment.image_jobs import FAILURES_FILE
from cari_mtl.alignment.mtcnn_align import DEFAULT_IMAGE_SIZE, DEFAULT_MARGIN, FaceDetector, align_dataset


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input_dir", required=True, help="Directory with unaligned images, one folder per identity.")
    parser.add_argument("--output_dir", required=True, help="Directory for the aligned face thumbnails (created).")
    parser.add_argument("--image_size", type=int, default=DEFAULT_IMAGE_SIZE,
                        help="Side of the square output image in pixels (default %(default)s).")
    parser.add_argument("--margin", type=int, default=DEFAULT_MARGIN,
                        help="Pixels added around the detected box, half on each side (default %(default)s).")
    parser.add_argument("--retry_failed", action="store_true",
                        help="Try again the images listed in failed_images.txt by an earlier run.")
    parser.add_argument("--device", default="CPU:0",
                        help="TensorFlow device for MTCNN, e.g. GPU:0 (default %(default)s).")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    summary = align_dataset(
        args.input_dir,
        args.output_dir,
        image_size=args.image_size,
        margin=args.margin,
        detector=FaceDetector(device=args.device),
        retry_failed=args.retry_failed,
    )
    print(summary.describe())
    if summary.nothing_done():
        raise ValueError(f"no image was written to {args.output_dir}: {summary.failed} of {summary.total} failed "
                         f"(reasons in {Path(args.output_dir) / FAILURES_FILE})")
    return 0


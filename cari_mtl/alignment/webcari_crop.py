"""WebCaricature face crops from its 17 facial points (the original's get_faces_webcari.py, PORTING A7).

The box spans the landmarks, scaled 1.5 x horizontally and 1.2 x vertically around their centre
and clipped to the image; the crop is saved as JPEG without resizing. Integer truncation follows
the original step by step so that the boxes are the same pixels.
"""

from pathlib import Path

import cv2
import numpy as np

from cari_mtl.alignment.image_jobs import (
    FAILURES_FILE,
    FailureLog,
    ImageFailed,
    check_output_outside_input,
    list_images,
    run_image_jobs,
    write_atomically,
)
from cari_mtl.runtime.output_dirs import require_writable_dir

SCALE_HORIZONTAL = 1.5
SCALE_VERTICAL = 1.2
BOXES_FILE = "bounding_boxes.txt"


def read_landmarks(path):
    """[n, 2] int (x, y) from a FacialPoints file: one `x y` a line (floats, maybe 1e+02 notation,
    CRLF endings), truncated to int as the original's int(float(v))."""
    path = Path(path)
    if not path.is_file():
        raise ImageFailed(f"landmark file {path} is missing")
    points = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            if len(fields) != 2:
                raise ValueError
            points.append([int(float(fields[0])), int(float(fields[1]))])
        except ValueError:
            raise ImageFailed(f"{path} line {number}: expected `x y`, got {line!r}") from None
    if not points:
        raise ImageFailed(f"landmark file {path} holds no points")
    return np.asarray(points, dtype=np.int64)


def landmark_box(points, image_shape, scale_horizontal=SCALE_HORIZONTAL, scale_vertical=SCALE_VERTICAL):
    """(x1, y1, x2, y2) ints of the scaled landmark box, clipped to the [H, W] image."""
    height, width = image_shape[:2]
    x_min, y_min = (int(v) for v in points.min(axis=0))
    x_max, y_max = (int(v) for v in points.max(axis=0))
    x_centre, y_centre = int((x_min + x_max) / 2), int((y_min + y_max) / 2)
    half_width = int((x_max - x_min) * scale_horizontal / 2)
    half_height = int((y_max - y_min) * scale_vertical / 2)
    return (
        max(0, x_centre - half_width),
        max(0, y_centre - half_height),
        min(width, x_centre + half_width),
        min(height, y_centre + half_height),
    )


def crop_webcaricature(
    images_dir,
    points_dir,
    output_dir,
    scale_horizontal=SCALE_HORIZONTAL,
    scale_vertical=SCALE_VERTICAL,
    retry_failed=False,
    progress=True,
):
    """Crops images_dir/<id>/<name>.jpg with points_dir/<id>/<name>.txt to output_dir/<id>/<name>.jpg.

    Boxes go to output_dir/bounding_boxes.txt (`<output> x1 y1 x2 y2`); images without a usable
    landmark file or with an empty box are listed in output_dir/failed_images.txt. Done images are
    skipped, so the run resumes. Returns a JobSummary.
    """
    images_dir, points_dir, output_dir = Path(images_dir), Path(points_dir), Path(output_dir)
    if not points_dir.is_dir():
        raise NotADirectoryError(f"landmark directory {points_dir} does not exist (WebCaricature's FacialPoints)")
    check_output_outside_input(images_dir, output_dir)
    relatives = list_images(images_dir)
    require_writable_dir(output_dir, "--output_dir")
    failures = FailureLog(output_dir / FAILURES_FILE, retry_failed=retry_failed)

    def process(relative, target):
        image = cv2.imread(str(images_dir / relative))
        if image is None:
            raise ImageFailed("unreadable image")
        points = read_landmarks(points_dir / relative.with_suffix(".txt"))
        box = landmark_box(points, image.shape, scale_horizontal, scale_vertical)
        face = image[box[1] : box[3], box[0] : box[2]]
        if face.size == 0:
            raise ImageFailed(f"empty landmark box {box}")
        write_atomically(target, lambda path: _write_jpeg(path, face))
        with open(output_dir / BOXES_FILE, "a", encoding="utf-8") as handle:
            handle.write(f"{target.relative_to(output_dir)} {' '.join(map(str, box))}\n")

    return run_image_jobs(
        relatives,
        lambda relative: output_dir / relative.with_suffix(".jpg"),
        process,
        failures,
        "cropping",
        progress,
    )


def _write_jpeg(path, image):
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
        raise OSError(f"cannot write {path}")

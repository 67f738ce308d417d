"""MTCNN face alignment of an identity-folder tree (the original's align_ext/face_detect_mtcnn.py, PORTING A1-A6).

Detection uses the `mtcnn` package (its weights ship with it) with the original's parameters; the
face closest to the centre and largest is kept, enlarged by margin/2 per side, clipped to the image,
cropped and resized bilinearly (PIL, as scipy's removed `misc.imresize` did) to a square PNG.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cari_mtl.alignment.image_jobs import (
    FAILURES_FILE,
    FailureLog,
    ImageFailed,
    check_output_outside_input,
    list_images,
    run_image_jobs,
    write_atomically,
)
from cari_mtl.images.eval_loader import read_rgb
from cari_mtl.runtime.output_dirs import require_writable_dir

MIN_FACE_SIZE = 20
THRESHOLDS = (0.6, 0.7, 0.7)
SCALE_FACTOR = 0.709
DEFAULT_IMAGE_SIZE = 182
DEFAULT_MARGIN = 44
BOXES_FILE = "bounding_boxes.txt"


@dataclass
class Faces:
    """Detections of one image: boxes [n, 4] float (x1, y1, x2, y2), scores [n],
    landmarks [n, 10] (x of the 5 points, then y), as the original's detect_face returned them."""

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray


@dataclass
class AlignedFace:
    """The crop [image_size, image_size, 3] uint8, its box with margin (int x1, y1, x2, y2) and the
    chosen detection's score and landmarks."""

    image: np.ndarray
    box: tuple
    score: float
    landmarks: np.ndarray


class FaceDetector:
    """The MTCNN cascade with minsize 20, thresholds [0.6, 0.7, 0.7] and factor 0.709.

    Building it loads three networks (seconds), so build one and reuse it for every image.
    """

    def __init__(self, device="CPU:0"):
        from mtcnn import MTCNN

        self._mtcnn = MTCNN(stages="face_and_landmarks_detection", device=device)
        self._options = dict(
            min_face_size=MIN_FACE_SIZE,
            threshold_pnet=THRESHOLDS[0],
            threshold_rnet=THRESHOLDS[1],
            threshold_onet=THRESHOLDS[2],
            scale_factor=SCALE_FACTOR,
        )

    def detect(self, image):
        """Faces of an RGB uint8 [H, W, 3] image; boxes are not clipped to the image (as the original)."""
        rows = self._mtcnn.detect_faces(
            image, fit_to_image=False, box_format="xyxy", output_type="numpy", **self._options
        )
        rows = np.asarray(rows, dtype=np.float64)
        if len(rows) == 0:
            return Faces(boxes=np.zeros((0, 4)), scores=np.zeros(0), landmarks=np.zeros((0, 10)))
        return Faces(boxes=rows[:, 1:5], scores=rows[:, 5], landmarks=rows[:, 6:16])


def select_face(boxes, image_shape):
    """Index of the box maximising area - 2 x squared distance of its centre from the image centre."""
    boxes = np.asarray(boxes, dtype=np.float64)
    height, width = image_shape[:2]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    offset_x = (boxes[:, 0] + boxes[:, 2]) / 2 - width / 2
    offset_y = (boxes[:, 1] + boxes[:, 3]) / 2 - height / 2
    return int(np.argmax(areas - 2.0 * (offset_x**2 + offset_y**2)))


def margin_box(box, margin, image_shape):
    """(x1, y1, x2, y2) ints: box grown by margin/2 on each side, clipped, truncated as int32 did."""
    height, width = image_shape[:2]
    x1, y1, x2, y2 = box
    half = margin / 2
    return (
        int(max(x1 - half, 0)),
        int(max(y1 - half, 0)),
        int(min(x2 + half, width)),
        int(min(y2 + half, height)),
    )


def resize_bilinear(image, image_size):
    """[image_size, image_size, 3] uint8 by PIL's bilinear filter (antialiased when shrinking)."""
    resized = Image.fromarray(image).resize((image_size, image_size), resample=Image.BILINEAR)
    return np.asarray(resized)


def to_rgb_uint8(image, source="image"):
    """Grayscale and 4-channel inputs become RGB (alpha dropped), as the original's img[:, :, 0:3]."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ImageFailed(f"{source} is {image.dtype}, only 8-bit images are supported")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        hint = " (channels first? transpose it to [H, W, C])" if image.ndim == 3 and image.shape[0] in (1, 3, 4) else ""
        raise ImageFailed(f"{source} has shape {image.shape}, expected [H, W], [H, W, 3] or [H, W, 4]{hint}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageFailed(f"{source} is empty (shape {image.shape}): it holds no pixel")
    return np.ascontiguousarray(image[:, :, :3])


def align_face(image, detector, image_size=DEFAULT_IMAGE_SIZE, margin=DEFAULT_MARGIN):
    """The aligned face of an RGB image (gray or RGBA accepted), or None when no face is found."""
    image = to_rgb_uint8(image)
    faces = detector.detect(image)
    if len(faces.scores) == 0:
        return None
    index = select_face(faces.boxes, image.shape) if len(faces.scores) > 1 else 0
    box = margin_box(faces.boxes[index], margin, image.shape)
    crop = image[box[1] : box[3], box[0] : box[2]]
    if crop.size == 0:
        return None
    return AlignedFace(
        image=resize_bilinear(crop, image_size),
        box=box,
        score=float(faces.scores[index]),
        landmarks=faces.landmarks[index],
    )


def align_dataset(
    input_dir,
    output_dir,
    image_size=DEFAULT_IMAGE_SIZE,
    margin=DEFAULT_MARGIN,
    detector=None,
    retry_failed=False,
    progress=True,
):
    """Aligns every image under input_dir to output_dir/<same folders>/<stem>.png.

    Images without a face or that cannot be read are listed in output_dir/failed_images.txt; boxes
    and landmarks of the aligned ones are appended to output_dir/bounding_boxes.txt. Already aligned
    or listed images are skipped, so a stopped run resumes where it was (retry_failed re-tries the
    listed ones). Returns a JobSummary.
    """
    if image_size < 1 or margin < 0:
        raise ValueError(f"--image_size must be >= 1 and --margin >= 0 (got {image_size}, {margin})")
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    check_output_outside_input(input_dir, output_dir)
    relatives = list_images(input_dir)
    require_writable_dir(output_dir, "--output_dir")
    failures = FailureLog(output_dir / FAILURES_FILE, retry_failed=retry_failed)
    detector = detector or FaceDetector()

    def process(relative, target):
        try:
            image = read_rgb(input_dir / relative)
        except ValueError as error:
            raise ImageFailed(f"unreadable: {error}") from error
        aligned = align_face(image, detector, image_size, margin)
        if aligned is None:
            raise ImageFailed("no face found")
        write_atomically(target, lambda path: Image.fromarray(aligned.image).save(path, format="PNG"))
        append_box(output_dir / BOXES_FILE, target.relative_to(output_dir), aligned)

    return run_image_jobs(
        relatives,
        lambda relative: output_dir / relative.with_suffix(".png"),
        process,
        failures,
        "aligning",
        progress,
    )


def append_box(path, relative_output, aligned):
    """`<output> x1 y1 x2 y2 score lx1..lx5 ly1..ly5`: the original's two lines per image on one."""
    numbers = " ".join(f"{value:.2f}" for value in aligned.landmarks)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{relative_output} {' '.join(map(str, aligned.box))} {aligned.score:.6f} {numbers}\n")

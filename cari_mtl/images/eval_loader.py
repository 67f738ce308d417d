"""The original evaluation loader (facenet_ext.load_data): RGB, standardise, then cv2.resize.

The original only prewhitens; `fixed` is the standardisation FaceNet's 2018 checkpoints were trained
with (PORTING D13).
"""

from pathlib import Path

import cv2
import numpy as np

from cari_mtl.images.options import STANDARDIZATIONS
from cari_mtl.images.orientation import orientation_of, upright


def prewhiten(image):
    """(x - mean) / max(std, 1/sqrt(N)) over the whole image, in float64 like numpy in the original."""
    image = np.asarray(image, dtype=np.float64)
    std_adjusted = max(image.std(), 1.0 / np.sqrt(image.size))
    return (image - image.mean()) / std_adjusted


def fixed_standardization(image):
    """(x - 127.5) / 128, FaceNet's `fixed_image_standardization`."""
    return (np.asarray(image, dtype=np.float64) - 127.5) / 128.0


def standardize(image, method="prewhiten"):
    """The --image_standardization choice applied to an RGB image, as float64."""
    if method == "prewhiten":
        return prewhiten(image)
    if method == "fixed":
        return fixed_standardization(image)
    raise ValueError(f"unknown image standardization {method!r}; choose one of {', '.join(STANDARDIZATIONS)}")


def read_rgb(path):
    """Decodes an image file to RGB uint8 [H, W, 3], upright by its EXIF orientation (PORTING D16);
    grayscale is repeated, alpha dropped."""
    if Path(path).is_dir():
        raise IsADirectoryError(f"{path} is a directory, not an image file")
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} not found")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(upright(image, orientation_of(data)))


def load_eval_image(path, image_size, standardization="prewhiten"):
    """[image_size, image_size, 3] float32, standardised before the (bilinear) resize."""
    return prepare_eval_image(read_rgb(path), image_size, standardization)


def prepare_eval_image(image, image_size, standardization="prewhiten"):
    """An RGB uint8 [H, W, 3] image as the loader makes a decoded file: standardise, then resize."""
    image = standardize(image, standardization)
    return cv2.resize(image, (image_size, image_size), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def load_eval_batch(paths, image_size, standardization="prewhiten"):
    """[len(paths), image_size, image_size, 3] float32."""
    batch = np.zeros((len(paths), image_size, image_size, 3), dtype=np.float32)
    for index, path in enumerate(paths):
        batch[index] = load_eval_image(path, image_size, standardization)
    return batch

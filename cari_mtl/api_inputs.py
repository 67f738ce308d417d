"""The API's inputs checked up front, each refusal one sentence saying what was given and what to pass.

Accepted images: a path (str or os.PathLike; a folder stands for its image files, sorted), an RGB uint8
[H, W, 3] array (gray [H, W] / [H, W, 1] and RGBA [H, W, 4] too), an [N, H, W, C] array, a PIL image, or a
list / tuple of these. Refused:
bytes (a path or encoded image? pass a str path or a decoded array) and tensors of a framework (pass
`tensor.numpy()`), rather than being iterated or tested for truth by accident.
"""

import math
import numbers
import os

import numpy as np

from cari_mtl.alignment.image_jobs import ImageFailed
from cari_mtl.alignment.mtcnn_align import to_rgb_uint8
from cari_mtl.images.image_files import image_files


def image_list(images, name="images"):
    """A list of file paths (str) and RGB uint8 [H, W, 3] arrays from any accepted form of `images`."""
    if _is_path(images):
        path = os.fspath(images)
        return image_files(path) if os.path.isdir(path) else [path]
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            return [_rgb(image, f"{name}[{i}]") for i, image in enumerate(images)]
        return [_rgb(images, name)]
    single = _single_image(images, name)
    if single is not None:
        return [single]
    if not isinstance(images, (list, tuple)):
        raise TypeError(f"{name} is a {type(images).__name__}: pass a path, an RGB uint8 array, a PIL image, or "
                        f"a list of them")
    return [_item(item, f"{name}[{i}]") for i, item in enumerate(images)]


def _item(item, name):
    if _is_path(item):
        return os.fspath(item)
    if isinstance(item, np.ndarray):
        return _rgb(item, name)
    single = _single_image(item, name)
    if single is None:
        raise TypeError(f"{name} is a {type(item).__name__}: pass a path (str or os.PathLike), an RGB uint8 "
                        f"array or a PIL image")
    return single


def _single_image(value, name):
    """A PIL image as an RGB array; bytes and framework tensors refused; None for anything else."""
    if isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} is bytes: pass a path as str (e.g. path.decode()) or a decoded image as an "
                        f"RGB uint8 array")
    if hasattr(value, "numpy") and hasattr(value, "shape") and not isinstance(value, np.ndarray):
        raise TypeError(f"{name} is a {type(value).__name__} tensor: pass tensor.numpy() (RGB uint8) instead")
    if hasattr(value, "convert") and hasattr(value, "mode") and hasattr(value, "size"):  # a PIL image
        return _rgb(np.asarray(value.convert("RGB")), name)
    return None


def _is_path(value):
    return isinstance(value, (str, os.PathLike))


def _rgb(image, name):
    try:
        return to_rgb_uint8(image, name)
    except ImageFailed as error:
        raise ValueError(f"{error}: pass RGB uint8 [H, W, 3] arrays or file paths") from None


def check_count(value, name):
    """An integer >= 1 (Python or numpy integer, not bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
    return int(value)


SMALL_IMAGE_SIDE = 32  # pixels: a smaller image is upsampled beyond recognition (warned about, README "Using")


class NoThreshold(ValueError):
    """`verify` was given no threshold and the model has none (no model card, no metrics)."""


class NoEmbedding(ValueError):
    """An image has no embedding (unreadable, no face): `path` (or None for an array) and `reason`."""

    def __init__(self, message, path, reason):
        super().__init__(message)
        self.path, self.reason = path, reason


def check_threshold(value):
    """A finite number >= 0 (distances are squared L2: a NaN or negative threshold would call every pair,
    an image and itself included, different)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"threshold must be a number (or a metrics.json path), got {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"threshold must be a finite number >= 0 (a squared L2 distance), got {value}: pass the "
                         f"best_threshold of a verification run")
    return float(value)


def image_side(item):
    """The smaller side in pixels of a path's image (read from its header) or of an array; None if unknown."""
    if isinstance(item, np.ndarray):
        return min(item.shape[:2])
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(item) as image:
            return min(image.size)
    except (OSError, UnidentifiedImageError):
        return None


def check_labels(labels, count):
    """`labels` as a 1-D array with one label per gallery image; a gallery must hold at least one image."""
    if count == 0:
        raise ValueError("the gallery is empty: pass at least one gallery image with its label")
    if labels is None:
        raise TypeError(f"gallery_labels is None: pass one label per gallery image ({count}), or as the gallery "
                        f"a Gallery, a saved gallery .npz or a folder of <identity>/<image> files")
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"gallery_labels must be a flat list of {count} labels, got shape {array.shape}")
    if len(array) != count:
        raise ValueError(f"{count} gallery images but {len(array)} gallery labels")
    return array

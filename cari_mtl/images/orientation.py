"""EXIF orientation: a camera JPEG stores its pixels as the sensor saw them and says in its EXIF
how to turn them upright (PORTING D16). The original's readers ignore it, so a portrait photo taken
with a turned phone reaches the network on its side.

orientation_of(contents) reads the tag (1-8, 1 when absent) without decoding the pixels;
upright(image, orientation) applies it to an [H, W, C] array as PIL's ImageOps.exif_transpose does.
"""

import io

import numpy as np

ORIENTATION_TAG = 0x0112
EXIF_SEARCH_BYTES = 1 << 16  # the APP1 (EXIF) segment comes first in a JPEG, within its first 64 KiB


def orientation_of(contents):
    """The EXIF orientation (1-8) of encoded image bytes (bytes or a uint8 array); 1 for non-JPEG data, no
    EXIF or a damaged one."""
    head = bytes(contents[:EXIF_SEARCH_BYTES])
    if head[:2] != b"\xff\xd8" or b"Exif" not in head:
        return 1
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(bytes(contents))) as image:
            value = image.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return 1
    return int(value) if value in range(1, 9) else 1


def upright(image, orientation):
    """`image` [H, W, ...] turned as EXIF `orientation` says (a view; 1 and unknown values: unchanged)."""
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return np.swapaxes(image, 0, 1)
    if orientation == 6:
        return np.rot90(image, -1)
    if orientation == 7:
        return np.swapaxes(image[::-1, ::-1], 0, 1)
    if orientation == 8:
        return np.rot90(image, 1)
    return image

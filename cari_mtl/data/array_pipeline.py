"""Training batches without tf.data (the JAX backend): decoded images held in memory, augmented in numpy.

Sampling is the tf.data pipeline's (cari_mtl.data.sampling: seeded permutations per (seed, epoch)),
so an epoch is the same after a resume. The augmentation draws from a generator seeded by (seed,
epoch, position): random crop (a smaller image is padded around its centre first) or else TF1's
bilinear resize, random flip, random rotation, then the standardisation. The random draws are not
TensorFlow's stateless ones, so the two backends see differently augmented images (PORTING P4). An
image that cannot be decoded is reported once, counted, and left out of the list before sampling.
"""

import sys
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from cari_mtl.data.sampling import epoch_indices
from cari_mtl.data.split import Skips
from cari_mtl.images.eval_loader import read_rgb, standardize

UNDECODABLE = "undecodable_image"


def resize_tf1(image, image_size):
    """TF1 `tf.image.resize_images` bilinear (source = output x in/out, no half-pixel centres), float32."""
    image = np.asarray(image, np.float32)

    def axis(size_in):
        source = np.arange(image_size, dtype=np.float64) * (size_in / image_size)
        low = np.minimum(np.floor(source).astype(int), size_in - 1)
        return low, np.minimum(low + 1, size_in - 1), (source - low).astype(np.float32)

    (top, bottom, dy), (left, right, dx) = axis(image.shape[0]), axis(image.shape[1])
    rows = image[top] * (1 - dy)[:, None, None] + image[bottom] * dy[:, None, None]
    return rows[:, left] * (1 - dx)[None, :, None] + rows[:, right] * dx[None, :, None]


def crop_or_pad_to(image, height, width):
    """Zero-pads a smaller image around its centre to at least (height, width), as tf.image.resize_with_crop_or_pad."""
    pad_y, pad_x = max(0, height - image.shape[0]), max(0, width - image.shape[1])
    if not pad_y and not pad_x:
        return image
    return np.pad(image, ((pad_y // 2, pad_y - pad_y // 2), (pad_x // 2, pad_x - pad_x // 2), (0, 0)))


def augment(image, rng, image_size, random_crop=False, random_flip=False, random_rotate=False,
            standardization="prewhiten"):
    """RGB uint8 [H, W, 3] -> float32 [S, S, 3] as the training reader: rotate, crop or resize, flip, standardise."""
    if random_rotate:
        angle = np.degrees(rng.uniform(-np.pi, np.pi))
        centre = ((image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2)
        matrix = cv2.getRotationMatrix2D(centre, -angle, 1.0)
        image = cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if random_crop:
        image = crop_or_pad_to(image, image_size, image_size)
        top = rng.integers(0, image.shape[0] - image_size + 1)
        left = rng.integers(0, image.shape[1] - image_size + 1)
        image = image[top:top + image_size, left:left + image_size].astype(np.float32)
    else:
        image = resize_tf1(image, image_size)
    if random_flip and rng.random() < 0.5:
        image = image[:, ::-1]
    return standardize(image, standardization).astype(np.float32)


class ArrayPipeline:
    """Per-epoch numpy batches over a training list decoded once into memory; counts what it skipped."""

    def __init__(self, paths, labels, is_caricature, image_size, batch_size, epoch_size, seed=0,
                 random_crop=False, random_flip=False, random_rotate=False, standardization="prewhiten",
                 workers=4, report=True):
        self.image_size, self.batch_size, self.epoch_size, self.seed = image_size, batch_size, epoch_size, seed
        self.augment = dict(random_crop=random_crop, random_flip=random_flip, random_rotate=random_rotate,
                            standardization=standardization)
        self.skips = Skips()
        self.skipped_files = {}
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            decoded = list(pool.map(_read_or_none, [str(path) for path in paths]))
        keep = [index for index, image in enumerate(decoded) if image is not None]
        for index, image in enumerate(decoded):
            if image is None:
                self.skips.add(UNDECODABLE, str(paths[index]))
                self.skipped_files[str(paths[index])] = 1
                if report:
                    print(f"warning: skipped undecodable image {paths[index]} (a corrupt or missing file)",
                          file=sys.stderr)
        self.images = [decoded[index] for index in keep]
        self.labels = np.asarray(labels, np.int32)[keep]
        self.is_caricature = np.asarray(is_caricature, np.int32)[keep]

    @classmethod
    def from_split(cls, split, image_size, batch_size, epoch_size, **options):
        return cls(split.train_paths, split.train_labels, split.train_is_caricature, image_size, batch_size,
                   epoch_size, **options)

    def batches(self, epoch, skip=0):
        """(images float32 [B, S, S, 3], labels int32 [B], is_caricature int32 [B]) for batches skip.. of `epoch`."""
        order = epoch_indices(len(self.images), self.batch_size, self.epoch_size, self.seed, epoch)
        for index in range(skip, self.epoch_size):
            positions = range(index * self.batch_size, (index + 1) * self.batch_size)
            chosen = order[index * self.batch_size:(index + 1) * self.batch_size]
            images = np.stack([augment(self.images[i], np.random.default_rng([self.seed, epoch, position]),
                                       self.image_size, **self.augment) for i, position in zip(chosen, positions)])
            yield images, self.labels[chosen], self.is_caricature[chosen]


def _read_or_none(path):
    try:
        return read_rgb(path)
    except (OSError, ValueError):
        return None

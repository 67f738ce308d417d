"""The training input pipeline: tf.data batches with the original's sampling and augmentation
(PORTING D7-D13, N13).

Public API:
    epoch_indices(nrof_images, batch_size, epoch_size, seed, epoch, spare=0) -> int64 [batch_size * epoch_size + spare]
    preprocess(contents, seeds, image_size, random_crop, random_flip, random_rotate, standardization)
        -> float32 [S, S, 3]
    TrainingPipeline(paths, labels, is_caricature, image_size, batch_size, epoch_size, seed=0,
                     random_crop=False, random_flip=False, random_rotate=False, num_parallel_calls=AUTOTUNE,
                     report=True, standardization="prewhiten")
        .batches(epoch, skip=0) -> iterator of (images float32 [B, S, S, 3], labels int32 [B],
                                   is_caricature int32 [B]) tensors, batches skip..epoch_size-1 of the epoch
        .skips: Skips ({"undecodable_image": occurrences}, a few paths); .skipped_files: path -> occurrences
    TrainingPipeline.from_split(split, image_size, batch_size, epoch_size, **options)

Sampling: each epoch draws batch_size * epoch_size indices by walking seeded permutations of the
training list (the original's shuffling index queue), seeded by (seed, epoch), so an epoch is the
same after a resume. Augmentation is stateless, seeded by (seed, epoch, position in the epoch).
An image that cannot be read or decoded is skipped, counted, reported once on stderr, and its
place is taken by the next index of the epoch's stream, so batches stay full.
"""

import math
import sys
from collections import Counter

import numpy as np
import tensorflow as tf

from cari_mtl.data.sampling import epoch_indices  # noqa: F401 (part of this module's API)
from cari_mtl.data.split import Skips
from cari_mtl.images.orientation import orientation_of

AUTOTUNE = tf.data.AUTOTUNE
UNDECODABLE = "undecodable_image"


def resize_tf1(image, image_size):
    """TF1 `tf.image.resize_images` bilinear (no half-pixel centres, no antialias), as float32."""
    batch = tf.raw_ops.ResizeBilinear(images=image[None], size=[image_size, image_size],
                                      align_corners=False, half_pixel_centers=False)
    return batch[0]


def rotate(image, angle):
    """Rotation about the centre by `angle` radians, bilinear, black outside, same size."""
    height, width = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # Output pixel (x, y) samples the input at R^-1 (x - c) + c.
    transform = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0])
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, tf.float32)[None], transforms=transform[None],
        output_shape=tf.shape(image)[:2], fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
    return rotated[0]


def _orientation(contents):
    """numpy_function body: a scalar string tensor arrives as bytes or a 0-d object array."""
    return np.int32(orientation_of(contents.item() if isinstance(contents, np.ndarray) else contents))


def upright(image, contents):
    """The decoded `image` turned as the EXIF orientation of `contents` says (PORTING D16); the tag is read
    in Python (PIL, header only), the turn is a graph op."""
    orientation = tf.numpy_function(_orientation, [contents], tf.int32, stateful=False)
    turns = [lambda: image, lambda: image,
             lambda: tf.reverse(image, [1]), lambda: tf.reverse(image, [0, 1]), lambda: tf.reverse(image, [0]),
             lambda: tf.transpose(image, [1, 0, 2]), lambda: tf.image.rot90(image, 3),
             lambda: tf.transpose(tf.reverse(image, [0, 1]), [1, 0, 2]), lambda: tf.image.rot90(image, 1)]
    return tf.switch_case(tf.clip_by_value(orientation, 0, 8), turns)


def standardize(image, standardization="prewhiten"):
    """prewhiten: per-image standardisation (the original); fixed: (x - 127.5) / 128 (FaceNet 2018)."""
    if standardization == "prewhiten":
        return tf.image.per_image_standardization(image)
    if standardization == "fixed":
        return (tf.cast(image, tf.float32) - 127.5) / 128.0
    raise ValueError(f"unknown image standardization {standardization!r}; choose prewhiten or fixed")


def preprocess(contents, seeds, image_size, random_crop=False, random_flip=False, random_rotate=False,
               standardization="prewhiten"):
    """Encoded JPEG/PNG/BMP/GIF bytes -> float32 [S, S, 3] as the original's training reader:
    decode (gray -> RGB, alpha dropped), EXIF orientation, rotate, crop or resize, flip, standardisation.
    seeds: int32 [3, 2], one stateless seed per random operation."""
    image = upright(tf.io.decode_image(contents, channels=3, expand_animations=False), contents)
    if random_rotate:
        image = rotate(image, tf.random.stateless_uniform([], seeds[0], -math.pi, math.pi))
    if random_crop:
        shape = tf.shape(image)
        padded = tf.image.resize_with_crop_or_pad(image, tf.maximum(shape[0], image_size),
                                                  tf.maximum(shape[1], image_size))
        image = tf.cast(tf.image.stateless_random_crop(padded, [image_size, image_size, 3], seeds[1]), tf.float32)
    else:
        image = resize_tf1(image, image_size)
    if random_flip:
        image = tf.image.stateless_random_flip_left_right(image, seeds[2])
    image.set_shape((image_size, image_size, 3))
    return standardize(image, standardization)


class TrainingPipeline:
    """Per-epoch tf.data batches over a training list; counts what it had to skip."""

    def __init__(self, paths, labels, is_caricature, image_size, batch_size, epoch_size, seed=0,
                 random_crop=False, random_flip=False, random_rotate=False, num_parallel_calls=AUTOTUNE,
                 report=True, standardization="prewhiten"):
        self.paths = np.asarray([str(path) for path in paths], dtype=object)
        self.labels = np.asarray(labels, dtype=np.int32)
        self.is_caricature = np.asarray(is_caricature, dtype=np.int32)
        if not len(self.paths) == len(self.labels) == len(self.is_caricature):
            raise ValueError(f"{len(self.paths)} paths, {len(self.labels)} labels and {len(self.is_caricature)} "
                             f"modality flags: the training lists must have one entry per image")
        self.image_size, self.batch_size, self.epoch_size, self.seed = image_size, batch_size, epoch_size, seed
        self.augment = dict(random_crop=random_crop, random_flip=random_flip, random_rotate=random_rotate,
                            standardization=standardization)
        self.num_parallel_calls = num_parallel_calls
        self.report = report
        self.skips = Skips()
        self.skipped_files = Counter()

    @classmethod
    def from_split(cls, split, image_size, batch_size, epoch_size, **options):
        return cls(split.train_paths, split.train_labels, split.train_is_caricature, image_size, batch_size,
                   epoch_size, **options)

    def _order(self, epoch):
        return epoch_indices(len(self.paths), self.batch_size, self.epoch_size, self.seed, epoch,
                             spare=len(self.paths))

    def dataset(self, epoch):
        """(images, labels, is_caricature, positions) batches of one epoch; positions index its stream."""
        order = self._order(epoch)
        base_seed = tf.constant([self.seed, epoch], tf.int64)
        image_size, augment = self.image_size, self.augment

        def load(position, path, label, is_cari):
            seeds = tf.random.experimental.stateless_split(
                tf.random.experimental.stateless_fold_in(base_seed, position), 3)
            return preprocess(tf.io.read_file(path), seeds, image_size, **augment), label, is_cari, position

        positions = np.arange(len(order), dtype=np.int64)
        source = tf.data.Dataset.from_tensor_slices(
            (positions, self.paths[order].astype(str), self.labels[order], self.is_caricature[order]))
        return (source.map(load, num_parallel_calls=self.num_parallel_calls, deterministic=True)
                .ignore_errors()
                .batch(self.batch_size)
                .take(self.epoch_size)
                .prefetch(AUTOTUNE))

    def batches(self, epoch, skip=0):
        """Batches `skip`.. of epoch `epoch` (1-based). The first `skip` batches are still decoded and
        dropped, so a resumed epoch continues exactly even when images were skipped before the resume
        point. Images whose positions never arrive were undecodable: they are counted here."""
        order = self._order(epoch)
        expected = 0
        for index, (images, labels, is_cari, positions) in enumerate(self.dataset(epoch)):
            for position in positions.numpy():
                for missed in range(expected, position):
                    self._skipped(self.paths[order[missed]])
                expected = position + 1
            if index >= skip:
                yield images, labels, is_cari

    def _skipped(self, path):
        self.skips.add(UNDECODABLE, path)
        self.skipped_files[path] += 1
        if self.report and self.skipped_files[path] == 1:
            print(f"warning: skipped undecodable image {path} (a corrupt or missing file; "
                  f"{len(self.skipped_files)} distinct so far)", file=sys.stderr)


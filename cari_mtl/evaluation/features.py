"""Runs the network in inference mode over image files, in batches, in list order.

Images are decoded by the original evaluation loader in a thread pool (OpenCV and numpy release the
GIL), a few batches ahead of the network, so decoding overlaps the forward pass. Batches hold
--lfw_batch_size images (capped at the number of images) and the last one only what is left: no padding
is run through the network, so the compiled inference is traced at most twice.
"""

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from cari_mtl.images.eval_loader import load_eval_image, prepare_eval_image

FEATURE_NAMES = (
    "embeddings", "embeddings_visual", "embeddings_cari",
    "logits_verif", "logits_visual", "logits_cari",
)
BATCHES_AHEAD = 2


def default_workers():
    """Decoding threads: one per core, at most 8 (beyond that the forward pass is the bottleneck)."""
    return max(1, min(8, os.cpu_count() or 1))


def inference_function(model, names=FEATURE_NAMES, jit_compile=False):
    """A compiled inference call returning `names` as float32 (also under a mixed-precision policy).

    Under JAX: the model's stateless call, jitted always (the variables are read at each call)."""
    import keras

    if keras.backend.backend() == "jax":
        from cari_mtl.runtime.jax_inference import jax_inference_function

        return jax_inference_function(model, names)
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def infer(images):
        outputs = model(images, training=False)
        return {name: tf.cast(outputs[name], tf.float32) for name in names}

    return infer


def _load_or_none(image, image_size, standardization):
    """`image` is a file path or an RGB uint8 array (already decoded: the rest of the loader is the same)."""
    try:
        if isinstance(image, np.ndarray):
            return prepare_eval_image(image, image_size, standardization)
        return load_eval_image(image, image_size, standardization)
    except (OSError, ValueError):
        return None


def image_batches(paths, image_size, batch_size, workers=None, standardization="prewhiten"):
    """Yields (float32 [len(chunk), S, S, 3], readable [len(chunk)] bool) per chunk of `paths`, in order.

    The rows of unreadable images are zeros.
    """
    starts = range(0, len(paths), batch_size)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        pending = deque()

        def submit(start):
            pending.append([pool.submit(_load_or_none, path, image_size, standardization)
                            for path in paths[start:start + batch_size]])

        for start in starts[:BATCHES_AHEAD]:
            submit(start)
        for start in starts[BATCHES_AHEAD:]:
            yield _assemble(pending.popleft(), image_size)
            submit(start)
        while pending:
            yield _assemble(pending.popleft(), image_size)


def _assemble(futures, image_size):
    batch = np.zeros((len(futures), image_size, image_size, 3), dtype=np.float32)
    readable = np.zeros(len(futures), dtype=bool)
    for offset, future in enumerate(futures):
        image = future.result()
        if image is not None:
            batch[offset] = image
            readable[offset] = True
    return batch, readable


class FeatureExtractor:
    """Features of image lists with one compiled forward pass, traced on the first call and reused."""

    def __init__(self, model, image_size, batch_size=100, names=FEATURE_NAMES, jit_compile=False, workers=None,
                 standardization="prewhiten"):
        self.image_size, self.batch_size, self.names, self.workers = image_size, batch_size, names, workers
        self.standardization = standardization
        self.infer = inference_function(model, names, jit_compile)
        self.widths = {name: model.output[name].shape[-1] for name in names}

    def __call__(self, paths, progress=True):
        """({name: [N, D] float32}, valid [N] bool); rows of unreadable images are zeros, valid False.

        `paths` may also hold RGB uint8 arrays (cari_mtl.api), loaded like a decoded file."""
        paths = list(paths)
        batch_size = max(1, min(self.batch_size, len(paths)))
        features = {name: np.zeros((len(paths), width), dtype=np.float32) for name, width in self.widths.items()}
        valid = np.zeros(len(paths), dtype=bool)
        batches = image_batches(paths, self.image_size, batch_size, self.workers, self.standardization)
        total = -(-len(paths) // batch_size)
        for index, (batch, readable) in enumerate(tqdm(batches, total=total, desc="features", unit="batch",
                                                       disable=not progress)):
            start, count = index * batch_size, len(readable)
            valid[start:start + count] = readable
            outputs = self.infer(batch)
            for name in self.names:
                values = np.asarray(outputs[name])[:count]
                features[name][start:start + count] = np.where(readable[:, None], values, 0.0)
        return features, valid


def compute_features(model, image_size, paths, batch_size=100, names=FEATURE_NAMES, progress=True,
                     jit_compile=False, workers=None, standardization="prewhiten"):
    """The network's outputs for image files, in list order (PORTING N13, E15).

    Args:
        model: the Keras network; image_size: its input side.
        paths: image files; batch_size: images per forward pass.
        names: outputs to return (default all six embeddings and logits).
        progress: show a progress bar.
        jit_compile: compile the forward pass with XLA.
        workers: decoding threads (default one per core, at most 8).
        standardization: `prewhiten` (the original) or `fixed` (FaceNet 2018 checkpoints), as the model
            was trained.
    Returns:
        ({name: [N, D] float32}, valid [N] bool); rows of unreadable images are zeros, valid False.
    """
    extractor = FeatureExtractor(model, image_size, batch_size, names, jit_compile, workers, standardization)
    return extractor(paths, progress)

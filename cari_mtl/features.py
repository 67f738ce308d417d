"""Runs the network in inference mode over image files, in batches, in list order."""

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from cari_mtl.data.eval_loader import load_eval_image

FEATURE_NAMES = (
    "embeddings", "embeddings_visual", "embeddings_cari",
    "logits_verif", "logits_visual", "logits_cari",
)


def inference_function(model, names=FEATURE_NAMES):
    """A compiled inference call returning only `names`; fixed batch shape, so traced once."""

    @tf.function
    def infer(images):
        outputs = model(images, training=False)
        return {name: outputs[name] for name in names}

    return infer


def compute_features(model, image_size, paths, batch_size=100, names=FEATURE_NAMES, progress=True):
    """({name: [N, D] float32}, valid [N] bool); rows of unreadable images are zeros, valid False."""
    infer = inference_function(model, names)
    features = {}
    valid = np.ones(len(paths), dtype=bool)
    batch = np.zeros((batch_size, image_size, image_size, 3), dtype=np.float32)
    starts = range(0, len(paths), batch_size)
    for start in tqdm(starts, desc="features", unit="batch", disable=not progress):
        chunk = paths[start:start + batch_size]
        batch[:] = 0.0
        for offset, path in enumerate(chunk):
            try:
                batch[offset] = load_eval_image(path, image_size)
            except (OSError, ValueError):
                valid[start + offset] = False
        outputs = infer(tf.constant(batch))
        for name in names:
            values = outputs[name].numpy()[: len(chunk)]
            if name not in features:
                features[name] = np.zeros((len(paths), values.shape[1]), dtype=np.float32)
            features[name][start:start + len(chunk)] = values
    features = {name: np.where(valid[:, None], array, 0.0).astype(np.float32)
                for name, array in features.items()}
    return features, valid

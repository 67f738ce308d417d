"""A short fingerprint of what a network computes: its weights, input size and standardisation.

Embeddings saved with one model (a gallery) are only comparable with probes embedded by the same one;
the fingerprint lets a saved gallery say which model made it.
"""

import hashlib

import numpy as np


def model_fingerprint(keras_model, image_size, standardization):
    """sha256 (hex, 16 characters) over every weight's name, shape and bytes, the image size and standardisation."""
    digest = hashlib.sha256(f"{image_size}:{standardization}".encode())
    for weight in keras_model.weights:
        value = np.ascontiguousarray(np.asarray(weight.numpy(), dtype=np.float32))
        digest.update(f"{weight.path}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]

"""The toy network of the weighting tests (x [B, 2] -> trunk h [B, 3] -> the real weights head) and its numpy twins."""

import keras
import numpy as np
import tensorflow as tf

X = np.array([[0.3, -0.8], [1.1, 0.4], [-0.5, 0.9], [0.7, 0.2]], np.float32)
LABELS = np.array([0, 1, 2, 1])
IS_CARI = np.array([0, 1, 0, 1])
TARGETS = np.array([0.5, -0.2, 0.1])
LR = 0.1


def toy_model(network, variant, seed):
    keras.utils.set_random_seed(seed)
    x = keras.Input((2,))
    h = keras.layers.Dense(3, use_bias=False, name="trunk")(x)
    _, lossweights = network.lossweights_head(h, variant)
    outputs = {"embeddings": h, "logits_verif": h, "logits_visual": h, "logits_cari": h, "lossweights": lossweights}
    return keras.Model(x, outputs)


def toy_terms(outputs, labels, is_cari, centers, center_loss_factor):
    h = outputs["embeddings"]
    terms = {"center1_sum": tf.constant(0.0)}
    for task in (1, 2, 3):
        total = tf.reduce_sum(tf.square(h[:, task - 1] - TARGETS[task - 1]))
        terms.update({f"loss{task}_sum": total, f"ce{task}_sum": total, f"count{task}": tf.constant(4.0)})
    return terms


def np_clip(grads):
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    return [g * min(1.0, 5.0 / norm) for g in grads]

"""The order in which an epoch visits the training list, shared by the tf.data and the in-memory pipelines."""

import numpy as np


def epoch_indices(nrof_images, batch_size, epoch_size, seed, epoch, spare=0):
    """Concatenated permutations from a generator seeded by (seed, epoch); `spare` more indices after
    the batch_size * epoch_size of the epoch (the first ones do not depend on `spare`)."""
    if nrof_images < 1:
        raise ValueError("the training list is empty: check --data_dir and the pairs files")
    rng = np.random.default_rng([seed, epoch])
    needed = batch_size * epoch_size + spare
    rounds = -(-needed // nrof_images)
    return np.concatenate([rng.permutation(nrof_images) for _ in range(rounds)])[:needed]

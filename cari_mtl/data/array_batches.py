"""Training batches from images already decoded in memory (small datasets: the demo, tests).

Sampling follows the original's index queue: each epoch draws batch_size * epoch_size indices by
walking seeded shuffles of the whole training list, so an epoch is reproducible from (seed, epoch)
and a resumed run skips exactly the batches already trained.
"""

import numpy as np


def epoch_indices(nrof_images, batch_size, epoch_size, seed, epoch):
    """[batch_size * epoch_size] indices of epoch `epoch`: concatenated seeded permutations."""
    rng = np.random.default_rng([seed, epoch])
    needed = batch_size * epoch_size
    rounds = -(-needed // nrof_images)
    return np.concatenate([rng.permutation(nrof_images) for _ in range(rounds)])[:needed]


def array_batches(images, labels, is_cari, batch_size, epoch_size, seed):
    """`batches(epoch, skip)` for TrainingData over arrays images [N, H, W, 3], labels [N], is_cari [N]."""
    images, labels, is_cari = np.asarray(images, np.float32), np.asarray(labels), np.asarray(is_cari)

    def batches(epoch, skip):
        order = epoch_indices(len(images), batch_size, epoch_size, seed, epoch)
        for start in range(skip * batch_size, len(order), batch_size):
            rows = order[start:start + batch_size]
            yield images[rows], labels[rows], is_cari[rows]

    return batches

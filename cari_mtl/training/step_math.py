"""The math of one training step in backend-neutral `keras.ops`: what the JAX step computes.

The same formulas as cari_mtl.training.losses (PORTING T1, T2, T4, T5), which the TensorFlow step
keeps using; tests/test_jax_equivalence.py checks that both steps give the same numbers. Means
are (sum, count) pairs until the end, a mean over an empty mask is 0 with no gradient.
"""

from keras import ops

SIGMA = 0.01  # added to each task loss in L4 = sum_i w_i / (L_i + sigma)
WEIGHTS_HEAD = "Logits_lossweights"  # the layer of Ψ in the network file
HEAD_INPUT = "Logits_lossweights_input"  # the layer flattening the trunk's output for Ψ
BRANCHES = (("logits_verif", "embeddings"), ("logits_visual", "embeddings_visual"),
            ("logits_cari", "embeddings_cari"))


def sparse_cross_entropy(logits, labels):
    """Per-sample softmax cross-entropy [B] of integer `labels` [B]."""
    log_probabilities = ops.log_softmax(logits, axis=-1)
    picked = ops.take_along_axis(log_probabilities, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1)
    return -ops.squeeze(picked, -1)


def center_distance(embeddings, labels, centers):
    """Per-sample center loss 0.5 * ||f_i - c_{y_i}||^2 [B]."""
    centers_batch = ops.take(centers, ops.cast(labels, "int32"), axis=0)
    return 0.5 * ops.sum(ops.square(embeddings - centers_batch), axis=1)


def masked_sum(values, mask):
    """(sum of `values` where `mask`, number of such rows)."""
    return ops.sum(ops.where(mask, values, ops.zeros_like(values))), ops.sum(ops.cast(mask, "float32"))


def safe_mean(total, count):
    return ops.divide_no_nan(total, count)


def task_masks(is_cari):
    is_cari = ops.cast(is_cari, "int32")
    return ops.ones_like(is_cari) > 0, ops.equal(is_cari, 0), ops.equal(is_cari, 1)


def task_losses(outputs, labels, is_cari, centers, center_loss_factor, cross_entropy_fns=None):
    """(L [3], CE [3], center1): the three branches' losses (CE + beta * center loss against the ONE
    shared centers table) over their images, and the batch SUM of branch 1's center loss (as logged).
    `cross_entropy_fns`: one (logits, labels) -> [B] per branch in place of the softmax cross-entropy
    (margin heads, label smoothing: cari_mtl.training.head_losses)."""
    losses, cross_entropies = [], []
    center1 = None
    head_losses = cross_entropy_fns or (sparse_cross_entropy,) * len(BRANCHES)
    for (logits_key, embeddings_key), mask, head_loss in zip(BRANCHES, task_masks(is_cari), head_losses):
        cross_entropy = head_loss(outputs[logits_key], labels)
        center = center_distance(outputs[embeddings_key], labels, centers)
        total, count = masked_sum(cross_entropy + center_loss_factor * center, mask)
        losses.append(safe_mean(total, count))
        ce_total, _ = masked_sum(cross_entropy, mask)
        cross_entropies.append(safe_mean(ce_total, count))
        if center1 is None:
            center1, _ = masked_sum(center, mask)
    return ops.stack(losses), ops.stack(cross_entropies), center1


def objectives(task_weights, task_losses_):
    """{'L': sum w_i L_i, 'L4': sum w_i / (L_i + sigma) with the L_i held constant}."""
    return {"L": ops.sum(task_weights * task_losses_),
            "L4": ops.sum(task_weights / (ops.stop_gradient(task_losses_) + SIGMA))}


def clip_by_global_norm(gradients, clip_norm):
    """(gradients * clip_norm / max(norm, clip_norm), norm), as tf.clip_by_global_norm."""
    norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in gradients))
    scale = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm)
    return [g * scale for g in gradients], norm


def updated_centers(centers, embeddings, labels, alfa):
    """c_j -= (1 - alfa) * sum_i (c_j - f_i) / n_j over the batch's images of class j."""
    labels = ops.cast(labels, "int32")
    embeddings = ops.stop_gradient(embeddings)
    nrof_classes = centers.shape[0]
    sums = ops.segment_sum(ops.take(centers, labels, axis=0) - embeddings, labels, num_segments=nrof_classes)
    counts = ops.segment_sum(ops.ones_like(labels, "float32"), labels, num_segments=nrof_classes)
    return centers - (1.0 - alfa) * ops.divide_no_nan(sums, ops.expand_dims(counts, -1))


def moving_average_decay(decay, step):
    """tf.train.ExponentialMovingAverage's decay with num_updates: min(decay, (1 + step) / (10 + step))."""
    step = ops.cast(step, "float32")
    return ops.minimum(decay, (1.0 + step) / (10.0 + step))


def train_accuracies(outputs, labels, is_cari):
    """Training-batch accuracies of the three heads on the images each one is trained on."""
    labels = ops.cast(labels, "int32")
    values = {}
    for name, logits_key, mask in zip(("acc_verif", "acc_photo", "acc_cari"), (b[0] for b in BRANCHES),
                                      task_masks(is_cari)):
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(outputs[logits_key], axis=1), "int32"), labels), "float32")
        values[name] = safe_mean(*masked_sum(correct, mask))
    return values


def positive_logits(outputs):
    """How many logits of the photo and caricature heads are > 0 (0: a dead ReLU head)."""
    return {name: ops.sum(ops.cast(outputs[head] > 0, "float32"))
            for name, head in (("positive_logits_photo", "logits_visual"), ("positive_logits_cari", "logits_cari"))}

"""The losses of the paper and of the original code (PORTING T1, T2, T4, T5).

Masked means are kept as (sum, count) pairs until the very end so that a distributed version can
add sums and counts over the replicas first and divide once (global-batch means, and a center
update over the global batch). A mean over an empty mask is 0 with no gradient, where the
original gives NaN (a batch without photos or without caricatures).

Branch names: 1 = verification (every image), 2 = photo identification (photos only),
3 = caricature identification (caricatures only). Column order of the task weights is the same.
"""

import functools

import tensorflow as tf

from cari_mtl.training.head_losses import head_cross_entropy_fns

SIGMA = 0.01  # added to each task loss in L4 = sum_i w_i / (L_i + sigma)
NROF_TASKS = 3


def sparse_cross_entropy(logits, labels):
    """Per-sample softmax cross-entropy [B] float32 of integer `labels` [B]."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)


def center_distance(embeddings, labels, centers):
    """Per-sample center loss 0.5 * ||f_i - c_{y_i}||^2 [B] against the centers table [K, D]."""
    centers_batch = tf.gather(tf.convert_to_tensor(centers), tf.cast(labels, tf.int32))
    return 0.5 * tf.reduce_sum(tf.square(embeddings - centers_batch), axis=1)


def center_update_terms(embeddings, labels, centers, nrof_classes):
    """(sum_i (c_j - f_i) per class [K, D], count per class [K]) over the batch.

    Summable over replicas; `center_delta` turns the totals into the update. No gradient flows.
    """
    labels = tf.cast(labels, tf.int32)
    embeddings = tf.stop_gradient(embeddings)
    centers_batch = tf.gather(tf.convert_to_tensor(centers), labels)
    sums = tf.math.unsorted_segment_sum(centers_batch - embeddings, labels, nrof_classes)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(labels, tf.float32), labels, nrof_classes)
    return sums, counts


def center_delta(sums, counts, alfa):
    """c_j -= (1 - alfa) * sum_i (c_j - f_i) / n_j for the classes in the batch; 0 for the others."""
    return (1.0 - alfa) * tf.math.divide_no_nan(sums, counts[:, None])


def masked_sum(values, mask):
    """(sum of `values` where `mask`, number of such rows) as float32 scalars."""
    mask = tf.cast(mask, tf.bool)
    total = tf.reduce_sum(tf.where(mask, values, tf.zeros_like(values)))
    return total, tf.reduce_sum(tf.cast(mask, tf.float32))


def safe_mean(total, count):
    """total / count, or 0 (and no gradient) when count is 0."""
    return tf.math.divide_no_nan(total, count)


def task_loss_terms(outputs, labels, is_cari, centers, center_loss_factor, cross_entropy_fns=None):
    """Sums and counts of every loss of the three branches over one (per-replica) batch.

    outputs: the network's dict (logits_verif/visual/cari [B, K], embeddings* [B, 1792]);
    labels [B] int; is_cari [B] (1 = caricature). Every branch adds beta * center loss against the
    ONE shared centers table (quirk of the original). Returns a dict of float32 scalars:
    loss{1,2,3}_sum, ce{1,2,3}_sum, count{1,2,3}, center1_sum. `cross_entropy_fns`: one
    (logits, labels) -> [B] per branch in place of the softmax cross-entropy (margin heads, label
    smoothing: cari_mtl.training.head_losses).
    """
    is_cari = tf.cast(is_cari, tf.int32)
    masks = (tf.ones_like(is_cari, tf.bool), tf.equal(is_cari, 0), tf.equal(is_cari, 1))
    branches = (("logits_verif", "embeddings"), ("logits_visual", "embeddings_visual"),
                ("logits_cari", "embeddings_cari"))
    terms = {}
    for task, ((logits_key, embeddings_key), mask) in enumerate(zip(branches, masks), start=1):
        head_loss = cross_entropy_fns[task - 1] if cross_entropy_fns else sparse_cross_entropy
        cross_entropy = head_loss(outputs[logits_key], labels)
        center = center_distance(outputs[embeddings_key], labels, centers)
        terms[f"loss{task}_sum"], terms[f"count{task}"] = masked_sum(
            cross_entropy + center_loss_factor * center, mask)
        terms[f"ce{task}_sum"], _ = masked_sum(cross_entropy, mask)
        if task == 1:
            terms["center1_sum"], _ = masked_sum(center, mask)
    return terms


def reduce_task_losses(terms):
    """Means from summed terms: L [3] (L1, L2, L3), CE [3], and center1 (the batch SUM, as logged).

    The original logs `prelogits_center_loss_verif` = tf.nn.l2_loss(f - c), a sum over the batch.
    """
    task_losses = tf.stack([safe_mean(terms[f"loss{t}_sum"], terms[f"count{t}"]) for t in (1, 2, 3)])
    cross_entropies = tf.stack([safe_mean(terms[f"ce{t}_sum"], terms[f"count{t}"]) for t in (1, 2, 3)])
    return task_losses, cross_entropies, terms["center1_sum"]


def batch_task_weights(lossweights, loss_weight_base):
    """w_i = batch mean of the head's softmax column i + base_i; [B, 3] → [3]."""
    return tf.reduce_mean(lossweights, axis=0) + tf.constant(loss_weight_base, tf.float32)


def total_loss(task_weights, task_losses):
    """L = w1 L1 + w2 L2 + w3 L3 (weight decay is not added: quirk of the original)."""
    return tf.reduce_sum(task_weights * task_losses)


def weights_loss(task_weights, task_losses, sigma=SIGMA):
    """L4 = sum_i w_i / (L_i + sigma) with the L_i held constant: the harder task gets the larger weight."""
    return tf.reduce_sum(task_weights / (tf.stop_gradient(task_losses) + sigma))


def bound_task_loss_terms(cross_entropy_fns):
    """`task_loss_terms` itself for the original's heads (None), else one bound to the heads' losses
    (cari_mtl.training.head_losses, PORTING X1, X4)."""
    if cross_entropy_fns is None:
        return task_loss_terms
    return functools.partial(task_loss_terms, cross_entropy_fns=cross_entropy_fns)


def task_loss_terms_fn(model_config, label_smoothing=0.0):
    """The TrainStep's loss_terms_fn for the heads of a ModelConfig."""
    return bound_task_loss_terms(head_cross_entropy_fns(model_config, label_smoothing))

"""The math of one training step, once for both backends, in `keras.ops` (PORTING T1, T2, T4, T5, X1, X4).

Masked means are kept as (sum, count) pairs until the very end, so that a distributed step can add
sums and counts over its replicas first and divide once (global-batch means, and a center update
over the global batch). A mean over an empty mask is 0 with no gradient, where the original gives
NaN (a batch without photos or without caricatures). Task order: cari_mtl.training.tasks.

The heads' training losses: the original trains every head on the softmax cross-entropy of its
logits (the default). A margin head or label smoothing replaces it per branch by
-sum_j q_j log softmax(z)_j, z the head's training logits (margin applied to the target class,
cari_mtl.model.margin_heads) and q the one-hot label smoothed as q = (1 - eps) onehot + eps / K.
"""

import functools

from keras import ops

from cari_mtl.model.margin_heads import head_margin, head_scale, margin_logits
from cari_mtl.training.tasks import BRANCHES

SIGMA = 0.01  # added to each task loss in L4 = sum_i w_i / (L_i + sigma)
CLIP_NORM = 5.0  # every group's gradients are clipped by this global norm (the original's)
ACCURACIES = ("acc_verif", "acc_photo", "acc_cari")  # per task: the training-batch accuracy logged


def sparse_cross_entropy(logits, labels):
    """Per-sample softmax cross-entropy [B] of integer `labels` [B]."""
    return ops.sparse_categorical_crossentropy(ops.cast(labels, "int32"), logits, from_logits=True)


def smoothed_cross_entropy(logits, labels, label_smoothing=0.0):
    """Per-sample cross-entropy [B] of `logits` [B, K] against one-hot `labels` smoothed by `label_smoothing`."""
    classes = ops.shape(logits)[-1]
    target = ops.one_hot(ops.cast(labels, "int32"), classes, dtype=logits.dtype)
    target = target * (1.0 - label_smoothing) + label_smoothing / ops.cast(classes, logits.dtype)
    return -ops.sum(target * ops.log_softmax(logits, axis=-1), axis=-1)


def head_cross_entropy(logits, labels, head="softmax", margin=0.0, scale=1.0, label_smoothing=0.0):
    """The training loss [B] of one head: its margin applied, then the (smoothed) cross-entropy."""
    return smoothed_cross_entropy(margin_logits(logits, labels, head, margin, scale), labels, label_smoothing)


def head_cross_entropy_fns(model_config, label_smoothing=0.0):
    """One (logits, labels) -> [B] loss per branch (verification, photo, caricature) for the heads of a
    ModelConfig; None for the original's softmax heads without smoothing (`sparse_cross_entropy`)."""
    heads = (model_config.verif_head, model_config.identity_heads, model_config.identity_heads)
    if heads == ("softmax",) * 3 and not label_smoothing:
        return None
    return tuple(
        functools.partial(head_cross_entropy, head=head, margin=head_margin(head, model_config.margin),
                          scale=head_scale(model_config.margin_scale), label_smoothing=label_smoothing)
        for head in heads)


def center_distance(embeddings, labels, centers):
    """Per-sample center loss 0.5 * ||f_i - c_{y_i}||^2 [B] against the centers table [K, D]."""
    centers_batch = ops.take(centers, ops.cast(labels, "int32"), axis=0)
    return 0.5 * ops.sum(ops.square(embeddings - centers_batch), axis=1)


def task_masks(is_cari):
    """Which images each task trains on: all, the photos, the caricatures."""
    is_cari = ops.cast(is_cari, "int32")
    return ops.ones_like(is_cari) > 0, ops.equal(is_cari, 0), ops.equal(is_cari, 1)


def masked_sum(values, mask):
    """(sum of `values` where `mask`, number of such rows) as float32 scalars."""
    return ops.sum(ops.where(mask, values, ops.zeros_like(values))), ops.sum(ops.cast(mask, "float32"))


def safe_mean(total, count):
    """total / count, or 0 (and no gradient) when count is 0."""
    return ops.divide_no_nan(total, count)


def task_loss_terms(outputs, labels, is_cari, centers, center_loss_factor, cross_entropy_fns=None):
    """Sums and counts of every loss of the three branches over one (per-replica) batch.

    outputs: the network's dict (logits_* [B, K], embeddings* [B, D]); labels [B] int; is_cari [B]
    (1 = caricature). Every branch adds beta * center loss against the ONE shared centers table (quirk
    of the original). Returns float32 scalars loss{1,2,3}_sum, ce{1,2,3}_sum, count{1,2,3}, center1_sum.
    `cross_entropy_fns`: one (logits, labels) -> [B] per branch (`head_cross_entropy_fns`).
    """
    terms = {}
    head_losses = cross_entropy_fns or (sparse_cross_entropy,) * len(BRANCHES)
    for task, ((logits_key, embeddings_key), mask, head_loss) in enumerate(
            zip(BRANCHES, task_masks(is_cari), head_losses), start=1):
        cross_entropy = head_loss(outputs[logits_key], labels)
        center = center_distance(outputs[embeddings_key], labels, centers)
        terms[f"loss{task}_sum"], terms[f"count{task}"] = masked_sum(cross_entropy + center_loss_factor * center, mask)
        terms[f"ce{task}_sum"], _ = masked_sum(cross_entropy, mask)
        if task == 1:
            terms["center1_sum"], _ = masked_sum(center, mask)
    return terms


def bound_task_loss_terms(cross_entropy_fns):
    """`task_loss_terms` itself for the original's heads (None), else one bound to the heads' losses."""
    if cross_entropy_fns is None:
        return task_loss_terms
    return functools.partial(task_loss_terms, cross_entropy_fns=cross_entropy_fns)


def task_loss_terms_fn(model_config, label_smoothing=0.0):
    """The steps' `loss_terms_fn` for the heads of a ModelConfig."""
    return bound_task_loss_terms(head_cross_entropy_fns(model_config, label_smoothing))


def reduce_task_losses(terms):
    """Means from summed terms: L [3], CE [3], and center1 (the batch SUM, as logged: the original logs
    `prelogits_center_loss_verif` = tf.nn.l2_loss(f - c))."""
    task_losses = ops.stack([safe_mean(terms[f"loss{t}_sum"], terms[f"count{t}"]) for t in (1, 2, 3)])
    cross_entropies = ops.stack([safe_mean(terms[f"ce{t}_sum"], terms[f"count{t}"]) for t in (1, 2, 3)])
    return task_losses, cross_entropies, terms["center1_sum"]


def objectives(task_weights, task_losses):
    """{'L': w1 L1 + w2 L2 + w3 L3 (no weight decay: quirk of the original), 'L4': sum_i w_i / (L_i + sigma)
    with the L_i held constant (the harder task gets the larger weight)}."""
    return {"L": ops.sum(task_weights * task_losses),
            "L4": ops.sum(task_weights / (ops.stop_gradient(task_losses) + SIGMA))}


def global_norm(gradients):
    """sqrt of the sum of every gradient's squares."""
    return ops.sqrt(sum(ops.sum(ops.square(g)) for g in gradients))


def clip_by_global_norm(gradients, clip_norm=CLIP_NORM, norm=None):
    """(gradients * clip_norm / max(norm, clip_norm), norm), as tf.clip_by_global_norm (a non-finite norm gives
    non-finite gradients). `norm`: the global norm when the step computes it with its backend's own kernel."""
    norm = global_norm(gradients) if norm is None else norm
    scale = clip_norm * ops.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
    return [g * scale for g in gradients], norm


def center_update_terms(embeddings, labels, centers):
    """(sum_i (c_j - f_i) per class [K, D], count per class [K]) over the batch; summable over replicas."""
    labels = ops.cast(labels, "int32")
    embeddings = ops.stop_gradient(embeddings)
    nrof_classes = centers.shape[0]
    sums = ops.segment_sum(ops.take(centers, labels, axis=0) - embeddings, labels, num_segments=nrof_classes)
    counts = ops.segment_sum(ops.ones_like(labels, "float32"), labels, num_segments=nrof_classes)
    return sums, counts


def updated_centers(centers, sums, counts, alfa):
    """c_j -= (1 - alfa) * sum_i (c_j - f_i) / n_j for the classes in the batch; the others unchanged."""
    return centers - (1.0 - alfa) * ops.divide_no_nan(sums, ops.expand_dims(counts, -1))


def moving_average_decay(decay, step):
    """tf.train.ExponentialMovingAverage's decay with num_updates: min(decay, (1 + step) / (10 + step))."""
    step = ops.cast(step, "float32")
    return ops.minimum(decay, (1.0 + step) / (10.0 + step))


def moving_average(shadow, value, decay):
    """The shadow after one update: shadow - (1 - decay) (shadow - value)."""
    return shadow - (1.0 - decay) * (shadow - value)


def accuracy_terms(outputs, labels, is_cari):
    """{acc_*: (correct, count)}: each head's training-batch accuracy on the images it is trained on."""
    labels = ops.cast(labels, "int32")
    terms = {}
    for name, (logits_key, _), mask in zip(ACCURACIES, BRANCHES, task_masks(is_cari)):
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(outputs[logits_key], axis=1), "int32"), labels), "float32")
        terms[name] = masked_sum(correct, mask)
    return terms


def positive_logits(outputs):
    """How many logits of the photo and caricature heads are > 0 (0: a dead ReLU head); summable."""
    return {name: ops.sum(ops.cast(outputs[head] > 0, "float32"))
            for name, head in (("positive_logits_photo", "logits_visual"), ("positive_logits_cari", "logits_cari"))}

"""The cross-entropy of each head when a margin head or label smoothing is asked for (PORTING X1, X4).

The original trains every head on the softmax cross-entropy of its logits; that stays the default,
computed by the steps' own softmax cross-entropy exactly as before. Otherwise each head's per-sample loss
is -sum_j q_j log softmax(z)_j, z the head's training logits (margin applied to the target class,
cari_mtl.model.margin_heads) and q the one-hot label smoothed as q = (1 - eps) onehot + eps / K.
In keras.ops, so that both backends' steps train with the same functions.
"""

import functools

from keras import ops

from cari_mtl.model.margin_heads import head_margin, head_scale, margin_logits


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
    ModelConfig; None for the original's softmax heads without smoothing (the steps keep their own)."""
    heads = (model_config.verif_head, model_config.identity_heads, model_config.identity_heads)
    if heads == ("softmax",) * 3 and not label_smoothing:
        return None
    return tuple(
        functools.partial(head_cross_entropy, head=head, margin=head_margin(head, model_config.margin),
                          scale=head_scale(model_config.margin_scale), label_smoothing=label_smoothing)
        for head in heads)

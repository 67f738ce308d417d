"""Margin heads (CosFace, ArcFace): a logits layer in cosine form and the margin it trains with.

Beyond the original (PORTING X1). `Dense` (a keras Dense in cosine form) replaces the `Dense` of `Logits_verif` (or of
`Logits` / `Logits_cari`) and keeps its variables: `kernel` [D, K] and `bias` [K] under the same
layer name, so weights files, TF1 conversion, the center loss and every task-weighting method see
the layer they know. It outputs s * cos(theta_j), theta_j the angle between the l2-normalised input
and the l2-normalised column j of the kernel; that is the head's logits at inference. The bias is
kept only so that checkpoints map one to one: it is not trainable and not used.

The margin is a training-time change of the target class's logit, applied by the loss
(`margin_logits`), so the network's outputs never depend on the labels:
    CosFace (Wang et al. 2018): s * (cos(theta_y) - m)
    ArcFace (Deng et al. 2019): s * cos(theta_y + m) while theta_y + m <= pi, i.e. cos(theta_y) >
    cos(pi - m); beyond, where cos(theta + m) would rise again, s * (cos(theta_y) - m * sin(pi - m))
    (insightface's easy_margin=False fallback, which keeps the logit decreasing in theta).
"""

import math

import keras
from keras import layers, ops

from cari_mtl.model.options import HEADS

DEFAULT_MARGINS = {"cosface": 0.35, "arcface": 0.5}
DEFAULT_SCALE = 30.0
NORMALIZE_EPSILON = 1e-10    # as the embeddings' tf.nn.l2_normalize
SINE_SQUARED_FLOOR = 1e-6    # ArcFace: sin(theta) = sqrt(max(1 - cos², floor)), finite gradient at cos = ±1
KERNEL_INIT_STDDEV = 0.1     # as the Dense heads (slim.fully_connected)


def check_head(head, flag="--verif_head"):
    if head not in HEADS:
        raise ValueError(f"unknown {flag} {head!r}; choose one of {', '.join(HEADS)}")
    return head


def head_margin(head, margin=None):
    """The margin m a head trains with: `margin` when given, else the head's usual value (0 for softmax)."""
    if head == "softmax":
        return 0.0
    return DEFAULT_MARGINS[check_head(head)] if margin is None else float(margin)


def head_scale(scale=None):
    return DEFAULT_SCALE if scale is None else float(scale)


def _l2_normalize(x, axis):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), NORMALIZE_EPSILON))


@keras.saving.register_keras_serializable(package="cari_mtl")
class Dense(layers.Dense):
    """scale * cos(input, class weight) [B, K]: the inference logits of a CosFace or ArcFace head.

    A keras Dense (kernel, bias) in cosine form. Its class is named Dense on purpose: Keras's weights
    file addresses each layer by its class name and rank, so a margin head and the Dense it replaces
    read and write the same entries, and a model directory trained with one head loads into the other.
    """

    def __init__(self, units, scale=DEFAULT_SCALE, **kwargs):
        kwargs.setdefault("kernel_initializer", keras.initializers.TruncatedNormal(stddev=KERNEL_INIT_STDDEV))
        super().__init__(units, **kwargs)
        self.scale = float(scale)

    def build(self, input_shape):
        super().build(input_shape)
        self.bias.trainable = False

    def call(self, x, training=None):
        return self.scale * ops.matmul(_l2_normalize(x, 1), _l2_normalize(self.kernel, 0))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def margin_logits(logits, labels, head, margin, scale):
    """The training logits of a margin head: its inference logits s*cos with the target class's changed.

    Args:
        logits: [B, K] float32, s * cos(theta) (the head's output); labels: [B] int.
        head: 'cosface' or 'arcface' ('softmax' returns `logits` unchanged); margin, scale: m and s.
    Returns:
        [B, K] float32.
    """
    if head == "softmax":
        return logits
    target = ops.one_hot(ops.cast(labels, "int32"), ops.shape(logits)[-1], dtype=logits.dtype) > 0
    if head == "cosface":
        return ops.where(target, logits - scale * margin, logits)
    check_head(head)
    cosine = ops.clip(logits / scale, -1.0, 1.0)
    sine = ops.sqrt(ops.clip(1.0 - ops.square(cosine), SINE_SQUARED_FLOOR, 1.0))
    shifted = cosine * math.cos(margin) - sine * math.sin(margin)
    fallback = cosine - margin * math.sin(math.pi - margin)
    phi = ops.where(cosine > math.cos(math.pi - margin), shifted, fallback)
    return ops.where(target, scale * phi, logits)

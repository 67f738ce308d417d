"""Inception-ResNet-v1 with three task branches and the dynamic-weights head (Keras 3).

The network of the original `models/inception_resnet_v1_cari_vis.py` plus the heads its
training scripts add (PORTING N1-N7):

    image ─ trunk `InceptionResnetV1` (Conv2d_1a_3x3 … Mixed_7a, every repeat = 1)
              ├─ branch 1 `InceptionResnetV1` Repeat_2/block8_1, Block8, `_sLogits` ─ Logits_verif (linear)
              ├─ branch 2 `InceptionResnetV1_expression` (photos) ─ Logits (ReLU)
              ├─ branch 3 `InceptionResnetV1_cari` (caricatures) ─ Logits_cari (ReLU)
              └─ flatten(Mixed_7a) ─ Logits_lossweights ─ normalise ─ softmax → per-image task weights

Layer names are the TF1 variable scopes with "/" written as `SCOPE_SEP` (Keras 3 forbids "/"
in layer names), so a TF1 checkpoint maps onto the layers by a mechanical rename.
Under a mixed-precision policy (--mixed_precision) the layers after the pooled features compute
in float32 (`HEAD_DTYPE`): logits, embeddings, the weights head and its softmax keep float32's
range and precision; with the default float32 policy this changes nothing.
Training scripts load this file by path (`--model_def`), as the original does; it ships inside the
package (the default `--model_def`), and `models/inception_resnet_v1_cari_vis.py` of the checkout
re-exports it. `L2Normalize` is registered with Keras under the package name `cari_mtl`, whatever
module name the file is loaded under, so a saved `.keras` model restores it.
"""

import keras
from keras import layers, ops

from cari_mtl.model import margin_heads
from cari_mtl.model.input_size import min_image_size

SCOPE_SEP = "."
BN_MOMENTUM = 0.995
BN_EPSILON = 1e-3
L2_NORMALIZE_EPSILON = 1e-10
DENSE_INIT_STDDEV = 0.1
HEAD_DTYPE = "float32"

TRUNK_SCOPE = "InceptionResnetV1"
PHOTO_SCOPE = "InceptionResnetV1_expression"
CARI_SCOPE = "InceptionResnetV1_cari"

# How each training script turns the 3 head logits into softmax inputs (PORTING N4):
# (l2-normalise the head's input?, factor applied to the l2-normalised logits).
LOSSWEIGHTS_VARIANTS = {
    "cavi": (False, 1.0),     # carirecog_dynamic_*_onelayer.py
    "webcari": (False, 2.0),  # webcari_dynamic_*_onelayer.py
    "naive": (True, 0.5),     # *_navie.py and webcari_naivedynamic_*.py
}

OUTPUT_NAMES = (
    "prelogits", "prelogits_visual", "prelogits_cari",
    "embeddings", "embeddings_visual", "embeddings_cari",
    "logits_verif", "logits_visual", "logits_cari",
    "lossweights_logits", "lossweights",
)


def scope(*parts):
    """Joins TF1 scope parts into a Keras layer name."""
    return SCOPE_SEP.join(parts)


@keras.saving.register_keras_serializable(package="cari_mtl")
class L2Normalize(layers.Layer):
    """`tf.nn.l2_normalize(x, axis=1, epsilon=1e-10)`: x / sqrt(max(sum(x²), eps))."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        square_sum = ops.sum(ops.square(x), axis=1, keepdims=True)
        return x * ops.rsqrt(ops.maximum(square_sum, L2_NORMALIZE_EPSILON)) * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _l2(weight_decay):
    # slim.l2_regularizer(s) is s * sum(w²) / 2; Keras L2(l) is l * sum(w²).
    return keras.regularizers.L2(weight_decay / 2.0) if weight_decay > 0 else None


def conv_bn_relu(x, filters, kernel_size, name, strides=1, padding="same", weight_decay=0.0):
    """slim.conv2d under the original arg_scope: Glorot weights, no bias, BN without gamma, ReLU."""
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, use_bias=False,
        kernel_initializer="glorot_uniform", kernel_regularizer=_l2(weight_decay), name=name,
    )(x)
    x = layers.BatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, scale=False, center=True,
        name=scope(name, "BatchNorm"),
    )(x)
    return layers.ReLU(name=scope(name, "Relu"))(x)


def _residual(x, mixed, name, block_scale, activate, weight_decay):
    """out = act(x + scale * Conv2d_1x1(mixed)); the up-projection has biases and no BN."""
    up = layers.Conv2D(
        x.shape[-1], 1, padding="same", use_bias=True, kernel_initializer="glorot_uniform",
        kernel_regularizer=_l2(weight_decay), name=scope(name, "Conv2d_1x1"),
    )(mixed)
    up = layers.Rescaling(block_scale, name=scope(name, "Scale"))(up)
    x = layers.Add(name=scope(name, "Add"))([x, up])
    if activate:
        x = layers.ReLU(name=scope(name, "Relu"))(x)
    return x


def block35(x, name, block_scale=0.17, activate=True, weight_decay=0.0):
    """Inception-ResNet-A."""
    wd = weight_decay
    b0 = conv_bn_relu(x, 32, 1, scope(name, "Branch_0", "Conv2d_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(x, 32, 1, scope(name, "Branch_1", "Conv2d_0a_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(b1, 32, 3, scope(name, "Branch_1", "Conv2d_0b_3x3"), weight_decay=wd)
    b2 = conv_bn_relu(x, 32, 1, scope(name, "Branch_2", "Conv2d_0a_1x1"), weight_decay=wd)
    b2 = conv_bn_relu(b2, 32, 3, scope(name, "Branch_2", "Conv2d_0b_3x3"), weight_decay=wd)
    b2 = conv_bn_relu(b2, 32, 3, scope(name, "Branch_2", "Conv2d_0c_3x3"), weight_decay=wd)
    mixed = layers.Concatenate(name=scope(name, "concat"))([b0, b1, b2])
    return _residual(x, mixed, name, block_scale, activate, wd)


def block17(x, name, block_scale=0.10, activate=True, weight_decay=0.0):
    """Inception-ResNet-B."""
    wd = weight_decay
    b0 = conv_bn_relu(x, 128, 1, scope(name, "Branch_0", "Conv2d_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(x, 128, 1, scope(name, "Branch_1", "Conv2d_0a_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(b1, 128, (1, 7), scope(name, "Branch_1", "Conv2d_0b_1x7"), weight_decay=wd)
    b1 = conv_bn_relu(b1, 128, (7, 1), scope(name, "Branch_1", "Conv2d_0c_7x1"), weight_decay=wd)
    mixed = layers.Concatenate(name=scope(name, "concat"))([b0, b1])
    return _residual(x, mixed, name, block_scale, activate, wd)


def block8(x, name, block_scale=0.20, activate=True, weight_decay=0.0):
    """Inception-ResNet-C."""
    wd = weight_decay
    b0 = conv_bn_relu(x, 192, 1, scope(name, "Branch_0", "Conv2d_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(x, 192, 1, scope(name, "Branch_1", "Conv2d_0a_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(b1, 192, (1, 3), scope(name, "Branch_1", "Conv2d_0b_1x3"), weight_decay=wd)
    b1 = conv_bn_relu(b1, 192, (3, 1), scope(name, "Branch_1", "Conv2d_0c_3x1"), weight_decay=wd)
    mixed = layers.Concatenate(name=scope(name, "concat"))([b0, b1])
    return _residual(x, mixed, name, block_scale, activate, wd)


def reduction_a(x, name, k, l, m, n, weight_decay=0.0):  # noqa: E741 (k, l, m, n: filter counts, as in the paper)
    wd = weight_decay
    b0 = conv_bn_relu(x, n, 3, scope(name, "Branch_0", "Conv2d_1a_3x3"), 2, "valid", wd)
    b1 = conv_bn_relu(x, k, 1, scope(name, "Branch_1", "Conv2d_0a_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(b1, l, 3, scope(name, "Branch_1", "Conv2d_0b_3x3"), weight_decay=wd)
    b1 = conv_bn_relu(b1, m, 3, scope(name, "Branch_1", "Conv2d_1a_3x3"), 2, "valid", wd)
    b2 = layers.MaxPooling2D(3, 2, "valid", name=scope(name, "Branch_2", "MaxPool_1a_3x3"))(x)
    return layers.Concatenate(name=scope(name, "concat"))([b0, b1, b2])


def reduction_b(x, name, weight_decay=0.0):
    wd = weight_decay
    b0 = conv_bn_relu(x, 256, 1, scope(name, "Branch_0", "Conv2d_0a_1x1"), weight_decay=wd)
    b0 = conv_bn_relu(b0, 384, 3, scope(name, "Branch_0", "Conv2d_1a_3x3"), 2, "valid", wd)
    b1 = conv_bn_relu(x, 256, 1, scope(name, "Branch_1", "Conv2d_0a_1x1"), weight_decay=wd)
    b1 = conv_bn_relu(b1, 256, 3, scope(name, "Branch_1", "Conv2d_1a_3x3"), 2, "valid", wd)
    b2 = conv_bn_relu(x, 256, 1, scope(name, "Branch_2", "Conv2d_0a_1x1"), weight_decay=wd)
    b2 = conv_bn_relu(b2, 256, 3, scope(name, "Branch_2", "Conv2d_0b_3x3"), weight_decay=wd)
    b2 = conv_bn_relu(b2, 256, 3, scope(name, "Branch_2", "Conv2d_1a_3x3"), 2, "valid", wd)
    b3 = layers.MaxPooling2D(3, 2, "valid", name=scope(name, "Branch_3", "MaxPool_1a_3x3"))(x)
    return layers.Concatenate(name=scope(name, "concat"))([b0, b1, b2, b3])


def trunk(images, weight_decay=0.0):
    """The shared layers, `InceptionResnetV1` up to Mixed_7a: [B, S, S, 3] → [B, s, s, 1792]."""
    wd = weight_decay
    t = TRUNK_SCOPE
    x = conv_bn_relu(images, 32, 3, scope(t, "Conv2d_1a_3x3"), 2, "valid", wd)
    x = conv_bn_relu(x, 32, 3, scope(t, "Conv2d_2a_3x3"), padding="valid", weight_decay=wd)
    x = conv_bn_relu(x, 64, 3, scope(t, "Conv2d_2b_3x3"), weight_decay=wd)
    x = layers.MaxPooling2D(3, 2, "valid", name=scope(t, "MaxPool_3a_3x3"))(x)
    x = conv_bn_relu(x, 80, 1, scope(t, "Conv2d_3b_1x1"), padding="valid", weight_decay=wd)
    x = conv_bn_relu(x, 192, 3, scope(t, "Conv2d_4a_3x3"), padding="valid", weight_decay=wd)
    x = conv_bn_relu(x, 256, 3, scope(t, "Conv2d_4b_3x3"), 2, "valid", wd)
    x = block35(x, scope(t, "Repeat", "block35_1"), weight_decay=wd)
    x = reduction_a(x, scope(t, "Mixed_6a"), 192, 192, 256, 384, weight_decay=wd)
    x = block17(x, scope(t, "Repeat_1", "block17_1"), weight_decay=wd)
    return reduction_b(x, scope(t, "Mixed_7a"), weight_decay=wd)


def branch(mixed_7a, branch_scope, repeat_scope, logits_scope, keep_probability, weight_decay=0.0):
    """block8 (ReLU), Block8 (no activation), whole-map average pool, dropout → [B, 1792] prelogits."""
    x = block8(mixed_7a, scope(branch_scope, repeat_scope, "block8_1"), weight_decay=weight_decay)
    x = block8(x, scope(branch_scope, "Block8"), block_scale=1.0, activate=False,
               weight_decay=weight_decay)
    x = layers.AveragePooling2D(
        pool_size=tuple(x.shape[1:3]), padding="valid",
        name=scope(branch_scope, logits_scope, "AvgPool_1a_8x8"),
    )(x)
    x = layers.Flatten(name=scope(branch_scope, logits_scope, "Flatten"))(x)
    return layers.Dropout(1.0 - keep_probability, name=scope(branch_scope, logits_scope, "Dropout"))(x)


def dense_head(x, units, name, activation=None, weight_decay=0.0):
    """slim.fully_connected: truncated-normal(0.1) weights, zero biases."""
    return layers.Dense(
        units, activation=activation, name=name,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=DENSE_INIT_STDDEV),
        bias_initializer="zeros", kernel_regularizer=_l2(weight_decay), dtype=HEAD_DTYPE,
    )(x)


def logits_head(x, units, name, head="softmax", margin_scale=None, activation=None, weight_decay=0.0):
    """A logits layer: the original's `dense_head`, or a CosFace/ArcFace head with the same variables
    (PORTING X1). A margin head outputs s*cos and takes no activation (its margin is the loss's)."""
    if head == "softmax":
        return dense_head(x, units, name, activation, weight_decay)
    margin_heads.check_head(head)
    return margin_heads.Dense(units, margin_heads.head_scale(margin_scale), kernel_regularizer=_l2(weight_decay),
                              name=name, dtype=HEAD_DTYPE)(x)


def lossweights_head(mixed_7a, variant, weight_decay=0.0):
    """Dynamic-weights unit: per-image softmax over the 3 tasks (0 verif, 1 photo, 2 caricature)."""
    if variant not in LOSSWEIGHTS_VARIANTS:
        raise ValueError(
            f"unknown weights-head variant {variant!r}; choose one of {sorted(LOSSWEIGHTS_VARIANTS)}"
        )
    normalise_input, factor = LOSSWEIGHTS_VARIANTS[variant]
    x = layers.Flatten(name="Logits_lossweights_input", dtype=HEAD_DTYPE)(mixed_7a)
    if normalise_input:
        x = L2Normalize(name="norm_lossweights_input", dtype=HEAD_DTYPE)(x)
    logits = dense_head(x, 3, "Logits_lossweights", weight_decay=weight_decay)
    logits = L2Normalize(factor=factor, name="norm_lossweights", dtype=HEAD_DTYPE)(logits)
    weights = layers.Softmax(name="softmax_lossweights", dtype=HEAD_DTYPE)(logits)
    return logits, weights


def build_model(image_size=160, nrof_classes=10, keep_probability=1.0, weight_decay=0.0,
                lossweights_variant="cavi", logits_relu=True, verif_head="softmax", identity_heads="softmax",
                margin_scale=None):
    """The full three-branch network as a functional Keras model (PORTING N1-N7).

    Args:
        image_size: input side in pixels, at least 75 (the VALID convolutions must reach Mixed_7a).
        nrof_classes: identities K of the three logits heads.
        keep_probability: dropout keep probability of the three branches.
        weight_decay: L2 factor of the conv and FC weights (slim's wd/2 convention).
        lossweights_variant: form of the weights head: 'cavi', 'webcari' (x2) or 'naive'.
        logits_relu: ReLU after the photo and caricature logits, the original's quirk (softmax heads only).
        verif_head, identity_heads: 'softmax' (the original's Dense) or a margin head 'cosface' /
            'arcface' for `Logits_verif`, and for `Logits` and `Logits_cari` (PORTING X1).
        margin_scale: s of the margin heads (their logits are s*cos; default 30).
    Returns:
        keras.Model from [B, image_size, image_size, 3] float32, already standardised, to a dict (see
        OUTPUT_NAMES): prelogits* [B, 1792]; embeddings* = l2-normalised prelogits; logits_* [B, K]
        (`logits_visual`/`logits_cari` after the ReLU, as the original's `logits_expr`/`logits_cari`);
        lossweights_logits and lossweights (softmax) [B, 3]. Call with `training=True` for BN batch
        statistics and dropout.
    """
    smallest = min_image_size()
    if image_size < smallest:
        raise ValueError(
            f"image_size {image_size} is too small for Inception-ResNet-v1's VALID convolutions: "
            f"the smallest input that reaches Mixed_7a is {smallest} px"
        )
    images = keras.Input((image_size, image_size, 3), name="input")
    mixed_7a = trunk(images, weight_decay)
    prelogits = {
        "": branch(mixed_7a, TRUNK_SCOPE, "Repeat_2", "_sLogits", keep_probability, weight_decay),
        "_visual": branch(mixed_7a, PHOTO_SCOPE, "Repeat", "Logits", keep_probability, weight_decay),
        "_cari": branch(mixed_7a, CARI_SCOPE, "Repeat", "Logits", keep_probability, weight_decay),
    }
    outputs = {}
    for suffix, features in prelogits.items():
        outputs["prelogits" + suffix] = layers.Identity(name="prelogits" + suffix, dtype=HEAD_DTYPE)(features)
        outputs["embeddings" + suffix] = L2Normalize(name="embeddings" + suffix, dtype=HEAD_DTYPE)(features)
    outputs["logits_verif"] = logits_head(prelogits[""], nrof_classes, "Logits_verif", verif_head, margin_scale,
                                          weight_decay=weight_decay)
    head_activation = "relu" if logits_relu else None
    outputs["logits_visual"] = logits_head(prelogits["_visual"], nrof_classes, "Logits", identity_heads,
                                           margin_scale, head_activation, weight_decay)
    outputs["logits_cari"] = logits_head(prelogits["_cari"], nrof_classes, "Logits_cari", identity_heads,
                                         margin_scale, head_activation, weight_decay)
    outputs["lossweights_logits"], outputs["lossweights"] = lossweights_head(
        mixed_7a, lossweights_variant, weight_decay)
    return keras.Model(images, outputs, name="inception_resnet_v1_cari_vis")

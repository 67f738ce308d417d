"""CosFace and ArcFace heads against numpy by hand: logits, training logits, and their gradients."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from cari_mtl.model import margin_heads
from cari_mtl.model.margin_heads import head_margin, margin_logits
from cari_mtl.model.model_dir import ModelConfig, load_model_dir, read_config, save_model_dir
from cari_mtl.training.step import formulas as losses
from cari_mtl.training.step.formulas import head_cross_entropy, task_loss_terms_fn

SCALE = 30.0
CLASSES = 4
DIM = 5


def known_inputs():
    """x [3, D], W [D, K], labels; sample 2 points away from its class (ArcFace's fallback region)."""
    rng = np.random.default_rng(7)
    kernel = rng.normal(size=(DIM, CLASSES))
    x = rng.normal(size=(3, DIM))
    labels = np.array([1, 3, 0])
    x[0] += 2.0 * kernel[:, 1] / np.linalg.norm(kernel[:, 1])          # near its class
    x[2] = -kernel[:, 0] + 0.05 * rng.normal(size=DIM)                  # theta_y close to pi
    return x, kernel, labels


def np_cosines(x, kernel):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    wn = kernel / np.linalg.norm(kernel, axis=0, keepdims=True)
    return xn @ wn, xn, wn


def np_phi(cos, head, m):
    """Target-class cos after the margin, and d phi / d cos, by hand."""
    if head == "cosface":
        return cos - m, np.ones_like(cos)
    sin = np.sqrt(1.0 - cos ** 2)
    normal = cos > math.cos(math.pi - m)
    phi = np.where(normal, cos * math.cos(m) - sin * math.sin(m), cos - math.sin(math.pi - m) * m)
    derivative = np.where(normal, math.cos(m) + math.sin(m) * cos / sin, 1.0)
    return phi, derivative


def np_loss_and_gradients(x, kernel, labels, head, m, s, smoothing=0.0):
    """Mean cross-entropy of the margin logits and its gradients w.r.t. x and the kernel, by the chain rule."""
    cos, xn, wn = np_cosines(x, kernel)
    rows = np.arange(len(labels))
    phi, dphi = np_phi(cos[rows, labels], head, m)
    z = s * cos
    z[rows, labels] = s * phi
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    q = np.full_like(p, smoothing / CLASSES)
    q[rows, labels] += 1.0 - smoothing
    loss = -(q * np.log(p)).sum(axis=1).mean()
    dz = (p - q) / len(labels)
    dcos = dz * s
    dcos[rows, labels] *= dphi
    x_norm = np.linalg.norm(x, axis=1, keepdims=True)
    w_norm = np.linalg.norm(kernel, axis=0, keepdims=True)
    dx = np.zeros_like(x)
    dw = np.zeros_like(kernel)
    for b in range(len(x)):
        for j in range(CLASSES):
            dx[b] += dcos[b, j] * (wn[:, j] - cos[b, j] * xn[b]) / x_norm[b]
            dw[:, j] += dcos[b, j] * (xn[b] - cos[b, j] * wn[:, j]) / w_norm[0, j]
    return loss, dx, dw, z


def layer_with(kernel):
    layer = margin_heads.Dense(CLASSES, SCALE)
    layer.build((None, DIM))
    layer.kernel.assign(kernel.astype(np.float32))
    return layer


def test_cosine_logits_are_scale_times_cosine_and_ignore_the_bias():
    x, kernel, _ = known_inputs()
    layer = layer_with(kernel)
    layer.bias.assign(np.full(CLASSES, 5.0, np.float32))
    np.testing.assert_allclose(layer(x.astype(np.float32)).numpy(), SCALE * np_cosines(x, kernel)[0], rtol=1e-5,
                               atol=1e-5)
    assert [v.name for v in layer.weights] == ["kernel", "bias"] and [v.name for v in layer.trainable_weights] == [
        "kernel"]


@pytest.mark.parametrize("head", ["cosface", "arcface"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_training_logits_loss_and_gradients_match_numpy(head, smoothing):
    x, kernel, labels = known_inputs()
    m = head_margin(head)
    cos = np_cosines(x, kernel)[0]
    if head == "arcface":  # the case of sample 2 is ArcFace's fallback, the others the cos(theta + m) form
        assert cos[2, 0] < math.cos(math.pi - m) < cos[0, 1] and cos[1, 3] > math.cos(math.pi - m)
    expected_loss, expected_dx, expected_dw, expected_z = np_loss_and_gradients(x, kernel, labels, head, m, SCALE,
                                                                                smoothing)
    layer = layer_with(kernel)
    inputs = tf.Variable(x.astype(np.float32))
    with tf.GradientTape() as tape:
        logits = layer(inputs)
        training_logits = margin_logits(logits, labels, head, m, SCALE)
        loss = tf.reduce_mean(head_cross_entropy(logits, labels, head, m, SCALE, smoothing))
    dx, dw = tape.gradient(loss, [inputs, layer.kernel])
    np.testing.assert_allclose(training_logits.numpy(), expected_z, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-5)
    np.testing.assert_allclose(dx.numpy(), expected_dx, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(dw.numpy(), expected_dw, rtol=1e-3, atol=1e-5)


def test_arcface_fallback_keeps_the_target_logit_decreasing_in_the_angle():
    m = 0.5
    cos = np.array([[-0.99], [-0.9], [-0.87], [0.0], [0.9]], np.float32)
    phi = margin_logits(tf.constant(cos), np.zeros(5, np.int64), "arcface", m, 1.0).numpy()[:, 0]
    threshold = math.cos(math.pi - m)
    hand = [c - math.sin(math.pi - m) * m if c <= threshold else math.cos(math.acos(c) + m) for c in cos[:, 0]]
    np.testing.assert_allclose(phi, hand, rtol=1e-5, atol=1e-6)
    assert np.all(np.diff(phi) > 0)


def test_the_original_heads_keep_the_original_loss_function():
    assert task_loss_terms_fn(ModelConfig(80, 3)) is losses.task_loss_terms
    assert task_loss_terms_fn(ModelConfig(80, 3, verif_head="cosface")) is not losses.task_loss_terms


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_a_saved_margin_head_model_reloads_and_embeds_identically(tmp_path):
    config = ModelConfig(80, 5, verif_head="cosface", identity_heads="arcface", margin_scale=16.0)
    model = config.build()
    assert isinstance(model.get_layer("Logits_verif"), margin_heads.Dense)
    directory = save_model_dir(model, tmp_path / "model", config)
    stored = json.loads((directory / "config.json").read_text())
    assert (stored["verif_head"], stored["identity_heads"], stored["margin_scale"]) == ("cosface", "arcface", 16.0)
    reloaded, reread = load_model_dir(directory)
    assert reread == read_config(directory) == config
    images = np.random.default_rng(1).normal(size=(2, 80, 80, 3)).astype(np.float32)
    before, after = model(images), reloaded(images)
    for name in ("embeddings", "embeddings_visual", "embeddings_cari", "logits_verif", "logits_visual",
                 "logits_cari"):
        np.testing.assert_array_equal(before[name].numpy(), after[name].numpy())
    logits = after["logits_verif"].numpy()
    assert np.abs(logits).max() <= 16.0 + 1e-4
    as_dense, _ = load_model_dir(directory, verif_head="softmax", identity_heads="softmax")  # same variables
    np.testing.assert_array_equal(as_dense.get_layer("Logits_verif").kernel.numpy(),
                                  model.get_layer("Logits_verif").kernel.numpy())

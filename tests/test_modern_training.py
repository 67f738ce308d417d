"""Beyond the original: AdamW, the cosine schedule with warm-up, and every task weighting with margin heads."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from support.toy_steps import IS_CARI, LABELS, X, toy_model, toy_terms

from cari_mtl.data.synthetic import random_face, render_caricature, render_photo
from cari_mtl.model.model_dir import ModelConfig
from cari_mtl.training.step.formulas import task_loss_terms_fn
from cari_mtl.training.step.lr_schedules import step_schedule
from cari_mtl.training.step.optimizers import make_optimizer
from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry

from small_network import small_network

PEAK, TOTAL, WARMUP = 2e-3, 10, 4


def hand_cosine_rate(step):
    """Linear from 0 to the peak over the warm-up, then peak * (1 + cos(pi t / T)) / 2 down to 0 at TOTAL."""
    if step < WARMUP:
        return PEAK * step / WARMUP
    t = min(step, TOTAL) - WARMUP
    return PEAK * 0.5 * (1.0 + math.cos(math.pi * t / (TOTAL - WARMUP)))


def test_cosine_schedule_follows_the_formula():
    schedule = step_schedule("cosine", PEAK, TOTAL, WARMUP)
    for step in (0, 1, 3, 4, 5, 7, 9, 10, 12):
        assert float(schedule(step)) == pytest.approx(hand_cosine_rate(step), rel=1e-6, abs=1e-12)
    assert step_schedule("epochs", PEAK, TOTAL) is None


def test_train_step_uses_the_schedule_at_each_iteration_with_adamw(network):
    model = toy_model(network, "cavi", seed=3)
    step = TrainStep(model, registry.make_weighting("static"), optimizer="AdamW", loss_terms_fn=toy_terms,
                     optimizer_options={"adamw_weight_decay": 0.01},
                     learning_rate_schedule=step_schedule("cosine", PEAK, TOTAL, WARMUP))
    optimizer = step.optimizers["theta"]
    assert isinstance(optimizer, keras.optimizers.AdamW) and optimizer.weight_decay == pytest.approx(0.01)
    for index in range(7):
        logs = step(X, LABELS, IS_CARI, 123.0)  # the per-epoch rate is ignored under a schedule
        assert float(logs["learning_rate"]) == pytest.approx(hand_cosine_rate(index), rel=1e-6, abs=1e-12)
        assert float(optimizer.learning_rate) == pytest.approx(hand_cosine_rate(index), rel=1e-6, abs=1e-12)


def test_adamw_first_update_by_hand():
    optimizer = make_optimizer("AdamW", learning_rate=0.01, adamw_weight_decay=0.1)
    variable = keras.Variable(np.array([1.0, -2.0, 0.5], np.float32))
    gradient = np.array([0.3, -0.1, 0.0], np.float32)
    optimizer.apply_gradients([(tf.constant(gradient), variable)])
    lr, decay, epsilon = 0.01, 0.1, 1e-7  # Keras's AdamW: beta 0.9 / 0.999, epsilon 1e-7
    start = np.array([1.0, -2.0, 0.5])
    m_hat, v_hat = gradient, gradient.astype(np.float64) ** 2  # first step: bias-corrected moments
    expected = start * (1 - lr * decay) - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5)


IMAGE_SIZE, NROF_CLASSES = 80, 3


def synthetic_batch():
    """Two photos and two caricatures of each of three synthetic identities, 80 px, roughly standardised."""
    rng = np.random.default_rng(0)
    images, labels, is_cari = [], [], []
    for label in range(NROF_CLASSES):
        face = random_face(rng)
        for render, cari in ((render_photo, 0), (render_photo, 0), (render_caricature, 1), (render_caricature, 1)):
            images.append(render(face, IMAGE_SIZE, rng).astype(np.float32) / 127.5 - 1.0)
            labels.append(label)
            is_cari.append(cari)
    return np.stack(images), np.array(labels), np.array(is_cari)


@pytest.mark.slow
@pytest.mark.parametrize("method", registry.names())
def test_every_weighting_method_trains_two_steps_with_margin_heads(network, method):
    keras.utils.set_random_seed(1)
    model = small_network(network, IMAGE_SIZE, NROF_CLASSES, verif_head="cosface", identity_heads="arcface",
                          margin_scale=16.0)
    config = ModelConfig(IMAGE_SIZE, NROF_CLASSES, verif_head="cosface", identity_heads="arcface", margin_scale=16.0)
    step = TrainStep(model, registry.make_weighting(method), optimizer="AdamW",
                     loss_terms_fn=task_loss_terms_fn(config, label_smoothing=0.1), center_loss_factor=0.01,
                     learning_rate_schedule=step_schedule("cosine", 0.01, 4, 1))
    images, labels, is_cari = synthetic_batch()
    kernel = model.get_layer("head").kernel.numpy().copy()
    bias = model.get_layer("head").bias.numpy().copy()
    for _ in range(2):
        logs = {name: float(value) for name, value in step(images, labels, is_cari, 0.0).items()}
        assert all(np.isfinite(value) for value in logs.values()), logs
    assert not np.allclose(model.get_layer("head").kernel.numpy(), kernel)  # the margin head learns
    np.testing.assert_array_equal(model.get_layer("head").bias.numpy(), bias)  # its unused bias never moves
    assert logs["CE1"] > 0 and logs["CE2"] > 0 and logs["CE3"] > 0

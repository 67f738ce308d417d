"""Speed options of the train step: the float16 loss-scaling rule and a mixed_float16 step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cari_mtl.runtime.speed import DynamicLossScale, mixed_precision_policy, use_xla
from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry

from small_network import small_network

IMAGE_SIZE = 80
NROF_CLASSES = 3
LABELS = [0, 1, 2, 0, 1, 2]
IS_CARI = [0, 0, 0, 1, 1, 1]


def test_loss_scale_halves_on_overflow_and_doubles_after_the_interval():
    scale = DynamicLossScale(initial_scale=8.0, growth_interval=3)
    scale.update(tf.constant(False))
    assert float(scale.scale) == 4.0 and int(scale.finite_steps) == 0
    for _ in range(2):
        scale.update(tf.constant(True))
    assert float(scale.scale) == 4.0 and int(scale.finite_steps) == 2
    scale.update(tf.constant(True))
    assert float(scale.scale) == 8.0 and int(scale.finite_steps) == 0


def test_loss_scale_never_goes_below_one():
    scale = DynamicLossScale(initial_scale=1.0)
    scale.update(tf.constant(False))
    assert float(scale.scale) == 1.0


def test_explicit_choices_do_not_depend_on_the_machine():
    assert mixed_precision_policy("bfloat16") == "mixed_bfloat16"
    assert mixed_precision_policy("float16") == "mixed_float16"
    assert mixed_precision_policy("off") == "float32"
    assert use_xla("on") and not use_xla("off")
    with pytest.raises(ValueError, match="--mixed_precision"):
        mixed_precision_policy("half")


def train_step(network, policy):
    """A TrainStep of the small network built under `policy` (the global policy is restored)."""
    keras.utils.set_random_seed(3)
    keras.config.set_dtype_policy(policy)
    try:
        model = small_network(network, IMAGE_SIZE, NROF_CLASSES)
        step = TrainStep(model, registry.make_weighting("dynamic"), "RMSProp", center_loss_factor=0.1,
                         center_loss_alfa=0.5)
    finally:
        keras.config.set_dtype_policy("float32")
    return step


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).normal(size=(len(LABELS), IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_float16_step_matches_float32_and_keeps_float32_variables(network, images):
    reference = train_step(network, "float32")
    mixed = train_step(network, "mixed_float16")
    mixed.model.set_weights(reference.model.get_weights())
    expected = {k: float(v) for k, v in reference(images, LABELS, IS_CARI, 0.01).items()}
    logs = {k: float(v) for k, v in mixed(images, LABELS, IS_CARI, 0.01).items()}
    assert logs["loss_scale"] == 2.0 ** 15 and "loss_scale" not in expected
    for name in ("L1", "L2", "L3", "L", "L4", "w1", "w2", "w3"):
        assert abs(logs[name] - expected[name]) <= 1e-2 * max(1.0, abs(expected[name])), name
    assert all(v.dtype == tf.float32 for v in mixed.model.trainable_variables)
    assert mixed.centers.dtype == tf.float32
    changed = max(float(np.max(np.abs(a - b))) for a, b in
                  zip(reference.model.get_weights(), mixed.model.get_weights()))
    assert changed < 1e-2  # both took the same step; float16 rounding only


def test_float16_step_with_non_finite_gradients_is_skipped_and_halves_the_scale(network, images):
    mixed = train_step(network, "mixed_float16")
    before = [v.numpy() for v in mixed.model.trainable_variables if "lossweights" not in v.path]
    poisoned = images.copy()
    poisoned[0, 0, 0, 0] = np.inf
    logs = mixed(poisoned, LABELS, IS_CARI, 0.01)
    assert float(logs["loss_scale"]) == 2.0 ** 14
    after = [v.numpy() for v in mixed.model.trainable_variables if "lossweights" not in v.path]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))

"""The dead-head guard: a head whose logits are all <= 0 (or whose cross-entropy sits at ln K) is reported
once, by name, on stderr and in the run's warnings.txt; a healthy head never is."""

import math

import numpy as np
import pytest
import tensorflow as tf

from cari_mtl.training.loop.dead_heads import PATIENCE, DeadHeadGuard
from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry

from small_network import small_network

IMAGE_SIZE, NROF_CLASSES, BATCH = 24, 5, 8


def healthy(step_values=None):
    return {"CE1": 1.2, "CE2": 1.1, "CE3": 1.3, "positive_logits_photo": 17.0, "positive_logits_cari": 9.0,
            **(step_values or {})}


def test_warns_once_per_head_after_patience_steps(tmp_path, capsys):
    guard = DeadHeadGuard(NROF_CLASSES, tmp_path)
    issued = [guard.update(step, healthy({"positive_logits_cari": 0.0})) for step in range(1, 3 * PATIENCE)]
    assert [step for step, warnings in enumerate(issued, start=1) if warnings] == [PATIENCE]
    assert "dead head: caricature (Logits_cari) at step 20" in issued[PATIENCE - 1][0]
    assert "--logits_relu off" in capsys.readouterr().err
    assert (tmp_path / "warnings.txt").read_text().count("dead head: caricature") == 1
    assert DeadHeadGuard(NROF_CLASSES, tmp_path).warned == {"caricature"}  # remembered across a resume


def test_cross_entropy_at_ln_k_counts_as_dead_and_a_live_step_resets(tmp_path):
    guard = DeadHeadGuard(NROF_CLASSES, tmp_path)
    uniform = healthy({"CE2": math.log(NROF_CLASSES) + 5e-4})
    for step in range(1, PATIENCE):
        assert guard.update(step, uniform) == []
    assert guard.update(PATIENCE, healthy()) == []  # one live step: the count starts again
    for step in range(PATIENCE + 1, 2 * PATIENCE):
        assert guard.update(step, uniform) == []
    assert "dead head: photo" in guard.update(2 * PATIENCE, uniform)[0]


def test_healthy_heads_never_warn(tmp_path):
    guard = DeadHeadGuard(NROF_CLASSES, tmp_path)
    assert not any(guard.update(step, healthy()) for step in range(1, 5 * PATIENCE))
    assert not (tmp_path / "warnings.txt").exists()


def test_without_relu_negative_logits_are_not_death(tmp_path):
    guard = DeadHeadGuard(NROF_CLASSES, tmp_path, relu=False)
    assert not any(guard.update(step, healthy({"positive_logits_photo": 0.0})) for step in range(1, 3 * PATIENCE))


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_forced_dead_head_is_found_from_the_train_steps_own_logs(network, tmp_path):
    model = small_network(network, IMAGE_SIZE, NROF_CLASSES)
    model.get_layer("head_cari").bias.assign(np.full(NROF_CLASSES, -1e4, np.float32))  # every logit < 0
    step = TrainStep(model, registry.make_weighting("dynamic"), optimizer="SGD")
    rng = np.random.default_rng(0)
    guard = DeadHeadGuard(NROF_CLASSES, tmp_path)
    warnings = []
    for index in range(PATIENCE):
        images = tf.constant(rng.normal(size=(BATCH, IMAGE_SIZE, IMAGE_SIZE, 3)), tf.float32)
        labels = tf.constant(rng.integers(0, NROF_CLASSES, BATCH))
        values = {k: float(v) for k, v in step(images, labels, np.array([0, 1] * (BATCH // 2)), 1e-3).items()}
        assert values["positive_logits_cari"] == 0 and values["positive_logits_photo"] > 0
        warnings += guard.update(index + 1, values)
    assert len(warnings) == 1 and "caricature" in warnings[0]

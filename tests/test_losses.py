"""Losses (PORTING T1, T2, T4) against numpy values computed by hand."""

import numpy as np
import tensorflow as tf

from cari_mtl.training.step import formulas as losses
from cari_mtl.training.step.common import lossweights_mean
from cari_mtl.training.weighting.original import Dynamic


def np_cross_entropy(logits, labels):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(labels)), labels]


def test_center_loss_and_update_two_samples_of_one_class_and_absent_classes():
    centers = np.array([[1.0, 0.0], [5.0, 5.0], [0.0, 2.0], [-3.0, 1.0]], np.float32)
    features = np.array([[0.0, 0.0], [1.0, 2.0], [0.5, 1.0]], np.float32)
    labels = np.array([0, 0, 2])
    alfa = 0.25

    per_sample = np.asarray(losses.center_distance(features, labels, centers))
    # 0.5 * ||f - c_y||^2 by hand
    np.testing.assert_allclose(per_sample, [0.5 * 1.0, 0.5 * (0.0 + 4.0), 0.5 * (0.25 + 1.0)], rtol=1e-6)

    sums, counts = losses.center_update_terms(features, labels, centers)
    new_centers = np.asarray(losses.updated_centers(centers, sums, counts, alfa))
    expected = centers.copy()
    expected[0] -= 0.75 * ((centers[0] - features[0]) + (centers[0] - features[1])) / 2
    expected[2] -= 0.75 * (centers[2] - features[2])
    np.testing.assert_allclose(new_centers, expected, rtol=1e-6)
    np.testing.assert_array_equal(new_centers[[1, 3]], centers[[1, 3]])  # absent classes do not move


def _outputs(rng, batch, classes, dim):
    return {
        "logits_verif": rng.normal(size=(batch, classes)).astype(np.float32),
        "logits_visual": np.maximum(rng.normal(size=(batch, classes)), 0).astype(np.float32),
        "logits_cari": np.maximum(rng.normal(size=(batch, classes)), 0).astype(np.float32),
        "embeddings": rng.normal(size=(batch, dim)).astype(np.float32),
        "embeddings_visual": rng.normal(size=(batch, dim)).astype(np.float32),
        "embeddings_cari": rng.normal(size=(batch, dim)).astype(np.float32),
    }


def test_three_branches_use_one_shared_centers_table_and_their_own_images():
    rng = np.random.default_rng(0)
    outputs = _outputs(rng, 5, 3, 4)
    labels = np.array([0, 1, 2, 1, 0])
    is_cari = np.array([0, 1, 1, 0, 1])
    centers = rng.normal(size=(3, 4)).astype(np.float32)
    beta = 0.1

    terms = losses.task_loss_terms({k: tf.constant(v) for k, v in outputs.items()}, labels, is_cari, centers, beta)
    task_losses, cross_entropies, center1 = (x.numpy() for x in losses.reduce_task_losses(terms))

    def branch(logits, embeddings, rows):
        ce = np_cross_entropy(outputs[logits][rows], labels[rows])
        center = 0.5 * ((outputs[embeddings][rows] - centers[labels[rows]]) ** 2).sum(axis=1)
        return (ce + beta * center).mean(), ce.mean(), center.sum()

    all_rows, photos, caricatures = np.arange(5), np.flatnonzero(is_cari == 0), np.flatnonzero(is_cari == 1)
    l1, ce1, c1 = branch("logits_verif", "embeddings", all_rows)
    l2, ce2, _ = branch("logits_visual", "embeddings_visual", photos)
    l3, ce3, _ = branch("logits_cari", "embeddings_cari", caricatures)
    np.testing.assert_allclose(task_losses, [l1, l2, l3], rtol=1e-5)
    np.testing.assert_allclose(cross_entropies, [ce1, ce2, ce3], rtol=1e-5)
    np.testing.assert_allclose(center1, c1, rtol=1e-5)  # logged as the batch sum, like tf.nn.l2_loss


def test_batch_without_caricatures_gives_zero_l3_and_no_gradient():
    rng = np.random.default_rng(1)
    outputs = {k: tf.Variable(v) for k, v in _outputs(rng, 4, 3, 4).items()}
    labels = np.array([0, 1, 2, 1])
    is_cari = np.zeros(4, np.int64)
    with tf.GradientTape() as tape:
        terms = losses.task_loss_terms(outputs, labels, is_cari, np.zeros((3, 4), np.float32), 0.1)
        task_losses, _, _ = losses.reduce_task_losses(terms)
        loss3 = task_losses[2]
    grads = tape.gradient(loss3, [outputs["logits_cari"], outputs["embeddings_cari"]])
    assert task_losses.numpy()[2] == 0.0
    assert np.isfinite(task_losses.numpy()).all()
    for grad in grads:
        np.testing.assert_array_equal(grad.numpy(), 0.0)


def test_weights_loss_value_and_gradient_hold_task_losses_constant():
    w = tf.Variable([0.5, 0.3, 0.2])
    task_losses = tf.Variable([2.0, 1.0, 0.5])
    with tf.GradientTape(persistent=True) as tape:
        objectives = losses.objectives(w, task_losses)
        l4, total = objectives["L4"], objectives["L"]
    np.testing.assert_allclose(l4.numpy(), 0.5 / 2.01 + 0.3 / 1.01 + 0.2 / 0.51, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(l4, w).numpy(), [1 / 2.01, 1 / 1.01, 1 / 0.51], rtol=1e-6)
    assert tape.gradient(l4, task_losses) is None
    np.testing.assert_allclose(total.numpy(), 0.5 * 2 + 0.3 * 1 + 0.2 * 0.5, rtol=1e-6)


def test_batch_task_weights_add_the_bases_to_the_column_means():
    lossweights = np.array([[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]], np.float32)
    terms = {"lossweights_sum": lossweights.sum(axis=0), "rows": np.float32(2)}
    mean = lossweights_mean(terms)
    w = np.asarray(Dynamic((0.1, 0.0, 0.2)).task_weights(mean, {"params": {}}))
    np.testing.assert_allclose(w, [0.4, 0.35, 0.55], rtol=1e-6)

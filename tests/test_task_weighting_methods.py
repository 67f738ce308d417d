"""Each task-weighting method of the literature through the compiled train step on the toy network of
test_weighting (x [B, 2] → trunk h [B, 3] → the real weights head), against numpy on its paper's formula."""

import numpy as np
import pytest
import tensorflow as tf
from support.toy_steps import IS_CARI, LABELS, LR, TARGETS, X, np_clip, toy_model, toy_terms

from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry


def make_step(network, name, terms=toy_terms, **options):
    model = toy_model(network, "cavi", seed=3)
    step = TrainStep(model, registry.make_weighting(name, **options), optimizer="SGD", loss_terms_fn=terms)
    return model, step


def trunk(model):
    return model.get_layer("trunk").kernel.numpy().astype(np.float64)


def np_task_losses(kernel):
    return (((X.astype(np.float64) @ kernel) - TARGETS) ** 2).mean(axis=0)


def np_task_gradients(kernel):
    """dL_i/dW [3, 2, 3] of L_i = mean_b (h_bi - t_i)^2, h = X W: only column i is non-zero."""
    x = X.astype(np.float64)
    residual = x @ kernel - TARGETS
    gradients = np.zeros((3,) + kernel.shape)
    for task in range(3):
        gradients[task][:, task] = 2.0 / len(x) * x.T @ residual[:, task]
    return gradients


def test_uncertainty_moves_each_log_variance_by_its_gradient(network):
    model, step = make_step(network, "uncertainty")
    for _ in range(2):
        kernel, s = trunk(model), step.params["log_variances"].numpy().astype(np.float64)
        losses = np_task_losses(kernel)
        logs = step(X, LABELS, IS_CARI, LR)
        np.testing.assert_allclose([float(logs[f"w{i}"]) for i in (1, 2, 3)], np.exp(-s), rtol=1e-6)
        weighted = np.exp(-s)[:, None, None] * np_task_gradients(kernel)
        kernel_gradient, s_gradient = np_clip([weighted.sum(axis=0), 1 - np.exp(-s) * losses])
        np.testing.assert_allclose(step.params["log_variances"].numpy(), s - LR * s_gradient, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(trunk(model), kernel - LR * kernel_gradient, rtol=1e-5, atol=1e-7)


def test_dwa_weights_follow_the_loss_history(network):
    model, step = make_step(network, "dwa", dwa_temperature=2.0, dwa_window=1)
    history, weights = [], []
    for _ in range(4):
        history.append(np_task_losses(trunk(model)))
        logs = step(X, LABELS, IS_CARI, LR)
        weights.append([float(logs[f"w{i}"]) for i in (1, 2, 3)])
    np.testing.assert_allclose(weights[:2], np.ones((2, 3)))  # w = 1 for the first two windows
    for index in (2, 3):
        ratios = history[index - 1] / history[index - 2]
        expected = 3 * np.exp(ratios / 2.0) / np.exp(ratios / 2.0).sum()
        np.testing.assert_allclose(weights[index], expected, rtol=1e-4)


def test_gradnorm_updates_the_weights_by_its_rule(network):
    model, step = make_step(network, "gradnorm", gradnorm_alpha=1.5, gradnorm_lr=0.1)
    weights, initial = np.ones(3), None
    for _ in range(2):
        kernel = trunk(model)
        losses = np_task_losses(kernel)
        initial = losses if initial is None else initial
        norms = np.linalg.norm(np_task_gradients(kernel).reshape(3, -1), axis=1)
        logs = step(X, LABELS, IS_CARI, LR)
        np.testing.assert_allclose([float(logs[f"w{i}"]) for i in (1, 2, 3)], weights, rtol=1e-5)
        ratios = losses / initial
        target = (weights * norms).mean() * (ratios / ratios.mean()) ** 1.5
        updated = np.maximum(weights - 0.1 * np.sign(weights * norms - target) * norms, 0)
        weights = 3 * updated / updated.sum()
        np.testing.assert_allclose(step.weighting_state["weights"].numpy(), weights, rtol=1e-5)


def conflicting_terms(outputs, labels, is_cari, centers, center_loss_factor):
    """L1 and L2 pull trunk column 0 to different targets (conflicting gradients); L3 uses column 1."""
    h = outputs["embeddings"]
    columns, targets = (0, 0, 1), (3.0, -3.0, 0.1)
    terms = {"center1_sum": tf.constant(0.0)}
    for task in (1, 2, 3):
        total = tf.reduce_sum(tf.square(h[:, columns[task - 1]] - targets[task - 1]))
        terms.update({f"loss{task}_sum": total, f"ce{task}_sum": total, f"count{task}": tf.constant(4.0)})
    return terms


def np_pcgrad(gradients, order):
    projected = []
    for i, gradient in enumerate(gradients):
        gradient = gradient.copy()
        for j in order:
            if j != i and gradient @ gradients[j] < 0:
                gradient -= gradient @ gradients[j] / (gradients[j] @ gradients[j]) * gradients[j]
        projected.append(gradient)
    return np.sum(projected, axis=0)


def test_pcgrad_applies_the_projected_sum_of_conflicting_gradients(network):
    model, step = make_step(network, "pcgrad", terms=conflicting_terms)
    for index in range(2):
        kernel = trunk(model)
        x = X.astype(np.float64)
        h = x @ kernel
        gradients = np.zeros((3,) + kernel.shape)
        for task, (column, target) in enumerate(zip((0, 0, 1), (3.0, -3.0, 0.1))):
            gradients[task][:, column] = 2.0 / len(x) * x.T @ (h[:, column] - target)
        flat = gradients.reshape(3, -1)
        assert flat[0] @ flat[1] < 0  # the pair conflicts
        order = [(0, 1, 2), (0, 2, 1)][index]  # the first two of the six orders the steps take in turn
        [expected] = np_clip([np_pcgrad(flat, order).reshape(kernel.shape)])
        step(X, LABELS, IS_CARI, LR)
        np.testing.assert_allclose(trunk(model), kernel - LR * expected, rtol=1e-5, atol=1e-7)
        assert not np.allclose(np_pcgrad(flat, order), flat.sum(axis=0))  # the projection changed the step


def test_mgda_weights_are_the_min_norm_point_of_the_feature_gradients(network):
    model, step = make_step(network, "mgda")
    for _ in range(2):
        kernel = trunk(model)
        residual = X.astype(np.float64) @ kernel - TARGETS
        squared_norms = (2.0 / len(X) * residual) ** 2  # dL_i/dh: column i, orthogonal across tasks
        expected = (1 / squared_norms.sum(axis=0)) / (1 / squared_norms.sum(axis=0)).sum()
        logs = step(X, LABELS, IS_CARI, LR)
        np.testing.assert_allclose([float(logs[f"w{i}"]) for i in (1, 2, 3)], expected, rtol=1e-5)
        weighted = (expected[:, None, None] * np_task_gradients(kernel)).sum(axis=0)
        np.testing.assert_allclose(trunk(model), kernel - LR * np_clip([weighted])[0], rtol=1e-5, atol=1e-7)


def test_detached_weights_input_keeps_l_out_of_the_trunk_through_w(network):
    attached_model, attached = make_step(network, "dynamic")
    detached_model, detached = make_step(network, "dynamic", detach_weights_input=True)
    kernel = trunk(detached_model)
    head = detached_model.get_layer("Logits_lossweights")
    psi = head.kernel.numpy()
    z = (X.astype(np.float64) @ kernel) @ psi + head.bias.numpy()
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    w = (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)).mean(axis=0)
    # Detached: the trunk's gradient is sum_i w_i dL_i/dW with w a constant; attached adds dL/dw dw/dW.
    expected = kernel - LR * np_clip([(w[:, None, None] * np_task_gradients(kernel)).sum(axis=0)])[0]
    logs = detached(X, LABELS, IS_CARI, LR)
    attached(X, LABELS, IS_CARI, LR)
    np.testing.assert_allclose([float(logs[f"w{i}"]) for i in (1, 2, 3)], w, rtol=1e-5)
    np.testing.assert_allclose(trunk(detached_model), expected, rtol=1e-5, atol=1e-7)
    assert np.abs(trunk(attached_model) - expected).max() > 1e-5
    assert np.abs(head.kernel.numpy() - psi).max() > 0  # Ψ still learns, from L4


@pytest.mark.parametrize("name", ["uncertainty", "dwa", "gradnorm", "pcgrad", "mgda"])
def test_psi_is_never_trained_by_the_literature_methods(network, name):
    model, step = make_step(network, name)
    head = model.get_layer("Logits_lossweights").kernel.numpy()
    step(X, LABELS, IS_CARI, LR)
    np.testing.assert_array_equal(model.get_layer("Logits_lossweights").kernel.numpy(), head)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_staged_trains_only_the_stages_variables(network):
    from small_network import small_network

    model = small_network(network, 24, 5)
    step = TrainStep(model, registry.make_weighting("staged", staged_epochs=(1, 1, 1, 1)), optimizer="SGD")
    rng = np.random.default_rng(0)
    images = rng.normal(size=(8, 24, 24, 3)).astype(np.float32)
    labels, is_cari = rng.integers(0, 5, 8), np.array([0, 1] * 4)
    owners = {"trunk": "trunk", "caricature": "_cari", "photo": "_visual", "verification": ""}

    def owner(variable):
        layer = variable.path.split("/")[0].split(".")[0]
        return next(name for name, mark in owners.items() if mark in layer)

    expected = {1: {"trunk", "verification", "photo", "caricature"}, 2: {"trunk", "verification"}, 3: {"photo"},
                4: {"caricature"}, 5: {"trunk", "verification", "photo", "caricature"}}  # epoch 5: joint again
    weights = {1: [1, 1, 1], 2: [1, 0, 0], 3: [0, 1, 0], 4: [0, 0, 1], 5: [1, 1, 1]}
    for epoch, moved in expected.items():
        step.weighting.start_epoch(epoch)
        before = {v.path: v.numpy() for v in model.trainable_variables if not v.path.startswith("Logits_lossweights")}
        logs = step(images, labels, is_cari, 0.1)
        changed = {owner(v) for v in model.trainable_variables
                   if v.path in before and np.abs(v.numpy() - before[v.path]).max() > 0}
        assert changed == moved, (epoch, changed)
        np.testing.assert_array_equal([float(logs[f"w{i}"]) for i in (1, 2, 3)], weights[epoch])

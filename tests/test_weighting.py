"""Task weightings through the compiled train step, on a toy network with the real weights head.

The toy: x [B, 2] → Dense "trunk" (Θ) → h [B, 3] → the network's `Logits_lossweights` head (Ψ).
Task losses are L_i = mean_b (h[b, i] - t_i)^2, so every gradient can be checked against numpy
finite differences of the same formulas written out by hand.
"""

import numpy as np
import pytest
import tensorflow as tf
from support.toy_steps import IS_CARI, LABELS, LR, TARGETS, X, np_clip, toy_model, toy_terms  # noqa: F401

from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry
from cari_mtl.training.weighting.base import split_indices


def np_objectives(params, variant):
    """(L, L4 with the L_i frozen at their current values, task losses) in float64."""
    trunk, head_w, head_b = params
    h = X.astype(np.float64) @ trunk
    head_in = h / np.linalg.norm(h, axis=1, keepdims=True) if variant == "naive" else h
    z = head_in @ head_w + head_b
    z = z / np.linalg.norm(z, axis=1, keepdims=True) * {"cavi": 1.0, "webcari": 2.0, "naive": 0.5}[variant]
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    w = softmax.mean(axis=0)
    task_losses = ((h - TARGETS) ** 2).mean(axis=0)
    return w @ task_losses, w, task_losses


def np_gradient(fn, params, index):
    grad = np.zeros_like(params[index])
    for position in np.ndindex(grad.shape):
        shifted = [p.copy() for p in params]
        shifted[index][position] += 1e-6
        up = fn(shifted)
        shifted[index][position] -= 2e-6
        grad[position] = (up - fn(shifted)) / 2e-6
    return grad


def params_of(model):
    head = model.get_layer("Logits_lossweights")
    return [model.get_layer("trunk").kernel.numpy().astype(np.float64),
            head.kernel.numpy().astype(np.float64), head.bias.numpy().astype(np.float64)]


def run_one_step(network, name, variant, factor=1.0, static_weights=(1.0, 1.0, 1.0)):
    model = toy_model(network, variant, seed=3)
    method = registry.make_weighting(name, static_weights=static_weights)
    step = TrainStep(model, method, optimizer="SGD", lossweights_lr_factor=factor, loss_terms_fn=toy_terms)
    before = params_of(model)
    logs = step(X, LABELS, IS_CARI, LR)
    after = params_of(model)
    return before, [a - b for a, b in zip(after, before)], logs


def test_dynamic_theta_learns_from_l_only_and_psi_from_l4_only(network):
    params, deltas, logs = run_one_step(network, "dynamic", "cavi", factor=2.0)
    _, w, task_losses = np_objectives(params, "cavi")

    def total(p):
        return np_objectives(p, "cavi")[0]

    def l4(p):  # the task losses held constant at their current values
        return (np_objectives(p, "cavi")[1] / (task_losses + 0.01)).sum()

    theta_grad = np_clip([np_gradient(total, params, 0)])[0]
    psi_grads = np_clip([np_gradient(l4, params, 1), np_gradient(l4, params, 2)])
    np.testing.assert_allclose(deltas[0], -LR * theta_grad, rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(deltas[1], -2 * LR * psi_grads[0], rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(deltas[2], -2 * LR * psi_grads[1], rtol=2e-3, atol=1e-6)
    theta_with_l4 = np_gradient(lambda p: total(p) + l4(p), params, 0)
    assert not np.allclose(deltas[0], -LR * theta_with_l4, rtol=1e-2)
    np.testing.assert_allclose([logs[f"w{i}"].numpy() for i in (1, 2, 3)], w, rtol=1e-5)
    np.testing.assert_allclose([logs[f"L{i}"].numpy() for i in (1, 2, 3)], task_losses, rtol=1e-5)
    assert int(logs["global_step"]) == 1


def test_naive_trains_the_weights_head_on_l(network):
    params, deltas, _ = run_one_step(network, "naive", "naive")

    def total(p):
        return np_objectives(p, "naive")[0]

    grads = np_clip([np_gradient(total, params, i) for i in range(3)])
    for delta, grad in zip(deltas, grads):
        np.testing.assert_allclose(delta, -LR * grad, rtol=2e-3, atol=1e-6)
    assert np.abs(deltas[1]).max() > 1e-4


def test_static_weights_leave_the_head_alone(network):
    params, deltas, logs = run_one_step(network, "static", "cavi", static_weights=(1.0, 0.0, 0.0))

    def loss1(p):
        return np_objectives(p, "cavi")[2][0]

    np.testing.assert_allclose(deltas[0], -LR * np_clip([np_gradient(loss1, params, 0)])[0], rtol=2e-3, atol=1e-6)
    np.testing.assert_array_equal(deltas[1], 0.0)
    np.testing.assert_array_equal(deltas[2], 0.0)
    assert [float(logs[f"w{i}"]) for i in (1, 2, 3)] == [1.0, 0.0, 0.0]


def constant_terms(outputs, labels, is_cari, centers, center_loss_factor):
    """Fixed task losses L = (2.0, 0.5, 1.0): task 1 is the hard one, task 2 the easy one."""
    terms = {"center1_sum": tf.constant(0.0)}
    for task, value in zip((1, 2, 3), (2.0, 0.5, 1.0)):
        terms.update({f"loss{task}_sum": tf.constant(value), f"ce{task}_sum": tf.constant(value),
                      f"count{task}": tf.constant(1.0)})
    return terms


@pytest.mark.parametrize("name, variant", [("dynamic", "cavi"), ("naive", "naive")])
def test_toy_behaviour_of_the_paper(network, name, variant):
    """PORTING T5: with L_a > L_b fixed, dynamic moves weight onto the hard task, naive away from it."""
    model = toy_model(network, variant, seed=5)
    step = TrainStep(model, registry.make_weighting(name), optimizer="RMSProp", loss_terms_fn=constant_terms)
    history = [step(X, LABELS, IS_CARI, 0.05) for _ in range(15)]
    first, last = history[0], history[-1]
    if name == "dynamic":
        assert float(last["w1"]) > float(last["w2"])
        assert float(last["w1"]) > float(first["w1"]) + 0.05
    else:
        assert float(last["w1"]) < float(last["w2"])
        assert float(last["w1"]) < float(first["w1"]) - 0.05


def test_variable_split_puts_only_the_weights_head_in_psi(network):
    model = network.build_model(image_size=80, nrof_classes=4)
    theta, psi = split_indices(model)
    variables = model.trainable_variables
    head = model.get_layer("Logits_lossweights")
    assert sorted(variables[i].path for i in psi) == sorted(v.path for v in head.weights)
    assert len(theta) + len(psi) == len(model.trainable_variables)
    groups = registry.make_weighting("dynamic").groups(model)
    assert [(g.name, g.objective, len(g.indices)) for g in groups] == [("theta", "L", len(theta)), ("psi", "L4", 2)]

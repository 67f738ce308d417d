"""The formulas of the task-weighting methods against numpy computations of their papers."""

import itertools

import numpy as np
import tensorflow as tf

from cari_mtl.training.weighting import formulas as weighting_math


def test_uncertainty_gradient_of_the_log_variance_is_one_minus_weighted_loss():
    losses = tf.constant([2.0, 0.5, 1.0])
    log_variances = tf.Variable([0.0, 1.0, -0.5])
    with tf.GradientTape() as tape:
        objective = weighting_math.uncertainty_objective(losses, log_variances)
    s = np.array([0.0, 1.0, -0.5])
    np.testing.assert_allclose(objective.numpy(), np.sum(np.exp(-s) * [2.0, 0.5, 1.0] + s), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(objective, log_variances).numpy(), 1 - np.exp(-s) * [2.0, 0.5, 1.0],
                               rtol=1e-6)


def test_dwa_weights_from_two_epochs_of_losses():
    previous, before = np.array([1.0, 2.0, 0.5]), np.array([2.0, 2.0, 0.25])
    ratios = previous / before  # 0.5, 1, 2
    expected = 3 * np.exp(ratios / 2.0) / np.exp(ratios / 2.0).sum()
    actual = np.asarray(weighting_math.dwa_weights(tf.constant(previous), tf.constant(before), 2, 2.0))
    np.testing.assert_allclose(actual, expected, rtol=1e-12)
    assert abs(actual.sum() - 3.0) < 1e-12
    first_windows = np.asarray(weighting_math.dwa_weights(tf.constant(previous), tf.constant(before), 1, 2.0))
    np.testing.assert_array_equal(first_windows, 1.0)  # w = 1 until two windows are done
    assert actual[2] > actual[1] > actual[0]  # the task whose loss fell least gets the most weight


def test_gradnorm_weight_update():
    weights = tf.constant([1.0, 1.0, 1.0])
    raw_norms = tf.constant([2.0, 1.0, 4.0])  # ||dL_i/dW||, so G_i = w_i * raw_i
    losses, initial = tf.constant([0.5, 1.0, 2.0]), tf.constant([1.0, 1.0, 1.0])
    updated = np.asarray(weighting_math.gradnorm_update(weights, raw_norms, losses, initial, 1.0, 0.1))
    norms, ratios = np.array([2.0, 1.0, 4.0]), np.array([0.5, 1.0, 2.0])
    target = norms.mean() * ratios / ratios.mean()  # 7/3 * [0.4286, 0.8571, 1.7143]
    gradient = np.sign(norms - target) * norms  # of L_grad = sum_i |G_i - target_i| in w_i (target constant)
    expected = np.maximum(1.0 - 0.1 * gradient, 0.0)
    np.testing.assert_allclose(updated, 3 * expected / expected.sum(), rtol=1e-6)


def test_pcgrad_projects_a_conflicting_pair_and_keeps_an_agreeing_one():
    g1, g2, g3 = np.array([1.0, 0.0]), np.array([-1.0, 1.0]), np.array([0.0, 1.0])
    gradients = tf.constant(np.stack([g1, g2, g3]))
    actual = np.asarray(weighting_math.pcgrad(gradients, tf.constant([0, 1, 2])))
    # g1 . g2 = -1 < 0: g1 -> g1 - (-1 / 2) g2 = [0.5, 0.5]; then g1' . g3 > 0: kept.
    # g2 . g1 = -1 < 0: g2 -> g2 - (-1 / 1) g1 = [0, 1]; g2' . g3 > 0: kept.  g3 agrees with both.
    np.testing.assert_allclose(actual, [0.5, 0.5] + np.array([0.0, 1.0]) + g3, atol=1e-12)


def test_pcgrad_visits_the_six_orders_in_turn():
    orders = [tuple(np.asarray(weighting_math.pcgrad_order(tf.constant(step, tf.int64)))) for step in range(7)]
    assert sorted(orders[:6]) == sorted(itertools.permutations(range(3))) and orders[6] == orders[0]


def test_mgda_finds_the_min_norm_point_of_three_known_vectors():
    rng = np.random.default_rng(0)
    cases = [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),        # edge solution (0.5, 0.5, 0)
             np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]),  # interior
             np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),        # collinear: the vertex g1
             rng.normal(size=(3, 5))]
    grid = [np.array([a, b, 1 - a - b]) for a, b in itertools.product(np.linspace(0, 1, 401), repeat=2)
            if a + b <= 1 + 1e-12]
    for vectors in cases:
        alpha = np.asarray(weighting_math.min_norm_weights(tf.constant(vectors)))
        assert np.all(alpha >= -1e-9) and abs(alpha.sum() - 1) < 1e-9
        best = min(np.sum((w @ vectors) ** 2) for w in grid)
        assert np.sum((alpha @ vectors) ** 2) <= best + 1e-9
    np.testing.assert_allclose(np.asarray(weighting_math.min_norm_weights(tf.constant(cases[0]))), [0.5, 0.5, 0],
                               atol=1e-9)
    np.testing.assert_allclose(np.asarray(weighting_math.min_norm_weights(tf.constant(cases[1]))),
                               np.array([36, 9, 4]) / 49, atol=1e-9)

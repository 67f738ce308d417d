"""TF1-compatible RMSProp and the TF1 moving average against their update formulas in numpy."""

import numpy as np
import tensorflow as tf

from cari_mtl.training.step import formulas
from cari_mtl.training.step.optimizers import make_optimizer


def test_rmsprop_three_steps_follow_tf1_formulas():
    initial = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    gradients = [np.array([[0.1, -0.2], [1.5, 0.0]]), np.array([[-0.3, 0.4], [0.2, 2.0]]),
                 np.array([[0.05, 0.05], [-1.0, 0.7]])]
    variable = tf.Variable(initial)
    optimizer = make_optimizer("RMSProp", learning_rate=0.1)
    optimizer.build([variable])

    var, ms, mom = initial.astype(np.float64), np.ones((2, 2)), np.zeros((2, 2))
    for gradient in gradients:
        optimizer.apply_gradients([(tf.constant(gradient, tf.float32), variable)])
        ms = 0.9 * ms + 0.1 * gradient ** 2          # TF1: mean square starts at ONE
        mom = 0.9 * mom + 0.1 * gradient / np.sqrt(ms + 1.0)
        var = var - mom
        np.testing.assert_allclose(variable.numpy(), var, rtol=1e-5, atol=1e-7)


def test_momentum_follows_tf1_across_a_learning_rate_change():
    """TF1 MomentumOptimizer(use_nesterov=True): accum = 0.9 accum + g; var -= lr (g + 0.9 accum)."""
    initial = np.array([1.0, -2.0, 0.5], np.float32)
    gradients = [np.array([0.1, -0.2, 1.5]), np.array([-0.3, 0.4, 0.2]), np.array([0.05, 0.05, -1.0]),
                 np.array([0.7, -0.1, 0.3])]
    rates = [0.1, 0.1, 0.01, 0.01]
    variable = tf.Variable(initial)
    optimizer = make_optimizer("Momentum", learning_rate=0.1)
    optimizer.build([variable])

    var, accum = initial.astype(np.float64), np.zeros(3)
    expected = [[0.981, -1.962, 0.215], [1.0299, -2.0218, 0.0555], [1.030651, -2.024532, 0.061945],
                [1.0184769, -2.0246408, 0.0530455]]  # by hand, TF1 formula
    for gradient, rate, hand in zip(gradients, rates, expected):
        optimizer.learning_rate.assign(rate)
        optimizer.apply_gradients([(tf.constant(gradient, tf.float32), variable)])
        accum = 0.9 * accum + gradient
        var = var - rate * (gradient + 0.9 * accum)
        np.testing.assert_allclose(var, hand, rtol=1e-6)
        np.testing.assert_allclose(variable.numpy(), var, rtol=1e-5, atol=1e-7)


def test_moving_average_uses_tf1_num_updates_decay():
    average = tf.constant([2.0, -1.0])  # the shadow starts at the variable's value
    shadow = np.array([2.0, -1.0])
    for step, value in enumerate(([3.0, 0.0], [1.0, 1.0])):
        decay_t = formulas.moving_average_decay(0.9999, tf.constant(step * 2, tf.int64))
        average = formulas.moving_average(average, tf.constant(value), decay_t)
        decay = min(0.9999, (1 + step * 2) / (10 + step * 2))
        shadow = shadow - (1 - decay) * (shadow - np.array(value))
        np.testing.assert_allclose(np.asarray(average), shadow, rtol=1e-6)

"""PORTING T6: how much larger Keras's zero-initialised RMSprop makes the first step than TF1's
(mean square initialised to 1, ε = 1 inside the square root), against the hand formula."""

import keras
import numpy as np
import pytest

from cari_mtl.training.step.optimizers import make_optimizer


def first_step(optimizer, gradient):
    variable = keras.Variable(np.zeros(1, np.float32))
    optimizer.apply_gradients([(np.full(1, gradient, np.float32), variable)])
    return -float(variable.numpy()[0])


@pytest.mark.parametrize("gradient, ratio", [(1e-3, np.sqrt(1.9)), (10.0, np.sqrt(11.9 / 11.0))])
def test_keras_first_step_is_at_most_sqrt_1_9_times_tf1s(gradient, ratio):
    tf1 = first_step(make_optimizer("RMSProp", learning_rate=1.0), gradient)
    keras_default = first_step(keras.optimizers.RMSprop(1.0, rho=0.9, momentum=0.9, epsilon=1.0), gradient)
    # TF1: g / sqrt(0.9 + 0.1 g² + 1); Keras from zero: g / sqrt(0.1 g² + 1)
    assert tf1 == pytest.approx(gradient / np.sqrt(1.9 + 0.1 * gradient ** 2), rel=1e-5)
    assert keras_default == pytest.approx(gradient / np.sqrt(1.0 + 0.1 * gradient ** 2), rel=1e-5)
    assert keras_default / tf1 == pytest.approx(ratio, rel=1e-4)
    assert keras_default / tf1 <= np.sqrt(1.9) + 1e-6

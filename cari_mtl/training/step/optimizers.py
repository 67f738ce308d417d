"""The optimizers of train_BP.py with TF1's hyper-parameters and slot initialisation (PORTING T6).

Keras's RMSprop starts its mean-square slot at 0; TF1's starts it at 1. With epsilon = 1.0
inside the square root the first steps differ a lot, so RMSProp gets its own subclass. Keras's SGD
momentum accumulates learning-rate-scaled gradients, TF1's MomentumOptimizer unscaled ones, which
differ after a learning-rate change: Momentum gets its own subclass too (PORTING T6). The other
choices map onto Keras optimizers whose update rules equal TF1's for a constant learning rate.
"""

import keras
from keras import ops

from cari_mtl.training.config import ADAMW_WEIGHT_DECAY, OPTIMIZERS


class TF1RMSProp(keras.optimizers.RMSprop):
    """tf.train.RMSPropOptimizer: ms <- decay ms + (1-decay) g²; mom <- m mom + lr g / sqrt(ms + eps);
    var <- var - mom, with ms initialised to ONES (Keras: zeros)."""

    def build(self, var_list):
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity", initializer="ones")
        self._momentums = self.add_optimizer_variables(var_list, "momentum") if self.momentum > 0 else []
        self._average_gradients = []


class TF1Momentum(keras.optimizers.SGD):
    """tf.train.MomentumOptimizer: accum <- m accum + g; var <- var - lr (g + m accum) with Nesterov,
    var <- var - lr accum without; `accum` is the slot TF1 checkpoints call `<var>/Momentum`."""

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        accumulation = self.momentums[self._get_variable_index(variable)]
        self.assign(accumulation, ops.add(ops.multiply(accumulation, momentum), gradient))
        if self.nesterov:
            step = ops.add(gradient, ops.multiply(accumulation, momentum))
        else:
            step = accumulation
        self.assign_sub(variable, ops.multiply(step, learning_rate))


def make_optimizer(name, learning_rate=0.1, name_suffix="", adamw_weight_decay=ADAMW_WEIGHT_DECAY):
    """The `--optimizer` choice with the original hyper-parameters; no clipping (the step clips)."""
    label = f"{name}{name_suffix}"
    if name == "AdamW":
        return keras.optimizers.AdamW(learning_rate, weight_decay=adamw_weight_decay, name=label)
    if name == "RMSProp":
        return TF1RMSProp(learning_rate, rho=0.9, momentum=0.9, epsilon=1.0, name=label)
    if name == "Adagrad":
        return keras.optimizers.Adagrad(learning_rate, initial_accumulator_value=0.1, name=label)
    if name == "Adadelta":
        return keras.optimizers.Adadelta(learning_rate, rho=0.9, epsilon=1e-6, name=label)
    if name == "Adam":
        return keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=0.1, name=label)
    if name == "Momentum":
        return TF1Momentum(learning_rate, momentum=0.9, nesterov=True, name=label)
    if name == "SGD":
        return keras.optimizers.SGD(learning_rate, name=label)
    raise ValueError(f"unknown --optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")

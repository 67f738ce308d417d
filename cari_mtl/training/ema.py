"""tf.train.ExponentialMovingAverage(decay, num_updates=global_step) of the trained variables.

TF1 semantics: the shadow starts at the variable's value when the average is created, and each
update uses decay_t = min(decay, (1 + step) / (10 + step)). The shadows live in the training
checkpoint; model directories hold the raw variables, which is what the original's evaluation
scripts load as well.
"""

import tensorflow as tf


class MovingAverage:
    """Shadow copies of `variables`, updated by `update(step)`; checkpoint `shadows`."""

    def __init__(self, variables, decay):
        self.decay = float(decay)
        self.sources = list(variables)
        self.shadows = [
            tf.Variable(tf.convert_to_tensor(v), trainable=False, name=f"ema_{index}")
            for index, v in enumerate(self.sources)
        ]

    def decay_at(self, step):
        step = tf.cast(step, tf.float32)
        return tf.minimum(self.decay, (1.0 + step) / (10.0 + step))

    def update(self, step):
        decay = self.decay_at(step)
        for shadow, variable in zip(self.shadows, self.sources):
            shadow.assign_sub((1.0 - decay) * (shadow - tf.convert_to_tensor(variable)))

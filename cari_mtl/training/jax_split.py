"""The network cut at the trunk's output, for the JAX step of a weighting that needs the task losses'
gradients with respect to that output (MGDA) or Ψ behind a stop-gradient (dynamic
--detach_weights_input): the TensorFlow step has the output on its tape; under JAX the trunk and the
heads run as two stateless calls, so that the heads can be differentiated or fed alone.

Both halves are Keras models over the network's own layers (a functional model cut at an intermediate
tensor), so they share its variables: the step's state stays the full model's lists, and each half
reads and writes its own entries of them.
"""

import jax
import jax.numpy as jnp
import keras

from cari_mtl.training import step_math

FEATURE_GRADIENTS = "feature_task_gradients"  # the outputs' entry of feature_task_gradients' rows


class SplitNetwork:
    """`model` as trunk (images -> the features every branch and Ψ read) and heads (features -> outputs)."""

    def __init__(self, model):
        features = model.get_layer(step_math.HEAD_INPUT).input
        self.trunk = keras.Model(model.input, features)
        self.heads = keras.Model(features, model.output)
        trainable = {id(v): i for i, v in enumerate(model.trainable_variables)}
        non_trainable = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
        self.indices = {
            half: ([trainable[id(v)] for v in part.trainable_variables],
                   [non_trainable[id(v)] for v in part.non_trainable_variables])
            for half, part in (("trunk", self.trunk), ("heads", self.heads))}

    def _run(self, half, trainable, non_trainable, inputs):
        trainable_indices, non_trainable_indices = self.indices[half]
        part = self.trunk if half == "trunk" else self.heads
        return part.stateless_call([trainable[i] for i in trainable_indices],
                                   [non_trainable[i] for i in non_trainable_indices], inputs, training=True)

    def heads_outputs(self, trainable, non_trainable, features):
        """The heads' outputs for `features` (the non-trainable values they would write are dropped)."""
        return self._run("heads", trainable, non_trainable, features)[0]

    def __call__(self, trainable, non_trainable, images):
        """(outputs, the model's non-trainable values after the call, features, heads: features -> outputs)."""
        features, trunk_state = self._run("trunk", trainable, non_trainable, images)
        outputs, heads_state = self._run("heads", trainable, non_trainable, features)
        updated = list(non_trainable)
        for half, values in (("trunk", trunk_state), ("heads", heads_state)):
            for index, value in zip(self.indices[half][1], values):
                updated[index] = value
        frozen = [jax.lax.stop_gradient(value) for value in trainable]

        def heads(inputs):
            return self.heads_outputs(frozen, non_trainable, inputs)

        return outputs, updated, features, heads


def feature_task_gradients(heads, features, task_losses_of):
    """[3, N] rows: the gradient of each task loss with respect to the (flattened) features, the heads'
    variables held constant; `task_losses_of(outputs)` gives the three task losses."""
    losses, pullback = jax.vjp(lambda inputs: task_losses_of(heads(inputs)), jax.lax.stop_gradient(features))
    return jnp.stack([jnp.ravel(pullback(jax.nn.one_hot(task, losses.shape[0], dtype=losses.dtype))[0])
                      for task in range(losses.shape[0])])

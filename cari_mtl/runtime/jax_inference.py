"""The network's inference pass under the JAX backend: one jitted stateless call.

Keras' own eager call under JAX runs op by op; jitting `stateless_call` with the variables as
arguments compiles the pass once per input shape and always reads the current weights.
"""

import jax
import numpy as np


def jax_inference_function(model, names):
    """`infer(images [B, S, S, 3]) -> {name: float32 array}` for a Keras model under JAX."""

    @jax.jit
    def forward(trainable, non_trainable, images):
        outputs, _ = model.stateless_call(trainable, non_trainable, images, training=False)
        return {name: outputs[name].astype("float32") for name in names}

    def infer(images):
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return forward(trainable, non_trainable, np.asarray(images, dtype=np.float32))

    return infer

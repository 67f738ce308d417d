"""The network's inference pass under the JAX backend: one jitted stateless call.

Keras' own eager call under JAX runs op by op; jitting `stateless_call` with the variables as
arguments compiles the pass once per input shape and always reads the current weights. A batch smaller
than the largest seen so far (the last one of a list) is padded with zeros up to it, so a list costs one
compilation instead of two; inference mode treats every image alone, so the padding changes no row.
"""

import jax
import numpy as np


def jax_inference_function(model, names):
    """`infer(images [B, S, S, 3]) -> {name: float32 array}` for a Keras model under JAX."""

    @jax.jit
    def forward(trainable, non_trainable, images):
        outputs, _ = model.stateless_call(trainable, non_trainable, images, training=False)
        return {name: outputs[name].astype("float32") for name in names}

    compiled_batch = 0

    def infer(images):
        nonlocal compiled_batch
        images = np.asarray(images, dtype=np.float32)
        count = len(images)
        compiled_batch = max(compiled_batch, count)
        if count < compiled_batch:
            images = np.concatenate([images, np.zeros((compiled_batch - count, *images.shape[1:]), np.float32)])
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        outputs = forward(trainable, non_trainable, images)
        return {name: value[:count] for name, value in outputs.items()}

    return infer

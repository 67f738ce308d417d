"""Guards against NaN / Inf passing as results: in loaded weights, training losses and features.

A weights file with damaged bytes can still open and load; its NaN values then flow silently into
embeddings, accuracies and new checkpoints. These checks stop at the first non-finite value.
"""

import numpy as np

from cari_mtl.runtime.backend import resume_flags

LOSS_KEYS = ("L", "L1", "L2", "L3", "L4")


class NonFiniteError(ValueError):
    """Non-finite weights, loss or outputs; the message names the source and the fix."""


def check_weights(model, source):
    """NonFiniteError naming `source` and the first variable of `model` holding NaN or Inf."""
    for variable in model.weights:
        values = np.asarray(variable.numpy())
        if not np.isfinite(values).all():
            bad = int(values.size - np.isfinite(values).sum())
            raise NonFiniteError(f"{source}: variable {variable.path} holds {bad} non-finite value(s) (NaN/Inf): the "
                                 f"file is damaged; use another copy, epoch_NNNN or best_model_* directory")


def check_losses(values, step, last_checkpoint, model_dir):
    """NonFiniteError when a loss of a training step (dict of floats) is NaN or Inf."""
    bad = {key: values[key] for key in LOSS_KEYS if key in values and not np.isfinite(values[key])}
    if bad:
        losses = ", ".join(f"{key}={value}" for key, value in bad.items())
        resume = (f"the last good checkpoint is {last_checkpoint} (continue with {resume_flags(model_dir)})"
                  if last_checkpoint else "no checkpoint was written")
        raise NonFiniteError(f"training stopped at step {step}: non-finite loss ({losses}); nothing was saved after "
                             f"it, {resume}; lower --learning_rate or check --pretrained_model")


def drop_nonfinite_rows(features, valid):
    """Zeroes the rows of {name: [N, D]} holding NaN/Inf and marks them False in `valid` (in place);
    returns bool [N], True for those rows."""
    nonfinite = np.zeros(len(valid), dtype=bool)
    for values in features.values():
        nonfinite |= ~np.isfinite(values).all(axis=1)
    for values in features.values():
        values[nonfinite] = 0.0
    valid &= ~nonfinite
    return nonfinite

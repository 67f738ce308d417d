"""Per-step learning-rate schedules beyond the original's per-epoch rates (PORTING X3).

`cosine`: Keras's own CosineDecay with warm-up: the rate rises linearly from 0 to the peak
(--learning_rate) over `warmup_steps`, then follows peak * (1 + cos(pi * t / T)) / 2, with t the
steps since the warm-up and T the steps left in the run, reaching 0 at the run's last step. The
train step evaluates it at its own iteration count, so a resumed run continues on the same curve.
"""

import keras

from cari_mtl.training.config import LEARNING_RATE_SCHEDULES


def step_schedule(name, peak, total_steps, warmup_steps=0):
    """The keras LearningRateSchedule of `name` over a run of `total_steps` iterations; None for 'epochs'.

    Args:
        name: one of LEARNING_RATE_SCHEDULES; peak: the rate after the warm-up (> 0);
        total_steps: iterations of the whole run (epochs x epoch size); warmup_steps: < total_steps.
    """
    if name == "epochs":
        return None
    if name != "cosine":
        raise ValueError(f"unknown --learning_rate_schedule {name!r}; choose one of "
                         f"{', '.join(LEARNING_RATE_SCHEDULES)}")
    if peak <= 0 or not 0 <= warmup_steps < total_steps:
        raise ValueError(f"a cosine schedule needs a peak rate > 0 and 0 <= warmup_steps < total steps; got "
                         f"{peak}, {warmup_steps}, {total_steps}")
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=total_steps - warmup_steps, alpha=0.0,
        warmup_target=float(peak), warmup_steps=warmup_steps)

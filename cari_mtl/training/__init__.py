"""Training: the compiled step, losses, task weighting, optimizers, schedule, logs, checkpoints and the
per-epoch evaluation."""

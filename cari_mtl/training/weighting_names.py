"""The --task_weighting choices, importable without TensorFlow (flags are parsed before the backend loads)."""

STRATEGIES = ("dynamic", "naive", "static", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda", "staged")

"""Range checks of the numeric training flags, run before any data is read or any model is built.

Without them a bad value fails late (after an epoch of training) or not at all (`--epoch_size 0`
trains nothing and still writes best_model_*). Each failure is one line giving the allowed range.
"""

import math

from cari_mtl.runtime.backend import backend_name

MIN_IMAGE_SIZE = 75  # smallest input whose Inception-ResNet-v1 feature map keeps one pixel

INTEGER_RANGES = {  # flag: lowest allowed value
    "batch_size": 1, "epoch_size": 1, "max_nrof_epochs": 1, "lfw_batch_size": 1, "lfw_nrof_folds": 2,
    "downsample": 1, "save_every_n_steps": 0, "image_size": MIN_IMAGE_SIZE,
}
FLOAT_RANGES = {  # flag: (low, high, low included)
    "keep_probability": (0.0, 1.0, False), "far": (0.0, 1.0, False), "center_loss_alfa": (0.0, 1.0, True),
    "moving_average_decay": (0.0, 1.0, True), "center_loss_factor": (0.0, math.inf, True),
    "lossweights_lr_factor": (0.0, math.inf, True), "dwa_temperature": (0.0, math.inf, False),
    "gradnorm_alpha": (0.0, math.inf, True), "gradnorm_lr": (0.0, math.inf, True),
    "collective_timeout": (0.0, 86400.0, False),
}
SEED_LIMIT = 2 ** 32


def check_training_flags(args):
    """ValueError naming the first flag of `args` out of its allowed range."""
    for name, lowest in INTEGER_RANGES.items():
        value = getattr(args, name)
        if value < lowest:
            raise ValueError(f"--{name} must be an integer >= {lowest}, got {value}")
    for name, (low, high, low_included) in FLOAT_RANGES.items():
        value = getattr(args, name)
        if not (low <= value if low_included else low < value) or not value <= high:
            opening = "[" if low_included else "("
            raise ValueError(f"--{name} must be in {opening}{low:g}, {high:g}], got {value}")
    if backend_name() == "tensorflow":  # staged is TensorFlow-only; its module imports TensorFlow
        from cari_mtl.training.task_weighting import check_staged_epochs

        check_staged_epochs(args.staged_epochs)
    if args.dwa_window is not None and args.dwa_window < 1:
        raise ValueError(f"--dwa_window must be an integer >= 1, got {args.dwa_window}")
    if args.nrof_preprocess_threads is not None and args.nrof_preprocess_threads < 1:
        raise ValueError(f"--nrof_preprocess_threads must be an integer >= 1, got {args.nrof_preprocess_threads}")
    if not 0 <= args.seed < SEED_LIMIT:
        raise ValueError(f"--seed must be in [0, {SEED_LIMIT - 1}], got {args.seed}")
    for name in ("learning_rate", "loss_weight_base1", "loss_weight_base2", "loss_weight_base3"):
        if not math.isfinite(getattr(args, name)):
            raise ValueError(f"--{name} must be a finite number, got {getattr(args, name)}")
    if not all(math.isfinite(w) for w in args.static_weights):
        raise ValueError(f"--static_weights must be three finite numbers, got {args.static_weights}")


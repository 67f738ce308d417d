"""The ranges of a TrainingConfig, checked by `TrainingConfig.validate()` before any data is read or any
folder is made (by the training command for its flags, and by `cari_mtl.train` for a Python caller).

Without them a bad value fails late (after an epoch of training) or not at all (`epoch_size` 0 trains
nothing and still writes best_model_*). A failure is a ConfigError carrying the field, its value and
the allowed range; its message names the training flag that sets the field.
"""

import math

from cari_mtl.model.input_size import min_image_size

SEED_LIMIT = 2 ** 32

INTEGER_RANGES = {  # field: lowest allowed value
    "data.batch_size": 1, "loop.epoch_size": 1, "loop.max_nrof_epochs": 1, "evaluation.batch_size": 1,
    "evaluation.nrof_folds": 2, "data.downsample": 1, "loop.save_every_n_steps": 0,
    "network.image_size": min_image_size(),
}
FLOAT_RANGES = {  # field: (low, high, low included); None is the usual value, not checked
    "network.keep_probability": (0.0, 1.0, False), "evaluation.far": (0.0, 1.0, False),
    "step.center_loss_alfa": (0.0, 1.0, True), "step.moving_average_decay": (0.0, 1.0, True),
    "step.center_loss_factor": (0.0, math.inf, True), "step.lossweights_lr_factor": (0.0, math.inf, True),
    "step.weighting_options.dwa_temperature": (0.0, math.inf, False),
    "step.weighting_options.gradnorm_alpha": (0.0, math.inf, True),
    "step.weighting_options.gradnorm_lr": (0.0, math.inf, True), "collective_timeout": (0.0, 86400.0, False),
    "step.adamw_weight_decay": (0.0, math.inf, True),
}
# The margins each head's formula needs: CosFace's target logit s(cos - m) must stay above -s, ArcFace's
# cos(theta + m) must keep its angle below pi for the target (beyond pi/2 the loss reaches 0 and stays there).
MARGIN_RANGES = {"cosface": (0.0, 1.0), "arcface": (0.0, math.pi / 2)}
FLAGS = {  # field -> its training flag, where the names differ (the flags' mapping uses it too)
    "data.preprocess_threads": "nrof_preprocess_threads", "evaluation.batch_size": "lfw_batch_size",
         "evaluation.nrof_folds": "lfw_nrof_folds"}


class ConfigError(ValueError):
    """A field of a TrainingConfig out of its range: `field` (dotted path), `value`, `allowed` (words)."""

    def __init__(self, field, value, allowed):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{flag(field)} must be {allowed}, got {value}")


def flag(field):
    """The training flag that sets a field ('data.batch_size' -> '--batch_size')."""
    return "--" + FLAGS.get(field, field.rsplit(".", 1)[-1])


def value_of(config, field):
    for part in field.split("."):
        config = getattr(config, part)
    return config


def check_staged_epochs(staged_epochs):
    """The four stage lengths as ints; ValueError naming --staged_epochs unless each is >= 0 and one > 0."""
    epochs = tuple(int(count) for count in staged_epochs)
    if len(epochs) != 4 or min(epochs) < 0 or not sum(epochs):
        raise ValueError(f"--staged_epochs needs 4 epoch counts >= 0 (joint, verification, photo, caricature), "
                         f"not all 0; got {','.join(map(str, staged_epochs))}")
    return epochs


def validate(config):
    """ConfigError (or ValueError for the stage lengths) naming the first field of `config` out of range."""
    for field, lowest in INTEGER_RANGES.items():
        if value_of(config, field) < lowest:
            raise ConfigError(field, value_of(config, field), f"an integer >= {lowest}")
    for field, (low, high, low_included) in FLOAT_RANGES.items():
        value = value_of(config, field)
        if value is not None and (not (low <= value if low_included else low < value) or not value <= high):
            raise ConfigError(field, value, f"in {'[' if low_included else '('}{low:g}, {high:g}]")
    check_staged_epochs(config.step.weighting_options.staged_epochs)
    for field in ("step.weighting_options.dwa_window", "data.preprocess_threads"):
        value = value_of(config, field)
        if value is not None and value < 1:
            raise ConfigError(field, value, "an integer >= 1")
    if not 0 <= config.seed < SEED_LIMIT:
        raise ConfigError("seed", config.seed, f"in [0, {SEED_LIMIT - 1}]")
    check_heads(config.network.heads)
    if config.loop.learning_rate_schedule == "cosine" and not config.loop.learning_rate > 0:
        raise ConfigError("loop.learning_rate", config.loop.learning_rate,
                          "> 0 with --learning_rate_schedule cosine (its peak; the schedule file is not read)")
    if config.backend not in (None, "tensorflow", "jax"):
        raise ConfigError("backend", config.backend, "tensorflow or jax")
    if not math.isfinite(config.loop.learning_rate):
        raise ConfigError("loop.learning_rate", config.loop.learning_rate, "a finite number")
    for task, base in enumerate(config.step.loss_weight_base, start=1):
        if not math.isfinite(base):
            raise ConfigError(f"step.loss_weight_base{task}", base, "a finite number")
    if not all(math.isfinite(w) for w in config.step.static_weights):
        raise ConfigError("step.static_weights", config.step.static_weights, "three finite numbers")



def check_heads(heads):
    """ConfigError for a margin or scale of the margin heads (ModelConfig's `heads` as given) out of range."""
    scale = heads.get("margin_scale")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ConfigError("network.heads.margin_scale", scale, "> 0")
    margin = heads.get("margin")
    if margin is None:
        return
    named = {heads.get("verif_head"), heads.get("identity_heads")} & set(MARGIN_RANGES)
    for head in sorted(named or MARGIN_RANGES):
        low, high = MARGIN_RANGES[head]
        if not (math.isfinite(margin) and low <= margin < high):
            raise ConfigError("network.heads.margin", margin, f"in [{low:g}, {high:.4g}) for {head} heads")

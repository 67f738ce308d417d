"""What a training run needs: one tree of typed configs, the single source of its defaults and the record
of a run (stored in run.json, read back by --resume).

    TrainingConfig          the run: output folders, seed, distribution, and the groups below
      DataConfig            the dataset, its split and the input pipeline      -> training data
      NetworkConfig         the network: fresh or from --pretrained_model      -> model setup
      StepConfig            task weighting, losses, optimizers, moving averages -> the train step
        WeightingOptions    hyper-parameters of the weighting methods (docs/TASK_WEIGHTING.md)
      LoopConfig            epochs, learning rate, checkpoints                 -> the trainer
      EpochEvaluationConfig the per-epoch verification                        -> epoch evaluation
      SpeedOptions          XLA and mixed precision

Every field exists once, with the original script's default, and the training flags take their
defaults from here (cari_mtl.commands.training_flags). A group that needs a value owned by another
(the input pipeline needs the network's image size, the loop's epoch size and the run's seed) holds
a copy that TrainingConfig fills in: those copies are not constructor arguments. `None` in
lossweights_lr_factor, image_standardization, logits_relu and dwa_window means "the usual one" and
is resolved by `resolve` (the dataset's factor, the pretrained model's stored options, one epoch).
"""

import dataclasses
import types
import typing
from dataclasses import dataclass, field, replace

from cari_mtl.model.network import DEFAULT_MODEL_DEF
from cari_mtl.model.options import chosen_logits_relu, chosen_standardization
from cari_mtl.runtime.options import DEFAULT_COLLECTIVE_TIMEOUT, SpeedOptions
from cari_mtl.training import config_checks

FORMAT_VERSION = 1  # of the stored form (to_dict / from_dict)
SEED = 666
OPTIMIZERS = ("Adagrad", "Adadelta", "Adam", "RMSProp", "Momentum", "SGD", "AdamW")  # cari_mtl.training.step.optimizers
ADAMW_WEIGHT_DECAY = 5e-4  # beyond the original (PORTING X2): Keras's AdamW, its other settings Keras's own
LEARNING_RATE_SCHEDULES = ("epochs", "cosine")  # cari_mtl.training.step.lr_schedules (PORTING X3)


def _copy(default):
    """A value owned by another group, filled in by TrainingConfig (not a constructor argument)."""
    return field(default=default, init=False)


@dataclass(frozen=True)
class DataConfig:
    """The dataset (a name of cari_mtl.training.datasets), its split (CaVI: every `downsample`-th pair
    tests) and the input pipeline. Defaults: the original's flags."""
    dataset: str = "cavi"
    data_dir: str = "/data/zming/datasets/CK+/CK+_mtcnnpy_182_160_expression"
    test_pairs: str = "../data/IdentitySplit_4th_10fold_oulucasiapairs_Six.txt"
    train_pairs: str | None = "../data/IdentitySplit_4th_10fold_oulucasiapairs_Six.txt"
    downsample: int = 20
    test_image_keys: str = "spelled"
    batch_size: int = 90
    random_crop: bool = False
    random_flip: bool = False
    random_rotate: bool = False
    preprocess_threads: int | None = None
    image_size: int = _copy(96)
    epoch_size: int = _copy(1000)
    seed: int = _copy(SEED)
    image_standardization: str = _copy("prewhiten")


@dataclass(frozen=True)
class NetworkConfig:
    """The network to train: fresh from `model_def`, or from `pretrained_model` (native or TF1).
    image_standardization / logits_relu None: the pretrained model's stored value, else the original's."""
    model_def: str = str(DEFAULT_MODEL_DEF)
    image_size: int = 96
    pretrained_model: str | None = None
    keep_probability: float = 1.0
    weight_decay: float = 0.0
    image_standardization: str | None = None
    logits_relu: bool | None = None
    restore_optimizer_state: bool = True
    heads: dict = field(default_factory=dict)  # ModelConfig's verif_head, identity_heads, margin, margin_scale given


@dataclass(frozen=True)
class WeightingOptions:
    """Hyper-parameters of the task-weighting methods (docs/TASK_WEIGHTING.md); dwa_window None: one epoch."""
    detach_weights_input: bool = False
    dwa_temperature: float = 2.0
    dwa_window: int | None = None
    gradnorm_alpha: float = 1.5
    gradnorm_lr: float = 0.025
    staged_epochs: tuple = (1, 1, 1, 1)


@dataclass(frozen=True)
class StepConfig:
    """The train step: task weighting (a name of cari_mtl.training.weighting), losses, optimizers and
    moving averages. lossweights_lr_factor None: the dataset's (1 for cavi, 10 for webcari)."""
    task_weighting: str = "dynamic"
    loss_weight_base: tuple = (0.0, 0.0, 0.0)
    static_weights: tuple = (1.0, 1.0, 1.0)
    weighting_options: WeightingOptions = field(default_factory=WeightingOptions)
    optimizer: str = "RMSProp"
    center_loss_factor: float = 0.0
    center_loss_alfa: float = 0.95
    lossweights_lr_factor: float | None = None
    moving_average_decay: float = 0.9999
    legacy_global_step: bool = _copy(False)
    adamw_weight_decay: float = ADAMW_WEIGHT_DECAY
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class LoopConfig:
    """Epochs and their length, learning rate (< 0: the schedule file), checkpoints and histograms."""
    max_nrof_epochs: int = 500
    epoch_size: int = 1000
    learning_rate: float = 0.1
    learning_rate_schedule_file: str | None = "../data/learning_rate_schedule.txt"
    legacy_global_step: bool = False
    save_every_n_steps: int = 0
    log_histograms: bool = False
    learning_rate_schedule: str = "epochs"
    warmup_steps: int = 0


@dataclass(frozen=True)
class EpochEvaluationConfig:
    """The per-epoch verification on the test split (mode 'euclidean' or 'similarity'; PORTING T13, T16)."""
    batch_size: int = 100
    nrof_folds: int = 10
    far: float = 0.01
    mode: str = "euclidean"
    legacy_folds: bool = False
    legacy_val: bool = False
    seed: int = _copy(SEED)


@dataclass(frozen=True)
class TrainingConfig:
    """A whole run; logs and models go to <logs_base_dir> and <models_base_dir>/<YYYYmmdd-HHMMSS>/.
    backend: the Keras backend it trains on, "tensorflow" or "jax" (None: KERAS_BACKEND, else tensorflow;
    a run stores the one it used, and --resume continues on it)."""
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    step: StepConfig = field(default_factory=StepConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    evaluation: EpochEvaluationConfig = field(default_factory=EpochEvaluationConfig)
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    distribute: str = "none"
    collective_timeout: float = DEFAULT_COLLECTIVE_TIMEOUT
    logs_base_dir: str = "~/logs/facenet"
    models_base_dir: str = "~/models/facenet"
    seed: int = SEED
    backend: str | None = None

    def __post_init__(self):
        standardization = self.network.image_standardization or "prewhiten"
        _fill(self, "data", image_size=self.network.image_size, epoch_size=self.loop.epoch_size, seed=self.seed,
              image_standardization=standardization)
        _fill(self, "step", legacy_global_step=self.loop.legacy_global_step)
        _fill(self, "evaluation", seed=self.seed)

    def validate(self):
        """Raises a ConfigError (cari_mtl.training.config_checks) naming the first field out of its range;
        a run calls it before it reads any data or makes any folder."""
        config_checks.validate(self)

    def to_dict(self):
        """The config as JSON-ready values (constructor arguments only), with its format version."""
        return {"format_version": FORMAT_VERSION, **_arguments(self)}

    @classmethod
    def from_dict(cls, values):
        """The config `to_dict` gave; ValueError naming what does not fit."""
        values = dict(values)
        version = values.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise ValueError(f"stored training config has format version {version}, this version reads "
                             f"{FORMAT_VERSION}")
        return _build(cls, values)


def _fill(config, group, **values):
    copy = replace(getattr(config, group))
    for name, value in values.items():
        object.__setattr__(copy, name, value)
    object.__setattr__(config, group, copy)


def _arguments(config):
    values = {}
    for item in dataclasses.fields(config):
        if item.init:
            value = getattr(config, item.name)
            values[item.name] = _arguments(value) if dataclasses.is_dataclass(value) else \
                list(value) if isinstance(value, tuple) else value
    return values


def _build(cls, values):
    known = {item.name: item for item in dataclasses.fields(cls) if item.init}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"stored training config: unknown field(s) {', '.join(unknown)} of {cls.__name__}")
    arguments = {}
    for name, value in values.items():
        kind = known[name].type
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise ValueError(f"stored training config: {cls.__name__}.{name} must be an object, got {value!r}")
            value = _build(kind, value)
        else:
            value = _typed(f"{cls.__name__}.{name}", kind, value)
        arguments[name] = value
    return cls(**arguments)


def _typed(name, kind, value):
    """`value` as the field type `kind` (an int for a float, a list for a tuple); ValueError naming the field
    when it is of another type (a string "96" for an int)."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            if option is float or float(value).is_integer():
                return option(value)
        if option is str and isinstance(value, str) or option is dict and isinstance(value, dict):
            return value
        if option is tuple and isinstance(value, (list, tuple)):
            return tuple(value)
    wanted = " or ".join("null" if option is type(None) else option.__name__ for option in options)
    raise ValueError(f"stored training config: {name} must be {wanted}, got {value!r}")


def resolve(config, stored=None, lossweights_lr_factor=None):
    """`config` with its `None` defaults made concrete.

    Args:
        config: the TrainingConfig.
        stored: the ModelConfig of a native --pretrained_model (its image standardisation and logits ReLU
            are kept unless the config names them), or None.
        lossweights_lr_factor: the dataset's factor, used when the config has none.
    """
    network = replace(config.network,
                      image_standardization=chosen_standardization(config.network.image_standardization,
                                                                   stored.image_standardization if stored else None),
                      logits_relu=_chosen_relu(config.network.logits_relu, stored))
    options = config.step.weighting_options
    step = replace(config.step, lossweights_lr_factor=config.step.lossweights_lr_factor
                   if config.step.lossweights_lr_factor is not None else lossweights_lr_factor,
                   weighting_options=replace(options, dwa_window=options.dwa_window or config.loop.epoch_size))
    return replace(config, network=network, step=step)


def _chosen_relu(value, stored):
    flag = None if value is None else ("on" if value else "off")
    return chosen_logits_relu(flag, stored.logits_relu if stored else None)


def resolved_config(config):
    """`config` with its usual-value defaults made concrete: the backend (selected before Keras is imported;
    ValueError in one line when Keras already runs another one), the dataset's weights-head learning-rate
    factor, the model options a native --pretrained_model stored, a dwa window of one epoch."""
    from cari_mtl.runtime.backend import select_backend

    config = replace(config, backend=select_backend(config.backend))
    from cari_mtl.model.model_dir import is_model_dir, read_config  # Keras: not for --help
    from cari_mtl.training import datasets

    pretrained = config.network.pretrained_model
    stored = read_config(pretrained) if pretrained and is_model_dir(pretrained) else None
    return resolve(config, stored, datasets.get(config.data.dataset).lossweights_lr_factor)

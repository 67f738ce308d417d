"""What a training run needs, as typed objects built once from the training command's flags.

Each group goes to the part of the library that uses it: DataConfig to the training data,
NetworkConfig to the model setup, StepConfig to the train step, LoopConfig to the trainer,
EpochEvaluationConfig to the per-epoch evaluation. Names and meanings follow the flags (README
"Training"); `task_weighting` is dynamic, naive or static (PORTING T1-T3).
"""

from dataclasses import dataclass, field

from cari_mtl.runtime.speed import SpeedOptions


@dataclass(frozen=True)
class DataConfig:
    """The dataset, its split (CaVI: every `downsample`-th pair tests) and the input pipeline."""
    dataset: str
    data_dir: str
    test_pairs: str
    train_pairs: str | None = None
    downsample: int = 20
    image_size: int = 96
    batch_size: int = 90
    epoch_size: int = 1000
    seed: int = 666
    random_crop: bool = False
    random_flip: bool = False
    random_rotate: bool = False
    preprocess_threads: int | None = None
    image_standardization: str = "prewhiten"


@dataclass(frozen=True)
class NetworkConfig:
    """The network to train: fresh from `model_def`, or from `pretrained_model` (native or TF1)."""
    model_def: str
    image_size: int = 96
    pretrained_model: str | None = None
    keep_probability: float = 1.0
    weight_decay: float = 0.0
    image_standardization: str = "prewhiten"
    logits_relu: bool = True
    restore_optimizer_state: bool = True
    heads: dict = field(default_factory=dict)  # ModelConfig's verif_head, identity_heads, margin, margin_scale given


@dataclass(frozen=True)
class WeightingOptions:
    """Hyper-parameters of the task-weighting methods (docs/TASK_WEIGHTING.md)."""
    detach_weights_input: bool = False
    dwa_temperature: float = 2.0
    dwa_window: int = 1000
    gradnorm_alpha: float = 1.5
    gradnorm_lr: float = 0.025
    staged_epochs: tuple = (1, 1, 1, 1)


@dataclass(frozen=True)
class StepConfig:
    """The train step: task weighting, losses, optimizers and moving averages."""
    task_weighting: str = "dynamic"
    loss_weight_base: tuple = (0.0, 0.0, 0.0)
    static_weights: tuple = (1.0, 1.0, 1.0)
    weighting_options: WeightingOptions = field(default_factory=WeightingOptions)
    optimizer: str = "RMSProp"
    center_loss_factor: float = 0.0
    center_loss_alfa: float = 0.95
    lossweights_lr_factor: float = 1.0
    moving_average_decay: float = 0.9999
    legacy_global_step: bool = False
    adamw_weight_decay: float = 5e-4
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class LoopConfig:
    """Epochs and their length, learning rate (< 0: the schedule file), checkpoints and histograms."""
    max_nrof_epochs: int = 500
    epoch_size: int = 1000
    learning_rate: float = 0.1
    learning_rate_schedule_file: str | None = None
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
    seed: int = 666
    legacy_folds: bool = False
    legacy_val: bool = False


@dataclass(frozen=True)
class TrainingConfig:
    """A whole run; logs and models go to <logs_base_dir> and <models_base_dir>/<YYYYmmdd-HHMMSS>/."""
    data: DataConfig
    network: NetworkConfig
    step: StepConfig = field(default_factory=StepConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    evaluation: EpochEvaluationConfig = field(default_factory=EpochEvaluationConfig)
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    distribute: str = "none"
    collective_timeout: float = 120.0
    logs_base_dir: str = "~/logs/facenet"
    models_base_dir: str = "~/models/facenet"
    seed: int = 666

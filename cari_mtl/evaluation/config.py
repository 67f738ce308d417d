"""What an evaluation run needs beyond its pairs or protocol lists: the evaluate/*.py flags, parsed once."""

from dataclasses import dataclass, field

from cari_mtl.model.source import ModelSource
from cari_mtl.runtime.options import SpeedOptions


@dataclass(frozen=True)
class EvaluationConfig:
    """model: what to embed with; results go to a new <logs_base_dir>/<YYYYmmdd-HHMMSS>/ (and features.npz
    to features_dir when given). Verification: nrof_folds, far, mode ('euclidean' or 'similarity'),
    legacy_val, and seed of the pair shuffle; identification: rank_n, legacy_rank (PORTING E3-E12)."""
    model: ModelSource
    logs_base_dir: str = "logs/evaluate"
    features_dir: str | None = None
    batch_size: int = 100
    nrof_folds: int = 10
    far: float = 0.01
    mode: str = "euclidean"
    legacy_val: bool = False
    seed: int = 0
    rank_n: int = 10
    legacy_rank: bool = False
    speed: SpeedOptions = field(default_factory=SpeedOptions)

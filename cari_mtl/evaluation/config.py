"""What an evaluation run needs beyond its pairs or protocol lists: the evaluate/*.py flags, parsed once,
with their ranges (`EvaluationConfig.validate()`, before any image is read or any folder is made)."""

import math
from dataclasses import dataclass, field

from cari_mtl.model.source import ModelSource
from cari_mtl.runtime.options import SpeedOptions


class EvaluationConfigError(ValueError):
    """A field of an EvaluationConfig out of its range: `field` (its name), `value`, `allowed` (words)."""

    def __init__(self, field, value, allowed):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field} must be {allowed}, got {value}")


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

    def validate(self, verification=True):
        """Raises EvaluationConfigError for the first field out of range; folds need two for verification
        (one trains the threshold, one tests it), one for identification (each fold is its own gallery)."""
        for name in ("batch_size", "rank_n"):
            if getattr(self, name) < 1:
                raise EvaluationConfigError(name, getattr(self, name), "a positive integer")
        if self.nrof_folds < (2 if verification else 1):
            raise EvaluationConfigError("nrof_folds", self.nrof_folds, "an integer >= 2 for verification"
                                        if verification else "a positive integer")
        if math.isnan(self.far) or not 0.0 < self.far <= 1.0:
            raise EvaluationConfigError("far", self.far, "a false accept rate in (0, 1]")
        return self

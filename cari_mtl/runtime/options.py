"""The choices and defaults of the runtime flags, kept apart from the modules that use them so that a
command's `--help` and the configs do not load TensorFlow."""

from dataclasses import dataclass

MIXED_PRECISION_CHOICES = ("auto", "off", "bfloat16", "float16")
XLA_CHOICES = ("auto", "on", "off")
DISTRIBUTE_CHOICES = ("none", "mirrored", "multiworker")
DEFAULT_COLLECTIVE_TIMEOUT = 120  # seconds (cari_mtl.runtime.collective_timeout)


@dataclass(frozen=True)
class SpeedOptions:
    """--xla and --mixed_precision as given (auto / on / off; auto / off / bfloat16 / float16)."""
    xla: str = "auto"
    mixed_precision: str = "auto"

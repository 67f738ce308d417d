"""What names a model to open (cari_mtl.model.loading), apart from the code that opens it, so that
the evaluation configs and flags do not load TensorFlow."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSource:
    """A model named on the command line (`--model_dir`): a native model directory or a TF1 checkpoint,
    with what only a TF1 checkpoint needs (input size, classes) and the standardisation asked for
    (None: the stored one)."""
    path: str
    image_size: int = 160
    nrof_classes: int | None = None
    image_standardization: str | None = None

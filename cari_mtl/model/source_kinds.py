"""What a path given as a model is when it is not what the loader expected, said in one sentence.

A native model directory handed to the converter, this project's own training `checkpoints/`
folder, an exported SavedModel / `.keras` / `.tflite` / `.onnx` file: each gets a message naming
what it is and what to pass instead, rather than "no TF1 checkpoint" or "no logits layers".
"""

from pathlib import Path

from cari_mtl.model.model_dir import CONFIG_NAME, WEIGHTS_NAME

TRAINING_CHECKPOINT_INDEX = "checkpoint"
EXPORTED_SUFFIXES = {".tflite": "TFLite", ".keras": "Keras", ".onnx": "ONNX"}


def is_training_checkpoint_dir(path):
    """This project's `<run>/checkpoints/` (tf.train.CheckpointManager: `checkpoint` + `ckpt-N.index`)."""
    path = Path(path).expanduser()
    return (path / TRAINING_CHECKPOINT_INDEX).is_file() and any(path.glob("ckpt-*.index"))


def describe_unusable_model(path):
    """A sentence saying what `path` is and what to pass instead, or None when it is none of the known kinds."""
    path = Path(path).expanduser()
    if (path / CONFIG_NAME).is_file() and (path / WEIGHTS_NAME).is_file():
        return (f"{path} is already a native model directory ({CONFIG_NAME}, {WEIGHTS_NAME}): it needs no "
                f"conversion; pass it directly as --model_dir or --pretrained_model")
    if is_training_checkpoint_dir(path) or (path.name.startswith("ckpt-") and is_training_checkpoint_dir(path.parent)):
        run = path.parent if path.is_dir() else path.parent.parent
        return (f"{path} is a training checkpoint of cari_mtl (optimizer state for --resume), not a model: "
                f"pass a model directory of that run ({run}/epoch_NNNN or {run}/best_model_*), or continue "
                f"the training with --resume {run}")
    if (path / "saved_model.pb").is_file():
        return (f"{path} is an exported SavedModel (cari_mtl.export): load it with tf.saved_model.load; "
                f"cari_mtl reads the native model directory it was exported from")
    if path.suffix in EXPORTED_SUFFIXES and path.is_file():
        return (f"{path} is an exported {EXPORTED_SUFFIXES[path.suffix]} model (cari_mtl.export): cari_mtl reads "
                f"the native model directory it was exported from, not the export")
    return None

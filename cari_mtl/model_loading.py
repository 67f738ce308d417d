"""One entry point for `--model_dir` / `--pretrained_model`: a native model directory or a TF1 checkpoint."""

from pathlib import Path

from cari_mtl.checkpoints import CheckpointError, CheckpointVariables, find_checkpoint_prefix, load_tf1_checkpoint
from cari_mtl.finite_check import check_weights
from cari_mtl.model_dir import CONFIG_NAME, WEIGHTS_NAME, ModelConfig, is_model_dir, load_model_dir, save_model_dir
from cari_mtl.network import DEFAULT_MODEL_DEF


def model_from_checkpoint(path, image_size=160, nrof_classes=None, lossweights_variant="cavi",
                          init_cari_from_verif=False, model_def=None, keep_probability=1.0,
                          weight_decay=0.0):
    """(model, ModelConfig, ConversionReport) built from a TF1 checkpoint directory or prefix.

    K comes from the checkpoint's `Logits_verif` layer when it has one; `nrof_classes` must then
    agree with it, and is required otherwise.
    """
    require_config(path)
    prefix = find_checkpoint_prefix(path)
    stored_classes = CheckpointVariables(prefix).nrof_classes()
    if stored_classes is not None and nrof_classes is not None and nrof_classes != stored_classes:
        raise CheckpointError(
            f"--nrof_classes {nrof_classes} does not match the checkpoint {prefix}, whose logits "
            f"layers have {stored_classes} classes: drop --nrof_classes or pass {stored_classes}"
        )
    classes = stored_classes if stored_classes is not None else nrof_classes
    if classes is None:
        raise CheckpointError(
            f"the checkpoint {prefix} has no logits layers to read the number of classes from: "
            f"pass --nrof_classes"
        )
    config = ModelConfig(image_size, classes, lossweights_variant, str(model_def or DEFAULT_MODEL_DEF))
    model = config.build(keep_probability, weight_decay)
    report = load_tf1_checkpoint(model, prefix, init_cari_from_verif)
    check_weights(model, prefix)
    return model, config, report


def require_config(path):
    """A native model directory that lost its config.json is named as such, not as a missing TF1 checkpoint."""
    directory = Path(path).expanduser()
    if (directory / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(f"{directory / CONFIG_NAME} not found: {directory} holds {WEIGHTS_NAME} but no "
                                f"{CONFIG_NAME}; copy the config.json written with these weights into it")


def convert_checkpoint(path, output_dir, **options):
    """Writes a native model directory from a TF1 checkpoint; returns (output_dir, report)."""
    model, config, report = model_from_checkpoint(path, **options)
    save_model_dir(model, output_dir, config)
    return Path(output_dir), report


def open_model(path, image_size=160, nrof_classes=None, keep_probability=1.0, weight_decay=0.0):
    """(model, ModelConfig) from a native model directory or, converted on the fly, a TF1 checkpoint."""
    if is_model_dir(path):
        return load_model_dir(path, keep_probability, weight_decay)
    model, config, report = model_from_checkpoint(
        path, image_size=image_size, nrof_classes=nrof_classes,
        keep_probability=keep_probability, weight_decay=weight_decay,
    )
    print(report.format())
    return model, config

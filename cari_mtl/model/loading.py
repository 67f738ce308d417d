"""One entry point for `--model_dir` / `--pretrained_model`: a native model directory or a TF1 checkpoint."""

from pathlib import Path

import keras

from cari_mtl.model.errors import CheckpointError
from cari_mtl.model.model_dir import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    ModelConfig,
    is_model_dir,
    load_model_dir,
    save_model_dir,
)
from cari_mtl.model.network import DEFAULT_MODEL_DEF
from cari_mtl.model.options import chosen_standardization
from cari_mtl.model.source import ModelSource  # noqa: F401 (re-exported: the loaders take one)
from cari_mtl.model.source_kinds import describe_unusable_model
from cari_mtl.runtime.backend import tensorflow_only
from cari_mtl.runtime.finite_check import check_weights
from cari_mtl.runtime.speed import SpeedOptions, apply_mixed_precision, use_xla


def checkpoint_classes(checkpoint, nrof_classes):
    """K for a model built from `checkpoint` (a CheckpointVariables).

    A full model of this project restores its logits layers, so K must be theirs. The FaceNet and
    photo-branch cases never restore them (as the original), so any K trains there; the checkpoint's
    K is only the default when none is asked for.
    """
    from cari_mtl.model.checkpoints import restores_heads

    stored = checkpoint.nrof_classes()
    if stored is not None and nrof_classes is not None and nrof_classes != stored and restores_heads(checkpoint.kind()):
        raise CheckpointError(
            f"--nrof_classes {nrof_classes} does not match the checkpoint {checkpoint.prefix}, whose logits "
            f"layers have {stored} classes: drop --nrof_classes or pass {stored}"
        )
    classes = nrof_classes if nrof_classes is not None else stored
    if classes is None:
        raise CheckpointError(
            f"the checkpoint {checkpoint.prefix} has no logits layers to read the number of classes from: "
            f"pass --nrof_classes"
        )
    return classes


def model_from_checkpoint(path, image_size=160, nrof_classes=None, lossweights_variant="cavi",
                          init_cari_from_verif=False, model_def=None, keep_probability=1.0,
                          weight_decay=0.0, image_standardization="prewhiten", logits_relu=True, **heads):
    """(model, ModelConfig, ConversionReport) built from a TF1 checkpoint directory or prefix.

    `heads`: ModelConfig's verif_head, identity_heads, margin, margin_scale (a margin head takes the
    checkpoint's Dense weights, PORTING X1).

    K comes from the checkpoint's `Logits_verif` layer when `nrof_classes` is None; a full model must
    agree with it, the FaceNet and photo-branch cases take any K (their heads are not restored).
    """
    unusable = describe_unusable_model(path)
    if unusable:
        raise CheckpointError(unusable)
    require_config(path)
    tensorflow_only(f"reading the TF1 checkpoint {path}")
    from cari_mtl.model.checkpoints import CheckpointVariables, find_checkpoint_prefix, load_tf1_checkpoint

    checkpoint = CheckpointVariables(find_checkpoint_prefix(path))
    classes = checkpoint_classes(checkpoint, nrof_classes)
    config = ModelConfig(image_size, classes, lossweights_variant, str(model_def or DEFAULT_MODEL_DEF),
                         image_standardization, logits_relu, **heads)
    model = config.build(keep_probability, weight_decay)
    report = load_tf1_checkpoint(model, checkpoint.prefix, init_cari_from_verif)
    check_weights(model, checkpoint.prefix)
    return model, config, report


def require_config(path):
    """A native model directory that lost its config.json is named as such, not as a missing TF1 checkpoint."""
    directory = Path(path).expanduser()
    if (directory / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(f"{directory / CONFIG_NAME} not found: {directory} holds {WEIGHTS_NAME} but no "
                                f"{CONFIG_NAME}; copy the config.json written with these weights into it")


def convert_checkpoint(path, output_dir, **options):
    """Converts a TF1 checkpoint into a native model directory (PORTING N8-N16).

    Args:
        path: TF1 checkpoint directory (newest model-*.ckpt-N) or prefix; output_dir: directory to write.
        options: keyword arguments of model_from_checkpoint (image_size, nrof_classes, lossweights_variant, ...).
    Returns:
        (output_dir as a Path, ConversionReport).
    """
    model, config, report = model_from_checkpoint(path, **options)
    require_trunk_loaded(report, output_dir)
    save_model_dir(model, output_dir, config)
    return Path(output_dir), report


def require_trunk_loaded(report, output_dir):
    """A conversion that recognised no trunk variable would write a random network as if converted."""
    from cari_mtl.model.checkpoints import TRUNK

    if not any(name.startswith(TRUNK) for name in report.loaded):
        examples = ", ".join(report.unused[:3]) or "none"
        raise CheckpointError(f"{report.checkpoint}: no variable of the network trunk ({TRUNK}...) was recognised "
                              f"({len(report.loaded)} loaded; unknown names such as {examples}), so nothing was "
                              f"written to {output_dir}: pass a TF1 checkpoint of this project or of FaceNet")


def open_model(path, image_size=160, nrof_classes=None, keep_probability=1.0, weight_decay=0.0,
               image_standardization=None):
    """Opens a native model directory or, converted on the fly, a TF1 checkpoint (PORTING E13).

    Args:
        path: the model directory or TF1 checkpoint.
        image_size, nrof_classes: what a TF1 checkpoint needs (a model directory stores its own).
        keep_probability, weight_decay: dropout and L2 factor of the built network.
        image_standardization: overrides the stored value when given.
    Returns:
        (Keras model, ModelConfig carrying the standardisation to use).
    """
    if is_model_dir(path):
        model, config = load_model_dir(path, keep_probability, weight_decay)
        config.image_standardization = chosen_standardization(image_standardization, config.image_standardization)
        return model, config
    model, config, report = model_from_checkpoint(
        path, image_size=image_size, nrof_classes=nrof_classes, keep_probability=keep_probability,
        weight_decay=weight_decay, image_standardization=chosen_standardization(image_standardization),
    )
    print(report.format())
    return model, config


def open_inference_model(source, speed=SpeedOptions()):
    """Opens a model for feature extraction with the speed options applied (PORTING E13, E16).

    The mixed-precision dtype policy must be global while the model is built; it is restored
    afterwards so that models built later in the same process are not affected.

    Args:
        source: the ModelSource to open.
        speed: SpeedOptions; `auto` turns XLA and mixed precision on only on a GPU.
    Returns:
        (Keras model, ModelConfig with the standardisation to use, jit_compile bool).
    """
    previous = keras.config.dtype_policy()
    try:
        apply_mixed_precision(speed.mixed_precision)
        model, config = open_model(source.path, image_size=source.image_size, nrof_classes=source.nrof_classes,
                                   image_standardization=source.image_standardization)
    finally:
        keras.config.set_dtype_policy(previous)
    return model, config, use_xla(speed.xla)

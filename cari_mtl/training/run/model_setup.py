"""The network a run trains: fresh, from a native model directory, or converted from a TF1 checkpoint."""

from pathlib import Path

from cari_mtl.model.loading import model_from_checkpoint
from cari_mtl.model.model_dir import ModelConfig, is_model_dir, load_model_dir, read_config


def check_pretrained_image_size(network):
    """A native pretrained model must have the run's input size (else step 1 fails in the graph)."""
    if network.pretrained_model and is_model_dir(network.pretrained_model):
        stored = read_config(network.pretrained_model).image_size
        if stored != network.image_size:
            raise ValueError(f"--pretrained_model {network.pretrained_model} is a {stored} px model and --image_size "
                             f"is {network.image_size}: pass --image_size {stored}")


def build_model(network, nrof_classes, variant):
    """The Keras model to train and its ModelConfig (PORTING N8-N16 for TF1 checkpoints).

    Args:
        network: the NetworkConfig (model_def, pretrained_model, dropout, weight decay, model options).
        nrof_classes: classes of the training split; a native pretrained model must have as many.
        variant: lossweights_variant of the weights head ('cavi', 'webcari' or 'naive').
    Returns:
        (keras.Model, ModelConfig).
    """
    options = {"image_standardization": network.image_standardization, "logits_relu": network.logits_relu,
               **network.heads}
    pretrained = network.pretrained_model
    if pretrained and is_model_dir(pretrained):
        model, stored = load_model_dir(pretrained, network.keep_probability, network.weight_decay, **options)
        if stored.nrof_classes != nrof_classes or stored.lossweights_variant != variant:
            raise ValueError(
                f"--pretrained_model {pretrained} has {stored.nrof_classes} classes and weights head "
                f"{stored.lossweights_variant!r}, the training data needs {nrof_classes} and {variant!r}: "
                f"convert a TF1 checkpoint instead or train from scratch")
        return model, stored
    if pretrained:
        model, config, report = model_from_checkpoint(
            pretrained, image_size=network.image_size, nrof_classes=nrof_classes, lossweights_variant=variant,
            model_def=network.model_def, keep_probability=network.keep_probability,
            weight_decay=network.weight_decay, **options)
        print(report.format())
        return model, config
    config = ModelConfig(network.image_size, nrof_classes, variant, str(Path(network.model_def).resolve()), **options)
    return config.build(network.keep_probability, network.weight_decay), config

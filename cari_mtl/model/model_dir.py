"""The native model directory: Keras weights, a JSON config and a copy of the network file.

Layout of `<dir>/`:
    config.json        {"format": "cari-mtl-model", "version": 2, "network": "inception_resnet_v1_cari_vis",
                        "image_size": 160,
                        "nrof_classes": K, "lossweights_variant": "cavi", "model_def": <path given>,
                        "image_standardization": "prewhiten", "logits_relu": true,
                        "verif_head": "softmax", "identity_heads": "softmax", "margin": null,
                        "margin_scale": null}
    model.weights.h5   weights of every layer, by layer name (= TF1 scope)
    model_def.py       a copy of the network definition the weights belong to

`network` names what builds the model: the packaged network (`PACKAGED_NETWORK`), built from the
package without executing the copy, or `model_def.py`, a user's own `--model_def` file, which is
imported from the directory's copy (as the original's --model_def imports its file), so such a
directory is usable on its own wherever it is moved. A version-1 directory (no `network`) is built
from the package when its copy is the packaged file byte for byte, else from its copy as before.
Directories are written to a temporary sibling and renamed into place, so a crash never leaves
a half-written model where a good one was.
"""

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cari_mtl.images.eval_loader import STANDARDIZATIONS
from cari_mtl.model.network import DEFAULT_MODEL_DEF, load_model_def, network_source
from cari_mtl.model.weights_file import load_weights_file

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
MODEL_DEF_NAME = "model_def.py"
FORMAT_NAME = "cari-mtl-model"
FORMAT_VERSION = 2  # 2: config.json names its network
PACKAGED_NETWORK = DEFAULT_MODEL_DEF.stem
OWN_NETWORK = MODEL_DEF_NAME


@dataclass
class ModelConfig:
    image_size: int
    nrof_classes: int
    lossweights_variant: str = "cavi"
    model_def: str = str(DEFAULT_MODEL_DEF)
    image_standardization: str = "prewhiten"
    logits_relu: bool = True
    verif_head: str = "softmax"
    identity_heads: str = "softmax"
    margin: float | None = None
    margin_scale: float | None = None

    def __post_init__(self):
        if self.image_standardization not in STANDARDIZATIONS:
            raise ValueError(f"image_standardization {self.image_standardization!r} is not one of "
                             f"{', '.join(STANDARDIZATIONS)}")
        self.logits_relu = bool(self.logits_relu)

    def build(self, keep_probability=1.0, weight_decay=0.0, network=None):
        """A fresh (randomly initialised) Keras model for this configuration."""
        network = network or load_model_def(self.model_def)
        # Network files copied into older model directories do not know `logits_relu`: pass it only
        # when it differs from the original's ReLU.
        options = {} if self.logits_relu else {"logits_relu": False}
        options.update(margin_head_options(self))
        return network.build_model(
            image_size=self.image_size, nrof_classes=self.nrof_classes,
            keep_probability=keep_probability, weight_decay=weight_decay,
            lossweights_variant=self.lossweights_variant, **options,
        )


def margin_head_options(config):
    """build_model's head arguments when a margin head is asked for (PORTING X1); none for the original's."""
    if config.verif_head == "softmax" and config.identity_heads == "softmax":
        return {}
    return {"verif_head": config.verif_head, "identity_heads": config.identity_heads,
            "margin_scale": config.margin_scale}


def is_model_dir(path):
    """True when `path` holds a config.json (a native model directory, not a TF1 checkpoint)."""
    return (Path(path) / CONFIG_NAME).is_file()


def read_config(directory):
    """The ModelConfig stored in a model directory.

    Args:
        directory: a native model directory.
    Returns:
        ModelConfig; fields written before they existed read as the original's (prewhiten, ReLU on).
    Raises:
        FileNotFoundError without config.json, ValueError for one that is not a cari-mtl config.
    """
    raw = _read_document(directory)
    names = ("image_size", "nrof_classes", "lossweights_variant", "model_def", "image_standardization", "logits_relu",
             "verif_head", "identity_heads", "margin", "margin_scale")
    fields = {k: raw[k] for k in names if k in raw}
    return ModelConfig(**fields)


def _read_document(directory):
    """config.json of a model directory as a dict, its format checked."""
    path = Path(directory) / CONFIG_NAME
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: {directory} is not a cari-mtl model directory") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); re-create the model directory") from None
    if raw.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a cari-mtl model config (format {raw.get('format')!r})")
    return raw


def save_model_dir(model, directory, config):
    """Writes a native model directory, replacing `directory` atomically.

    Args:
        model: the Keras network; directory: where to write; config: its ModelConfig (model_def must exist).
    Returns:
        directory as a Path.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        model.save_weights(staging / WEIGHTS_NAME)
        network_file = _network_file(config)
        shutil.copyfile(network_file, staging / MODEL_DEF_NAME)
        network = PACKAGED_NETWORK if network_file.resolve() == DEFAULT_MODEL_DEF else OWN_NETWORK
        document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "network": network, **asdict(config)}
        (staging / CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
        _replace_dir(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def load_model_dir(directory, keep_probability=1.0, weight_decay=0.0, **overrides):
    """Builds the stored network and loads its weights (checked finite, PORTING R1, R5).

    Args:
        directory: a native model directory.
        keep_probability, weight_decay: dropout and L2 factor of the built network (training only).
        overrides: stored config fields that do not change the weights (image_standardization, logits_relu,
            the heads and their margin: a margin head has the variables of the Dense it replaces).
    Returns:
        (Keras model with the stored weights, ModelConfig).
    """
    directory = Path(directory)
    config = replace(read_config(directory), **overrides)
    model = config.build(keep_probability, weight_decay, stored_network(directory))
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found: the model directory {directory} is incomplete")
    load_weights_file(model, weights, config)
    return model, config


def copy_model_dir(source, target):
    """Replaces the model directory `target` atomically by a copy of `source` (a best_model_* folder)."""
    target = Path(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        _replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def stored_network(directory):
    """The network module that builds a model directory's model: the package's own file for the packaged
    network (the directory's copy is not executed), else the user's network file it holds (or names)."""
    directory = Path(directory)
    raw = _read_document(directory)
    copy = directory / MODEL_DEF_NAME
    network = raw.get("network")
    if network is None and copy.is_file() and copy.read_bytes() == DEFAULT_MODEL_DEF.read_bytes():
        network = PACKAGED_NETWORK  # a version-1 directory of the packaged network
    if network == PACKAGED_NETWORK:
        return load_model_def(DEFAULT_MODEL_DEF)
    if network not in (None, OWN_NETWORK):
        raise ValueError(f"{directory / CONFIG_NAME} names the network {network!r}, which this version does not "
                         f"know ({PACKAGED_NETWORK} or {OWN_NETWORK}); upgrade cari-mtl")
    return load_model_def(copy if copy.is_file() else raw.get("model_def", DEFAULT_MODEL_DEF))


def _network_file(config):
    path = Path(config.model_def)
    if not path.is_file():
        raise FileNotFoundError(f"network definition {path} not found (model_def of the config)")
    return network_source(load_model_def(path))


def _replace_dir(staging, target):
    if target.exists():
        retired = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)

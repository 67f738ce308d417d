"""What an exported model says about itself: the model card (or what config.json knows) and its interface.

SavedModel: `assets/cari_mtl_model.json`; TFLite, ONNX and Keras files: a sidecar `<output>.json`. A
deployment reads the image size, the standardisation (already inside the graph except for `.keras`), the
verification threshold and the identities there.
"""

import json
from dataclasses import asdict
from pathlib import Path

from cari_mtl.model.model_card import new_card, read_model_card

METADATA_NAME = "cari_mtl_model.json"
FORMATS = ("savedmodel", "keras", "tflite", "onnx")  # what cari_mtl.evaluation.export writes
QUANTIZATIONS = ("none", "float16", "dynamic")


def export_metadata(model_dir, config, fmt, quantize=None):
    """The model card of `model_dir` (an empty one when it has none) with the input of `config` (what the export
    takes, overrides included) and the export's details."""
    card = (read_model_card(model_dir) if Path(model_dir, "config.json").is_file() else None) or new_card()
    return {**card, "image_size": config.image_size, "image_standardization": config.image_standardization,
            "config": asdict(config),
            "export": {"format": fmt, "quantize": quantize or "none", "source": str(model_dir),
                       "input": f"float32 [N, {config.image_size}, {config.image_size}, 3] RGB 0..255",
                       "standardization_in_graph": fmt != "keras"}}


def sidecar_path(output):
    """Where the metadata of a single-file export goes: `<output>.json` (model.tflite -> model.tflite.json)."""
    output = Path(output)
    return output.with_name(output.name + ".json")


def write_metadata(output, fmt, metadata):
    """Writes `metadata` into a SavedModel's assets or beside a file export; returns the path written."""
    path = Path(output) / "assets" / METADATA_NAME if fmt == "savedmodel" else sidecar_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metadata, indent=2) + "\n")
    return path

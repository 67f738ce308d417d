"""TFLite quantization and the metadata every export carries (80 px untrained network, to keep it short)."""

import json

import cv2
import numpy as np
import pytest
from support.evaluation import IMAGE_SIZE, write_image

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.export import main as export_main
from cari_mtl.model.export_metadata import METADATA_NAME
from cari_mtl.model.model_card import set_threshold


def cosine(a, b):
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_float16_tflite_is_half_the_size_and_agrees_with_the_savedmodel(model_dir, tmp_path):
    import tensorflow as tf

    set_threshold(model_dir, 1.05, "test")
    paths = [write_image(tmp_path / f"{n}.png", n) for n in range(4)]
    pixels = np.stack([cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) for path in paths]).astype(np.float32)
    saved, full, half = tmp_path / "savedmodel", tmp_path / "float32.tflite", tmp_path / "float16.tflite"
    for fmt, output, extra in (("savedmodel", saved, []), ("tflite", full, []),
                               ("tflite", half, ["--quantize", "float16"])):
        assert export_main(["--model_dir", str(model_dir), "--format", fmt, "--output", str(output), *extra]) == 0
    assert half.stat().st_size <= 0.55 * full.stat().st_size
    reference = tf.saved_model.load(str(saved)).signatures["serving_default"](images=tf.constant(pixels))
    runner = tf.lite.Interpreter(model_path=str(half)).get_signature_runner("serving_default")
    quantized = runner(images=pixels)
    agreement = cosine(quantized["embeddings"], reference["embeddings"].numpy()).min()
    print(f"float32 {full.stat().st_size} bytes, float16 {half.stat().st_size} bytes, lowest cosine {agreement:.6f}")
    assert agreement >= 0.999

    assets = json.loads((saved / "assets" / METADATA_NAME).read_text())
    sidecar = json.loads((tmp_path / "float16.tflite.json").read_text())
    for metadata, fmt in ((assets, "savedmodel"), (sidecar, "tflite")):
        assert metadata["image_size"] == IMAGE_SIZE and metadata["image_standardization"] == "prewhiten"
        assert metadata["threshold"]["value"] == 1.05 and metadata["export"]["format"] == fmt
    assert sidecar["export"]["quantize"] == "float16"


def test_quantize_applies_to_tflite_only(model_dir, tmp_path, capsys):
    status = run_cli(export_main, ["--model_dir", str(model_dir), "--format", "savedmodel", "--output",
                                   str(tmp_path / "out"), "--quantize", "float16"])
    assert status == 2
    assert "--quantize float16 applies to --format tflite only" in capsys.readouterr().err

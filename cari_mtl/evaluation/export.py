"""Writing a trained model in formats usable without cari-mtl: a TF SavedModel, a Keras `.keras` file, a
TFLite flatbuffer or an ONNX model (the `export` command, cari_mtl.commands.export, says what each holds).
TensorFlow only; its serving signature standardises 0..255 pixels inside the graph as the model was
trained and returns the embeddings and logits of FEATURE_NAMES."""

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from cari_mtl.evaluation.features import FEATURE_NAMES
from cari_mtl.model.export_metadata import FORMATS, QUANTIZATIONS, export_metadata, write_metadata
from cari_mtl.model.loading import open_model
from cari_mtl.runtime import atomic_files
from cari_mtl.runtime.output_dirs import require_writable_dir

ONNX_OPSET = 17
SIGNATURE = "serving_default"
INPUT_NAME = "images"
CUSTOM_PACKAGE = "cari_mtl"


def standardize_pixels(images, method):
    """The loader's standardisation of a float32 [N, H, W, 3] batch of 0..255 pixels, in the graph."""
    if method == "prewhiten":
        return tf.image.per_image_standardization(images)  # (x - mean) / max(std, 1/sqrt(N)) per image
    if method == "fixed":
        return (images - 127.5) / 128.0
    raise ValueError(f"unknown image standardization {method!r}")


def serving_function(model, config):
    """pixels [N, S, S, 3] float32 0..255 → {FEATURE_NAMES: float32}."""

    def serve(images):
        outputs = model(standardize_pixels(images, config.image_standardization), training=False)
        return {name: tf.cast(outputs[name], tf.float32) for name in FEATURE_NAMES}

    return serve


def input_signature(config):
    return [tf.TensorSpec([None, config.image_size, config.image_size, 3], tf.float32, name=INPUT_NAME)]


def export_savedmodel(model, config, output):
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name=SIGNATURE, fn=serving_function(model, config), input_signature=input_signature(config))
    archive.write_out(str(output), verbose=False)


def export_tflite(model, config, output, quantize="none"):
    """TFLite of the serving signature, converted from a temporary SavedModel; quantize: none (float32),
    float16 (float16 weights) or dynamic (int8 weights, float activations)."""
    with tempfile.TemporaryDirectory() as staging:
        export_savedmodel(model, config, Path(staging) / "savedmodel")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(staging) / "savedmodel"),
                                                             signature_keys=[SIGNATURE])
        if quantize in ("float16", "dynamic"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        atomic_files.write_bytes(output, converter.convert())


def export_onnx(model, config, output):
    """ONNX of the serving signature: tf2onnx's converter run on a temporary SavedModel."""
    if importlib.util.find_spec("tf2onnx") is None:
        raise ValueError('--format onnx needs the tf2onnx package: pip install "cari-mtl[onnx]"')
    with tempfile.TemporaryDirectory() as staging:
        export_savedmodel(model, config, Path(staging) / "savedmodel")
        completed = subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model",
                                    str(Path(staging) / "savedmodel"), "--signature_def", SIGNATURE,
                                    "--opset", str(ONNX_OPSET), "--output", str(output)],
                                   capture_output=True, text=True)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise ValueError(f"tf2onnx could not convert {output.name} ({last}); export --format savedmodel instead")


def export_keras(model, output):
    """`.keras` full-model file; custom layers of network files that predate the registration (older model
    directories' model_def.py) are registered under `cari_mtl` first, the name the package's classes use."""
    for layer in model.layers:
        cls = type(layer)
        if not cls.__module__.startswith("keras") and keras.saving.get_registered_name(cls) == cls.__name__:
            keras.saving.register_keras_serializable(package=CUSTOM_PACKAGE)(cls)
    model.save(str(output))


def export_model(model_dir, fmt, output, image_size=160, nrof_classes=None, image_standardization=None,
                 quantize="none", overwrite=False):
    """Writes `model_dir` (native model directory or TF1 checkpoint) to `output` in format `fmt`, with its
    metadata (cari_mtl.model.export_metadata); an existing `output` is refused unless `overwrite`, and
    replaced only once the new export is complete."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown --quantize {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if quantize != "none" and fmt != "tflite":
        raise ValueError(f"--quantize {quantize} applies to --format tflite only")
    output = Path(output).expanduser()
    if fmt == "keras" and output.suffix != ".keras":
        raise ValueError(f"--output {output} must end in .keras (Keras saves full models only under that suffix)")
    if output.exists() and not overwrite:
        raise ValueError(f"--output {output} already exists: pass --overwrite to replace it, or name a new "
                         f"{'directory' if fmt == 'savedmodel' else 'file'}")
    require_writable_dir(output.parent, "--output")
    model, config = open_model(model_dir, image_size=image_size, nrof_classes=nrof_classes,
                               image_standardization=image_standardization)
    if fmt == "savedmodel":
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
        try:
            export_savedmodel(model, config, staging / "savedmodel")
            shutil.rmtree(output, ignore_errors=True)
            (staging / "savedmodel").rename(output)
        except OSError as error:
            raise atomic_files.write_failure(output, error) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    elif fmt == "tflite":
        export_tflite(model, config, output, quantize)
    else:
        with atomic_files.atomic_path(output) as temporary:
            if fmt == "onnx":
                export_onnx(model, config, temporary)
            else:
                export_keras(model, temporary)
    write_metadata(output, fmt, export_metadata(model_dir, config, fmt, quantize))
    return output, config

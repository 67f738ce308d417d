"""Embedding speed: the Python API against extract_features, and the exported SavedModel and TFLite models.

    python benchmarks/embedding.py [--quick] [--images 400 --image_size 160 --source_size 182 --batch_size 100]

A randomly initialised network at --image_size px is saved as a model directory; --images synthetic
--source_size px JPEGs are written to a temporary folder. Timed, in images/s:
(a) extract_features: `cari_mtl.features.compute_features` on the image list, the call
    `cari extract` makes (one call: tracing included, as on the command line);
(b) `model.embed(paths)` of `cari_mtl.load_model` on the same list, first call (tracing included) and a
    second call (traced already); (a) and the first call of (b) run the same code, so they should match;
(c) the network alone on pixels already decoded and resized in memory: the compiled Keras forward
    pass (cari_mtl.features.inference_function), the exported SavedModel's serving_default signature
    (standardisation inside) and the float32 TFLite model (tf.lite.Interpreter, one thread per core),
    --batch_size images per call, after one untimed call.
The last line is one JSON object.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import cari_mtl  # noqa: E402
from cari_mtl.evaluation.export import export_model  # noqa: E402
from cari_mtl.evaluation.features import compute_features, inference_function  # noqa: E402
from cari_mtl.model.model_dir import ModelConfig, save_model_dir  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="80 images at 80 px, batches of 20 (under two minutes)")
    parser.add_argument("--images", type=int, default=400, help="images embedded by each method (default 400)")
    parser.add_argument("--image_size", type=int, default=160, help="network input size (default 160)")
    parser.add_argument("--source_size", type=int, default=182, help="size of the JPEG files (default 182)")
    parser.add_argument("--batch_size", type=int, default=100, help="images per batch (default 100)")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.image_size, args.batch_size = 80, 80, 20
    return args


def write_images(directory, count, size):
    """Smooth random colour JPEGs, distinct per index."""
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        coarse = rng.integers(0, 256, size=(8, 8, 3)).astype(np.uint8)
        path = str(Path(directory) / f"{index:05d}.jpg")
        cv2.imwrite(path, cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC))
        paths.append(path)
    return paths


def rate(count, seconds):
    return round(count / seconds, 1)


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def in_memory_rate(call, pixels, batch_size):
    """images/s of `call(batch)` over `pixels` in batches, after one untimed call."""
    call(pixels[:batch_size])
    started = time.perf_counter()
    for start in range(0, len(pixels), batch_size):
        call(pixels[start:start + batch_size])
    return rate(len(pixels), time.perf_counter() - started)


def main(argv=None):
    args = parse_arguments(argv)
    results = {"images": args.images, "image_size": args.image_size, "source_size": args.source_size,
               "batch_size": args.batch_size, "cpu_cores": os.cpu_count(), "python": platform.python_version(),
               "tensorflow": tf.__version__, "gpu": bool(tf.config.list_physical_devices("GPU"))}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        config = ModelConfig(image_size=args.image_size, nrof_classes=10)
        model_dir = save_model_dir(config.build(), work / "model", config)
        paths = write_images(work, args.images, args.source_size)

        model = cari_mtl.load_model(model_dir)
        (features, _), seconds = timed(lambda: compute_features(model.keras_model, args.image_size, paths,
                                                                args.batch_size, progress=False))
        results["extract_features_images_per_s"] = rate(len(paths), seconds)
        embedded, seconds = timed(lambda: model.embed(paths, batch_size=args.batch_size))
        results["embed_first_call_images_per_s"] = rate(len(paths), seconds)
        _, seconds = timed(lambda: model.embed(paths, batch_size=args.batch_size))
        results["embed_second_call_images_per_s"] = rate(len(paths), seconds)
        results["embed_max_difference"] = float(np.max(np.abs(embedded - features["embeddings"])))

        pixels = np.stack([cv2.resize(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB),
                                      (args.image_size, args.image_size), interpolation=cv2.INTER_LINEAR)
                           for path in paths]).astype(np.float32)
        standardised = np.stack([tf.image.per_image_standardization(image).numpy() for image in pixels])
        infer = inference_function(model.keras_model)
        results["keras_forward_images_per_s"] = in_memory_rate(lambda batch: infer(tf.constant(batch)), standardised,
                                                               args.batch_size)
        export_model(model_dir, "savedmodel", work / "savedmodel")
        serve = tf.saved_model.load(str(work / "savedmodel")).signatures["serving_default"]
        results["savedmodel_images_per_s"] = in_memory_rate(lambda batch: serve(images=tf.constant(batch)), pixels,
                                                            args.batch_size)
        export_model(model_dir, "tflite", work / "model.tflite")
        interpreter = tf.lite.Interpreter(model_path=str(work / "model.tflite"), num_threads=os.cpu_count())
        runner = interpreter.get_signature_runner("serving_default")
        results["tflite_images_per_s"] = in_memory_rate(lambda batch: runner(images=batch), pixels, args.batch_size)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

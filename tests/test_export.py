"""cari_mtl.export: SavedModel (loaded where cari_mtl cannot be imported), .keras, TFLite, ONNX against
extract_features."""

import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from support.evaluation import IMAGE_SIZE, save_untrained_model, write_image

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.export import main as export_main
from cari_mtl.commands.extract_features import main as extract_main
from cari_mtl.model.model_dir import MODEL_DEF_NAME

pytestmark = pytest.mark.slow  # the real network converted to SavedModel / TFLite in fresh processes

DECORATOR = '@keras.saving.register_keras_serializable(package="cari_mtl")\n'
COMPARED = ("embeddings", "embeddings_visual", "embeddings_cari", "logits_verif", "logits_visual", "logits_cari")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An 80 px version-1 model directory (no `network` in its config.json, so its copy builds the network)
    whose network copy predates the layer registration (as older directories)."""
    directory = save_untrained_model(tmp_path_factory.mktemp("model") / "model")
    network_file = directory / MODEL_DEF_NAME
    assert DECORATOR in network_file.read_text()
    network_file.write_text(network_file.read_text().replace(DECORATOR, ""))
    config = json.loads((directory / "config.json").read_text())
    del config["network"]
    (directory / "config.json").write_text(json.dumps({**config, "version": 1}))
    return directory


@pytest.fixture(scope="module")
def reference(model_dir, tmp_path_factory):
    """(image paths, extract_features outputs) for four images at the model's size."""
    root = tmp_path_factory.mktemp("images")
    paths = [write_image(root / f"{n}.png", n) for n in range(4)]
    (root / "list.txt").write_text("\n".join(paths) + "\n")
    assert extract_main(["--model_dir", str(model_dir), "--image_list", str(root / "list.txt"),
                         "--output", str(root / "features.npz")]) == 0
    return paths, dict(np.load(root / "features.npz"))


def pixels(paths):
    """float32 [N, S, S, 3] RGB 0..255, what the exported signature takes."""
    return np.stack([cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) for path in paths]).astype(np.float32)


def run_python(code, cwd):
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def test_savedmodel_without_cari_mtl_matches_extract_features(model_dir, reference, tmp_path):
    paths, expected = reference
    output = tmp_path / "savedmodel"
    assert export_main(["--model_dir", str(model_dir), "--format", "savedmodel", "--output", str(output)]) == 0
    np.save(tmp_path / "pixels.npy", pixels(paths))
    run_python(f"""
        import sys
        sys.modules["cari_mtl"] = None  # any import of cari_mtl now fails
        import numpy as np
        import tensorflow as tf
        serve = tf.saved_model.load({str(output)!r}).signatures["serving_default"]
        outputs = serve(images=tf.constant(np.load({str(tmp_path / "pixels.npy")!r})))
        np.savez({str(tmp_path / "served.npz")!r}, **{{k: v.numpy() for k, v in outputs.items()}})
    """, cwd=tmp_path)
    served = np.load(tmp_path / "served.npz")
    assert set(served.files) == set(COMPARED)
    for name in COMPARED:
        np.testing.assert_allclose(served[name], expected[name], atol=1e-5, err_msg=name)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_tflite_matches_extract_features(model_dir, reference, tmp_path):
    import tensorflow as tf

    paths, expected = reference
    output = tmp_path / "model.tflite"
    assert export_main(["--model_dir", str(model_dir), "--format", "tflite", "--output", str(output)]) == 0
    runner = tf.lite.Interpreter(model_path=str(output)).get_signature_runner("serving_default")
    outputs = runner(images=pixels(paths))
    for name in COMPARED:
        assert outputs[name].dtype == np.float32
        np.testing.assert_allclose(outputs[name], expected[name], atol=1e-4, err_msg=name)


def test_onnx_matches_extract_features(model_dir, reference, tmp_path):
    pytest.importorskip("tf2onnx")
    ort = pytest.importorskip("onnxruntime")
    paths, expected = reference
    output = tmp_path / "model.onnx"
    assert export_main(["--model_dir", str(model_dir), "--format", "onnx", "--output", str(output)]) == 0
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, {session.get_inputs()[0].name: pixels(paths)})))
    assert set(names) == set(COMPARED)
    for name in COMPARED:
        np.testing.assert_allclose(outputs[name], expected[name], atol=1e-4, err_msg=name)


def test_keras_file_round_trip_in_a_fresh_process(model_dir, reference, tmp_path):
    from cari_mtl.images.eval_loader import load_eval_batch
    from cari_mtl.model.model_dir import load_model_dir

    paths, _ = reference
    output = tmp_path / "model.keras"
    assert export_main(["--model_dir", str(model_dir), "--format", "keras", "--output", str(output)]) == 0
    batch = load_eval_batch(paths, IMAGE_SIZE)
    np.save(tmp_path / "batch.npy", batch)
    run_python(f"""
        import keras
        import numpy as np
        import cari_mtl.model.inception_resnet_v1_cari_vis  # registers L2Normalize
        model = keras.models.load_model({str(output)!r})
        outputs = model(np.load({str(tmp_path / "batch.npy")!r}), training=False)
        np.savez({str(tmp_path / "restored.npz")!r}, **{{k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}})
    """, cwd=tmp_path)
    restored = np.load(tmp_path / "restored.npz")
    original = load_model_dir(model_dir)[0](batch, training=False)
    assert set(restored.files) == set(original)
    for name, values in original.items():
        np.testing.assert_array_equal(restored[name], np.asarray(values), err_msg=name)


def test_wrong_output_is_one_error_line(model_dir, tmp_path, capsys):
    existing = tmp_path / "taken"
    existing.mkdir()
    assert run_cli(export_main, ["--model_dir", str(model_dir), "--format", "savedmodel", "--output",
                                 str(existing)]) == 2
    assert run_cli(export_main, ["--model_dir", str(model_dir), "--format", "keras", "--output",
                                 str(tmp_path / "model.h5")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "taken already exists" in errors[0] and "must end in .keras" in errors[1]

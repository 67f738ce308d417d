"""TF1 checkpoint conversion: numerics against an independent tf.compat.v1 graph, reports, errors."""

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cari_mtl.commands import convert_checkpoint, extract_features
from cari_mtl.commands.cli import run_cli
from cari_mtl.images.eval_loader import load_eval_batch, prewhiten
from cari_mtl.model.loading import model_from_checkpoint
from cari_mtl.model.model_dir import load_model_dir

import tf1_reference as ref

CARI_SIZE = 120  # Mixed_7a is 2x2 here, so pooling and the weights head's flatten order matter
FACENET_SIZE = 80
NROF_CLASSES = 7
REPO = Path(__file__).resolve().parent.parent


def prewhitened_images(count, size, seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, (count, size, size, 3))
    return np.stack([prewhiten(image) for image in raw]).astype(np.float32)


def keras_outputs(model, images):
    return {name: value.numpy() for name, value in model(images, training=False).items()}


def assert_matches_reference(actual, expected,
                             logits=("logits_verif", "logits_visual", "logits_cari", "lossweights")):
    for name in ("embeddings", "embeddings_visual", "embeddings_cari"):
        assert np.max(np.abs(actual[name] - expected[name])) <= 1e-4, name
    for name in logits:
        scale = np.max(np.abs(expected[name]))
        assert scale > 0, name
        assert np.max(np.abs(actual[name] - expected[name])) / scale <= 1e-4, name


@pytest.fixture(scope="module")
def cari_checkpoint(tmp_path_factory):
    """A full three-branch TF1 checkpoint at step 1000, plus an older decoy at step 99."""
    directory = tmp_path_factory.mktemp("cari_ckpt")
    images = prewhitened_images(3, CARI_SIZE, seed=0)
    shape = [None, CARI_SIZE, CARI_SIZE, 3]
    prefix = str(directory / "model-20190101-000000.ckpt")
    ref.save_graph(ref.build_cari_graph, shape, prefix, 99, images, nrof_classes=NROF_CLASSES, seed=99)
    expected = ref.save_graph(ref.build_cari_graph, shape, prefix, 1000, images,
                              nrof_classes=NROF_CLASSES, seed=1)
    return directory, images, expected


@pytest.fixture(scope="module")
def converted_cari(cari_checkpoint, tmp_path_factory):
    directory, _, _ = cari_checkpoint
    output = tmp_path_factory.mktemp("converted") / "model"
    status = run_cli(convert_checkpoint.main, [
        "--pretrained_model", str(directory), "--output_dir", str(output),
        "--image_size", str(CARI_SIZE),
    ])
    assert status == 0
    return output


@pytest.mark.slow
def test_full_model_matches_tf1_graph_in_inference_mode(cari_checkpoint, converted_cari):
    _, images, expected = cari_checkpoint
    model, config = load_model_dir(converted_cari)
    assert config.nrof_classes == NROF_CLASSES  # read from the checkpoint's logits layer
    assert_matches_reference(keras_outputs(model, images), expected)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_full_model_report_loads_everything_and_skips_training_leftovers(cari_checkpoint):
    directory, _, _ = cari_checkpoint
    _, _, report = model_from_checkpoint(directory, image_size=CARI_SIZE)
    assert report.kind == "cari"
    assert report.checkpoint.endswith("ckpt-1000")
    assert report.left_initialised == []
    assert report.copied == []
    assert report.unused == ["centerloss/centers"]
    assert report.skipped_auxiliary == 5 * 3 + 1  # RMSProp, RMSProp_1, EMA of 5 variables; global_step
    assert "InceptionResnetV1_cari/Block8/Conv2d_1x1/biases" in report.loaded


@pytest.mark.slow
def test_full_depth_facenet_checkpoint(tmp_path):
    images = prewhitened_images(2, FACENET_SIZE, seed=3)
    shape = [None, FACENET_SIZE, FACENET_SIZE, 3]
    prefix = str(tmp_path / "model-20180113-231253.ckpt")
    ref.save_graph(ref.build_facenet_graph, shape, prefix, 80000, images, full_depth=True, seed=5)
    expected = ref.restore_graph(ref.build_facenet_graph, shape, f"{prefix}-80000", images,
                                 full_depth=False, seed=0)

    model, _, report = model_from_checkpoint(tmp_path, image_size=FACENET_SIZE, nrof_classes=4)
    actual = keras_outputs(model, images)

    assert report.kind == "facenet"
    assert np.max(np.abs(actual["embeddings"] - expected["embeddings"])) <= 1e-4
    np.testing.assert_array_equal(actual["embeddings_visual"], actual["embeddings"])
    assert not np.allclose(actual["embeddings_cari"], actual["embeddings"], atol=1e-3)
    unused = set(report.unused)
    assert "InceptionResnetV1/Repeat/block35_5/Conv2d_1x1/weights" in unused
    assert "InceptionResnetV1/Repeat_1/block17_10/Branch_0/Conv2d_1x1/weights" in unused
    assert "InceptionResnetV1/Repeat_2/block8_2/Branch_1/Conv2d_0a_1x1/weights" in unused
    assert {"InceptionResnetV1/Bottleneck/weights", "Logits/weights"} <= unused
    assert ("InceptionResnetV1/Repeat_2/block8_1/Branch_0/Conv2d_1x1/weights",
            "InceptionResnetV1_expression/Repeat/block8_1/Branch_0/Conv2d_1x1/weights") in report.copied
    assert "InceptionResnetV1_cari/Block8/Conv2d_1x1/weights" in report.left_initialised
    assert "Logits_verif/weights" in report.left_initialised
    assert not any(name.startswith("InceptionResnetV1/") for name in report.left_initialised)

    model, _, report = model_from_checkpoint(tmp_path, image_size=FACENET_SIZE, nrof_classes=4,
                                             init_cari_from_verif=True)
    actual = keras_outputs(model, images)
    np.testing.assert_array_equal(actual["embeddings_cari"], actual["embeddings"])
    assert not any(name.startswith("InceptionResnetV1_cari/") for name in report.left_initialised)


def test_parameter_counts_per_scope_equal_reference(network):
    model = network.build_model(image_size=CARI_SIZE, nrof_classes=NROF_CLASSES)
    keras_counts = {}
    for layer in model.layers:
        for variable in layer.trainable_weights:
            scope = layer.name.split(".")[0]
            keras_counts[scope] = keras_counts.get(scope, 0) + int(np.prod(variable.shape))
    reference = ref.parameter_counts_by_scope(ref.build_cari_graph, [None, CARI_SIZE, CARI_SIZE, 3],
                                              nrof_classes=NROF_CLASSES, seed=0)
    assert keras_counts == reference
    assert set(reference) == {"InceptionResnetV1", "InceptionResnetV1_expression", "InceptionResnetV1_cari",
                              "Logits_verif", "Logits", "Logits_cari", "Logits_lossweights"}


def test_too_small_image_size_names_the_minimum(network):
    with pytest.raises(ValueError, match="smallest input .* is 75 px"):
        network.build_model(image_size=74, nrof_classes=3)


def run_convert(argv, capsys):
    status = run_cli(convert_checkpoint.main, argv)
    error_lines = capsys.readouterr().err.strip().splitlines()
    return status, error_lines


def test_missing_directory_is_one_clear_error(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    status, lines = run_convert(["--pretrained_model", str(missing), "--output_dir", str(tmp_path / "o")], capsys)
    assert status == 2
    assert len(lines) == 1 and str(missing) in lines[0] and "does not exist" in lines[0]


def test_directory_without_checkpoint_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no checkpoint here")
    status, lines = run_convert(["--pretrained_model", str(tmp_path), "--output_dir", str(tmp_path / "o")], capsys)
    assert status == 2
    assert len(lines) == 1 and "holds no TF1 checkpoint" in lines[0]
    assert not (tmp_path / "o").exists()


def test_truncated_data_file_is_one_clear_error(cari_checkpoint, tmp_path, capsys):
    source, _, _ = cari_checkpoint
    for path in source.glob("model-*.ckpt-1000.*"):
        shutil.copy(path, tmp_path / path.name)
    data_file = next(tmp_path.glob("*.data-*"))
    data_file.write_bytes(data_file.read_bytes()[: data_file.stat().st_size // 2])
    status, lines = run_convert(["--pretrained_model", str(tmp_path), "--output_dir", str(tmp_path / "o"),
                                 "--image_size", str(CARI_SIZE)], capsys)
    assert status == 2
    assert len(lines) == 1 and "truncated or corrupt" in lines[0] and "ckpt-1000" in lines[0]


def test_wrong_nrof_classes_is_one_clear_error(cari_checkpoint, tmp_path, capsys):
    source, _, _ = cari_checkpoint
    status, lines = run_convert(["--pretrained_model", str(source), "--output_dir", str(tmp_path / "o"),
                                 "--image_size", str(CARI_SIZE), "--nrof_classes", "9"], capsys)
    assert status == 2
    assert len(lines) == 1 and "--nrof_classes 9" in lines[0] and f"{NROF_CLASSES} classes" in lines[0]


def test_wrong_image_size_names_variable_and_shapes(cari_checkpoint, tmp_path, capsys):
    source, _, _ = cari_checkpoint
    status, lines = run_convert(["--pretrained_model", str(source), "--output_dir", str(tmp_path / "o"),
                                 "--image_size", "80"], capsys)
    assert status == 2
    assert len(lines) == 1
    assert "Logits_lossweights/weights" in lines[0] and "[7168, 3]" in lines[0] and "[1792, 3]" in lines[0]


@pytest.mark.slow
def test_command_line_exit_status_is_non_zero(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cari_mtl.convert_checkpoint", "--pretrained_model", str(tmp_path / "x"),
         "--output_dir", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_extract_features_rows_follow_the_list_and_match_tf1(cari_checkpoint, converted_cari, tmp_path):
    source, _, _ = cari_checkpoint
    rng = np.random.default_rng(11)
    paths = []
    for index, (height, width) in enumerate([(130, 110), (90, 140), (120, 120), (100, 100), (150, 95)]):
        path = tmp_path / f"image_{index}.png"
        cv2.imwrite(str(path), rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        paths.append(str(path))
    image_list = tmp_path / "list.txt"
    image_list.write_text("\n".join(paths) + "\n")
    output = tmp_path / "features.npz"

    status = run_cli(extract_features.main, ["--model_dir", str(converted_cari), "--image_list", str(image_list),
                                            "--output", str(output), "--lfw_batch_size", "2"])

    assert status == 0
    saved = np.load(output)
    assert list(saved["paths"]) == paths
    images = load_eval_batch(paths, CARI_SIZE)
    expected = ref.restore_graph(ref.build_cari_graph, [None, CARI_SIZE, CARI_SIZE, 3],
                                 next(source.glob("*1000.index")).as_posix()[: -len(".index")], images,
                                 nrof_classes=NROF_CLASSES, seed=0)
    assert_matches_reference(saved, expected, logits=("logits_verif", "logits_visual", "logits_cari"))
    assert saved["logits_verif"].shape == (5, NROF_CLASSES)


def test_extract_features_names_a_missing_image(converted_cari, tmp_path, capsys):
    image_list = tmp_path / "list.txt"
    image_list.write_text(str(tmp_path / "absent.jpg") + "\n")
    status = run_cli(extract_features.main, ["--model_dir", str(converted_cari), "--image_list", str(image_list),
                                            "--output", str(tmp_path / "f.npz")])
    assert status == 2
    assert "absent.jpg" in capsys.readouterr().err


def test_prewhiten_and_resize_follow_the_original_loader(tmp_path):
    image = np.array([[[0, 10, 20], [30, 40, 50]], [[60, 70, 80], [90, 100, 255]]], dtype=np.uint8)
    values = image.astype(np.float64)
    expected = (values - values.mean()) / max(values.std(), 1 / np.sqrt(12))
    np.testing.assert_allclose(prewhiten(image), expected)
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((4, 6), 100, dtype=np.uint8))
    batch = load_eval_batch([str(gray)], 8)
    assert batch.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(batch, 0.0, atol=1e-6)  # constant image: mean removed, std floor applies


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_fixed_standardization_end_to_end_through_extract_features(cari_checkpoint, tmp_path):
    source, _, _ = cari_checkpoint
    output = tmp_path / "fixed_model"
    assert run_cli(convert_checkpoint.main, ["--pretrained_model", str(source), "--output_dir", str(output),
                                             "--image_size", str(CARI_SIZE), "--image_standardization", "fixed"]) == 0
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (2, CARI_SIZE, CARI_SIZE, 3), dtype=np.uint8)
    paths = []
    for index, image in enumerate(rgb):
        paths.append(str(tmp_path / f"hand_{index}.png"))
        cv2.imwrite(paths[-1], image[:, :, ::-1])
    (tmp_path / "list.txt").write_text("\n".join(paths) + "\n")
    by_hand = ((rgb.astype(np.float64) - 127.5) / 128.0).astype(np.float32)
    expected = ref.restore_graph(ref.build_cari_graph, [None, CARI_SIZE, CARI_SIZE, 3],
                                 next(source.glob("*1000.index")).as_posix()[: -len(".index")], by_hand,
                                 nrof_classes=NROF_CLASSES, seed=0)

    for extra, standardised in (([], "fixed"), (["--image_standardization", "prewhiten"], "prewhiten")):
        features = tmp_path / f"{standardised}.npz"
        assert run_cli(extract_features.main, ["--model_dir", str(output), "--image_list", str(tmp_path / "list.txt"),
                                               "--output", str(features), *extra]) == 0
        saved = np.load(features)
        if standardised == "fixed":  # the model directory's stored choice
            assert_matches_reference(saved, expected, logits=("logits_verif", "logits_visual", "logits_cari"))
        else:  # the flag overrides it
            assert np.max(np.abs(saved["embeddings"] - expected["embeddings"])) > 1e-2


def test_margin_heads_take_the_checkpoints_logits_weights(cari_checkpoint, converted_cari):
    """PORTING X1: a TF1 checkpoint converts into CosFace/ArcFace heads; embeddings as the TF1 graph's."""
    directory, images, expected = cari_checkpoint
    model, config, report = model_from_checkpoint(directory, image_size=CARI_SIZE, verif_head="cosface",
                                                  identity_heads="arcface", margin_scale=20.0)
    assert report.left_initialised == [] and config.verif_head == "cosface"
    outputs = keras_outputs(model, images)
    assert_matches_reference(outputs, expected, logits=("lossweights",))
    kernel = load_model_dir(converted_cari)[0].get_layer("Logits_verif").kernel.numpy()
    np.testing.assert_array_equal(model.get_layer("Logits_verif").kernel.numpy(), kernel)
    columns = kernel / np.linalg.norm(kernel, axis=0, keepdims=True)
    np.testing.assert_allclose(outputs["logits_verif"], 20.0 * expected["embeddings"] @ columns, atol=1e-4)

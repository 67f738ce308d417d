"""The evaluation benchmark's loop baselines, its JSON line, and the threaded feature extraction it times."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from support.evaluation import IMAGE_SIZE, save_untrained_model, write_image

from cari_mtl.evaluation import metrics
from cari_mtl.evaluation.features import compute_features, image_batches
from cari_mtl.images.eval_loader import load_eval_batch
from cari_mtl.model.loading import ModelSource, open_inference_model
from cari_mtl.runtime.speed import SpeedOptions

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "evaluation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_evaluation", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_untrained_model(tmp_path_factory.mktemp("model") / "model")


@pytest.mark.parametrize("nrof_pairs", [1003, 2000])
def test_loop_verification_matches_the_vectorised_protocol(bench, nrof_pairs):
    embeddings, issame = bench.verification_embeddings(nrof_pairs, seed=nrof_pairs)
    fast = metrics.evaluate_verification(embeddings, issame, nrof_folds=10, far_target=0.01)
    slow = bench.loop_verification(embeddings, issame)
    assert bench.check_verification(fast, slow) <= 1e-9
    assert 0.6 < fast["accuracy_mean"] < 0.99


def test_loop_verification_on_some_folds_agrees_on_those_folds(bench):
    embeddings, issame = bench.verification_embeddings(1000, seed=5)
    fast = metrics.evaluate_verification(embeddings, issame, nrof_folds=10, far_target=0.01)
    slow = bench.loop_verification(embeddings, issame, folds_run=3)
    assert bench.check_verification(fast, slow, folds_run=3) <= 1e-9
    assert not slow["accuracy"][3:].any()


def test_loop_slinear_agrees_with_the_port_on_repeated_far_values(bench):
    far = np.array([0.0, 0.0, 0.005, 0.005, 0.01, 0.01, 0.02, 0.5])
    thresholds = np.arange(far.size) * 0.1
    for target in (0.0, 0.003, 0.005, 0.01, 0.015, 0.5):
        assert bench.loop_slinear(far, thresholds, target) == pytest.approx(
            metrics.slinear_interpolate(far, thresholds, target), abs=1e-15)


def test_loop_rank_matches_the_vectorised_ranks(bench):
    probes, probe_labels, gallery, gallery_labels = bench.identification_embeddings(60, 400)
    assert bench.loop_rank(probes, probe_labels, gallery, gallery_labels) == pytest.approx(
        bench.vectorised_rank(probes, probe_labels, gallery, gallery_labels), abs=0)


def test_metrics_run_prints_one_json_line_with_the_speedups(bench, capsys):
    status = bench.main(["--skip_extraction", "--pairs", "3000", "--loop_folds", "5", "--probes", "40",
                         "--loop_probes", "20", "--gallery", "300", "--repeats", "1"])
    assert status == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["verification_loop_scaled"] and result["rank_loop_scaled"]
    assert result["verification_loop_seconds_at_full_size"] == pytest.approx(
        2 * result["verification_loop_seconds"], rel=1e-2, abs=2e-3)
    for key in ("verification_speedup", "rank_speedup", "verification_seconds", "rank_seconds"):
        assert result[key] > 0, key


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_threaded_extraction_keeps_list_order_and_marks_unreadable_images(model_dir, tmp_path):
    paths = [write_image(tmp_path / f"face_{i}.png", seed=i) for i in range(7)]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    paths.insert(3, str(broken))
    model, config, _ = open_inference_model(ModelSource(str(model_dir)), SpeedOptions(xla="off", mixed_precision="off"))

    features, valid = compute_features(model, config.image_size, paths, batch_size=3, progress=False, workers=3)

    assert valid.tolist() == [True, True, True, False, True, True, True, True]
    readable = [path for path in paths if path != str(broken)]
    expected = model(tf.constant(load_eval_batch(readable, IMAGE_SIZE)), training=False)
    for name, values in features.items():
        assert values.dtype == np.float32 and values.shape[0] == len(paths)
        assert not values[3].any(), name
        np.testing.assert_allclose(np.delete(values, 3, axis=0), expected[name].numpy(), atol=1e-5, rtol=1e-5)


def test_image_batches_do_not_pad_the_last_batch(tmp_path):
    paths = [write_image(tmp_path / f"face_{i}.png", seed=i) for i in range(5)]
    batches = list(image_batches(paths, IMAGE_SIZE, batch_size=2, workers=2))
    assert [readable.tolist() for _, readable in batches] == [[True, True], [True, True], [True]]
    assert [len(batch) for batch, _ in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([b for b, _ in batches]), load_eval_batch(paths, IMAGE_SIZE))


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_mixed_precision_applies_to_the_model_only_and_features_stay_float32(model_dir, tmp_path):
    paths = [write_image(tmp_path / f"face_{i}.png", seed=i) for i in range(2)]
    before = keras.config.dtype_policy().name
    model, config, jit_compile = open_inference_model(ModelSource(str(model_dir)),
                                                      SpeedOptions(xla="on", mixed_precision="bfloat16"))
    assert model.dtype_policy.name == "mixed_bfloat16" and jit_compile
    assert keras.config.dtype_policy().name == before
    features, valid = compute_features(model, config.image_size, paths, batch_size=2, progress=False,
                                       names=("embeddings",), jit_compile=jit_compile)
    assert valid.all() and features["embeddings"].dtype == np.float32
    norms = np.linalg.norm(features["embeddings"], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=2e-2)


"""Under JAX, in subprocesses where importing TensorFlow raises: training on a synthetic dataset,
SIGKILL and --resume (the resumed logs equal an uninterrupted run's), evaluate_cavi; the model
directory it trained gives the same embeddings (1e-5) and evaluation metrics under TensorFlow."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cari_mtl
from cari_mtl.commands import evaluate_cavi
from cari_mtl.data.synthetic import generate_dataset

from jax_subprocess import ROOT, TESTS, jax_environment, requires_jax, run_jax

LOGS = ("loss.txt", "percentage_full_loss.txt")


def train_flags(dataset, base):
    return ["--backend", "jax", "--data_dir", dataset.data_dir, "--test_pairs", dataset.pairs_file,
            "--downsample", "4", "--image_size", "80", "--batch_size", "4", "--epoch_size", "4",
            "--max_nrof_epochs", "2", "--model_def", TESTS / "small_network.py", "--keep_probability", "0.8",
            "--center_loss_factor", "0.01", "--learning_rate", "0.01", "--random_crop", "--random_flip",
            "--lfw_batch_size", "8", "--lfw_nrof_folds", "2", "--save_every_n_steps", "1",
            "--logs_base_dir", base / "logs", "--models_base_dir", base / "models"]


def data_rows(path):
    lines = path.read_text().splitlines()
    return [line for line in lines if line != lines[0]]


def only_run(folder):
    runs = [path for path in folder.iterdir() if path.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def train_killed_then_resumed(flags, base):
    """Starts the training, SIGKILLs it once its second checkpoint exists, resumes it; the model directory."""
    process = subprocess.Popen([sys.executable, ROOT / "train" / "train.py", *map(str, flags)], cwd=ROOT,
                               env=jax_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 300
    index = None
    while time.time() < deadline and process.poll() is None:
        indexes = list((base / "models").glob("*/checkpoints/checkpoint"))
        if indexes and indexes[0].read_text().strip() != "jax-1.npz":
            index = indexes[0]
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert index is not None, "the run wrote no second checkpoint"
    model_dir = only_run(base / "models")
    assert not (model_dir / "epoch_0002").exists(), "the run finished before it was killed"
    run_jax([ROOT / "train" / "train.py", "--backend", "jax", "--resume", model_dir])
    return model_dir


@requires_jax
@pytest.mark.slow
def test_jax_training_resumes_exactly_and_evaluates_like_tensorflow(tmp_path):
    dataset = generate_dataset(tmp_path / "data", identities=5, photos_per_id=3, caricatures_per_id=3, image_size=96)
    whole = tmp_path / "whole"
    run_jax([ROOT / "train" / "train.py", *train_flags(dataset, whole)])
    killed = tmp_path / "killed"
    resumed_dir = train_killed_then_resumed(train_flags(dataset, killed), killed)
    for name in LOGS:  # a resumed run's logs are the uninterrupted run's, header once
        expected = (only_run(whole / "logs") / name).read_text()
        assert len(data_rows(only_run(whole / "logs") / name)) == 8
        assert (only_run(killed / "logs") / name).read_text() == expected
    epochs = [json.loads(line)["verification_accuracy"]
              for line in (only_run(killed / "logs") / "metrics.jsonl").read_text().splitlines()]
    assert len(epochs) == 2

    model_dir = resumed_dir / "epoch_0002"
    evaluation = ["--data_dir", str(dataset.data_dir), "--model_dir", str(model_dir), "--test_pairs",
                  str(dataset.pairs_file), "--downsample", "4", "--lfw_nrof_folds", "2", "--lfw_batch_size", "8",
                  "--image_size", "80"]
    run_jax([ROOT / "evaluate" / "evaluate_cavi.py", "--backend", "jax", *evaluation,
             "--logs_base_dir", tmp_path / "evaluation_jax"])
    assert evaluate_cavi.main([*evaluation, "--logs_base_dir", str(tmp_path / "evaluation_tf")]) == 0
    jax_metrics = json.loads((only_run(tmp_path / "evaluation_jax") / "metrics.json").read_text())
    tf_metrics = json.loads((only_run(tmp_path / "evaluation_tf") / "metrics.json").read_text())
    for key in ("accuracy_mean", "auc_mean", "val_mean", "best_threshold"):
        assert jax_metrics[key] == pytest.approx(tf_metrics[key], abs=1e-6), key

    images = sorted(str(path) for path in dataset.data_dir.rglob("*.jpg"))[:6]
    run_jax([TESTS / "jax_embed.py", model_dir, tmp_path / "jax.npy", *images])
    np.testing.assert_allclose(np.load(tmp_path / "jax.npy"), cari_mtl.load_model(str(model_dir)).embed(images),
                               atol=1e-5)

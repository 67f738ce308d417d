"""Bad inputs stop early with one `error:` line and exit status 2, never with a figure from NaN (issue 12).

Resume after a crash, a SIGINT or a half-written checkpoint save is in test_resume_exact.py.
"""

import json
import shutil
import signal
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from support.evaluation import (
    NROF_CLASSES,
    evaluation_config,
    save_untrained_model,
    script_main,
    write_cavi,
    write_image,
)
from support.outputs import one_error_line  # noqa: F401
from support.training_runs import BASE_FLAGS, memory_data

import cari_mtl.commands.extract_features as extract_features
import cari_mtl.commands.train as train_module
import cari_mtl.training.run.session as session
from cari_mtl.alignment.mtcnn_align import align_dataset
from cari_mtl.commands.cli import run_cli
from cari_mtl.data.cavi import load_cavi_pairs, parse_pairs_lines
from cari_mtl.data.webcari import load_webcari_pairs
from cari_mtl.evaluation import protocols as evaluation
from cari_mtl.model.checkpoints import CheckpointError
from cari_mtl.model.model_dir import load_model_dir, save_model_dir
from cari_mtl.runtime.finite_check import NonFiniteError, drop_nonfinite_rows
from cari_mtl.training.loop.checkpoints import TensorFlowCheckpoints
from cari_mtl.training.loop.epoch_evaluation import EvaluationSplit
from cari_mtl.training.loop.interrupt import StopRequest, TrainingInterrupted
from cari_mtl.training.run.training_data import TrainingData


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_untrained_model(tmp_path_factory.mktemp("model") / "model")


def copy_model(model_dir, target):
    shutil.copytree(model_dir, target)
    return target


def run(main, argv, capsys):
    """(exit status, stderr lines) of a command run through run_cli."""
    capsys.readouterr()
    status = run_cli(main, argv)
    return status, capsys.readouterr().err.strip().splitlines()


def image_list(tmp_path, count=3):
    paths = [write_image(tmp_path / "images" / f"{i}.png", i) for i in range(count)]
    listing = tmp_path / "images.txt"
    listing.write_text("\n".join(paths) + "\n")
    return listing


# --- 1. non-finite values ------------------------------------------------------------------------------

def damage_inside(weights_file):
    """4 KB of 0xFF bytes (NaN as float32) in the middle of the file, which still opens."""
    data = bytearray(weights_file.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = b"\xff" * 4096
    weights_file.write_bytes(bytes(data))


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_weights_with_damaged_bytes_stop_extraction_and_evaluation(tmp_path, model_dir, capsys):
    damaged = copy_model(model_dir, tmp_path / "damaged")
    damage_inside(damaged / "model.weights.h5")
    output = tmp_path / "features.npz"
    status, err = run(extract_features.main, ["--model_dir", str(damaged), "--image_list",
                                              str(image_list(tmp_path)), "--output", str(output)], capsys)
    assert status == 2 and not output.exists()
    one_error_line(err, str(damaged / "model.weights.h5"), "non-finite")

    data = tmp_path / "CaVI_Dataset"
    write_cavi(data)
    status, err = run(script_main("evaluate_cavi.py"), [
        "--data_dir", str(data), "--model_dir", str(damaged), "--test_pairs", str(data / "testing_1.txt"),
        "--downsample", "2", "--logs_base_dir", str(tmp_path / "logs")], capsys)
    assert status == 2 and not any((tmp_path / "logs").glob("*/metrics.json"))
    one_error_line(err, "model.weights.h5", "non-finite")


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_model_giving_nan_for_every_image_writes_no_features(tmp_path, model_dir, capsys):
    model, config = load_model_dir(model_dir)
    kernel = next(v for v in model.weights if v.path == "Logits_verif/kernel")
    kernel.assign(np.full(kernel.shape, 3e38, np.float32))  # finite weights whose logits overflow to Inf
    nan_model = save_model_dir(model, tmp_path / "nan_model", config)
    output = tmp_path / "features.npz"
    status, err = run(extract_features.main, ["--model_dir", str(nan_model), "--image_list",
                                              str(image_list(tmp_path)), "--output", str(output)], capsys)
    assert status == 2 and not output.exists()
    one_error_line(err, "non-finite outputs", "every readable image")


def test_rows_with_non_finite_values_are_zeroed_and_marked_invalid():
    features = {"embeddings": np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, 4.0]]),
                "logits": np.array([[0.0], [1.0], [np.inf]])}
    valid = np.array([True, True, True])
    nonfinite = drop_nonfinite_rows(features, valid)
    assert nonfinite.tolist() == [False, True, True] and valid.tolist() == [True, False, False]
    assert np.isfinite(features["embeddings"]).all() and features["logits"][2, 0] == 0.0


def nan_from_epoch(batches, first_nan_epoch):
    def wrapped(epoch, skip):
        for images, labels, is_cari in batches(epoch, skip):
            yield (images * np.nan if epoch >= first_nan_epoch else images), labels, is_cari
    return wrapped


def train_with(monkeypatch, data_dir, flags, transform=lambda data: data):
    def load(config):
        data, nrof_classes = memory_data(data_dir, config.batch_size, config.epoch_size, config.seed)
        return transform(data), nrof_classes
    with monkeypatch.context() as patch:
        patch.setattr(session, "load_training_data", load)
        return train_module.train(flags, progress=False)


@pytest.mark.slow
def test_training_stops_at_the_first_non_finite_loss_and_saves_nothing_after_it(tmp_path, monkeypatch):
    models = tmp_path / "models"
    flags = BASE_FLAGS + ["--logs_base_dir", str(tmp_path / "logs"), "--models_base_dir", str(models)]
    with pytest.raises(NonFiniteError, match=r"step 5: non-finite loss .*ckpt-4"):
        train_with(monkeypatch, tmp_path / "data", flags,
                   lambda data: TrainingData(nan_from_epoch(data.batches, 2), data.test_split))
    model_dir = next(models.iterdir())
    assert tf.train.latest_checkpoint(str(model_dir / "checkpoints")).endswith("ckpt-4")
    assert not (model_dir / "epoch_0002").exists()
    loss_rows = (next((tmp_path / "logs").iterdir()) / "loss.txt").read_text()
    assert "nan" not in loss_rows and len(loss_rows.splitlines()) == 1 + 4


# --- 2. resume errors ----------------------------------------------------------------------------------

def fake_run(tmp_path):
    model_dir = tmp_path / "models" / "20240101-000000"
    (model_dir / "checkpoints").mkdir(parents=True)
    (model_dir / "run.json").write_text(json.dumps({"log_dir": str(tmp_path / "logs" / "20240101-000000"),
                                                    "argv": BASE_FLAGS + ["--data_dir", str(tmp_path / "none")],
                                                    "defaults": {}}))
    return model_dir


def test_resume_with_a_garbage_or_missing_checkpoint_is_an_error_not_a_restart(tmp_path, capsys):
    model_dir = fake_run(tmp_path)
    status, err = run(train_module.main, ["--resume", str(model_dir)], capsys)
    assert status == 2
    one_error_line(err, str(model_dir / "checkpoints" / "checkpoint"), "not found", "without --resume")
    (model_dir / "checkpoints" / "checkpoint").write_bytes(b"\x00\xaegarbage{{")
    status, err = run(train_module.main, ["--resume", str(model_dir)], capsys)
    assert status == 2
    one_error_line(err, str(model_dir / "checkpoints" / "checkpoint"), "model_checkpoint_path")
    assert not (tmp_path / "logs").exists()


def test_truncated_training_checkpoint_is_an_error_naming_it(tmp_path):
    state = {"global_step": tf.Variable(7, dtype=tf.int64), "epoch_done": tf.Variable(1, dtype=tf.int64),
             "batch_done": tf.Variable(3, dtype=tf.int64), "weights": tf.Variable(tf.ones([50000]))}
    checkpoint = tf.train.Checkpoint(**state)
    prefix = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=1).save(checkpoint_number=7)
    point = TensorFlowCheckpoints.resume_point(tmp_path)
    assert (point.global_step, point.epoch_done, point.batch_done, point.iterations(4)) == (7, 1, 3, 7)
    data_file = next(tmp_path.glob("ckpt-7.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=f"checkpoint {prefix} cannot be read.*damaged"):
        TensorFlowCheckpoints.restore_into(checkpoint, TensorFlowCheckpoints.resume_point(tmp_path).prefix)


# --- 3. flags checked before any work ------------------------------------------------------------------

@pytest.mark.parametrize("flag, value, allowed", [
    ("--batch_size", "0", ">= 1"), ("--batch_size", "-8", ">= 1"), ("--lfw_batch_size", "0", ">= 1"),
    ("--epoch_size", "0", ">= 1"), ("--epoch_size", "-2", ">= 1"), ("--max_nrof_epochs", "0", ">= 1"),
    ("--max_nrof_epochs", "-1", ">= 1"), ("--lfw_nrof_folds", "1", ">= 2"), ("--image_size", "40", ">= 75"),
    ("--keep_probability", "0", "(0, 1]"), ("--seed", "-1", "[0, "),
])
def test_out_of_range_flags_stop_before_any_data_or_folder(tmp_path, capsys, flag, value, allowed):
    status, err = run(train_module.main, [
        "--data_dir", str(tmp_path / "missing"), "--logs_base_dir", str(tmp_path / "logs"),
        "--models_base_dir", str(tmp_path / "models"), flag, value], capsys)
    assert status == 2 and not (tmp_path / "logs").exists()
    one_error_line(err, f"{flag} must be", allowed, value)


def test_staged_epochs_stop_before_any_folder(tmp_path, capsys):
    status, err = run(train_module.main, [
        "--data_dir", str(tmp_path / "missing"), "--logs_base_dir", str(tmp_path / "logs"),
        "--models_base_dir", str(tmp_path / "models"), "--task_weighting", "staged", "--staged_epochs", "0,0,0,0"],
        capsys)
    assert status == 2 and not (tmp_path / "logs").exists()
    one_error_line(err, "--staged_epochs needs 4 epoch counts", "0,0,0,0")


def test_extract_features_rejects_a_zero_batch_size(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        extract_features.parse_arguments(["--model_dir", "m", "--image_list", "l", "--output", "o",
                                          "--lfw_batch_size", "0"])
    assert exit_info.value.code == 2


def broken_test_split(tmp_path, kind):
    def transform(data):
        split = data.test_split
        if kind == "unreadable":
            bad = tmp_path / "broken.png"
            bad.write_bytes(b"not a png")
            return TrainingData(data.batches, EvaluationSplit(split.pair_paths, split.pair_issame,
                                                              split.id_paths + [str(bad)], split.id_labels + [0],
                                                              split.id_is_cari + [0], split.pair_labels))
        return TrainingData(data.batches, EvaluationSplit(split.pair_paths[:2], split.pair_issame[:1],
                                                          split.id_paths, split.id_labels, split.id_is_cari,
                                                          split.pair_labels[:2]))
    return transform


@pytest.mark.parametrize("kind, message", [("unreadable", "broken.png cannot be read"),
                                           ("one_pair", "1 usable pair.*--lfw_nrof_folds 2")])
def test_evaluation_set_is_checked_before_the_first_step(tmp_path, monkeypatch, kind, message):
    flags = BASE_FLAGS + ["--logs_base_dir", str(tmp_path / "logs"), "--models_base_dir", str(tmp_path / "models")]
    with pytest.raises(ValueError, match=message):
        train_with(monkeypatch, tmp_path / "data", flags, broken_test_split(tmp_path, kind))
    assert (next((tmp_path / "logs").iterdir()) / "loss.txt").read_text().splitlines()[1:] == []  # no step row


# --- 4. file errors: one line naming the path ----------------------------------------------------------

def zero_bytes(directory):
    (directory / "model.weights.h5").write_bytes(b"")


def truncated(directory):
    weights = directory / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100000])


def more_classes(directory):
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "nrof_classes": NROF_CLASSES + 3}))


def no_config(directory):
    (directory / "config.json").unlink()


@pytest.mark.parametrize("damage, fragments", [
    (zero_bytes, ("model.weights.h5", "cannot be read as HDF5")),
    (truncated, ("model.weights.h5", "cannot be read as HDF5")),
    (more_classes, ("model.weights.h5", "does not fit its config.json", f"nrof_classes {NROF_CLASSES + 3}")),
    (no_config, ("config.json not found", "holds model.weights.h5")),
])
def test_damaged_model_files_give_one_error_line(tmp_path, model_dir, capsys, damage, fragments):
    broken = copy_model(model_dir, tmp_path / "broken")
    damage(broken)
    status, err = run(extract_features.main, ["--model_dir", str(broken), "--image_list", str(image_list(tmp_path, 1)),
                                              "--output", str(tmp_path / "f.npz")], capsys)
    assert status == 2
    one_error_line(err, str(broken), *fragments)


def test_pretrained_model_of_another_image_size_stops_before_reading_data(tmp_path, model_dir, capsys):
    status, err = run(train_module.main, [
        "--data_dir", str(tmp_path / "missing"), "--logs_base_dir", str(tmp_path / "logs"),
        "--models_base_dir", str(tmp_path / "models"), "--image_size", "96", "--pretrained_model", str(model_dir)],
        capsys)
    assert status == 2
    one_error_line(err, str(model_dir), "80 px", "--image_size 80")


def test_pairs_file_that_is_not_utf8_names_the_file(tmp_path):
    pairs = tmp_path / "testing_1.txt"
    pairs.write_bytes(b"a Caricature/A\\a.jpg a Real/A\\a.jpg 1\n\x89PNG\xae\x00")
    with pytest.raises(ValueError, match=f"{pairs} is not UTF-8 text .*--test_pairs"):
        parse_pairs_lines(pairs)


# --- 5. output folders checked before the work ---------------------------------------------------------

def test_unwritable_output_folders_stop_before_the_work(tmp_path, model_dir, capsys, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setattr(extract_features, "open_inference_model", pytest.fail)
    status, err = run(extract_features.main, ["--model_dir", str(model_dir), "--image_list",
                                              str(image_list(tmp_path, 1)), "--output", str(blocker / "f.npz")], capsys)
    assert status == 2
    one_error_line(err, f"cannot write to {blocker}", "--output")

    status, err = run(train_module.main, ["--data_dir", str(tmp_path / "missing"), "--logs_base_dir",
                                          str(blocker / "logs")], capsys)
    assert status == 2
    one_error_line(err, str(blocker / "logs"), "--logs_base_dir")

    monkeypatch.setattr(evaluation, "embed", pytest.fail)
    config = evaluation_config(model_dir, tmp_path / "logs", features_dir=str(blocker / "features"))
    with pytest.raises(ValueError, match=f"cannot write to {blocker / 'features'}.*--features_dir"):
        evaluation.verify(config, [("a", "b")], [True])

    faces = tmp_path / "faces"
    write_image(faces / "id" / "1.png", 1)
    with pytest.raises(ValueError, match=f"cannot write to {blocker / 'aligned'}.*--output_dir"):
        align_dataset(faces, blocker / "aligned", detector=object(), progress=False)


# --- 6. readers and small cases ------------------------------------------------------------------------

def test_empty_image_list_writes_the_documented_keys(tmp_path, model_dir):
    listing = tmp_path / "empty.txt"
    listing.write_text("\n")
    output = tmp_path / "features.npz"
    assert extract_features.main(["--model_dir", str(model_dir), "--image_list", str(listing),
                                  "--output", str(output)]) == 0
    saved = np.load(output)
    assert set(saved.files) == {"paths", "valid", "embeddings", "embeddings_visual", "embeddings_cari",
                                "logits_verif", "logits_visual", "logits_cari"}
    assert saved["embeddings"].shape == (0, 1792) and saved["logits_cari"].shape == (0, NROF_CLASSES)


def test_nfc_names_in_pairs_files_match_nfd_folders(tmp_path):
    name = "Jos\u00e9_Mar\u00eda"  # NFC in the pairs files
    disk = unicodedata.normalize("NFD", name)
    cavi = tmp_path / "CaVI"
    write_image(cavi / "Real" / disk / f"{disk}_r.jpg", 1)
    write_image(cavi / "Caricature" / disk / f"{disk}_c.jpg", 2)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(f"{name} Caricature/{name}\\{name}_c.jpg {name} Real/{name}\\{name}_r.jpg 1\n")
    assert len(load_cavi_pairs(pairs, cavi, downsample=1).pair_paths) == 1

    faces = tmp_path / "faces"
    write_image(faces / disk / "C00001.jpg", 1)
    write_image(faces / disk / "P00001.jpg", 2)
    protocol = tmp_path / "FV.txt"
    protocol.write_text(f"1\n{name}\tC00001\tP00001\n")
    assert len(load_webcari_pairs(protocol, faces).pair_paths) == 1


def test_webcari_protocol_file_without_its_header_is_an_error(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    protocol = tmp_path / "FV.txt"
    protocol.write_text("Bono\tC00001\tP00001\nBono\tC00002\tP00002\n")
    with pytest.raises(ValueError, match=f"{protocol}:1: expected the header line"):
        load_webcari_pairs(protocol, faces)


def test_first_sigterm_is_recorded_and_the_previous_handler_put_back():
    previous = signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        assert signal.getsignal(signal.SIGTERM) != previous
        signal.raise_signal(signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) == previous
    stopped = TrainingInterrupted(signal.SIGTERM, 12, "m/checkpoints/ckpt-12", Path("m"))
    assert stopped.exit_code == 143 and "--resume m" in str(stopped)

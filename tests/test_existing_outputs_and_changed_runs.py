"""Existing outputs are refused or replaced whole, and changed runs are refused by name: conversions, datasets and
exports over existing files, runs started in the same second, resumes against a changed configuration, a full
disk, the API's raw errors, alignment with nothing aligned, the plot and evaluation flags.

Each test reproduces a failing case of the issue first; a refusal is exit status 2 with one `error:`
line, no traceback, and the files that existed before unchanged (checksums before and after).
"""

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from support.outputs import one_error_line
from support.training_runs import BASE_FLAGS, memory_data, patch_data

import cari_mtl.commands.train as train_module
import cari_mtl.training.run.session as session
from cari_mtl.commands import convert_checkpoint, demo, export, synthetic_data
from cari_mtl.commands.cli import run_cli
from cari_mtl.data.synthetic import generate_dataset
from cari_mtl.model.checkpoints import CheckpointError
from cari_mtl.training.config import TrainingConfig
from cari_mtl.training.run import run_file

ROOT = Path(__file__).resolve().parents[1]
SMALL_NETWORK = str(ROOT / "tests" / "small_network.py")


def checksums(folder):
    """{relative path: sha256} of every file under `folder` (or of the file itself)."""
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def run(main, argv, capsys):
    """(exit status, stderr lines) of a command run through run_cli."""
    capsys.readouterr()
    status = run_cli(main, argv)
    return status, capsys.readouterr().err.strip().splitlines()


def unknown_tf1_checkpoint(folder):
    """A TF1 checkpoint (SaveV2 format, model-*.ckpt-N) whose variables the network does not know."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = str(folder / "model-20240101-000000.ckpt-5")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["Encoder/dense/weights", "Encoder/dense/biases"],
                      shape_and_slices=["", ""], tensors=[tf.ones([4, 2]), tf.zeros([2])])
    return folder


# --- 1. convert_checkpoint over a trained model directory ----------------------------------------------

def test_convert_refuses_an_existing_model_directory(tmp_path, model_dir, capsys):
    target = shutil.copytree(model_dir, tmp_path / "trained")
    before = checksums(target)
    source = unknown_tf1_checkpoint(tmp_path / "unknown")
    argv = ["--pretrained_model", str(source), "--output_dir", str(target), "--nrof_classes", "3",
            "--image_size", "80"]
    status, err = run(convert_checkpoint.main, argv, capsys)
    assert status == 2 and checksums(target) == before
    one_error_line(err, f"--output_dir {target}", "not empty", "--overwrite")

    status, err = run(convert_checkpoint.main, argv + ["--overwrite"], capsys)
    assert status == 2 and checksums(target) == before
    one_error_line(err, "no variable of the network trunk", "Encoder/dense/biases", f"nothing was written to {target}")


@pytest.mark.parametrize("kind", ["native", "training_checkpoints", "savedmodel", "tflite"])
def test_models_that_are_not_tf1_checkpoints_are_named_for_what_they_are(tmp_path, model_dir, capsys, kind):
    if kind == "native":
        source, fragments = model_dir, ("already a native model directory", "needs no conversion")
    elif kind == "training_checkpoints":
        source = tmp_path / "run" / "checkpoints"
        checkpoint = tf.train.Checkpoint(step=tf.Variable(1))
        tf.train.CheckpointManager(checkpoint, str(source), max_to_keep=1).save(checkpoint_number=1)
        fragments = ("training checkpoint of cari_mtl", f"--resume {tmp_path / 'run'}", "epoch_NNNN")
    elif kind == "savedmodel":
        source = tmp_path / "exported"
        source.mkdir()
        (source / "saved_model.pb").write_bytes(b"\x08\x01")
        fragments = ("exported SavedModel", "tf.saved_model.load")
    else:
        source = tmp_path / "model.tflite"
        source.write_bytes(b"TFL3")
        fragments = ("exported TFLite model", "native model directory it was exported from")
    output = tmp_path / "out"
    status, err = run(convert_checkpoint.main, ["--pretrained_model", str(source), "--output_dir", str(output)],
                      capsys)
    assert status == 2 and not output.exists()
    one_error_line(err, str(source), *fragments)
    if kind in ("savedmodel", "tflite"):
        from cari_mtl.api import load_model

        with pytest.raises(CheckpointError, match="exported"):
            load_model(source)


# --- 2. data.synthetic over an existing dataset ----------------------------------------------------------

def test_synthetic_refuses_an_existing_dataset_and_replaces_it_whole_when_asked(tmp_path, capsys):
    generate_dataset(tmp_path / "data", identities=3, photos_per_id=2, caricatures_per_id=2, image_size=48, seed=1)
    before = checksums(tmp_path / "data")
    small = ["--output_dir", str(tmp_path / "data"), "--identities", "2", "--photos_per_id", "1",
             "--caricatures_per_id", "1", "--image_size", "48"]
    status, err = run(synthetic_data.main, small, capsys)
    assert status == 2 and checksums(tmp_path / "data") == before
    one_error_line(err, f"--output_dir {tmp_path / 'data'}", "--overwrite")

    assert run_cli(synthetic_data.main, small + ["--overwrite"]) == 0
    images = sorted(p.name for p in (tmp_path / "data" / "CaVI_Dataset").rglob("*.jpg"))
    assert len(images) == 2 * (1 + 1)  # nothing left of the 3-identity dataset


# --- export: every format refuses an existing output -----------------------------------------------------

def test_export_refuses_an_existing_file_unless_overwrite(tmp_path, model_dir, capsys):
    output = tmp_path / "model.keras"
    output.write_bytes(b"an earlier export")
    status, err = run(export.main, ["--model_dir", str(model_dir), "--format", "keras", "--output", str(output)],
                      capsys)
    assert status == 2 and output.read_bytes() == b"an earlier export"
    one_error_line(err, str(output), "already exists", "--overwrite")
    assert run_cli(export.main, ["--model_dir", str(model_dir), "--format", "keras", "--output", str(output),
                                 "--overwrite"]) == 0
    assert output.stat().st_size > 100000 and not list(tmp_path.glob(".model.keras.*"))


def test_overwrite_is_one_flag_defined_once():
    source = (ROOT / "cari_mtl" / "commands").glob("*.py")
    definitions = [p.name for p in source if '"--overwrite"' in p.read_text()]
    assert definitions == ["common_flags.py"], definitions
    for module in (convert_checkpoint, export, synthetic_data, demo):
        assert "add_overwrite_flag" in Path(module.__file__).read_text()


def test_demo_refuses_an_existing_output_folder_before_any_work(tmp_path, capsys, monkeypatch):
    (tmp_path / "metrics.json").write_text("{}")
    monkeypatch.setattr(demo, "generate_dataset", pytest.fail)
    status, err = run(demo.main, ["--output_dir", str(tmp_path)], capsys)
    assert status == 2 and (tmp_path / "metrics.json").read_text() == "{}"
    one_error_line(err, f"--output_dir {tmp_path}", "--overwrite")


def test_atomic_write_leaves_the_previous_file_when_the_write_fails(tmp_path):
    from cari_mtl.runtime import atomic_files

    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(atomic_files.OutputWriteError, match=f"cannot write {target}: .*previous version"):
        with atomic_files.atomic_path(target) as temporary:
            temporary.write_text("half")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    atomic_files.save_npz(tmp_path / "scores", a=np.arange(3))
    assert np.load(tmp_path / "scores")["a"].tolist() == [0, 1, 2]


# --- 3. two trainings in the same second ---------------------------------------------------------------

def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(run_file, "run_stamp", lambda: "20240101-000000")
    models = tmp_path / "models"
    first = TrainingConfig(logs_base_dir=str(tmp_path / "logs_a"), models_base_dir=str(models))
    second = TrainingConfig(logs_base_dir=str(tmp_path / "logs_b"), models_base_dir=str(models))
    model_a, log_a = run_file.claim_run_dirs(first, {"argv": ["a"]})
    before = checksums(model_a)
    model_b, log_b = run_file.claim_run_dirs(second, {"argv": ["b"]})
    assert model_a != model_b and model_b.name == "20240101-000000-1" and checksums(model_a) == before
    assert log_b == tmp_path / "logs_b" / "20240101-000000-1"
    assert json.loads((model_b / "run.json").read_text())["log_dir"] == str(log_b)


def test_a_clash_in_the_log_folder_alone_also_moves_on(tmp_path):
    (tmp_path / "logs" / "s").mkdir(parents=True)
    log_dir, model_dir = run_file.claim_folders(tmp_path / "logs", tmp_path / "models", stamp="s")
    assert (log_dir.name, model_dir.name) == ("s-1", "s-1") and not (tmp_path / "models" / "s").exists()


# --- 4, 5, 6, 11. resume against a changed configuration ------------------------------------------------

@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """A finished 1-epoch run (2 steps of 8 images of 80 px), trained with a relative --logs_base_dir."""
    root = tmp_path_factory.mktemp("run")
    patcher = pytest.MonkeyPatch()
    patch_data(patcher.setattr, root / "data")
    patcher.chdir(root)
    flags = BASE_FLAGS + ["--logs_base_dir", "logs", "--models_base_dir", str(root / "models"),
                          "--max_nrof_epochs", "1", "--epoch_size", "2", "--model_def", SMALL_NETWORK]
    try:
        model_dir, log_dir, _ = train_module.train(flags, progress=False)
    finally:
        patcher.undo()
    return root, model_dir, log_dir


def resume_copy(one_epoch_run, tmp_path, edit=None):
    """A copy of the run (model and log folders) whose run.json names the copied log folder, edited by `edit`."""
    root, model_dir, log_dir = one_epoch_run
    model_copy = shutil.copytree(model_dir, tmp_path / "models" / model_dir.name)
    log_copy = shutil.copytree(log_dir, tmp_path / "logs" / log_dir.name)
    record = json.loads((model_copy / "run.json").read_text())
    record["log_dir"] = str(log_copy)
    if edit:
        edit(record)
    (model_copy / "run.json").write_text(json.dumps(record))
    return model_copy, log_copy


def replace_field(group, name, value):
    """An edit of the TrainingConfig stored in a run.json (the record --resume rebuilds the run from)."""
    def edit(record):
        record["config"][group][name] = value
    return edit


def resume_with(monkeypatch, root, argv, capsys, classes_added=0):
    def load(config):
        data, nrof_classes = memory_data(root / "data", config.batch_size, config.epoch_size, config.seed)
        return data, nrof_classes + classes_added
    monkeypatch.setattr(session, "load_training_data", load)
    return run(train_module.main, argv, capsys)


@pytest.mark.slow
def test_record_of_a_run_holds_absolute_folders(one_epoch_run):
    root, model_dir, log_dir = one_epoch_run
    record = json.loads((model_dir / "run.json").read_text())
    assert record["log_dir"] == str(root / "logs" / model_dir.name) and Path(record["log_dir"]).is_absolute()


@pytest.mark.slow
@pytest.mark.parametrize("edit, classes_added, fragments", [
    (None, 2, ("nrof_classes 4 → 6 (the number of identities in --data_dir)",)),
    (replace_field("network", "image_size", 96), 0, ("image_size 80 → 96",)),
    (replace_field("step", "task_weighting", "static"), 0, ("weighting 'dynamic' → 'static'",)),
])
def test_resume_names_what_differs_from_the_checkpoint(one_epoch_run, tmp_path, monkeypatch, capsys, edit,
                                                       classes_added, fragments):
    model_dir, _ = resume_copy(one_epoch_run, tmp_path, edit)
    before = checksums(model_dir / "checkpoints")
    status, err = resume_with(monkeypatch, one_epoch_run[0], ["--resume", str(model_dir), "--max_nrof_epochs", "2"],
                              capsys, classes_added)
    assert status == 2 and checksums(model_dir / "checkpoints") == before
    one_error_line(err, f"--resume {model_dir}", *fragments, "not damaged")
    assert "delete" not in err[-1]


@pytest.mark.slow
def test_resume_refuses_flags_it_would_ignore(one_epoch_run, tmp_path, monkeypatch, capsys):
    model_dir, _ = resume_copy(one_epoch_run, tmp_path)
    before = checksums(model_dir)
    status, err = resume_with(monkeypatch, one_epoch_run[0], ["--resume", str(model_dir), "--max_nrof_epochs", "4",
                                                              "--learning_rate", "0.5"], capsys)
    assert status == 2 and checksums(model_dir) == before
    one_error_line(err, "--learning_rate would be ignored", "only --max_nrof_epochs")


@pytest.mark.slow
def test_resume_extends_a_finished_run_and_remakes_a_deleted_log_folder(one_epoch_run, tmp_path, monkeypatch,
                                                                         capsys):
    model_dir, log_dir = resume_copy(one_epoch_run, tmp_path)
    shutil.rmtree(log_dir)
    status, err = resume_with(monkeypatch, one_epoch_run[0], ["--resume", str(model_dir), "--max_nrof_epochs", "2"],
                              capsys)
    assert status == 0, err
    assert any(f"the log folder {log_dir} of this run was missing" in line for line in err)
    assert tf.train.latest_checkpoint(str(model_dir / "checkpoints")).endswith("ckpt-4")
    assert json.loads((model_dir / "run.json").read_text())["argv"][-2:] == ["--max_nrof_epochs", "2"]
    assert len((log_dir / "loss.txt").read_text().splitlines()) == 1 + 2  # header, the two new steps


# --- crashes of the training command ---------------------------------------------------------------------

def test_argument_file_that_is_a_folder(tmp_path, capsys):
    status, err = run(train_module.main, [f"@{tmp_path}"], capsys)
    assert status == 2
    one_error_line(err, f"argument file {tmp_path} is a folder", "name a file of flags")


@pytest.mark.parametrize("content, fragments", [
    ('{"log_dir": "/x", "defaults": {}}', ("lacks argv", "start a new run")),
    ('{"log_dir": "/x",\n', ("is not valid JSON", "line 2")),
])
def test_damaged_run_file_is_named(tmp_path, capsys, content, fragments):
    model_dir = tmp_path / "models" / "20240101-000000"
    (model_dir / "checkpoints").mkdir(parents=True)
    (model_dir / "run.json").write_text(content)
    status, err = run(train_module.main, ["--resume", str(model_dir)], capsys)
    assert status == 2
    one_error_line(err, str(model_dir / "run.json"), *fragments)


# --- 7, 8, 9 and the API's raw errors ----------------------------------------------------------------------



@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), -float("inf")])
def test_verify_refuses_a_threshold_that_is_not_finite(tiny_model, image_file, threshold):
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        tiny_model.verify([image_file], [image_file], threshold=threshold)


@pytest.mark.parametrize("array, fragment", [
    (np.zeros((80, 80, 5), np.uint8), r"\(80, 80, 5\), expected \[H, W\], \[H, W, 3\] or \[H, W, 4\]"),
    (np.zeros((3, 80, 80), np.uint8), "channels first"),
    (np.zeros((0, 0), np.uint8), "is empty"),
    (np.zeros((0, 0, 3), np.uint8), "is empty"),
])
def test_embed_refuses_arrays_outside_its_documented_shapes(tiny_model, array, fragment):
    with pytest.raises(ValueError, match=fragment):
        tiny_model.embed(array)


def test_embed_accepts_pil_images_and_path_objects_like_paths(tiny_model, image_file):
    from PIL import Image

    expected = tiny_model.embed(image_file)
    np.testing.assert_allclose(tiny_model.embed(Path(image_file)), expected, atol=1e-6)
    np.testing.assert_allclose(tiny_model.embed(Image.open(image_file)), expected, atol=1e-6)
    np.testing.assert_allclose(tiny_model.embed([Image.open(image_file).convert("L")]).shape, (1, expected.shape[1]))


@pytest.mark.parametrize("images, fragment", [
    (b"/tmp/some/face.png", "is bytes: pass a path as str"),
    ([b"/tmp/some/face.png"], r"images\[0\] is bytes"),
    (tf.zeros([80, 80, 3], tf.uint8), "tensor: pass tensor.numpy()"),
    (42, "is a int: pass a path"),
])
def test_embed_refuses_bytes_and_tensors_in_one_sentence(tiny_model, images, fragment):
    with pytest.raises(TypeError, match=fragment):
        tiny_model.embed(images)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda m, f: m.embed(f, batch_size=2.5), TypeError, "batch_size must be an integer >= 1, got 2.5"),
    (lambda m, f: m.embed(f, batch_size=0), ValueError, "batch_size must be an integer >= 1, got 0"),
    (lambda m, f: m.identify([f], [f], [1], k=1.0), TypeError, "k must be an integer"),
    (lambda m, f: m.identify([f], [], [], k=1), ValueError, "the gallery is empty"),
    (lambda m, f: m.identify([f], [f], None, k=1), TypeError, "gallery_labels is None"),
    (lambda m, f: m.identify([f], [f, f], [1], k=1), ValueError, "2 gallery images but 1 gallery labels"),
])
def test_identify_and_embed_check_their_arguments_first(tiny_model, image_file, call, error, fragment):
    with pytest.raises(error, match=fragment):
        call(tiny_model, image_file)


def test_identify_with_numpy_integers_still_works(tiny_model, image_file):
    result = tiny_model.identify([image_file], [image_file, image_file], np.array([4, 5]), k=np.int64(1))
    assert result.labels.tolist() == [[4]]


# --- 10 and 13, 14: a full disk (RLIMIT_FSIZE in a subprocess) -------------------------------------------

def run_limited(kind, file_size_limit, argv, data_dir=""):
    """Runs this file as a script: `kind` (train / evaluate) under RLIMIT_FSIZE; returns (status, stderr lines)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, __file__, kind, str(file_size_limit), str(data_dir), *argv],
                               env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in completed.stderr.strip().splitlines()
             if not re.match(r"WARNING|[IWEF]\d{4} \d\d:\d\d:", line)]  # TensorFlow's C++ log lines
    return completed.returncode, lines


def no_partial_files(folder):
    return [p for p in Path(folder).rglob("*") if ".partial" in p.name or p.name.endswith("_temp")] == []


@pytest.fixture(scope="module")
def small_model_dir(tmp_path_factory):
    from support.evaluation import IMAGE_SIZE, NROF_CLASSES

    from cari_mtl.model.model_dir import ModelConfig, save_model_dir

    config = ModelConfig(IMAGE_SIZE, NROF_CLASSES, model_def=SMALL_NETWORK)
    return save_model_dir(config.build(), tmp_path_factory.mktemp("small") / "model", config)


@pytest.mark.slow
def test_full_disk_during_evaluation_output_leaves_no_result_to_trust(tmp_path, small_model_dir, capsys):
    from support.evaluation import write_cavi

    from cari_mtl.commands import plot_roc

    data = tmp_path / "CaVI_Dataset"
    write_cavi(data)
    logs = tmp_path / "logs"
    argv = ["--data_dir", str(data), "--model_dir", str(small_model_dir), "--test_pairs", str(data / "testing_1.txt"),
            "--downsample", "2", "--lfw_nrof_folds", "2", "--logs_base_dir", str(logs)]
    status, err = run_limited("evaluate", 2000, argv)
    assert status == 2, err
    one_error_line(err, "scores.npz", "File too large", "the disk is full or a file-size limit", "incomplete",
                   "run it again")
    run_dir = next(logs.iterdir())
    assert not (run_dir / "metrics.json").exists() and not (run_dir / "scores.npz").exists()
    assert no_partial_files(run_dir)

    status, err = run_limited("evaluate", 0, argv)
    assert status == 0, err
    complete = [d for d in logs.iterdir() if (d / "metrics.json").exists()]
    assert len(complete) == 1 and np.load(complete[0] / "scores.npz")["far"].size > 0
    assert run_cli(plot_roc.main, [str(complete[0]), "--output", str(tmp_path / "roc.png")]) == 0


@pytest.mark.slow
def test_full_disk_during_a_checkpoint_save_then_resume_continues_exactly(one_epoch_run, tmp_path, monkeypatch,
                                                                          capsys):
    save_every_step = lambda record: record["argv"].extend(["--save_every_n_steps", "1"])  # noqa: E731
    model_dir, log_dir = resume_copy(one_epoch_run, tmp_path / "limited", save_every_step)
    reference_dir, reference_logs = resume_copy(one_epoch_run, tmp_path / "reference", save_every_step)
    checkpoint_size = max(p.stat().st_size for p in (model_dir / "checkpoints").glob("ckpt-*.data-*"))
    index_before = (model_dir / "checkpoints" / "checkpoint").read_bytes()

    status, err = run_limited("train", checkpoint_size // 2, ["--resume", str(model_dir), "--max_nrof_epochs", "2"],
                              one_epoch_run[0] / "data")
    assert status == 2, err
    one_error_line(err, f"a checkpoint in {model_dir / 'checkpoints'}", "File too large",
                   f"the last complete checkpoint is {model_dir / 'checkpoints' / 'ckpt-2'}",
                   f"--resume {model_dir}")
    assert (model_dir / "checkpoints" / "checkpoint").read_bytes() == index_before
    assert no_partial_files(model_dir)

    root = one_epoch_run[0]
    assert resume_with(monkeypatch, root, ["--resume", str(model_dir)], capsys)[0] == 0
    assert resume_with(monkeypatch, root, ["--resume", str(reference_dir), "--max_nrof_epochs", "2"], capsys)[0] == 0
    assert (log_dir / "loss.txt").read_text() == (reference_logs / "loss.txt").read_text()
    rows = [line for line in (log_dir / "loss.txt").read_text().splitlines() if not line.startswith("loss_verif")]
    assert len(rows) == 4  # steps 1-2 before, 3-4 after the failed save, each once
    assert tf.train.latest_checkpoint(str(model_dir / "checkpoints")).endswith("ckpt-4")


# --- 12. alignment with nothing aligned ----------------------------------------------------------------------

class NoFaceDetector:
    def detect(self, image):
        from cari_mtl.alignment.mtcnn_align import Faces

        return Faces(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 10)))


def test_alignment_with_no_image_aligned_exits_2_with_reasons(tmp_path, monkeypatch, capsys):
    from support.evaluation import write_image

    from cari_mtl.commands import align_dataset_mtcnn

    for n in range(2):
        write_image(tmp_path / "in" / "Ann" / f"{n}.png", n)
    (tmp_path / "in" / "Ann" / "broken.jpg").write_bytes(b"not an image")
    monkeypatch.setattr(align_dataset_mtcnn, "FaceDetector", lambda device: NoFaceDetector())
    capsys.readouterr()
    status = run_cli(align_dataset_mtcnn.main, ["--input_dir", str(tmp_path / "in"), "--output_dir",
                                                str(tmp_path / "out"), "--image_size", "48"])
    captured = capsys.readouterr()
    assert status == 2
    assert "3 images: 0 written, 0 already done, 3 failed (2 no face found, 1 unreadable)" in captured.out
    one_error_line(captured.err.strip().splitlines(), f"no image was written to {tmp_path / 'out'}",
                   "3 of 3 failed", "failed_images.txt")


# --- plots and evaluation flags ------------------------------------------------------------------------------

def test_plot_roc_names_a_corrupt_scores_file(tmp_path, capsys):
    from cari_mtl.commands import plot_roc

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    np.savez(run_dir / "scores.npz", far=np.linspace(0, 1, 50), val=np.linspace(0, 1, 50))
    data = (run_dir / "scores.npz").read_bytes()
    (run_dir / "scores.npz").write_bytes(data[: len(data) // 2])
    status, err = run(plot_roc.main, [str(run_dir), "--output", str(tmp_path / "roc.png")], capsys)
    assert status == 2 and not (tmp_path / "roc.png").exists()
    one_error_line(err, str(run_dir / "scores.npz"), "truncated or damaged", "evaluate that run again")


def test_plot_training_on_a_read_only_folder(tmp_path, capsys):
    from cari_mtl.commands import plot_training
    from cari_mtl.training.loop.logs import LOSS_FILE, LOSS_HEADER, WEIGHTS_FILE, WEIGHTS_HEADER

    (tmp_path / WEIGHTS_FILE).write_text(WEIGHTS_HEADER + "0.3 0.3 0.4\n")
    (tmp_path / LOSS_FILE).write_text(LOSS_HEADER + "1 2 3 4 5 6 7\n")
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    status, err = run(plot_training.main, ["--logs_dir", str(tmp_path), "--output", str(blocked / "c.png")], capsys)
    assert status == 2
    one_error_line(err, f"cannot write to {blocked}", "--output")


@pytest.mark.parametrize("far", ["1.5", "0", "nan"])
def test_far_out_of_range_is_refused_before_any_data_is_read(tmp_path, capsys, monkeypatch, far):
    from support.evaluation import script_main

    from cari_mtl.evaluation import protocols

    monkeypatch.setattr(protocols, "embed", pytest.fail)
    status, err = run(script_main("evaluate_cavi.py"), [
        "--data_dir", str(tmp_path / "missing"), "--model_dir", str(tmp_path / "none"), "--test_pairs",
        str(tmp_path / "missing.txt"), "--far", far, "--logs_base_dir", str(tmp_path / "logs")], capsys)
    assert status == 2 and not (tmp_path / "logs").exists()
    one_error_line(err, "--far must be a false accept rate in (0, 1]", far)


def limited_main(kind, file_size_limit, data_dir, argv):
    """Script mode of this file: RLIMIT_FSIZE set, then the training (on test_train's tiny data) or evaluation."""
    if int(file_size_limit):
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(file_size_limit), int(file_size_limit)))
    if kind == "train":
        monkeypatch = pytest.MonkeyPatch()
        patch_data(monkeypatch.setattr, Path(data_dir))
        return run_cli(train_module.main, argv)
    from support.evaluation import script_main

    return run_cli(script_main("evaluate_cavi.py"), argv)


if __name__ == "__main__":
    sys.exit(limited_main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))

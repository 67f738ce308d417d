"""End-to-end training on a tiny image set: losses fall, every output exists and parses, resume works.

The dataset: 4 identities of 80 px PNGs, photos and caricatures drawn as different patterns
of one identity colour. Batches come from the files through an in-memory source (patched in for
`load_training_data`), so the test needs no dataset reader. Run as a script (`start_training`), this
file trains with the same data; INTERRUPT=kind:n crashes it, or makes it send itself SIGINT or SIGKILL,
as it takes batch n + 1, so the interruption lands at a known step (the kill, crash and SIGINT tests).
"""

import json
import signal

import numpy as np
import pytest
from support.training_runs import (  # noqa: F401
    BASE_FLAGS,
    COLOURS,
    IMAGE_SIZE,
    INTERRUPTIONS,
    ROOT,
    SMALL_NETWORK,
    injected_crash,
    interrupted_after,
    memory_data,
    patch_data,
    self_signal,
    start_training,
    write_dataset,
)

import cari_mtl.commands.train as train_module
from cari_mtl.training.loop.logs import read_step_table

pytestmark = pytest.mark.slow  # every test trains (a shared trained run, kills and resumes)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    patcher = pytest.MonkeyPatch()
    patch_data(patcher.setattr, root / "data")
    flags = BASE_FLAGS + ["--logs_base_dir", str(root / "logs"), "--models_base_dir", str(root / "models"),
                          "--max_nrof_epochs", "3", "--epoch_size", "6", "--save_every_n_steps", "5"]
    try:
        model_dir, log_dir, metrics = train_module.train(flags, progress=False)
    finally:
        patcher.undo()
    return model_dir, log_dir, metrics


def test_short_training_lowers_the_three_task_losses(finished_run):
    _, log_dir, _ = finished_run
    losses = read_step_table(log_dir / "loss.txt", 7)
    assert len(losses) == 18
    first, last = losses[:3, :3].mean(axis=0), losses[-3:, :3].mean(axis=0)
    assert (last < first).all(), (first, last)
    weights = read_step_table(log_dir / "percentage_full_loss.txt", 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=2e-3)


def test_every_output_file_exists_and_parses(finished_run):
    model_dir, log_dir, metrics = finished_run
    assert "--epoch_size" in (log_dir / "revision_info.txt").read_text()
    assert "git hash:" in (log_dir / "revision_info.txt").read_text()
    for name in ("visual.txt", "cari.txt", "visual2cari.txt", "cari2visual.txt"):
        rows = [line.split("\t") for line in (log_dir / name).read_text().splitlines()]
        assert len(rows) == 3 and all(len(r) == 3 and 0 <= float(r[1]) <= 1 for r in rows)
    # The original's six columns: step, accuracy, VAL, FAR, best accuracy, mix accuracy (argmax of logits_verif)
    rows = [line.split("\t") for line in (log_dir / "cari-verif-pairs_result.txt").read_text().splitlines()]
    assert len(rows) == 3 and all(len(r) == 6 and float(r[3]) == 0.01 and 0 <= float(r[5]) <= 1 for r in rows)
    records = [json.loads(line) for line in (log_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert set(metrics) >= {"verification_accuracy", "photo_id_accuracy", "caricature_id_accuracy",
                            "v2c_accuracy", "c2v_accuracy"}
    assert np.load(log_dir / "features_cari-visual-verif_emb.npy").shape == (32, 1792)
    tags = tensorboard_tags(log_dir)
    assert {"train/L1", "train/L2", "train/L3", "train/L4", "train/w1", "train/w2", "train/w3",
            "train/learning_rate", "test/verification_accuracy", "test/c2v_accuracy"} <= tags
    from cari_mtl.model.model_dir import load_model_dir
    for name in ("best_model_verifexpr", "best_model_expr", "best_model_cari", "epoch_0003"):
        model, config = load_model_dir(model_dir / name)
        assert config.nrof_classes == 4 and config.image_size == IMAGE_SIZE
    assert sorted(p.name for p in model_dir.glob("epoch_*")) == ["epoch_0002", "epoch_0003"]
    assert (model_dir / "checkpoints" / "checkpoint").read_text().count("ckpt-18") >= 1


def test_best_columns_and_feature_files_are_the_originals(finished_run):
    _, log_dir, _ = finished_run
    records = [json.loads(line) for line in (log_dir / "metrics.jsonl").read_text().splitlines()]
    improved = set()
    for name, key, column in (("cari-verif-pairs_result.txt", "verification_accuracy", 4),
                              ("visual.txt", "photo_id_accuracy", 2), ("cari.txt", "caricature_id_accuracy", 2),
                              ("visual2cari.txt", "v2c_accuracy", 2), ("cari2visual.txt", "c2v_accuracy", 2)):
        rows = [line.split("\t") for line in (log_dir / name).read_text().splitlines()]
        best = 0.0  # the original writes best_acc, then runs `if acc > best_acc: best_acc = acc`
        for row, record in zip(rows, records, strict=True):
            assert float(row[column]) == pytest.approx(best, abs=1e-5), (name, row)
            if record[key] > best:
                best = record[key]
                improved.add(key)
    assert improved, "no task improved: the feature files below are not exercised"
    for key, (name, modality) in {"photo_id_accuracy": ("visual", 0), "caricature_id_accuracy": ("cari", 1),
                                  "v2c_accuracy": ("visual2cari", 0), "c2v_accuracy": ("cari2visual", 1)}.items():
        if key in improved:
            assert np.load(log_dir / f"features_{name}.npy").shape == (4, 1792)
            assert np.load(log_dir / f"features_{name}.npy").dtype == np.float64
            assert np.load(log_dir / f"features_{name}_label.npy").tolist() == [0, 1, 2, 3]
    if "verification_accuracy" in improved:
        labels = np.load(log_dir / "features_cari-visual-verif_label.npy").reshape(-1, 2)
        issame = np.load(log_dir / "features_cari-visual-verif_pairlabel.npy")
        assert labels.shape == (16, 2) and (issame == (labels[:, 0] == labels[:, 1])).all()
    assert not list(log_dir.glob("features_id*"))


def test_resume_of_a_finished_run_says_so_and_trains_nothing(finished_run, capsys):
    model_dir, log_dir, _ = finished_run
    losses = read_step_table(log_dir / "loss.txt", 7)
    patcher = pytest.MonkeyPatch()
    patch_data(patcher.setattr, log_dir.parent.parent / "data")
    try:
        train_module.train(["--resume", str(model_dir)], progress=False)
    finally:
        patcher.undo()
    assert "already finished its 3 epoch(s)" in capsys.readouterr().out
    np.testing.assert_array_equal(read_step_table(log_dir / "loss.txt", 7), losses)


def tensorboard_tags(log_dir):
    import tensorflow as tf
    tags = set()
    for path in log_dir.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_step_count(tmp_path):
    """SIGKILL (sent by the process to itself as it takes batch 7, mid-epoch 2) then --resume."""
    flags = BASE_FLAGS + SMALL_NETWORK + ["--logs_base_dir", str(tmp_path / "logs"), "--models_base_dir",
                                          str(tmp_path / "models"), "--save_every_n_steps", "1"]
    process = start_training(tmp_path / "data", flags, "sigkill", 6)
    assert process.wait(timeout=300) == -signal.SIGKILL, process.stderr.read()[-2000:]
    loss_file = next((tmp_path / "logs").glob("*/loss.txt"))
    model_dir = next((tmp_path / "models").iterdir())
    killed_at = int((model_dir / "checkpoints" / "checkpoint").read_text().split("ckpt-")[1].split('"')[0])
    assert 5 <= killed_at < 8

    patcher = pytest.MonkeyPatch()
    patch_data(patcher.setattr, tmp_path / "data")
    try:
        resumed_dir, log_dir, _ = train_module.train(["--resume", str(model_dir)], progress=False)
    finally:
        patcher.undo()
    assert resumed_dir == model_dir and log_dir == loss_file.parent
    import tensorflow as tf
    reader = tf.train.load_checkpoint(str(model_dir / "checkpoints"))
    assert reader.get_tensor("global_step/.ATTRIBUTES/VARIABLE_VALUE") == 8  # 2 epochs x 4 steps
    assert reader.get_tensor("epoch_done/.ATTRIBUTES/VARIABLE_VALUE") == 2
    records = [json.loads(line) for line in (log_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records][-1] == 2



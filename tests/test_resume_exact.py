"""A crash, a SIGINT and a half-written checkpoint save, each followed by --resume latest, leave the
same log rows as an uninterrupted run with the same seed.

The interrupted runs are test_train.py's script (`start_training`) on its tiny data: the crash lands
between two checkpoints, the SIGINT mid-run of the resumed process.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from support.outputs import event_steps, numbers, rows  # noqa: F401
from support.training_runs import BASE_FLAGS, SMALL_NETWORK, patch_data, start_training

import cari_mtl.commands.train as train_module
from cari_mtl.training.loop.logs import LOSS_HEADER, WEIGHTS_HEADER

FLAGS = BASE_FLAGS + SMALL_NETWORK + ["--max_nrof_epochs", "3", "--save_every_n_steps", "3",
                                      "--keep_probability", "1.0"]
TOTAL_STEPS = 12  # 3 epochs x 4 batches


def metrics(log_dir):
    return [json.loads(line) for line in (log_dir / "metrics.jsonl").read_text().splitlines()]


def checkpoint_step(model_dir):
    return int(tf.train.latest_checkpoint(str(model_dir / "checkpoints")).rsplit("-", 1)[1])


def train_in_process(monkeypatch, data_dir, argv):
    with monkeypatch.context() as patch:
        patch_data(patch.setattr, data_dir)
        return train_module.train(argv, progress=False)


@pytest.mark.slow
def test_crash_sigint_and_partial_save_then_resume_give_the_uninterrupted_logs(tmp_path, monkeypatch):
    data = tmp_path / "data"
    _, reference, _ = train_in_process(monkeypatch, data, FLAGS + [
        "--logs_base_dir", str(tmp_path / "ref_logs"), "--models_base_dir", str(tmp_path / "ref_models")])
    models = tmp_path / "models"
    flags = FLAGS + ["--logs_base_dir", str(tmp_path / "logs"), "--models_base_dir", str(models)]

    crashed = start_training(data, flags, "crash", 6)
    assert crashed.wait(timeout=240) != 0 and "injected crash" in crashed.stderr.read()
    model_dir = next(models.iterdir())
    log_dir = Path(json.loads((model_dir / "run.json").read_text())["log_dir"])
    assert checkpoint_step(model_dir) == 4
    assert len(rows(log_dir / "loss.txt", LOSS_HEADER.strip())) == 6  # rows 5-6 are replayed on resume

    interrupted = start_training(data, ["--resume", "latest", "--models_base_dir", str(models)], "sigint", 3)
    assert interrupted.wait(timeout=240) == 130
    message = interrupted.stderr.read()
    assert "Traceback" not in message and f"--resume {model_dir}" in message
    stopped_at = checkpoint_step(model_dir)
    assert 4 < stopped_at < TOTAL_STEPS

    partial = model_dir / "checkpoints" / f"ckpt-{stopped_at + 1}_temp"
    partial.mkdir()
    (partial / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 100)
    train_in_process(monkeypatch, data, ["--resume", "latest", "--models_base_dir", str(models)])
    assert not partial.exists() and checkpoint_step(model_dir) == TOTAL_STEPS

    for name, header in (("loss.txt", LOSS_HEADER), ("percentage_full_loss.txt", WEIGHTS_HEADER)):
        resumed, uninterrupted = rows(log_dir / name, header.strip()), rows(reference / name, header.strip())
        assert len(resumed) == len(uninterrupted) == TOTAL_STEPS
        assert (log_dir / name).read_text().count(header) == 1  # the header once: it reads as one run
        np.testing.assert_allclose(numbers(resumed), numbers(uninterrupted), atol=2e-4)
    resumed, uninterrupted = metrics(log_dir), metrics(reference)
    assert [(r["epoch"], r["step"]) for r in resumed] == [(r["epoch"], r["step"]) for r in uninterrupted]
    for mine, theirs in zip(resumed, uninterrupted):
        np.testing.assert_allclose([mine[k] for k in sorted(mine)], [theirs[k] for k in sorted(mine)], atol=1e-3)
    assert [line.split("\t")[0] for line in rows(log_dir / "cari.txt")] == ["4", "8", "12"]
    assert event_steps(log_dir, "train/L1") == list(range(1, TOTAL_STEPS + 1))
    assert event_steps(log_dir, "test/verification_accuracy") == [4, 8, 12]

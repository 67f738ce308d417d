"""The lost-worker line (cari_mtl.training.run.worker_failure) and the child-process watchdog
(cari_mtl.runtime.watchdog)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from cari_mtl.commands import stop_messages
from cari_mtl.training.run import worker_failure

ROOT = Path(__file__).resolve().parents[1]
TF_CONFIG = json.dumps({"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
                        "task": {"type": "worker", "index": 0}})
HEARTBEATS = ("Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are "
              "unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have crashed.")


def write_checkpoint(model_dir, step):
    counters = {name: tf.Variable(value, dtype=tf.int64) for name, value in
                (("global_step", step), ("epoch_done", 0), ("batch_done", step))}
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(**counters), str(model_dir / "checkpoints"), 2)
    return manager.save(checkpoint_number=step)


def test_the_line_names_both_workers_the_checkpoint_and_the_resume_command(tmp_path):
    prefix = write_checkpoint(tmp_path / "models" / "20240101-120000", 6)
    line = stop_messages.message(tf.errors.UnavailableError(None, None, HEARTBEATS), None, tmp_path / "models",
                                  TF_CONFIG)
    assert "\n" not in line
    assert line.startswith("error: worker 0 (10.0.0.1:2222) of the multi-worker run stopped: lost worker 1 "
                           "(10.0.0.2:2222) (UnavailableError); ")
    assert f"last checkpoint {prefix} (step 6)" in line
    assert line.endswith(f"python train/train.py --resume latest --models_base_dir {tmp_path / 'models'}")


def test_without_a_checkpoint_the_line_says_to_start_again(tmp_path):
    line = stop_messages.message(tf.errors.UnavailableError(None, None, "Socket closed"), tmp_path / "run",
                                  tmp_path, TF_CONFIG)
    assert "lost another worker" in line and line.endswith("no checkpoint yet: start the run again on every node")


def test_only_multiworker_errors_become_the_line():
    with pytest.raises(tf.errors.UnavailableError):
        with worker_failure.LostWorkers("mirrored", 10, "models"):
            raise tf.errors.UnavailableError(None, None, HEARTBEATS)


WATCHED = "from cari_mtl.runtime.watchdog import Watchdog; import time; {}; time.sleep({})"
START = "w = Watchdog(1, 'error: too late')"


def run_watched(code, sleep):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", WATCHED.format(code, sleep)], env=env, capture_output=True, text=True,
                          timeout=25)


def test_the_watchdog_kills_a_process_that_hangs_with_its_line():
    result = run_watched(START, 30)
    assert result.returncode == -9 and result.stderr.strip() == "error: too late"


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_a_cancelled_watchdog_leaves_the_process_alone():
    result = run_watched(START + "; w.cancel()", 3)
    assert result.returncode == 0 and result.stderr == ""


def test_a_watchdog_nobody_keeps_still_fires():
    """The lost-worker path starts one and drops it: dropping must not cancel it."""
    result = run_watched("Watchdog(1, 'error: too late')", 30)
    assert result.returncode == -9 and result.stderr.strip() == "error: too late"

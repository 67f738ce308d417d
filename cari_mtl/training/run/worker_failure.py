"""A multi-worker run that loses a worker: a WorkerLost carrying the facts (the training command words
them as one line: which workers, the last checkpoint, how to resume on every node, see
cari_mtl.commands.stop_messages) instead of TensorFlow's traceback, and an exit that cannot hang.

TensorFlow reports a lost peer as UnavailableError (its socket closed, or the coordination service
saw its heartbeats stop, cari_mtl.runtime.collective_timeout), DeadlineExceededError (a worker that never
registered) or an aborted / cancelled collective; the message names the peer's task. The waits
TensorFlow does not bound (connecting to the cluster, the shutdown barrier with workers that are
gone) are bounded by a cari_mtl.runtime.watchdog of --collective_timeout seconds.
"""

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

import tensorflow as tf

from cari_mtl.model.checkpoints import CheckpointError
from cari_mtl.runtime.watchdog import Watchdog
from cari_mtl.training.loop.checkpoints import TensorFlowCheckpoints
from cari_mtl.training.loop.interrupt import WorkerLost
from cari_mtl.training.run.run_file import CHECKPOINT_DIR, newest_run

LOST_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
               tf.errors.CancelledError)
TASK = re.compile(r"/job:(\w+)/replica:\d+/task:(\d+)")


def describe(task_type, index, cluster):
    addresses = cluster.get(task_type, [])
    address = f" ({addresses[index]})" if index < len(addresses) else ""
    return f"{task_type} {index}{address}"


def lost_peers(message, own):
    """The tasks other than `own` that TensorFlow's message names, as (type, index), in order."""
    found = []
    for task_type, index in TASK.findall(message):
        task = (task_type, int(index))
        if task != own and task not in found:
            found.append(task)
    return found


def checkpoint_line(run_dir, models_base_dir):
    """Where a resume would continue: the run's newest checkpoint (`run_dir`, else the newest run
    under `models_base_dir` with one, as --resume latest picks it); None if there is none."""
    run_dir = run_dir if run_dir is not None else newest_run(models_base_dir)
    if run_dir is None:
        return None
    try:
        point = TensorFlowCheckpoints.resume_point(Path(run_dir) / CHECKPOINT_DIR)
    except CheckpointError:
        return None
    return f"{point.prefix} (step {point.global_step})"


def own_task(config):
    task = config.get("task", {})
    return task.get("type", "worker"), int(task.get("index", 0))


def this_task(tf_config):
    config = json.loads(tf_config or "{}")
    return describe(*own_task(config), config.get("cluster", {}))


@contextmanager
def started_within(distribute, timeout):
    """Stops the process with one line if the workers of a --distribute multiworker run are not all
    connected within --collective_timeout `timeout` seconds (TensorFlow's own wait has no limit)."""
    if distribute != "multiworker":
        yield
        return
    line = (f"error: {this_task(os.environ.get('TF_CONFIG'))} of the multi-worker run stopped: not every "
            f"worker of TF_CONFIG connected within --collective_timeout {timeout:g} s; start the "
            f"same command on every node (and check the addresses and ports)")
    watchdog = Watchdog(timeout, line)
    try:
        yield
    finally:
        watchdog.cancel()


class LostWorkers:
    """Context manager, reusable: turns TensorFlow's lost-worker errors of a --distribute
    multiworker run into WorkerLost and bounds the exit by --collective_timeout; `run_dir`: the
    run's model directory, when known (else the newest run under --models_base_dir)."""

    def __init__(self, distribute, timeout, models_base_dir, run_dir=None):
        self.distribute, self.timeout, self.models_base_dir = distribute, timeout, models_base_dir
        self.run_dir = run_dir

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if not isinstance(error, LOST_ERRORS) or self.distribute != "multiworker":
            return False
        lost = WorkerLost(error, self.run_dir, self.models_base_dir, os.environ.get("TF_CONFIG"))
        Watchdog(self.timeout)
        raise lost from None

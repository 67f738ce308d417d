"""--distribute multiworker with two worker processes on 127.0.0.1 (TF_CONFIG, free ports).

1. Equivalence: the chief of a two-worker run (one CPU replica each, global batch 16) logs the
   losses and task weights of a one-process run on the same global batches, ends with the same
   checkpoint (weights, slots, centers, moving averages), and both workers report the same
   accuracies.
2. Failure: one worker (the chief, which also hosts TensorFlow's coordination service, or the
   other) is killed (SIGKILL) when it fetches batch 4, after the chief's checkpoint of step 2 (this
   file run as a script wraps the batch source: DIE_AFTER=n); the survivor stops with one line naming
   the lost worker, the last checkpoint and the --resume command, within the bound of
   --collective_timeout; both workers restarted with --resume latest finish the run with one log
   row per step.

Workers run train/train.py on a synthetic CaVI-layout dataset with the small test network
(tests/small_network.py as --model_def). Every worker is its own process group, killed in
`finally`; every wait has a timeout.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from support.outputs import event_steps, numbers, rows
from support.training_runs import interrupted_after, self_signal

import cari_mtl.commands.train as train_module
import cari_mtl.training.run.session as session
from cari_mtl.commands.cli import run_cli
from cari_mtl.data.synthetic import generate_dataset
from cari_mtl.training.loop.logs import LOSS_HEADER, WEIGHTS_HEADER
from cari_mtl.training.run.training_data import TrainingData

pytestmark = pytest.mark.slow  # two training processes per test

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 10  # --collective_timeout of the failure test, seconds
DIE_AFTER = 3  # batches the killed worker trains; the chief checkpoints every 2 steps
RUN_LIMIT = 300  # seconds any worker process may take
# |difference| / max(1, |value|) of logged values (4 decimals in loss.txt) and |difference| of the
# checkpoint's variables: float32 all-reduces sum in another order than one device.
LOG_TOLERANCE = 2e-4
VARIABLE_TOLERANCE = 1e-5


def flags(data, out, *extra):
    return ["--dataset", "cavi", "--data_dir", str(data.data_dir), "--test_pairs", str(data.pairs_file),
            "--downsample", "4", "--model_def", str(ROOT / "tests" / "small_network.py"), "--image_size", "80",
            "--batch_size", "16", "--optimizer", "RMSProp", "--learning_rate", "0.01", "--center_loss_factor", "0.1",
            "--center_loss_alfa", "0.5", "--moving_average_decay", "0.9", "--lfw_batch_size", "16",
            "--lfw_nrof_folds", "2", "--seed", "3", "--logs_base_dir", str(out / "logs"),
            "--models_base_dir", str(out / "models"), *extra]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("multiworker_data"), identities=4, photos_per_id=4,
                            caricatures_per_id=4, image_size=96, seed=0)


def free_ports(count):
    """Ports the kernel hands out for port 0, all bound at once so they differ."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


class Workers:
    """Worker processes of one cluster; `stop()` kills every process group that is still running."""

    def __init__(self, out, name):
        self.out, self.name, self.processes = out, name, []
        self.addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]

    def start(self, argv, dies=None):
        """train/train.py on every worker; worker `dies` runs this file instead and kills itself."""
        for index in range(len(self.addresses)):
            config = {"cluster": {"worker": self.addresses}, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": json.dumps(config),
                   "DIE_AFTER": str(DIE_AFTER)}
            script = __file__ if index == dies else ROOT / "train" / "train.py"
            with open(self.log(index, "out"), "w") as stdout, open(self.log(index, "err"), "w") as stderr:
                self.processes.append(subprocess.Popen([sys.executable, str(script), *argv], env=env, stdout=stdout,
                                                       stderr=stderr, start_new_session=True))
        return self

    def log(self, index, kind):
        return self.out / f"{self.name}_worker{index}.{kind}"

    def text(self, index, kind="err"):
        return self.log(index, kind).read_text()

    def wait(self, index, timeout=RUN_LIMIT):
        return self.processes[index].wait(timeout=timeout)

    def kill(self, index):
        try:
            os.killpg(self.processes[index].pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.processes[index].wait(timeout=30)

    def stop(self):
        for index in range(len(self.processes)):
            self.kill(index)


@contextmanager
def cluster(out, name, argv, dies=None):
    workers = Workers(out, name)
    try:
        yield workers.start(argv, dies)
    finally:
        workers.stop()


def run_dir(out):
    return next((out / "models").iterdir())


def log_dir(model_dir):
    return Path(json.loads((model_dir / "run.json").read_text())["log_dir"])


def checkpoint_values(model_dir):
    reader = tf.train.load_checkpoint(str(model_dir / "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if reader.get_variable_to_dtype_map()[name].is_floating}


def epoch_lines(text):
    return re.findall(r"^epoch \d+ \(step \d+\): .*$", text, re.MULTILINE)


def test_two_workers_train_as_one_process_on_the_global_batch(data, tmp_path):
    argv = ["--epoch_size", "4", "--max_nrof_epochs", "1"]
    multi_flags = flags(data, tmp_path / "multi", "--distribute", "multiworker", *argv)
    with cluster(tmp_path, "equivalence", multi_flags) as workers:
        codes = [workers.wait(0), workers.wait(1)]
    assert codes == [0, 0], workers.text(0)[-3000:] + workers.text(1)[-3000:]
    assert "replicas: 2" in workers.text(0, "out")
    single, _, _ = train_module.train(flags(data, tmp_path / "single", *argv), progress=False)
    multi = run_dir(tmp_path / "multi")

    for name, header in (("loss.txt", LOSS_HEADER), ("percentage_full_loss.txt", WEIGHTS_HEADER)):
        theirs = numbers(rows(log_dir(single) / name, header.strip()))
        mine = numbers(rows(log_dir(multi) / name, header.strip()))
        assert mine.shape == theirs.shape == (4, theirs.shape[1])
        assert np.max(np.abs(mine - theirs) / np.maximum(1.0, np.abs(theirs))) <= LOG_TOLERANCE
    assert event_steps(log_dir(multi), "train/L1") == [1, 2, 3, 4]

    theirs, mine = checkpoint_values(single), checkpoint_values(multi)
    assert sorted(mine) == sorted(theirs) and len(mine) > 20
    differences = {name: float(np.max(np.abs(mine[name] - theirs[name]), initial=0.0)) for name in theirs}
    assert max(differences.values()) <= VARIABLE_TOLERANCE, sorted(differences.items(), key=lambda x: -x[1])[:5]

    chief, other = epoch_lines(workers.text(0, "out")), epoch_lines(workers.text(1, "out"))
    assert len(chief) == 1 and chief == other


@pytest.mark.parametrize("lost", [1, 0])
def test_a_lost_worker_stops_the_other_with_one_line_and_both_resume(data, tmp_path, lost):
    survivor = 1 - lost
    out = tmp_path / "run"
    argv = flags(data, out, "--distribute", "multiworker", "--collective_timeout", str(TIMEOUT),
                 "--epoch_size", "6", "--max_nrof_epochs", "1", "--save_every_n_steps", "2")
    with cluster(tmp_path, "failure", argv, dies=lost) as workers:
        assert workers.wait(lost) == -signal.SIGKILL, workers.text(lost)[-3000:]
        killed = time.monotonic()
        code = workers.wait(survivor, timeout=6 * TIMEOUT)
        stopped_after = time.monotonic() - killed
    message = workers.text(survivor)
    assert code != 0 and stopped_after <= 4 * TIMEOUT, (code, stopped_after)
    assert "Traceback" not in message
    lines = [line for line in message.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, message[-3000:]
    model_dir = run_dir(out)
    checkpoint = tf.train.latest_checkpoint(str(model_dir / "checkpoints"))
    assert lines[0].startswith(f"error: worker {survivor} ({workers.addresses[survivor]}) ")
    assert f"lost worker {lost} ({workers.addresses[lost]})" in lines[0]
    assert f"last checkpoint {checkpoint} (step {checkpoint.rsplit('-', 1)[1]})" in lines[0]
    assert f"--resume latest --models_base_dir {out / 'models'}" in lines[0]
    assert checkpoint.endswith("-2")

    with cluster(tmp_path, "resumed", ["--resume", "latest", "--models_base_dir", str(out / "models")]) as resumed:
        codes = [resumed.wait(0), resumed.wait(1)]
    assert codes == [0, 0], resumed.text(0)[-3000:] + resumed.text(1)[-3000:]
    assert f"resuming from {checkpoint}" in resumed.text(1, "out")
    assert tf.train.latest_checkpoint(str(model_dir / "checkpoints")).endswith("-6")
    assert len(rows(log_dir(model_dir) / "loss.txt", LOSS_HEADER.strip())) == 6
    assert len(rows(log_dir(model_dir) / "percentage_full_loss.txt", WEIGHTS_HEADER.strip())) == 6
    assert event_steps(log_dir(model_dir), "train/L1") == list(range(1, 7))


if __name__ == "__main__":
    load = session.load_training_data

    def dying(config):
        data, nrof_classes = load(config)
        killed = interrupted_after(data.batches, int(os.environ["DIE_AFTER"]), self_signal(signal.SIGKILL))
        return TrainingData(killed, data.test_split), nrof_classes

    session.load_training_data = dying
    sys.exit(run_cli(train_module.main, sys.argv[1:]))

"""Training on a tiny image set for the tests: its data, flags and a patched data loader; run as a script,
the training command with INTERRUPT=kind:n (a crash, SIGINT or SIGKILL as batch n + 1 is taken)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

import cari_mtl.commands.train as train_module
import cari_mtl.training.run.session as session
from cari_mtl.commands.cli import run_cli
from cari_mtl.data.array_batches import array_batches
from cari_mtl.images.eval_loader import load_eval_batch
from cari_mtl.training.loop.epoch_evaluation import EvaluationSplit
from cari_mtl.training.run.training_data import TrainingData

COLOURS = [(220, 40, 40), (40, 200, 60), (50, 60, 230), (230, 210, 40)]
IMAGE_SIZE = 80
BASE_FLAGS = ["--image_size", "80", "--batch_size", "8", "--epoch_size", "4", "--max_nrof_epochs", "2",
              "--optimizer", "RMSProp", "--learning_rate", "0.01", "--center_loss_factor", "0.1",
              "--center_loss_alfa", "0.5", "--lfw_batch_size", "8", "--lfw_nrof_folds", "2", "--seed", "3"]


def write_dataset(root):
    """{kind: [(path, label), ...]} with kind photo / cari; 4 images of each kind per identity."""
    rng = np.random.default_rng(0)
    images = {"photo": [], "cari": []}
    for label, colour in enumerate(COLOURS):
        for kind in images:
            for index in range(4):
                image = rng.integers(0, 40, size=(96, 96, 3)).astype(np.uint8)
                if kind == "photo":
                    cv2.circle(image, (48, 48), 30, colour, -1)
                else:
                    cv2.rectangle(image, (20, 20), (76, 76), colour, -1)
                path = Path(root) / kind / f"id{label}_{index}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), image[:, :, ::-1])
                images[kind].append((str(path), label))
    return images


def memory_data(root, batch_size, epoch_size, seed):
    """TrainingData over the files of `write_dataset`: images 0-2 of each kind train, 3 test."""
    images = write_dataset(root)
    train = [(p, label, c) for c, kind in enumerate(("photo", "cari")) for p, label in images[kind]
             if not p.endswith("_3.png")]
    pixels = load_eval_batch([p for p, _, _ in train], IMAGE_SIZE)
    labels = np.array([label for _, label, _ in train])
    is_cari = np.array([c for _, _, c in train])

    batches = array_batches(pixels, labels, is_cari, batch_size, epoch_size, seed)
    test_photo = {label: p for p, label in images["photo"] if p.endswith("_3.png")}
    test_cari = {label: p for p, label in images["cari"] if p.endswith("_3.png")}
    pair_paths, issame, pair_labels = [], [], []
    for a in range(4):
        for b in range(4):
            pair_paths += [test_cari[a], test_photo[b]]
            pair_labels += [a, b]
            issame.append(a == b)
    ids = sorted(test_photo) + sorted(test_cari)
    split = EvaluationSplit(pair_paths, issame, [test_photo[label] for label in sorted(test_photo)] +
                      [test_cari[label] for label in sorted(test_cari)], ids, [0] * 4 + [1] * 4, pair_labels)
    return TrainingData(batches, split), len(COLOURS)


def patch_data(monkeypatch_setattr, root, interrupt_after=0, interrupt=None):
    """`load_training_data` gives memory_data; with interrupt_after=n, `interrupt()` is called once n
    batches were handed out (over all epochs), so a signal or crash lands at a known step."""
    def load(config):
        data, nrof_classes = memory_data(root, config.batch_size, config.epoch_size, config.seed)
        if interrupt_after:
            data = TrainingData(interrupted_after(data.batches, interrupt_after, interrupt), data.test_split)
        return data, nrof_classes
    monkeypatch_setattr(session, "load_training_data", load)


def interrupted_after(batches, count, interrupt):
    """`batches` that calls `interrupt()` as batch `count + 1` is asked for (counted over all epochs)."""
    handed = [0]

    def wrapped(epoch, skip):
        for batch in batches(epoch, skip):
            if handed[0] == count:
                interrupt()
            handed[0] += 1
            yield batch

    return wrapped


def self_signal(signal_number):
    return lambda: os.kill(os.getpid(), signal_number)


def injected_crash():
    raise RuntimeError("injected crash")


INTERRUPTIONS = {"crash": injected_crash, "sigint": self_signal(signal.SIGINT), "sigkill": self_signal(signal.SIGKILL)}
ROOT = Path(__file__).resolve().parents[2]


def start_training(data_dir, argv, interrupt="", after=0):
    """This file as a script: the training command with `argv` on the tiny data; `interrupt` (a key of
    INTERRUPTIONS) happens as batch `after + 1` is taken."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT), "INTERRUPT": f"{interrupt}:{after}"}
    return subprocess.Popen([sys.executable, __file__, str(data_dir), *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


SMALL_NETWORK = ["--model_def", str(Path(__file__).resolve().parents[1] / "small_network.py")]


if __name__ == "__main__":
    kind, after = os.environ["INTERRUPT"].split(":")
    patch_data(lambda obj, name, value: setattr(obj, name, value), Path(sys.argv[1]), int(after),
               INTERRUPTIONS.get(kind))
    sys.exit(run_cli(train_module.main, sys.argv[2:]))

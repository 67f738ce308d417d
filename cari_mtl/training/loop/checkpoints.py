"""Training checkpoints, one class per backend behind one interface, and what every resume checks.

    TensorFlowCheckpoints   tf.train.CheckpointManager in `<model_dir>/checkpoints/` (ckpt-N, last 2)
    NpzCheckpoints          `jax-<global step>.npz` files there (the JAX step's state pytree, last 2)

Both hold the step's whole state, the loop's position (epochs done, batches done in the epoch, best
accuracies) and the run's fingerprint; both keep a `checkpoint` index file naming the newest, replaced
last, so a kill during a save leaves the previous checkpoint usable; a save that fails (full disk,
`ulimit -f`) removes its partial files and stops with one line naming the last complete checkpoint
and the command that continues. The fingerprint (`run_fingerprint`) is what fixes the shapes and
meaning of the variables: a resume whose data or edited run.json differs stops naming each difference,
before anything is restored; the checkpoint is fine and is never called damaged.
"""

import errno
import json
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cari_mtl.model.errors import CheckpointError
from cari_mtl.runtime import finite_check
from cari_mtl.runtime.atomic_files import OutputWriteError
from cari_mtl.runtime.backend import resume_flags
from cari_mtl.training.loop.epoch_evaluation import METRIC_KEYS
from cari_mtl.training.run.run_file import CHECKPOINT_DIR

CHECKPOINT_INDEX = "checkpoint"
CHECKPOINTS_KEPT = 2
COUNTERS = ("global_step", "epoch_done", "batch_done")
RUN_CONFIG = "run_config"
FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
WHERE = {"nrof_classes": "the number of identities in --data_dir", "weighting": "--task_weighting",
         "optimizer": "--optimizer", "optimizer_groups": "--task_weighting (its variable groups)"}


@dataclass
class ResumePoint:
    """The newest checkpoint of a run and where it stands: global step, epochs done, batches done
    in the current epoch."""
    prefix: str
    global_step: int
    epoch_done: int
    batch_done: int

    def iterations(self, epoch_size):
        """Iterations trained up to the checkpoint (one row each in loss.txt)."""
        return self.epoch_done * epoch_size + self.batch_done


@dataclass
class LoopPosition:
    """Where the loop stands: epochs done, batches done in the current epoch, best value of each metric."""
    epoch_done: int
    batch_done: int
    best: np.ndarray


def run_fingerprint(model_config, weighting, optimizer, optimizer_groups):
    """What must be equal between a checkpoint and the run that restores it."""
    return {"image_size": model_config.image_size, "nrof_classes": model_config.nrof_classes,
            "lossweights_variant": model_config.lossweights_variant, "model_def": Path(model_config.model_def).name,
            "image_standardization": model_config.image_standardization, "logits_relu": model_config.logits_relu,
            "weighting": weighting, "optimizer": optimizer, "optimizer_groups": sorted(optimizer_groups)}


def check_resume(prefix, stored, fingerprint, model_dir):
    """CheckpointError naming every setting in which `fingerprint` differs from `stored` (the one saved at
    `prefix`; None for a checkpoint written before fingerprints)."""
    if stored is None:
        return
    differences = [f"{key} {stored.get(key)!r} → {fingerprint[key]!r}"
                   + (f" ({WHERE[key]})" if key in WHERE else "")
                   for key in fingerprint if stored.get(key) != fingerprint[key]]
    if differences:
        raise CheckpointError(
            f"--resume {model_dir}: the checkpoint {Path(prefix).name} was written with another configuration "
            f"than the run now has: {'; '.join(differences)}. The checkpoint is not damaged: put the data and "
            f"{Path(model_dir) / 'run.json'} back as they were, or start a new run (--pretrained_model "
            f"{Path(model_dir)}/epoch_NNNN to start from its weights)")


def training_write_failed(what, error, model_dir, latest_checkpoint):
    """OutputWriteError naming what could not be written and how to continue."""
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]", "", str(getattr(error, "message", None) or error))
    lines = text.strip().splitlines()
    reason = lines[-1].rsplit("; ", 1)[-1] if lines else type(error).__name__  # TensorFlow: "<temp file>; reason"
    if isinstance(error, OSError) and error.errno in FULL_DISK_ERRNOS or "too large" in reason or "space" in reason:
        reason += " (the disk is full or a file-size limit was reached)"
    if latest_checkpoint:
        kept = (f"the last complete checkpoint is {latest_checkpoint}: free space, then continue exactly with "
                f"{resume_flags(model_dir)}")
    else:
        kept = "no checkpoint of this run was completed: free space and start the run again"
    return OutputWriteError(f"cannot write {what}: {reason}; {kept}")


def missing_index(index):
    return CheckpointError(f"{index} not found: this run wrote no training checkpoint, so --resume cannot "
                           f"continue it; start a new run without --resume")


class Checkpoints:
    """What both backends' checkpoints share: the folder, the newest path, the failure handling."""
    errors = (OSError,)

    def __init__(self, step, model_dir, fingerprint):
        self.step = step
        self.model_dir = Path(model_dir)
        self.directory = self.model_dir / CHECKPOINT_DIR
        self.fingerprint = fingerprint
        self.latest = None

    def save(self, position):
        """Writes a checkpoint of the step and `position`; returns its path. A failed write removes its
        partial files and raises OutputWriteError naming the last complete checkpoint."""
        try:
            self.latest = self._write(position)
        except self.errors as error:
            self.remove_partial_saves(self.directory)
            raise training_write_failed(f"a checkpoint in {self.directory}", error, self.model_dir,
                                        self.latest) from None
        return self.latest

    def restore(self, position, model_dir=None):
        """Restores the newest checkpoint of `model_dir` (default: this run's; another worker of a multi-worker
        run passes the chief's) into the step and `position`, after checking its fingerprint; returns its path.
        A missing, unreadable, non-finite or different checkpoint is an error (CheckpointError / NonFiniteError)."""
        model_dir = Path(model_dir or self.model_dir)
        point = self.resume_point(model_dir / CHECKPOINT_DIR)
        check_resume(point.prefix, self.stored_fingerprint(point.prefix), self.fingerprint, model_dir)
        self._read(point, position)
        self.step.sync_model()
        finite_check.check_weights(self.step.model, point.prefix)
        self.latest = point.prefix
        return point.prefix


class TensorFlowCheckpoints(Checkpoints):
    """tf.train.Checkpoint of the TensorFlow step (TrainStep.checkpoint_objects) and the loop's position.
    TensorFlow writes a checkpoint into `ckpt-N_temp/` and renames it when complete."""

    def __init__(self, step, model_dir, fingerprint):
        import tensorflow as tf

        super().__init__(step, model_dir, fingerprint)
        self.errors = (tf.errors.OpError, OSError)
        self.epoch_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.batch_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.best = tf.Variable(tf.fill([len(METRIC_KEYS)], -1.0), trainable=False)
        self.run_config = tf.Variable(json.dumps(fingerprint, sort_keys=True), trainable=False, dtype=tf.string)
        self.checkpoint = tf.train.Checkpoint(**step.checkpoint_objects(), epoch_done=self.epoch_done,
                                              batch_done=self.batch_done, best=self.best)
        setattr(self.checkpoint, RUN_CONFIG, self.run_config)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory), max_to_keep=CHECKPOINTS_KEPT)

    def _write(self, position):
        self.epoch_done.assign(position.epoch_done)
        self.batch_done.assign(position.batch_done)
        self.best.assign(position.best)
        return self.manager.save(checkpoint_number=int(self.step.global_step.numpy()))

    def _read(self, point, position):
        self.restore_into(self.checkpoint, point.prefix)
        self.run_config.assign(json.dumps(self.fingerprint, sort_keys=True))
        position.epoch_done = int(self.epoch_done.numpy())
        position.batch_done = int(self.batch_done.numpy())
        position.best = self.best.numpy()

    @staticmethod
    def restore_into(checkpoint, prefix):
        """Restores `prefix` into the tf.train.Checkpoint `checkpoint`; a damaged file is a CheckpointError."""
        import tensorflow as tf

        try:
            checkpoint.restore(prefix).assert_existing_objects_matched()
        except (tf.errors.OpError, IndexError, ValueError, AssertionError) as error:
            raise tensorflow_damaged(prefix, error) from None

    @staticmethod
    def stored_fingerprint(prefix):
        """The fingerprint saved with checkpoint `prefix`, or None for a checkpoint written before issue 20."""
        import tensorflow as tf

        reader = tf.train.load_checkpoint(prefix)
        key = f"{RUN_CONFIG}/.ATTRIBUTES/VARIABLE_VALUE"
        if not reader.has_tensor(key):
            return None
        return json.loads(reader.get_tensor(key).decode())

    @staticmethod
    def remove_partial_saves(checkpoint_dir):
        """Deletes the temporary folders of a checkpoint save that failed or was interrupted."""
        for partial in Path(checkpoint_dir).glob("*_temp*"):
            if partial.is_dir():
                shutil.rmtree(partial, ignore_errors=True)

    @classmethod
    def resume_point(cls, checkpoint_dir):
        """ResumePoint of the newest checkpoint in `checkpoint_dir`; CheckpointError when there is none
        or it cannot be read."""
        import tensorflow as tf

        checkpoint_dir = Path(checkpoint_dir)
        cls.remove_partial_saves(checkpoint_dir)
        index = checkpoint_dir / CHECKPOINT_INDEX
        if not index.is_file():
            raise missing_index(index)
        try:
            prefix = tf.train.latest_checkpoint(str(checkpoint_dir))
        except (tf.errors.OpError, ValueError) as error:
            raise CheckpointError(f"{index} cannot be read ({first_line(error)}): write the line "
                                  f"model_checkpoint_path: \"ckpt-N\" naming a ckpt-N.index of that folder") from None
        if prefix is None or not Path(f"{prefix}.index").is_file():
            raise CheckpointError(f"{index} names no existing checkpoint: write the line model_checkpoint_path: "
                                  f"\"ckpt-N\" naming a ckpt-N.index of {checkpoint_dir}")
        try:
            reader = tf.train.load_checkpoint(prefix)
            values = [int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE")) for name in COUNTERS]
        except (tf.errors.OpError, ValueError, IndexError) as error:
            raise tensorflow_damaged(prefix, error) from None
        return ResumePoint(prefix, *values)


class NpzCheckpoints(Checkpoints):
    """The JAX step's state pytree as `jax-<global step>.npz`, with the loop's position and the fingerprint,
    written to a temporary name and renamed; then the index is replaced."""

    def _write(self, position):
        import jax

        self.directory.mkdir(parents=True, exist_ok=True)
        leaves = jax.tree_util.tree_leaves(self.step.state)
        name = f"jax-{int(self.step.global_step.numpy())}.npz"
        temporary = self.directory / f".{name}.partial"
        with open(temporary, "wb") as handle:
            np.savez(handle, *[np.asarray(leaf) for leaf in leaves], global_step=self.step.global_step.numpy(),
                     epoch_done=position.epoch_done, batch_done=position.batch_done, best=position.best,
                     **{RUN_CONFIG: json.dumps(self.fingerprint, sort_keys=True)})
        os.replace(temporary, self.directory / name)
        index = self.directory / f".{CHECKPOINT_INDEX}.partial"
        index.write_text(name + "\n")
        os.replace(index, self.directory / CHECKPOINT_INDEX)
        saved = sorted(self.directory.glob("jax-*.npz"), key=lambda p: int(p.stem.split("-")[1]))
        for old in saved[:-CHECKPOINTS_KEPT]:
            old.unlink()
        return str(self.directory / name)

    def _read(self, point, position):
        import jax

        structure = jax.tree_util.tree_structure(self.step.state)
        try:
            with np.load(point.prefix) as stored:
                leaves = [stored[f"arr_{index}"] for index in range(structure.num_leaves)]
                position.best = stored["best"]
        except (OSError, ValueError, KeyError) as error:
            raise damaged(point.prefix, error) from None
        current = jax.tree_util.tree_leaves(self.step.state)
        if len(leaves) != len(current) or any(np.shape(a) != np.shape(b) for a, b in zip(leaves, current)):
            raise damaged(point.prefix, ValueError("its arrays do not have the shapes of this run's state"), fits=True)
        self.step.set_state(jax.tree_util.tree_unflatten(structure, [jax.numpy.asarray(leaf) for leaf in leaves]))
        self.step.global_step.assign(point.global_step)
        position.epoch_done, position.batch_done = point.epoch_done, point.batch_done

    @staticmethod
    def stored_fingerprint(prefix):
        with np.load(prefix) as stored:
            return json.loads(str(stored[RUN_CONFIG])) if RUN_CONFIG in stored.files else None

    @staticmethod
    def remove_partial_saves(checkpoint_dir):
        """Deletes the temporary files of a checkpoint save that failed or was interrupted."""
        for partial in Path(checkpoint_dir).glob(".*.partial"):
            partial.unlink(missing_ok=True)

    @classmethod
    def resume_point(cls, checkpoint_dir):
        """ResumePoint of the newest .npz checkpoint of `checkpoint_dir`; CheckpointError when there is none."""
        cls.remove_partial_saves(checkpoint_dir)
        index = Path(checkpoint_dir) / CHECKPOINT_INDEX
        if not index.is_file():
            raise missing_index(index)
        path = Path(checkpoint_dir) / index.read_text().strip()
        try:
            with np.load(path) as stored:
                counters = [int(stored[name]) for name in COUNTERS]
        except (OSError, ValueError, KeyError) as error:
            raise damaged(path, error) from None
        return ResumePoint(str(path), *counters)


def checkpoints_class(backend):
    """The checkpoints of a backend's step."""
    return NpzCheckpoints if backend == "jax" else TensorFlowCheckpoints


def damaged(prefix, error, fits=False):
    """The error for a checkpoint that failed to restore; one that reads but does not fit (`fits`) is not
    called damaged."""
    if fits:
        return CheckpointError(f"checkpoint {prefix} does not fit the network this run builds now "
                               f"({first_line(error)}): the checkpoint is not damaged; the data (number of "
                               f"identities) or the run.json changed since it was written: put them back as they "
                               f"were, or start a new run without --resume")
    return CheckpointError(f"checkpoint {prefix} cannot be read ({first_line(error)}): the file is damaged; "
                           f"delete {Path(prefix).name}* and name the previous checkpoint in "
                           f"{Path(prefix).parent / CHECKPOINT_INDEX}, or start a new run")


def tensorflow_damaged(prefix, error):
    """`damaged` for a TensorFlow error: a ValueError or AssertionError of a file that read is a misfit."""
    import tensorflow as tf

    fits = isinstance(error, (ValueError, AssertionError)) and not isinstance(error, tf.errors.OpError)
    return damaged(prefix, error, fits)


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def training_write_errors(checkpoints, model_dir):
    """Any other file the training writes (logs, epoch model directories) that fails with an OSError."""
    try:
        yield
    except OSError as error:
        what = error.filename or f"a file under {Path(model_dir)}"
        raise training_write_failed(what, error, model_dir, checkpoints.latest) from None

"""The training loop under the JAX backend: the Trainer's epochs, logs, evaluation and model
directories, with the JAX step's state saved as .npz checkpoints instead of tf.train.Checkpoint.

`<model_dir>/checkpoints/` holds `jax-<global step>.npz` (the whole state pytree of JaxTrainStep,
the epoch and batch position, the best accuracies; the last 2 kept) and a `checkpoint` file naming
the newest. A file is written to a temporary name and renamed, then the index is replaced, so a
kill during a save leaves the previous checkpoint usable. TensorBoard events are not written
(they need TensorFlow): one line says so at the start.
"""

import os
from pathlib import Path
from types import SimpleNamespace

import jax
import numpy as np

from cari_mtl.model.errors import CheckpointError
from cari_mtl.runtime import finite_check
from cari_mtl.training.dead_heads import DeadHeadGuard
from cari_mtl.training.epoch_evaluation import METRIC_KEYS
from cari_mtl.training.interrupt import StopRequest
from cari_mtl.training.jax_step import HostValue
from cari_mtl.training.logs import TrainingLogs
from cari_mtl.training.resume import CHECKPOINT_INDEX, ResumePoint
from cari_mtl.training.trainer import CHECKPOINT_DIR, Trainer

CHECKPOINTS_KEPT = 2


def find_jax_resume_point(checkpoint_dir):
    """ResumePoint of the newest .npz checkpoint of `checkpoint_dir`; CheckpointError when there is none."""
    index = Path(checkpoint_dir) / CHECKPOINT_INDEX
    if not index.is_file():
        raise CheckpointError(f"{index} not found: this run wrote no training checkpoint, so --resume cannot "
                              f"continue it; start a new run without --resume")
    path = Path(checkpoint_dir) / index.read_text().strip()
    try:
        with np.load(path) as stored:
            counters = [int(stored[name]) for name in ("global_step", "epoch_done", "batch_done")]
    except (OSError, ValueError, KeyError) as error:
        raise CheckpointError(f"cannot read the checkpoint {path} ({error}); it may be damaged") from None
    return ResumePoint(str(path), *counters)


class JaxTrainer(Trainer):
    """Trainer for a JaxTrainStep (cari_mtl.training.jax_step)."""

    def __init__(self, loop, evaluation, step, model_config, data, model_dir, log_dir, progress=True):
        self.loop, self.evaluation, self.step, self.model_config = loop, evaluation, step, model_config
        self.data, self.model_dir, self.progress = data, Path(model_dir), progress
        self.logs = TrainingLogs(log_dir, tensorboard=False)
        print("TensorBoard events: not written under --backend jax (they need TensorFlow); loss.txt, "
              "percentage_full_loss.txt and metrics.jsonl are")
        self.epoch_done = HostValue(np.int64(0))
        self.batch_done = HostValue(np.int64(0))
        self.best = HostValue(np.full(len(METRIC_KEYS), -1.0, np.float32))
        self.manager = SimpleNamespace(latest_checkpoint=None)
        self.evaluator = None
        self.card = None  # no model card under JAX yet (Trainer writes one per epoch when set)
        self.dead_heads = DeadHeadGuard(model_config.nrof_classes, log_dir, relu=model_config.logits_relu)
        self.stop = StopRequest()

    def save_checkpoint(self):
        directory = self.model_dir / CHECKPOINT_DIR
        directory.mkdir(parents=True, exist_ok=True)
        leaves = jax.tree_util.tree_leaves(self.step.state)
        name = f"jax-{int(self.step.global_step.numpy())}.npz"
        temporary = directory / f".{name}.partial"
        with open(temporary, "wb") as handle:
            np.savez(handle, *[np.asarray(leaf) for leaf in leaves], global_step=self.step.global_step.numpy(),
                     epoch_done=self.epoch_done.numpy(), batch_done=self.batch_done.numpy(), best=self.best.numpy())
        os.replace(temporary, directory / name)
        index = directory / f".{CHECKPOINT_INDEX}.partial"
        index.write_text(name + "\n")
        os.replace(index, directory / CHECKPOINT_INDEX)
        for old in sorted(directory.glob("jax-*.npz"), key=lambda p: int(p.stem.split("-")[1]))[:-CHECKPOINTS_KEPT]:
            old.unlink()
        self.manager.latest_checkpoint = str(directory / name)
        return self.manager.latest_checkpoint

    def restore(self, model_dir=None):
        point = find_jax_resume_point(Path(model_dir or self.model_dir) / CHECKPOINT_DIR)
        structure = jax.tree_util.tree_structure(self.step.state)
        with np.load(point.prefix) as stored:
            leaves = [stored[f"arr_{index}"] for index in range(structure.num_leaves)]
            self.best.assign(stored["best"])
        self.step.set_state(jax.tree_util.tree_unflatten(structure, [jax.numpy.asarray(leaf) for leaf in leaves]))
        self.step.global_step.assign(point.global_step)
        self.epoch_done.assign(point.epoch_done)
        self.batch_done.assign(point.batch_done)
        self.step.sync_model()
        finite_check.check_weights(self.step.model, point.prefix)
        self.manager.latest_checkpoint = point.prefix
        return point.prefix

    def _end_epoch(self, epoch):
        self.step.sync_model()
        return super()._end_epoch(epoch)

"""The training loop, one for both backends: epochs of compiled steps, logs, evaluation, model directories,
checkpoints, and the guards (non-finite loss, dead heads, SIGINT / SIGTERM, failed writes).

Model directory `<models_base_dir>/<YYYYmmdd-HHMMSS>/`:
    run.json                     the log directory and settings of the run (read by --resume)
    checkpoints/                 training checkpoints (loop.checkpoints, last 2): the step's whole state
                                 (model, optimizers' slots, shared centers, moving averages, global step,
                                 the weighting's state), epoch and batch position, best accuracies
    epoch_<NNNN>/                native model directory after each epoch (last 2 kept), with its model card
    best_model_verifexpr/ best_model_expr/ best_model_cari/   native model directories of the
                                 best verification / photo id / caricature id epoch
A checkpoint is written at the end of every epoch (after its evaluation) and every
`save_every_n_steps` iterations. What differs per backend is the step object and its checkpoints.
"""

import math
import shutil

import numpy as np
from tqdm import tqdm

from cari_mtl.model.model_card import write_model_card
from cari_mtl.model.model_dir import copy_model_dir, save_model_dir
from cari_mtl.runtime import finite_check
from cari_mtl.training.loop.checkpoints import LoopPosition
from cari_mtl.training.loop.dead_heads import DeadHeadGuard
from cari_mtl.training.loop.epoch_evaluation import METRIC_KEYS, EpochEvaluator, check_folds
from cari_mtl.training.loop.feature_files import save_improved_features
from cari_mtl.training.loop.interrupt import StopRequest, TrainingInterrupted
from cari_mtl.training.loop.logs import TrainingLogs
from cari_mtl.training.run.run_card import epoch_card

BEST_MODEL_DIRS = {"verification_accuracy": "best_model_verifexpr", "photo_id_accuracy": "best_model_expr",
                   "caricature_id_accuracy": "best_model_cari"}
EPOCH_MODELS_KEPT = 2


def epochs_to_run(max_nrof_epochs, legacy_global_step, nrof_optimizers):
    """Python epochs the loop runs.

    Default: `max_nrof_epochs`. Legacy: the original's loop tests `global_step // epoch_size` read
    at the start of the previous epoch against --max_nrof_epochs while the global step grows by
    one per optimizer and iteration, so it runs 1 + ceil(max / nrof_optimizers) epochs.
    """
    if max_nrof_epochs <= 0:
        return 0
    if not legacy_global_step:
        return max_nrof_epochs
    return 1 + math.ceil(max_nrof_epochs / nrof_optimizers)


class Trainer:
    """Runs `step` (step.tensorflow.TrainStep or step.jax.JaxTrainStep) over `data` (TrainingData) as
    `loop` (LoopConfig) says, evaluating each epoch as `evaluation` (EpochEvaluationConfig) says and saving
    with `checkpoints` (loop.checkpoints, the step's backend's). `card`: the run's model card
    (run.run_card.run_card), completed per epoch; `tensorboard`: write TensorBoard events too."""

    def __init__(self, loop, evaluation, step, model_config, data, checkpoints, log_dir, card=None, progress=True,
                 tensorboard=True):
        self.loop = loop
        self.evaluation = evaluation
        self.step = step
        self.model_config = model_config
        self.data = data
        self.checkpoints = checkpoints
        self.model_dir = checkpoints.model_dir
        self.card = card
        self.progress = progress
        self.logs = TrainingLogs(log_dir, tensorboard=tensorboard)
        self.position = LoopPosition(0, 0, np.full(len(METRIC_KEYS), -1.0, np.float32))
        self.evaluator = None
        self.dead_heads = DeadHeadGuard(model_config.nrof_classes, log_dir,
                                        relu=model_config.logits_relu and model_config.identity_heads == "softmax")
        self.stop = StopRequest()

    def restore(self, model_dir=None):
        """Restores the newest checkpoint of `model_dir` (default: this run's); returns its path."""
        return self.checkpoints.restore(self.position, model_dir)

    def save_checkpoint(self):
        return self.checkpoints.save(self.position)

    def global_step(self):
        return int(self.step.global_step.numpy())

    def run(self, learning_rate):
        """Trains until the epoch budget is spent; returns the last epoch's metrics (or None)."""
        total = epochs_to_run(self.loop.max_nrof_epochs, self.loop.legacy_global_step, len(self.step.groups))
        result = None
        if self.position.epoch_done >= total:
            print(f"the run in {self.model_dir} has already finished its {total} epoch(s) (step "
                  f"{self.global_step()}): nothing to train; start a new run without --resume")
        else:
            self._evaluation()
        with self.stop:
            while self.position.epoch_done < total:
                epoch = self.position.epoch_done + 1
                self._train_epoch(epoch, learning_rate.rate(epoch), total)
                result = self._end_epoch(epoch)
                self._stop_if_requested(saved=True)
        self.logs.close()
        return result

    def _stop_if_requested(self, saved=False):
        """After a SIGINT/SIGTERM: save a checkpoint (unless just saved) and raise TrainingInterrupted."""
        if self.stop.signum is None:
            return
        self.logs.close()
        path = self.checkpoints.latest if saved else self.save_checkpoint()
        raise TrainingInterrupted(self.stop.signum, self.global_step(), path, self.model_dir)

    def _train_epoch(self, epoch, rate, total):
        self.step.weighting.start_epoch(epoch)
        skip = self.position.batch_done
        with tqdm(total=self.loop.epoch_size, initial=skip, desc=f"epoch {epoch}/{total}", unit="step",
                  disable=not self.progress) as bar:
            for images, labels, is_cari in self.data.batches(epoch, skip):
                values = {k: float(v) for k, v in self.step(images, labels, is_cari, rate).items()}
                if self.step.loss_scale is None:
                    finite_check.check_losses(values, int(values["global_step"]), self.checkpoints.latest,
                                              self.model_dir)
                self.position.batch_done += 1
                self.logs.step(int(values["global_step"]), values)
                self.dead_heads.update(int(values["global_step"]), values)
                bar.update(1)
                bar.set_postfix(L1=f"{values['L1']:.3f}", L2=f"{values['L2']:.3f}", L3=f"{values['L3']:.3f}",
                                w=f"{values['w1']:.2f}/{values['w2']:.2f}/{values['w3']:.2f}")
                every = self.loop.save_every_n_steps
                if every and self.position.batch_done % every == 0:
                    self.logs.flush()
                    self.save_checkpoint()
                self._stop_if_requested()

    def _end_epoch(self, epoch):
        step = self.global_step()
        self.logs.flush()
        self.step.sync_model()
        epoch_dir = save_model_dir(self.step.model, self.model_dir / f"epoch_{epoch:04d}", self.model_config)
        self._prune_epoch_dirs()
        if self.loop.log_histograms:
            self.logs.histograms(step, self.step.model.trainable_variables)
        result = self._evaluate(step, epoch, epoch_dir)
        self.position.epoch_done += 1
        self.position.batch_done = 0
        self.save_checkpoint()
        return result

    def _evaluation(self):
        """The per-epoch evaluator, made (test images decoded, folds checked) before the first step."""
        if self.evaluator is None:
            settings = self.evaluation
            check_folds(len(self.data.test_split.pair_issame), settings.nrof_folds)
            self.evaluator = EpochEvaluator(self.step.model, self.model_config.image_size, self.data.test_split,
                                            settings.batch_size, settings.nrof_folds, settings.far, settings.mode,
                                            self.progress, seed=settings.seed, legacy_folds=settings.legacy_folds,
                                            legacy_val=settings.legacy_val,
                                            standardization=self.model_config.image_standardization)
        return self.evaluator

    def _evaluate(self, step, epoch, epoch_dir):
        metrics, features = self._evaluation().evaluate()
        if self.card is not None:
            write_model_card(epoch_dir, epoch_card(self.card, epoch, step, metrics, len(self._evaluation().issame),
                                                   self.evaluation.nrof_folds))
        best = dict(zip(METRIC_KEYS, np.asarray(self.position.best).tolist()))
        previous = {key: max(value, 0.0) for key, value in best.items()}  # the original's best columns (T27)
        for index, key in enumerate(METRIC_KEYS):
            if not np.isnan(metrics[key]) and metrics[key] > best[key]:
                best[key] = metrics[key]
                if key in BEST_MODEL_DIRS:
                    copy_model_dir(epoch_dir, self.model_dir / BEST_MODEL_DIRS[key])
                save_improved_features(self.logs, key, features)
        self.position.best = np.asarray([best[k] for k in METRIC_KEYS], np.float32)
        self.logs.epoch(step, epoch, metrics, previous)
        print(f"epoch {epoch} (step {step}): " + ", ".join(f"{k} {metrics[k]:.4f}" for k in METRIC_KEYS))
        return metrics

    def _prune_epoch_dirs(self):
        for old in sorted(self.model_dir.glob("epoch_*"))[:-EPOCH_MODELS_KEPT]:
            shutil.rmtree(old, ignore_errors=True)


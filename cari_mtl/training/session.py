"""A training run from its TrainingConfig: directories, data, network, compiled step, epochs.

With --distribute multiworker every machine runs the same command; the chief writes the run's
directories, the other workers restore from them (a shared filesystem for --resume) and write
their own copies of checkpoints and logs to a temporary directory.
"""

from pathlib import Path

import keras

from cari_mtl.model.checkpoints import find_checkpoint_prefix
from cari_mtl.model.model_dir import is_model_dir
from cari_mtl.runtime import distribute
from cari_mtl.runtime.speed import apply_mixed_precision, use_xla
from cari_mtl.training import datasets, losses, resume_checks
from cari_mtl.training.config import resolved_config
from cari_mtl.training.log_truncation import cut_logs
from cari_mtl.training.model_setup import build_model, check_pretrained_image_size
from cari_mtl.training.optimizer_state import restore_optimizer_state
from cari_mtl.training.resume import find_resume_point
from cari_mtl.training.run_card import run_card
from cari_mtl.training.run_file import CHECKPOINT_DIR, claim_run_dirs
from cari_mtl.training.save_failures import training_write_errors
from cari_mtl.training.schedule import LearningRate
from cari_mtl.training.step_options import heads_line, modern_step_options
from cari_mtl.training.train_step import TrainStep
from cari_mtl.training.trainer import Trainer
from cari_mtl.training.training_data import load_training_data
from cari_mtl.training.weighting_methods import weighting_of
from cari_mtl.training.worker_failure import LostWorkers, started_within

SOURCE_DIR = Path(__file__).resolve().parent


def run_dirs(config, run_settings, resume_dir, chief=True):
    """(model_dir, log_dir) this process writes to: the run's own, or a scratch copy off the chief."""
    if not chief:
        scratch = Path(distribute.worker_scratch_dir())
        return scratch / "model", scratch / "logs"
    if resume_dir is not None:
        find_resume_point(resume_dir / CHECKPOINT_DIR)  # no readable checkpoint: stop before the log folder is made
    return claim_run_dirs(config, run_settings, resume_dir)


def train(config, progress=True):
    """Trains a new run of the TrainingConfig `config` (`cari_mtl.train`); returns (model_dir, log_dir,
    the last epoch's metrics dict or None). Its run.json holds the config, so the training command's
    --resume continues it."""
    return run_training(config, progress=progress)


def run_training(config, run_settings=None, resume_dir=None, command_line="", progress=True):
    """Runs (or resumes) a training.

    Args:
        config: the TrainingConfig (stored in the run's run.json, the record --resume reads).
        run_settings: more entries for run.json (the command's flags, for display).
        resume_dir: model directory of the run to continue, or None for a new run.
        command_line: written to revision_info.txt of a new run.
        progress: show progress bars.
    Returns:
        (model_dir, log_dir, the last epoch's metrics dict or None).
    """
    config = resolved_config(config)
    config.validate()
    with LostWorkers(config.distribute, config.collective_timeout, config.models_base_dir, resume_dir), \
            started_within(config.distribute, config.collective_timeout):
        distribution = distribute.make_distribution(config.distribute, config.collective_timeout)
    distribute.check_batch_size(config.data.batch_size, distribution)
    chief = distribute.is_chief(distribution)
    check_pretrained_image_size(config.network)
    model_dir, log_dir = run_dirs(config, run_settings or {}, resume_dir, chief)
    if resume_dir is not None and chief:
        cut_logs(log_dir, find_resume_point(resume_dir / CHECKPOINT_DIR), config.loop.epoch_size)
    keras.utils.set_random_seed(config.seed)
    policy = apply_mixed_precision(config.speed.mixed_precision)
    jit_compile = use_xla(config.speed.xla) and (config.distribute == "none" or config.speed.xla == "on")
    settings = config.step
    weighting = weighting_of(settings)
    variant = weighting.lossweights_variant(datasets.get(config.data.dataset).lossweights_variant)
    data, nrof_classes = load_training_data(config.data)
    lost_workers = LostWorkers(config.distribute, config.collective_timeout, config.models_base_dir,
                               model_dir if chief else resume_dir)
    with distribution.scope(), lost_workers:
        model, model_config = build_model(config.network, nrof_classes, variant)
    print(f"Model directory: {model_dir}\nLog directory: {log_dir}\nclasses: {nrof_classes}, "
          f"weighting: {weighting.name}, weights head: {variant}\nreplicas: {distribution.num_replicas_in_sync}, "
          f"dtype policy: {policy}, XLA: {'on' if jit_compile else 'off'}\nimage standardization: "
          f"{model_config.image_standardization}, logits ReLU: {'on' if model_config.logits_relu else 'off'}")
    if heads_line(model_config):
        print(heads_line(model_config))
    with lost_workers:
        options = modern_step_options(config, model_config)
        options["loss_terms_fn"] = losses.bound_task_loss_terms(options.pop("cross_entropy_fns"))
        step = TrainStep.from_config(model, weighting, settings, distribution=distribution, jit_compile=jit_compile,
                                     **options)
    pretrained = config.network.pretrained_model
    if pretrained and not is_model_dir(pretrained) and resume_dir is None and config.network.restore_optimizer_state:
        print(restore_optimizer_state(step, find_checkpoint_prefix(pretrained), settings.optimizer).format())
    trainer = Trainer(config.loop, config.evaluation, step, model_config, data, model_dir, log_dir, progress)
    trainer.card = run_card(config, model_config, getattr(data, "class_names", None), command_line)
    fingerprint = resume_checks.run_fingerprint(model_config, weighting.name, settings.optimizer, step.optimizers)
    resume_checks.attach(trainer.checkpoint, fingerprint)
    if resume_dir is not None:
        resume_checks.check_resume(find_resume_point(resume_dir / CHECKPOINT_DIR).prefix, fingerprint, resume_dir)
        print(f"resuming from {trainer.restore(resume_dir)}")
        resume_checks.attach(trainer.checkpoint, fingerprint)
    elif chief:
        trainer.logs.write_revision(command_line, SOURCE_DIR)
    with lost_workers, training_write_errors(trainer.manager, model_dir):
        metrics = trainer.run(LearningRate(config.loop.learning_rate, config.loop.learning_rate_schedule_file))
    return model_dir, log_dir, metrics

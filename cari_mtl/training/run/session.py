"""A training run from its TrainingConfig, one for both backends: directories, data, network, step, epochs.

The backend is the config's (`backend`, resolved in cari_mtl.training.config and stored in run.json);
what differs per backend is in run.backends. With --distribute multiworker (TensorFlow) every machine
runs the same command; the chief writes the run's directories, the other workers restore from them
(a shared filesystem for --resume) and write their own copies of checkpoints and logs to a temporary
directory.
"""

from pathlib import Path

import keras

from cari_mtl.runtime import distribute
from cari_mtl.runtime.output_dirs import check_writable_dir
from cari_mtl.runtime.speed import apply_mixed_precision
from cari_mtl.training import datasets
from cari_mtl.training.config import resolved_config
from cari_mtl.training.loop.checkpoints import run_fingerprint, training_write_errors
from cari_mtl.training.loop.log_truncation import cut_logs
from cari_mtl.training.loop.schedule import LearningRate
from cari_mtl.training.loop.trainer import Trainer
from cari_mtl.training.run.backends import run_backend
from cari_mtl.training.run.model_setup import build_model, check_pretrained_image_size
from cari_mtl.training.run.run_card import run_card
from cari_mtl.training.run.run_file import CHECKPOINT_DIR, claim_run_dirs, write_run_file
from cari_mtl.training.run.training_data import load_training_data
from cari_mtl.training.step.options import heads_line, modern_step_options
from cari_mtl.training.weighting import weighting_of

SOURCE_DIR = Path(__file__).resolve().parents[1]


def check_outputs(config, resume_dir, backend):
    """Before any data is read and any folder made: the checkpoint a resume continues from is readable (its
    ResumePoint is returned), a new run's base folders can be written."""
    if resume_dir is not None:
        return backend.checkpoints.resume_point(resume_dir / CHECKPOINT_DIR)
    if backend.chief:
        check_writable_dir(config.logs_base_dir, "--logs_base_dir")
        check_writable_dir(config.models_base_dir, "--models_base_dir")
    return None


def run_dirs(config, run_settings, resume_dir, backend):
    """(model_dir, log_dir) this process writes to: the run's own, or a scratch copy off the chief."""
    if not backend.chief:
        scratch = Path(distribute.worker_scratch_dir())
        return scratch / "model", scratch / "logs"
    return claim_run_dirs(config, run_settings, resume_dir)


def run_training(config, run_settings=None, resume_dir=None, command_line="", progress=True, resumed_record=None):
    """Runs (or resumes) a training.

    Args:
        config: the TrainingConfig (stored in the run's run.json, the record --resume reads).
        run_settings: more entries for run.json (the command's flags, for display).
        resume_dir: model directory of the run to continue, or None for a new run.
        command_line: written to revision_info.txt of a new run.
        progress: show progress bars.
        resumed_record: run.json's new content for a resume that changes it (a longer epoch budget),
            written only once the checkpoint was accepted and restored.
    Returns:
        (model_dir, log_dir, the last epoch's metrics dict or None).
    """
    config = resolved_config(config)
    config.validate()
    backend = run_backend(config)
    check_pretrained_image_size(config.network)
    resume_point = check_outputs(config, resume_dir, backend)
    keras.utils.set_random_seed(config.seed)
    policy = apply_mixed_precision(config.speed.mixed_precision)
    weighting = weighting_of(config.step)
    variant = weighting.lossweights_variant(datasets.get(config.data.dataset).lossweights_variant)
    data, nrof_classes = load_training_data(config.data)  # inputs read before any folder is made
    model_dir, log_dir = run_dirs(config, run_settings or {}, resume_dir, backend)
    if resume_dir is not None and backend.chief:
        cut_logs(log_dir, resume_point, config.loop.epoch_size)
    lost_workers = backend.lost_workers(model_dir if backend.chief else resume_dir)
    with backend.scope(), lost_workers:
        model, model_config = build_model(config.network, nrof_classes, variant)
    print(f"Model directory: {model_dir}\nLog directory: {log_dir}\nclasses: {nrof_classes}, "
          f"weighting: {weighting.name}, weights head: {variant}\nbackend: {backend.name}, replicas: "
          f"{backend.replicas}, dtype policy: {policy}, XLA: {backend.xla}\nimage standardization: "
          f"{model_config.image_standardization}, logits ReLU: {'on' if model_config.logits_relu else 'off'}")
    if heads_line(model_config):
        print(heads_line(model_config))
    with lost_workers:
        step = backend.make_step(model, weighting, config.step, **modern_step_options(config, model_config))
    if resume_dir is None:
        backend.restore_pretrained_state(step, config.network)
    fingerprint = run_fingerprint(model_config, weighting.name, config.step.optimizer, step.optimizers)
    checkpoints = backend.checkpoints(step, model_dir, fingerprint)
    card = run_card(config, model_config, getattr(data, "class_names", None), command_line)
    trainer = Trainer(config.loop, config.evaluation, step, model_config, data, checkpoints, log_dir, card=card,
                      progress=progress, tensorboard=backend.tensorboard)
    if resume_dir is not None:
        print(f"resuming from {trainer.restore(resume_dir)}")
        if resumed_record is not None and backend.chief:
            write_run_file(model_dir, log_dir, resumed_record)
    elif backend.chief:
        trainer.logs.write_revision(command_line, SOURCE_DIR)
    with lost_workers, training_write_errors(checkpoints, model_dir):
        metrics = trainer.run(LearningRate(config.loop.learning_rate, config.loop.learning_rate_schedule_file))
    return model_dir, log_dir, metrics

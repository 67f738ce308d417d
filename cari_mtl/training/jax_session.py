"""A training run under the JAX backend: the TensorFlow session's sequence (directories, seed, dtype
policy, data, network, step, epochs) with the JAX step, the in-memory pipeline and .npz checkpoints.

`--distribute mirrored` is data parallel over the local devices (jax_step). What stays
TensorFlow-only says so in one line: --distribute multiworker, --mixed_precision float16, a TF1
checkpoint as --pretrained_model (convert it first, under TensorFlow).
"""

from pathlib import Path

import jax
import keras

from cari_mtl.data.array_pipeline import ArrayPipeline
from cari_mtl.runtime.speed import apply_mixed_precision
from cari_mtl.training import weighting_methods
from cari_mtl.training.config import resolved_config
from cari_mtl.training.jax_step import JaxTrainStep
from cari_mtl.training.jax_task_weighting import make_jax_weighting
from cari_mtl.training.jax_trainer import JaxTrainer, find_jax_resume_point
from cari_mtl.training.log_truncation import cut_logs
from cari_mtl.training.model_setup import build_model, check_pretrained_image_size
from cari_mtl.training.run_file import CHECKPOINT_DIR, claim_run_dirs
from cari_mtl.training.schedule import LearningRate
from cari_mtl.training.step_options import heads_line, modern_step_options
from cari_mtl.training.training_data import TrainingData, evaluation_split, read_reported_split

SOURCE_DIR = Path(__file__).resolve().parent


def check_jax_config(config):
    """ValueError for what the JAX path does not do (one line naming the flag and the way out)."""
    if config.distribute == "multiworker":
        raise ValueError("--distribute multiworker needs the TensorFlow backend (tf.distribute): run it with "
                         "--backend tensorflow; under JAX --distribute mirrored uses the devices of one machine")


def load_array_training_data(config):
    """(TrainingData, number of classes) of a DataConfig, with the in-memory numpy pipeline."""
    split = read_reported_split(config, "; decoding the training images into memory")
    pipeline = ArrayPipeline.from_split(
        split, config.image_size, config.batch_size, config.epoch_size, seed=config.seed,
        random_crop=config.random_crop, random_flip=config.random_flip, random_rotate=config.random_rotate,
        standardization=config.image_standardization, workers=config.preprocess_threads or 4)
    return TrainingData(pipeline.batches, evaluation_split(split), list(split.class_names)), len(split.class_names)


def run_training(config, run_settings=None, resume_dir=None, command_line="", progress=True):
    """Runs (or resumes) a training under JAX; same arguments and result as training.session.run_training."""
    config = resolved_config(config)
    config.validate()
    check_jax_config(config)
    settings = config.step
    weighting = make_jax_weighting(settings.task_weighting, **weighting_methods.step_options(settings))
    check_pretrained_image_size(config.network)
    model_dir, log_dir = claim_run_dirs(config, {**(run_settings or {}), "backend": "jax"}, resume_dir)
    if resume_dir is not None:
        cut_logs(log_dir, find_jax_resume_point(resume_dir / CHECKPOINT_DIR), config.loop.epoch_size)
    keras.utils.set_random_seed(config.seed)
    policy = apply_mixed_precision(config.speed.mixed_precision)
    variant = "naive" if settings.task_weighting == "naive" else config.data.dataset
    data, nrof_classes = load_array_training_data(config.data)
    model, model_config = build_model(config.network, nrof_classes, variant)
    print(f"Model directory: {model_dir}\nLog directory: {log_dir}\nbackend: jax, classes: {nrof_classes}, "
          f"weighting: {weighting.name}, weights head: {variant}\ndtype policy: {policy}, XLA: on (jax.jit), devices: "
          f"{len(jax.local_devices()) if config.distribute == 'mirrored' else 1}\n"
          f"image standardization: {model_config.image_standardization}, logits ReLU: "
          f"{'on' if model_config.logits_relu else 'off'}")
    if heads_line(model_config):
        print(heads_line(model_config))
    step = JaxTrainStep.from_config(model, weighting, settings,
                                    devices=jax.local_devices() if config.distribute == "mirrored" else None,
                                    **modern_step_options(config, model_config))
    trainer = JaxTrainer(config.loop, config.evaluation, step, model_config, data, model_dir, log_dir, progress)
    if resume_dir is not None:
        print(f"resuming from {trainer.restore(resume_dir)}")
    else:
        trainer.logs.write_revision(command_line, SOURCE_DIR)
    metrics = trainer.run(LearningRate(config.loop.learning_rate, config.loop.learning_rate_schedule_file))
    return model_dir, log_dir, metrics

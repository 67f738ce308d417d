"""Training data for the training command: the dataset's split plus the input pipeline's batches.

The dataset's registered reader (cari_mtl.training.datasets) gives the split: `cavi` reads the CaVI
tree and `--test_pairs` with the original split (every `--downsample`-th pair is a test pair);
`webcari` reads `--train_pairs` and `--test_pairs`.
What the readers could not use is reported once at the start; images the pipeline could not decode
are reported when first met and counted at the end of every epoch.
"""

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cari_mtl.data.split import Skips, report_skips
from cari_mtl.training import datasets
from cari_mtl.training.config import DataConfig
from cari_mtl.training.loop.epoch_evaluation import EvaluationSplit


@dataclass
class TrainingData:
    """`batches(epoch, skip)` yields the (images, labels, is_cari) batches of epoch `epoch` (1-based)
    after the first `skip`; it must be deterministic for a given epoch so resuming continues exactly."""
    batches: Callable
    test_split: object
    class_names: list | None = None


def read_split(config):
    """The DatasetSplit of a DataConfig: its dataset's reader (cari_mtl.training.datasets)."""
    dataset = datasets.get(config.dataset)
    check_defaults_exist(config, dataset.inputs)
    return dataset.read_split(config)


def check_defaults_exist(config, fields):
    """FileNotFoundError naming the flag of an input left at the original's default path that does not exist
    (the user never gave that path: say which flag to give, not only that the file is missing)."""
    defaults = DataConfig()
    for field in fields:
        path = getattr(config, field)
        if path is not None and path == getattr(defaults, field) and not Path(path).expanduser().exists():
            raise FileNotFoundError(f"--{field} was not given, and its default {path} (the original script's) does "
                                    f"not exist: give --{field}")


def read_reported_split(config, note=""):
    """The DatasetSplit of a DataConfig, its skipped files reported, its sizes printed (with `note`), and
    a warning when the training split lacks a modality."""
    split = read_split(config)
    report_skips(Skips.from_dicts(split.skipped, split.skipped_examples))
    print(f"{config.dataset}: {len(split.class_names)} classes, {len(split.train_paths)} training images "
          f"({int(split.train_is_caricature.sum())} caricatures), {len(split.test_issame)} test pairs, "
          f"{len(split.test_paths)} test images{note}")
    warning = missing_modality_warning(split.train_is_caricature)
    if warning:
        print(warning, file=sys.stderr)
    return split


def evaluation_split(split):
    """The per-epoch evaluation's view of a DatasetSplit: test pairs and each test image once."""
    return EvaluationSplit(list(split.test_pair_paths), [bool(same) for same in split.test_issame],
                           list(split.test_paths), [int(label) for label in split.test_labels],
                           [int(flag) for flag in split.test_is_caricature],
                           [int(label) for label in split.test_pair_labels])


def missing_modality_warning(train_is_caricature):
    """A warning when the training split holds no caricature (or no photo): that loss is 0 all along."""
    caricatures = int(sum(train_is_caricature))
    if caricatures == 0:
        return "warning: no caricature in the training split: L3 is 0 and the caricature head will not learn"
    if caricatures == len(train_is_caricature):
        return "warning: no photo in the training split: L2 is 0 and the photo head will not learn"
    return None


def counted_batches(pipeline, out=None):
    """`batches(epoch, skip)` of the pipeline for the train step (int64 labels and modality flags);
    after each epoch it prints how many reads were skipped."""

    def batches(epoch, skip):
        import tensorflow as tf

        before = sum(pipeline.skips.counts.values())
        for images, labels, is_cari in pipeline.batches(epoch, skip):
            yield images, tf.cast(labels, tf.int64), tf.cast(is_cari, tf.int64)
        skipped = sum(pipeline.skips.counts.values()) - before
        if skipped:
            print(f"epoch {epoch}: {skipped} undecodable image reads skipped and replaced "
                  f"({len(pipeline.skipped_files)} distinct files so far)", file=out or sys.stderr)

    return batches


def load_training_data(config):
    """The split and input pipeline of a DataConfig, ready for the trainer: a tf.data pipeline under
    TensorFlow, the in-memory numpy pipeline under JAX (which imports no TensorFlow).

    Args:
        config: the DataConfig.
    Returns:
        (TrainingData, number of classes of the training split).
    """
    from cari_mtl.runtime.backend import is_jax

    if is_jax():
        return load_array_training_data(config)
    import tensorflow as tf

    from cari_mtl.data.pipeline import TrainingPipeline

    split = read_reported_split(config)
    pipeline = TrainingPipeline.from_split(
        split, config.image_size, config.batch_size, config.epoch_size, seed=config.seed,
        random_crop=config.random_crop, random_flip=config.random_flip, random_rotate=config.random_rotate,
        num_parallel_calls=config.preprocess_threads or tf.data.AUTOTUNE,
        standardization=config.image_standardization)
    return (TrainingData(counted_batches(pipeline), evaluation_split(split), list(split.class_names)),
            len(split.class_names))


def load_array_training_data(config):
    """(TrainingData, number of classes) of a DataConfig, with the in-memory numpy pipeline."""
    from cari_mtl.data.array_pipeline import ArrayPipeline

    split = read_reported_split(config, "; decoding the training images into memory")
    pipeline = ArrayPipeline.from_split(
        split, config.image_size, config.batch_size, config.epoch_size, seed=config.seed,
        random_crop=config.random_crop, random_flip=config.random_flip, random_rotate=config.random_rotate,
        standardization=config.image_standardization, workers=config.preprocess_threads or 4)
    return TrainingData(pipeline.batches, evaluation_split(split), list(split.class_names)), len(split.class_names)

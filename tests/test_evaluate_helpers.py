"""Shared pieces of the evaluation tests: a saved untrained model and distinct synthetic face images."""

import cv2
import numpy as np

from cari_mtl.evaluation.config import EvaluationConfig
from cari_mtl.model.loading import ModelSource
from cari_mtl.model.model_dir import ModelConfig, save_model_dir

IMAGE_SIZE = 80
NROF_CLASSES = 6


def save_untrained_model(directory):
    """A freshly built (untrained) 80 px model directory."""
    config = ModelConfig(image_size=IMAGE_SIZE, nrof_classes=NROF_CLASSES)
    return save_model_dir(config.build(), directory, config)


def write_image(path, seed):
    """A distinct smooth colour pattern per seed, so an untrained network embeds images apart."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(6, 6, 3)).astype(np.uint8)
    image = cv2.resize(coarse, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_CUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")
    return str(path)


def evaluation_config(model_dir, logs_base_dir, **overrides):
    """The EvaluationConfig of the evaluation flows, with the scripts' defaults and batches of 8."""
    return EvaluationConfig(ModelSource(str(model_dir)), logs_base_dir=str(logs_base_dir), batch_size=8, **overrides)

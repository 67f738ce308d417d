"""Shared pieces of the evaluation tests: saved untrained models, synthetic face images and CaVI trees,
the scripts' mains."""

import runpy
from pathlib import Path

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


SCRIPTS = Path(__file__).resolve().parents[2] / "evaluate"
IDENTITIES = ("Anna_Lee", "Bob_Stone", "Carl_Ito", "Dora_Moss")


def script_main(name):
    return runpy.run_path(str(SCRIPTS / name), run_name="under_test")["main"]


def write_cavi(root):
    """Real/<Id>/<Id>_r_<n>.jpg and Caricature/<id>/<id>_c_<n>.jpg (caricature folders lower case, as
    some real ones), and a pairs file in the original format with backslashes and upper-case paths."""
    seed = 0
    for identity in IDENTITIES:
        for n in range(1, 4):
            write_image(root / "Real" / identity / f"{identity}_r_{n}.jpg", seed)
            write_image(root / "Caricature" / identity.lower() / f"{identity.lower()}_c_{n}.jpg", seed + 100)
            seed += 1
    lines = []
    for a, first in enumerate(IDENTITIES):
        for b, second in enumerate(IDENTITIES):
            for n in (1, 2, 3):
                cari = f"Caricature/{first}\\{first.lower()}_c_{n}.jpg"
                lines.append(f"{first.lower()} {cari} {second.lower()} Real/{second}\\{second}_r_{n}.jpg "
                             f"{int(a == b)}")
    (root / "testing_1.txt").write_text("\n".join(lines) + "\n")
    return len(lines)


SMALL_NETWORK = str(Path(__file__).resolve().parents[1] / "small_network.py")


def small_model_dir(directory):
    """An untrained small-network model directory (seconds to trace)."""
    config = ModelConfig(image_size=IMAGE_SIZE, nrof_classes=NROF_CLASSES, model_def=SMALL_NETWORK)
    return save_model_dir(config.build(), directory, config)

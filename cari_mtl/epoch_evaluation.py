"""The per-epoch evaluation of the training scripts (spec §5) on the test split.

Test images are decoded once (the original's evaluation loader: prewhiten, then resize) and kept
in memory; every epoch runs one compiled inference pass over them and reports
verification_accuracy (10-fold, test pairs, branch-1 embeddings), photo_id_accuracy,
caricature_id_accuracy, v2c_accuracy and c2v_accuracy, as fractions.
"""

import sys
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from cari_mtl import metrics
from cari_mtl.data.eval_loader import load_eval_image
from cari_mtl.features import inference_function

METRIC_KEYS = ("verification_accuracy", "photo_id_accuracy", "caricature_id_accuracy", "v2c_accuracy",
               "c2v_accuracy")


@dataclass
class EvaluationSplit:
    """pair_paths [2P] (caricature, photo, caricature, ...), pair_issame [P]; identification images."""
    pair_paths: list
    pair_issame: list
    id_paths: list
    id_labels: list
    id_is_cari: list


def kept_pairs(nrof_pairs, batch_size, nrof_folds):
    """Pairs the original's training-time verification keeps: whole batches of images only (quirk).

    When that would leave fewer pairs than folds (tiny test sets) every pair is kept instead.
    """
    kept = (2 * nrof_pairs // batch_size) * batch_size // 2
    return kept if kept >= nrof_folds else nrof_pairs


def one_class_warning(pair_issame, nrof_kept):
    """A warning when the kept pairs are all same (or all different) pairs, else None.

    The original keeps the head of the pairs list, and a pairs file sorted same-first (as CaVI's)
    can leave no different pair: any threshold above every distance then scores 1.0.
    """
    kept = np.asarray(pair_issame[:nrof_kept], bool)
    if not metrics.is_one_sided(kept):
        return None
    kind = "same" if kept[0] else "different"
    return (f"warning: training-time verification keeps the first {nrof_kept} of {len(pair_issame)} test pairs "
            f"(whole --lfw_batch_size batches of images, as the original) and they are all {kind} pairs, so "
            f"its accuracy means nothing; lower --lfw_batch_size or run evaluate/evaluate_cavi.py")


class EpochEvaluator:
    """Loads the test images once; `evaluate()` returns (metrics dict, features dict).

    jit_compile: compile the forward pass with XLA (--xla); outputs are float32 under any dtype policy.
    """

    def __init__(self, model, image_size, split, batch_size=100, nrof_folds=10, far=0.01, mode="euclidean",
                 progress=True, jit_compile=False):
        self.split = split
        self.batch_size = batch_size
        self.nrof_folds = nrof_folds
        self.far = far
        self.mode = mode
        self.progress = progress
        self.paths = list(dict.fromkeys(list(split.pair_paths) + list(split.id_paths)))
        self.row = {path: index for index, path in enumerate(self.paths)}
        self.images = np.zeros((len(self.paths), image_size, image_size, 3), np.float32)
        for index, path in enumerate(tqdm(self.paths, desc="loading test images", unit="img", disable=not progress)):
            try:
                self.images[index] = load_eval_image(path, image_size)
            except (OSError, ValueError) as error:
                raise ValueError(f"test image {path} cannot be read ({error}); check --data_dir and "
                                 f"--test_pairs") from None
        self.nrof_pairs = kept_pairs(len(split.pair_issame), batch_size, nrof_folds)
        warning = one_class_warning(split.pair_issame, self.nrof_pairs)
        if warning:
            print(warning, file=sys.stderr)
        self._infer = inference_function(model, ("embeddings", "logits_visual", "logits_cari"), jit_compile)

    def features(self):
        outputs = {}
        starts = range(0, len(self.paths), self.batch_size)
        for start in tqdm(starts, desc="evaluating", unit="batch", disable=not self.progress, leave=False):
            batch = self.images[start:start + self.batch_size]
            padded = np.zeros((self.batch_size,) + batch.shape[1:], np.float32)
            padded[:len(batch)] = batch
            for name, value in self._infer(tf.constant(padded)).items():
                outputs.setdefault(name, []).append(value.numpy()[:len(batch)])
        return {name: np.concatenate(values) for name, values in outputs.items()}

    def evaluate(self):
        features = self.features()
        pair_rows = [self.row[p] for p in self.split.pair_paths[:2 * self.nrof_pairs]]
        issame = np.asarray(self.split.pair_issame[:self.nrof_pairs], bool)
        verification = metrics.evaluate_verification(features["embeddings"][pair_rows], issame, self.nrof_folds,
                                                     self.far, mode=self.mode)
        id_rows = [self.row[p] for p in self.split.id_paths]
        tasks = metrics.task_accuracies(features["logits_visual"][id_rows], features["logits_cari"][id_rows],
                                        np.asarray(self.split.id_labels), np.asarray(self.split.id_is_cari, bool))
        result = {"verification_accuracy": float(verification["accuracy_mean"]),
                  "photo_id_accuracy": tasks["photo"], "caricature_id_accuracy": tasks["caricature"],
                  "v2c_accuracy": tasks["v2c"], "c2v_accuracy": tasks["c2v"],
                  "verification_val": float(verification["val_mean"])}
        saved = {"pair_embeddings": features["embeddings"][pair_rows], "pair_issame": issame,
                 "id_embeddings": features["embeddings"][id_rows], "id_labels": np.asarray(self.split.id_labels)}
        return result, saved

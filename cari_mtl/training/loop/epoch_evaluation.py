"""The per-epoch evaluation of the training scripts on the test split (PORTING T13, T16).

Test images are decoded once (the original's evaluation loader: standardise, then resize) and kept
in memory; every epoch runs one compiled inference pass over them and reports
verification_accuracy (10-fold, test pairs, branch-1 embeddings), photo_id_accuracy,
caricature_id_accuracy, v2c_accuracy and c2v_accuracy, as fractions, plus verification_val and
verification_mix_accuracy (argmax of `logits_verif` on the pair images, the original's column 6).

The verification takes every test pair in a seeded random order, as evaluate/evaluate_cavi.py does;
`legacy_folds` keeps the original's first whole batches of pairs in file order (PORTING T13, T16).
"""

import sys
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from cari_mtl.evaluation import metrics
from cari_mtl.evaluation.features import inference_function
from cari_mtl.images.eval_loader import load_eval_image

METRIC_KEYS = ("verification_accuracy", "photo_id_accuracy", "caricature_id_accuracy", "v2c_accuracy",
               "c2v_accuracy")


@dataclass
class EvaluationSplit:
    """pair_paths [2P] (caricature, photo, caricature, ...), pair_issame [P], pair_labels [2P];
    identification images."""
    pair_paths: list
    pair_issame: list
    id_paths: list
    id_labels: list
    id_is_cari: list
    pair_labels: list


def check_folds(nrof_pairs, nrof_folds):
    """ValueError when the evaluated test pairs cannot fill `nrof_folds` folds."""
    if nrof_pairs < nrof_folds:
        raise ValueError(f"the test split has {nrof_pairs} usable pair(s), fewer than --lfw_nrof_folds {nrof_folds}: "
                         f"lower --lfw_nrof_folds (>= 2), or use more test pairs (a smaller --downsample)")


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


def verification_pairs(pair_issame, batch_size, nrof_folds, seed=0, legacy_folds=False):
    """Indices of the test pairs the verification uses, in fold order.

    Default: every pair, permuted by `seed` exactly as evaluate/evaluate_cavi.py shuffles them.
    legacy_folds: the original's first whole batches of pairs in file order (`kept_pairs`).
    """
    if legacy_folds:
        return np.arange(kept_pairs(len(pair_issame), batch_size, nrof_folds))
    return metrics.pair_order(len(pair_issame), seed)


class EpochEvaluator:
    """Loads the test images once; `evaluate()` returns (metrics dict, features dict).

    jit_compile: compile the forward pass with XLA (--xla); outputs are float32 under any dtype policy.
    seed / legacy_folds: which test pairs in which order (`verification_pairs`); legacy_val: VAL on
    the training folds as the original; standardization: of the test images, as the model was trained.
    """

    def __init__(self, model, image_size, split, batch_size=100, nrof_folds=10, far=0.01, mode="euclidean",
                 progress=True, jit_compile=False, seed=0, legacy_folds=False, legacy_val=False,
                 standardization="prewhiten"):
        self.split = split
        self.batch_size = batch_size
        self.nrof_folds = nrof_folds
        self.far = far
        self.mode = mode
        self.progress = progress
        self.legacy_val = legacy_val
        self.paths = list(dict.fromkeys(list(split.pair_paths) + list(split.id_paths)))
        self.row = {path: index for index, path in enumerate(self.paths)}
        self.images = np.zeros((len(self.paths), image_size, image_size, 3), np.float32)
        for index, path in enumerate(tqdm(self.paths, desc="loading test images", unit="img", disable=not progress)):
            try:
                self.images[index] = load_eval_image(path, image_size, standardization)
            except (OSError, ValueError) as error:
                raise ValueError(f"test image {path} cannot be read ({error}); check --data_dir and "
                                 f"--test_pairs") from None
        self.pairs = verification_pairs(split.pair_issame, batch_size, nrof_folds, seed, legacy_folds)
        self.issame = np.asarray(split.pair_issame, bool)[self.pairs]
        self.pair_paths = [split.pair_paths[2 * pair + side] for pair in self.pairs for side in (0, 1)]
        self.pair_labels = np.asarray([split.pair_labels[2 * pair + side] for pair in self.pairs for side in (0, 1)])
        warning = one_class_warning(self.issame, len(self.issame)) if legacy_folds else None
        if warning:
            print(warning, file=sys.stderr)
        one_sided = metrics.one_sided_folds(self.issame, nrof_folds)
        if one_sided and not warning:
            print(f"warning: per-epoch verification folds {', '.join(map(str, one_sided))} of {nrof_folds} hold test "
                  f"pairs of one kind only ({int(self.issame.sum())} same, {int((~self.issame).sum())} different): "
                  f"their AUC and VAL are 0; use more test pairs (--downsample) or fewer folds (--lfw_nrof_folds)",
                  file=sys.stderr)
        self._infer = inference_function(model, ("embeddings", "logits_verif", "logits_visual", "logits_cari"),
                                         jit_compile)

    def features(self):
        outputs = {}
        batch_size = min(self.batch_size, len(self.paths))  # a --lfw_batch_size beyond the test set is capped
        starts = range(0, len(self.paths), batch_size)
        for start in tqdm(starts, desc="evaluating", unit="batch", disable=not self.progress, leave=False):
            batch = self.images[start:start + batch_size]
            padded = np.zeros((batch_size,) + batch.shape[1:], np.float32)
            padded[:len(batch)] = batch
            for name, value in self._infer(padded).items():
                outputs.setdefault(name, []).append(np.asarray(value)[:len(batch)])
        return {name: np.concatenate(values) for name, values in outputs.items()}

    def evaluate(self):
        features = self.features()
        pair_rows = [self.row[p] for p in self.pair_paths]
        issame = self.issame
        verification = metrics.evaluate_verification(features["embeddings"][pair_rows], issame, self.nrof_folds,
                                                     self.far, legacy_val=self.legacy_val, mode=self.mode)
        id_rows = [self.row[p] for p in self.split.id_paths]
        tasks = metrics.task_accuracies(features["logits_visual"][id_rows], features["logits_cari"][id_rows],
                                        np.asarray(self.split.id_labels), np.asarray(self.split.id_is_cari, bool))
        result = {"verification_accuracy": float(verification["accuracy_mean"]),
                  "photo_id_accuracy": tasks["photo"], "caricature_id_accuracy": tasks["caricature"],
                  "v2c_accuracy": tasks["v2c"], "c2v_accuracy": tasks["c2v"],
                  "verification_val": float(verification["val_mean"]), "verification_far": float(self.far),
                  "verification_threshold": float(verification["best_threshold"]),
                  "verification_mix_accuracy": metrics.classification_accuracy(features["logits_verif"][pair_rows],
                                                                               self.pair_labels)}
        saved = {"pair_embeddings": features["embeddings"][pair_rows], "pair_issame": issame,
                 "pair_labels": self.pair_labels, "id_embeddings": features["embeddings"][id_rows],
                 "id_labels": np.asarray(self.split.id_labels), "id_is_cari": np.asarray(self.split.id_is_cari)}
        return result, saved

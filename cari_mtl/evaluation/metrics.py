"""Verification and identification metrics of the paper's protocols (PORTING E1-E11), vectorised with numpy.

The verification functions return a dict with the keys accuracy [F], accuracy_mean, accuracy_std,
best_thresholds [F], best_threshold (mean of the folds' thresholds, as the original reports), val [F], val_mean,
val_std, far (the target), far_measured [F], val_thresholds [F], auc [F], auc_mean, auc_std,
thresholds [T], tprs / fprs [F, T] (each fold's test ROC), tpr / fpr [T] (fold means),
fp_indices / fn_indices (pairs wrong at best_threshold over all pairs), pairs_same,
pairs_different, legacy_val; evaluate_verification adds mode.

Semantics follow facenet_ext.calculate_roc / calculate_val of the original exactly: contiguous
folds without shuffling (sizes as sklearn's KFold), accuracy thresholds arange(0, 4, 0.01) with the
first best training-fold threshold, VAL thresholds arange(0, 4, 0.001) interpolated at the target
FAR as scipy < 1.9's interp1d(kind='slinear') did on the training folds' FAR curve (0 when the
FAR never reaches the target). VAL is measured on the test fold; `legacy_val=True` measures it on
the training folds as the original does (its bug) and orders runs of equal FAR as the original's
numpy did before interpolating (`legacy_argsort`). Threshold sweeps count distances below each
threshold with sorted arrays and searchsorted, so no Python loop runs over thresholds or pairs.
"""

import numpy as np
from sklearn.decomposition import PCA

from cari_mtl.evaluation.legacy_argsort import legacy_argsort

ACCURACY_THRESHOLDS = np.arange(0, 4, 0.01)
VAL_THRESHOLDS = np.arange(0, 4, 0.001)
MODES = ("euclidean", "similarity")


def kfold_slices(nrof_pairs, nrof_folds):
    """Test-fold (start, stop) pairs: contiguous, the first `P % F` folds one pair longer (sklearn KFold)."""
    if nrof_folds < 2:
        raise ValueError(f"nrof_folds must be at least 2, got {nrof_folds}")
    if nrof_pairs < nrof_folds:
        raise ValueError(
            f"{nrof_pairs} pairs cannot be split into {nrof_folds} folds: use more pairs "
            f"(a smaller --downsample) or fewer folds (--lfw_nrof_folds)"
        )
    sizes = np.full(nrof_folds, nrof_pairs // nrof_folds)
    sizes[: nrof_pairs % nrof_folds] += 1
    stops = np.cumsum(sizes)
    return list(zip((stops - sizes).tolist(), stops.tolist()))


def pair_distances(embeddings, mode="euclidean", pca_components=128):
    """Distance of each consecutive pair of rows: squared L2, or cosine distance after PCA."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] % 2:
        raise ValueError(
            f"embeddings must be [2 x pairs, dim] with consecutive rows forming a pair, got shape {embeddings.shape}"
        )
    if mode == "euclidean":
        diff = np.subtract(embeddings[0::2], embeddings[1::2])
        return np.sum(np.square(diff, out=diff), axis=1)
    if mode == "similarity":
        projected = _pca(embeddings, pca_components)
        first, second = projected[0::2], projected[1::2]
        norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
        return 1.0 - np.sum(first * second, axis=1) / norms
    raise ValueError(f"unknown evaluation mode {mode!r}: use one of {MODES}")


def _pca(embeddings, components):
    """PCA fitted on all rows; exact SVD so that the result does not depend on a random state."""
    components = min(components, *embeddings.shape)
    return PCA(n_components=components, svd_solver="full").fit_transform(embeddings)


def pair_order(nrof_pairs, seed):
    """The seeded order in which the evaluations shuffle test pairs before the folds (PORTING E4)."""
    return np.random.default_rng(seed).permutation(nrof_pairs)


def is_one_sided(actual_issame):
    """True when pair labels [P] hold no same pair or no different pair (P > 0)."""
    same = np.asarray(actual_issame, dtype=bool)
    return same.size > 0 and (same.all() or not same.any())


def one_sided_folds(actual_issame, nrof_folds=10):
    """1-based numbers of the test folds that hold only same or only different pairs.

    In such a fold the ROC has no false-positive (or true-positive) axis: its AUC is 0 and its
    FAR or VAL is 0 by the original's convention, which pulls the means down.
    """
    same = np.asarray(actual_issame, dtype=bool)
    return [number for number, (start, stop) in enumerate(kfold_slices(same.size, nrof_folds), start=1)
            if is_one_sided(same[start:stop])]


def evaluate_verification(embeddings, actual_issame, nrof_folds=10, far_target=0.01, legacy_val=False,
                          mode="euclidean", pca_components=128):
    """The paper's k-fold verification protocol on pair-ordered embeddings (see the module docstring).

    Args:
        embeddings: [2P, D], rows 2i and 2i + 1 are pair i.
        actual_issame: [P] bool.
        nrof_folds: folds of the pairs, in order; far_target: FAR at which VAL is reported.
        legacy_val: VAL on the training folds, as the original (PORTING E1).
        mode: 'euclidean' (squared L2) or 'similarity' (PCA to `pca_components`, then cosine).
    Returns:
        dict of verification_from_distances plus `mode`.
    """
    dist = pair_distances(embeddings, mode, pca_components)
    result = verification_from_distances(dist, actual_issame, nrof_folds, far_target, legacy_val)
    result["mode"] = mode
    return result


def verification_from_distances(dist, actual_issame, nrof_folds=10, far_target=0.01, legacy_val=False):
    """Accuracy, VAL@FAR, ROC and AUC per fold from pair distances.

    Args: dist [P] pair distances, actual_issame [P] bool; nrof_folds, far_target, legacy_val as evaluate_verification.
    Returns: dict with the verification keys of the module docstring.
    """
    dist = np.asarray(dist, dtype=np.float64)
    same = np.asarray(actual_issame, dtype=bool)
    if dist.shape != same.shape or dist.ndim != 1:
        raise ValueError(f"{dist.shape[0] if dist.ndim else 0} pair distances but {same.size} pair labels")
    if not 0.0 <= far_target <= 1.0:
        raise ValueError(f"far_target must lie in [0, 1], got {far_target}")
    folds = kfold_slices(dist.size, nrof_folds)
    sorted_folds = _SortedFolds(dist, same, folds)
    acc_counts = _FoldCounts(sorted_folds, ACCURACY_THRESHOLDS)
    val_counts = _FoldCounts(sorted_folds, VAL_THRESHOLDS)

    train_correct = acc_counts.train_pos_below + (acc_counts.train_neg - acc_counts.train_neg_below)
    best_index = np.argmax(train_correct, axis=1)
    best_thresholds = ACCURACY_THRESHOLDS[best_index]
    rows = np.arange(len(folds))
    test_correct = acc_counts.test_pos_below + (acc_counts.test_neg - acc_counts.test_neg_below)
    accuracy = test_correct[rows, best_index] / acc_counts.test_size[:, 0]
    tprs = _rate(acc_counts.test_pos_below, acc_counts.test_pos)
    fprs = _rate(acc_counts.test_neg_below, acc_counts.test_neg)
    auc = np.trapezoid(tprs, fprs, axis=1)

    val, far_measured, val_thresholds = _val_at_far(dist, same, folds, val_counts, far_target, legacy_val)

    best_threshold = float(np.mean(best_thresholds))
    predicted = dist < best_threshold
    return {
        "accuracy": accuracy,
        "accuracy_mean": float(np.mean(accuracy)),
        "accuracy_std": float(np.std(accuracy)),
        "best_thresholds": best_thresholds,
        "best_threshold": best_threshold,
        "val": val,
        "val_mean": float(np.mean(val)),
        "val_std": float(np.std(val)),
        "far": float(far_target),
        "far_measured": far_measured,
        "val_thresholds": val_thresholds,
        "auc": auc,
        "auc_mean": float(np.mean(auc)),
        "auc_std": float(np.std(auc)),
        "thresholds": ACCURACY_THRESHOLDS,
        "tprs": tprs,
        "fprs": fprs,
        "tpr": np.mean(tprs, axis=0),
        "fpr": np.mean(fprs, axis=0),
        "fp_indices": np.flatnonzero(predicted & ~same),
        "fn_indices": np.flatnonzero(~predicted & same),
        "pairs_same": int(np.sum(same)),
        "pairs_different": int(np.sum(~same)),
        "legacy_val": bool(legacy_val),
    }


class _SortedFolds:
    """Sorted distances of the same and of the different pairs of each test fold and of all pairs,
    sorted once and shared by both threshold grids."""

    def __init__(self, dist, same, folds):
        self.all_pos = np.sort(dist[same])
        self.all_neg = np.sort(dist[~same])
        self.test_pos = [np.sort(dist[a:b][same[a:b]]) for a, b in folds]
        self.test_neg = [np.sort(dist[a:b][~same[a:b]]) for a, b in folds]


class _FoldCounts:
    """Per fold and threshold, how many same / different pairs lie strictly below the threshold.

    Arrays are [F, T] (counts below) or [F, 1] (totals), for the test fold and for the union of
    the other folds (training) — the latter as all pairs minus the test fold.
    """

    def __init__(self, sorted_folds, thresholds):
        all_pos_below = _count_below(sorted_folds.all_pos, thresholds)
        all_neg_below = _count_below(sorted_folds.all_neg, thresholds)
        self.test_pos_below = np.stack([_count_below(values, thresholds) for values in sorted_folds.test_pos])
        self.test_neg_below = np.stack([_count_below(values, thresholds) for values in sorted_folds.test_neg])
        self.test_pos = np.array([[values.size] for values in sorted_folds.test_pos])
        self.test_neg = np.array([[values.size] for values in sorted_folds.test_neg])
        self.test_size = self.test_pos + self.test_neg
        self.train_pos_below = all_pos_below[None, :] - self.test_pos_below
        self.train_neg_below = all_neg_below[None, :] - self.test_neg_below
        self.train_pos = sorted_folds.all_pos.size - self.test_pos
        self.train_neg = sorted_folds.all_neg.size - self.test_neg


def _count_below(sorted_values, thresholds):
    """#(values < t) for every threshold t, from values sorted ascending."""
    return np.searchsorted(sorted_values, thresholds, side="left")


def _rate(count, total):
    """count / total, 0 where total is 0 (the original's convention for TPR, FPR, VAL, FAR)."""
    total = np.broadcast_to(total, count.shape)
    return np.divide(count, total, out=np.zeros(count.shape), where=total > 0)


def _val_at_far(dist, same, folds, counts, far_target, legacy_val):
    """Per fold: the training folds' threshold at FAR = target, then VAL and FAR at it."""
    far_train = _rate(counts.train_neg_below, counts.train_neg)
    val = np.zeros(len(folds))
    far = np.zeros(len(folds))
    thresholds = np.zeros(len(folds))
    everything = np.arange(dist.size)
    for fold, (start, stop) in enumerate(folds):
        if np.max(far_train[fold]) >= far_target:
            thresholds[fold] = _threshold_at_far(far_train[fold], far_target, legacy_val)
        measured = (everything < start) | (everything >= stop) if legacy_val else slice(start, stop)
        predicted = dist[measured] < thresholds[fold]
        actual = same[measured]
        val[fold] = _rate(np.array([np.sum(predicted & actual)]), np.sum(actual))[0]
        far[fold] = _rate(np.array([np.sum(predicted & ~actual)]), np.sum(~actual))[0]
    return val, far, thresholds


def _threshold_at_far(far_curve, far_target, legacy_val):
    """The VAL threshold at the target FAR. `legacy_val` sorts the curve first as the original's
    interp1d did (numpy <= 1.16's unstable argsort, which reorders runs of equal FAR); otherwise
    the curve is used in threshold order."""
    if not legacy_val:
        return slinear_interpolate(far_curve, VAL_THRESHOLDS, far_target)
    order = legacy_argsort(far_curve)
    return slinear_interpolate(far_curve[order], VAL_THRESHOLDS[order], far_target)


def slinear_interpolate(x, y, point):
    """y at `point` on the piecewise-linear path through (x_i, y_i), x non-decreasing with repeats.

    This is what scipy's interp1d(x, y, kind='slinear') returned before scipy 1.9 (1.9 and later reject
    repeated x): between two distinct values it joins the last point of the lower run to the first
    point of the higher run; on a repeated value it returns y of the run's last point.
    """
    x = np.asarray(x, dtype=np.float64)
    if not x[0] <= point <= x[-1]:
        raise ValueError(f"{point} lies outside the interpolation range [{x[0]}, {x[-1]}]")
    high = min(int(np.searchsorted(x, point, side="right")), x.size - 1)
    low = high - 1
    if x[high] == x[low]:
        return float(y[high])
    return float(y[low] + (point - x[low]) * (y[high] - y[low]) / (x[high] - x[low]))


def classification_accuracy(logits, labels):
    """Fraction of rows whose arg-max logit (first on ties) is the label; NaN for no rows."""
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.shape[0] != labels.shape[0]:
        raise ValueError(f"{logits.shape[0]} rows of logits but {labels.shape[0]} labels")
    if labels.size == 0:
        return float("nan")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def task_accuracies(logits_photo, logits_cari, labels, is_cari):
    """Identification accuracy of the four tasks of Table 2 (PORTING E11).

    Args: logits_photo, logits_cari [N, K] of the photo and caricature heads; labels [N]; is_cari [N] bool.
    Returns:
        {"photo": photo branch on photos, "caricature": caricature branch on caricatures, "v2c":
        caricature branch on photos, "c2v": photo branch on caricatures}, fractions (NaN when empty).
    """
    is_cari = np.asarray(is_cari, dtype=bool)
    labels = np.asarray(labels)
    logits_photo = np.asarray(logits_photo)
    logits_cari = np.asarray(logits_cari)
    photo = ~is_cari
    return {
        "photo": classification_accuracy(logits_photo[photo], labels[photo]),
        "caricature": classification_accuracy(logits_cari[is_cari], labels[is_cari]),
        "v2c": classification_accuracy(logits_cari[photo], labels[photo]),
        "c2v": classification_accuracy(logits_photo[is_cari], labels[is_cari]),
    }


def squared_distance_matrix(probe_embeddings, gallery_embeddings):
    """[Q, G] squared L2 distances, float64."""
    probe = np.asarray(probe_embeddings, dtype=np.float64)
    gallery = np.asarray(gallery_embeddings, dtype=np.float64)
    cross = (2.0 * probe) @ gallery.T  # exactly 2 x (probe @ gallery.T): scaling by 2 rounds nothing
    squared = np.sum(probe * probe, axis=1)[:, None] + np.sum(gallery * gallery, axis=1)[None, :]
    squared -= cross
    return np.maximum(squared, 0.0, out=squared)


def rank_ranks(probe_embeddings, probe_labels, gallery_embeddings, gallery_labels):
    """1-based rank of the first correct gallery image for each probe (ties: lower gallery index first).

    A probe whose identity is absent from the gallery gets rank G + 1, so it never counts as a hit.
    """
    dist = squared_distance_matrix(probe_embeddings, gallery_embeddings)
    correct = np.asarray(probe_labels)[:, None] == np.asarray(gallery_labels)[None, :]
    masked = np.where(correct, dist, np.inf)
    first_correct = np.argmin(masked, axis=1)
    best = masked[np.arange(dist.shape[0]), first_correct][:, None]
    tie_rows, tie_columns = np.nonzero(dist == best)
    tied_before = np.bincount(tie_rows[tie_columns < first_correct[tie_rows]], minlength=dist.shape[0])
    ranks = np.count_nonzero(dist < best, axis=1) + tied_before + 1
    return np.where(np.any(correct, axis=1), ranks, dist.shape[1] + 1)


def rank_n_accuracy(probe_embeddings, probe_labels, gallery_embeddings, gallery_labels, ranks=(1, 10)):
    """Rank-N identification accuracy by squared L2 distance (PORTING E9, E10).

    Args: probe_embeddings [Q, D], probe_labels [Q], gallery_embeddings [G, D], gallery_labels [G]; ranks: the n.
    Returns: {n: fraction of probes whose identity is among the n nearest gallery images}.
    """
    found = rank_ranks(probe_embeddings, probe_labels, gallery_embeddings, gallery_labels)
    return {int(n): float(np.mean(found <= n)) for n in ranks}


def legacy_rank_n_accuracy(probe_embeddings, probe_labels, gallery_embeddings, gallery_labels, n=10):
    """The original's Rank-N (evaluate_webcavi_identify.rank_n), bug included.

    It lists the n nearest gallery labels per probe (np.argpartition order) in one flat list, then
    counts probe i as a hit when any of flat[i::n] is correct — entries of other probes, not probe
    i's own n neighbours. flat[i::n] is column i % n of the [Q, n] hit matrix from row i // n down,
    so a reversed cumulative OR per column gives every probe's value at once.
    """
    dist = squared_distance_matrix(probe_embeddings, gallery_embeddings)
    if dist.shape[1] <= n:
        raise ValueError(f"the original's Rank-{n} needs more than {n} gallery images, got {dist.shape[1]}")
    nearest = np.argpartition(dist, n, axis=1)[:, :n]
    hits = np.asarray(gallery_labels)[nearest] == np.asarray(probe_labels)[:, None]
    below = np.flip(np.logical_or.accumulate(np.flip(hits, axis=0), axis=0), axis=0)
    probes = np.arange(dist.shape[0])
    return float(np.mean(below[probes // n, probes % n]))

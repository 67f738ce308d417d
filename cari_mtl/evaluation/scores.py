"""Raw scores of an evaluation run, written as scores.npz beside metrics.json: what its figures come from.

With them a run's figures can be recomputed, other operating points read, and the ROC curves of several
runs overlaid (`cari plot-roc`) without running the network again.

Verification (evaluate_cavi.py, evaluate_webcavi.py):
    distances [P] float64   pair distances in the evaluated order (after the seeded shuffle); "same" when
                            distance < threshold
    issame [P] bool, fold [P] int (0-based test fold of each pair), pair_paths [P, 2]
    thresholds [T], far [T], val [T]   the ROC: FAR and VAL (true accept rate) at each threshold, means
                            over the test folds (what roc.png draws); far_folds, val_folds [F, T] per fold
    val_at_far_targets [3], val_at_far [3]   VAL at FAR 1e-3, 1e-2, 1e-1 (also in metrics.json)
Identification (evaluate_webcavi_identify.py), for each protocol <P> that ran (C2P, P2C):
    <P>_ranks [Q] int       1-based rank of the true identity's nearest gallery image (G + 1 when absent)
    <P>_fold [Q] int, <P>_probe_paths [Q]
"""

import numpy as np

from cari_mtl.evaluation import metrics
from cari_mtl.runtime import atomic_files

SCORES_NPZ = "scores.npz"
FAR_TARGETS = (1e-3, 1e-2, 1e-1)


def fold_of_pairs(nrof_pairs, nrof_folds):
    """[P] 0-based test fold of each pair (the contiguous folds of metrics.kfold_slices)."""
    fold = np.zeros(nrof_pairs, dtype=np.int64)
    for index, (start, stop) in enumerate(metrics.kfold_slices(nrof_pairs, nrof_folds)):
        fold[start:stop] = index
    return fold


def far_key(far):
    return f"val_at_far_{far:g}"


def val_at_far_targets(distances, issame, nrof_folds, legacy_val=False):
    """{val_at_far_0.001: VAL mean over the folds, ...} for FAR_TARGETS, by the protocol of --far."""
    return {far_key(far): metrics.verification_from_distances(distances, issame, nrof_folds, far,
                                                               legacy_val)["val_mean"]
            for far in FAR_TARGETS}


def write_verification_scores(path, distances, issame, result, pair_paths, nrof_folds, at_targets):
    """scores.npz of a verification run; `result` is metrics.verification_from_distances's, `at_targets`
    val_at_far_targets's."""
    atomic_files.save_npz(
        path, distances=np.asarray(distances, dtype=np.float64), issame=np.asarray(issame, dtype=bool),
        fold=fold_of_pairs(len(issame), nrof_folds), pair_paths=np.array(pair_paths, dtype=str).reshape(-1, 2),
        thresholds=result["thresholds"], far=result["fpr"], val=result["tpr"], far_folds=result["fprs"],
        val_folds=result["tprs"], val_at_far_targets=np.array(FAR_TARGETS),
        val_at_far=np.array([at_targets[far_key(far)] for far in FAR_TARGETS]),
    )


def write_identification_scores(path, ranked):
    """scores.npz of an identification run from {protocol: [(probe paths, ranks [Q]) per fold]}."""
    arrays = {}
    for protocol, folds in ranked.items():
        arrays[f"{protocol}_ranks"] = np.concatenate([ranks for _, ranks in folds]).astype(np.int64)
        arrays[f"{protocol}_fold"] = np.concatenate([np.full(len(ranks), k) for k, (_, ranks) in enumerate(folds)])
        arrays[f"{protocol}_probe_paths"] = np.array([path for paths, _ in folds for path in paths], dtype=str)
    atomic_files.save_npz(path, **arrays)

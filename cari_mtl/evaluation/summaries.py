"""What a verification's fold figures do not say on small or unbalanced pair sets (PORTING E22).

Beside the original's fold figures: the accuracy of always answering the majority class, a pooled
AUC over all pairs (sklearn), the smallest FAR the different pairs can resolve (one false accept
among them), and a fold AUC mean over the folds that hold both kinds of pairs: a one-class fold has
no ROC, and the original counts its AUC as 0.
"""

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from cari_mtl.evaluation import metrics

SUMMARY_KEYS = ("majority_baseline", "pooled_auc", "far_resolution", "one_class_folds", "auc_mean_all_folds")


def majority_baseline(issame):
    """Accuracy of answering the more frequent label for every pair."""
    same = np.asarray(issame, dtype=bool)
    return float(max(same.mean(), 1.0 - same.mean())) if same.size else float("nan")


def pooled_auc(distances, issame):
    """ROC AUC of -distance as the score of "same", over all pairs at once; NaN with one class only."""
    same = np.asarray(issame, dtype=bool)
    if metrics.is_one_sided(same) or same.size == 0:
        return float("nan")
    return float(roc_auc_score(same, -np.asarray(distances, dtype=np.float64)))


def pooled_roc(distances, issame):
    """(fpr, tpr) of all pairs at once (sklearn roc_curve on -distance)."""
    fpr, tpr, _ = roc_curve(np.asarray(issame, dtype=bool), -np.asarray(distances, dtype=np.float64))
    return fpr, tpr


def far_resolution(issame):
    """The smallest non-zero FAR the different pairs can show (1 / their number); NaN without any."""
    different = int(np.sum(~np.asarray(issame, dtype=bool)))
    return 1.0 / different if different else float("nan")


def unresolved_fars(issame, fars):
    """The FARs of `fars` below far_resolution: a VAL at them is not measured by these pairs."""
    resolution = far_resolution(issame)
    return [float(far) for far in fars if not resolution <= far]


def verification_summary(distances, issame, result, nrof_folds):
    """The keys of SUMMARY_KEYS plus auc_mean / auc_std over the two-class folds (None when there is none).

    result: metrics.verification_from_distances of the same pairs, whose per-fold `auc` it reads.
    """
    one_class = metrics.one_sided_folds(issame, nrof_folds)
    kept = np.array([fold not in one_class for fold in range(1, len(result["auc"]) + 1)], dtype=bool)
    aucs = np.asarray(result["auc"])[kept]
    return {
        "majority_baseline": majority_baseline(issame),
        "pooled_auc": pooled_auc(distances, issame),
        "far_resolution": far_resolution(issame),
        "one_class_folds": one_class,
        "auc_mean_all_folds": float(result["auc_mean"]),
        "auc_mean": float(np.mean(aucs)) if aucs.size else None,
        "auc_std": float(np.std(aucs)) if aucs.size else None,
    }


def far_warning(issame, fars):
    """A warning line when some requested FAR is below what the different pairs resolve, else None."""
    below = unresolved_fars(issame, fars)
    if not below:
        return None
    different = int(np.sum(~np.asarray(issame, dtype=bool)))
    return (f"warning: FAR {', '.join(f'{far:g}' for far in below)} below the smallest FAR {different} different "
            f"pairs can resolve ({far_resolution(issame):.3g}): VAL there is not measured by these pairs; "
            f"use more pairs (a smaller --downsample) or a larger --far")


def summary_lines(summary):
    """The printed summary's extra lines."""
    folds = summary["one_class_folds"]
    auc = "none" if summary["auc_mean"] is None else f"{summary['auc_mean']:1.3f}+-{summary['auc_std']:1.3f}"
    lines = [f"Majority-class baseline: {summary['majority_baseline']:1.3f} (answering always the more frequent "
             f"label)",
             f"Pooled AUC (all pairs): {summary['pooled_auc']:1.3f}",
             f"Smallest resolvable FAR: {summary['far_resolution']:.3g} (one of the different pairs)"]
    if folds:
        lines.append(f"Fold AUC over the two-class folds: {auc}; fold(s) {', '.join(map(str, folds))} hold one kind "
                     f"of pair and are left out (counted as 0, as the original: "
                     f"{summary['auc_mean_all_folds']:1.3f})")
    return lines

"""Text and JSON reports of the evaluation scripts; other tools read metrics.json, keep its keys.

metrics.json, verification: accuracy_mean, accuracy_std, val_mean, val_std, far, auc_mean,
auc_std, best_threshold, pairs_same, pairs_different, and val_at_far_0.001, val_at_far_0.01,
val_at_far_0.1 (cari_mtl.evaluation.scores).
metrics.json, identification: {"C2P": {rank1_mean, rank1_std, rank10_mean, rank10_std}, "P2C": ...}
(only the protocols that ran; `10` is the --rank_n value).
"""

import shutil
from pathlib import Path

from cari_mtl.runtime import atomic_files

VERIFICATION_KEYS = ("accuracy_mean", "accuracy_std", "val_mean", "val_std", "far", "auc_mean", "auc_std",
                     "best_threshold", "pairs_same", "pairs_different")
VALIDATION_REPORT = "validation_on_dataset.txt"
RANK_REPORT = "Rank_on_dataset.txt"
METRICS_JSON = "metrics.json"


def verification_json(result):
    """The verification result reduced to the keys of metrics.json."""
    return {key: result[key] for key in VERIFICATION_KEYS}


def identification_json(summaries, rank_n):
    """{protocol: {rank1_mean, rank1_std, rank<N>_mean, rank<N>_std}} from `summarise_folds` outputs."""
    return {
        protocol: {
            "rank1_mean": summary["rank1_mean"], "rank1_std": summary["rank1_std"],
            f"rank{rank_n}_mean": summary["rankn_mean"], f"rank{rank_n}_std": summary["rankn_std"],
        }
        for protocol, summary in summaries.items()
    }


def write_json(path, document):
    atomic_files.write_json(path, document)


def write_validation_report(path, command_line, result, pair_paths):
    """validation_on_dataset.txt: the original's sections, with both paths of each false pair."""
    false_positives = [pair_paths[i] for i in result["fp_indices"]]
    false_negatives = [pair_paths[i] for i in result["fn_indices"]]
    lines = [
        f"arguments: {command_line}",
        "--------------------",
        f"Evaluation mode: {result['mode']}; VAL measured on the "
        f"{'training folds (--legacy_val)' if result['legacy_val'] else 'test fold'}",
        f"Average accuracy: {result['accuracy_mean']:1.3f}+-{result['accuracy_std']:1.3f}",
        f"Validation rate: {result['val_mean']:2.5f}+-{result['val_std']:2.5f} @ FAR={result['far']:2.5f}",
        f"Best threshold: {result['best_threshold']:2.5f} ",
        f"Area Under Curve (AUC): {result['auc_mean']:1.3f}+-{result['auc_std']:1.3f}",
        f"Pairs: {result['pairs_same']} same, {result['pairs_different']} different",
        "------------- ",
        f"False positive pairs: {len(false_positives)} / {result['pairs_different']} "
        "-----------------------------------------",
        *(f"{i} {first} {second}" for i, (first, second) in enumerate(false_positives)),
        f"False negative pairs: {len(false_negatives)} / {result['pairs_same']} "
        "---------------------------------------",
        *(f"{i} {first} {second}" for i, (first, second) in enumerate(false_negatives)),
        "ROC: tpr, fpr (mean over folds) ---------------------------------------------",
        *(f"tpr/fpr: {tp:f}/{fp:f}" for tp, fp in zip(result["tpr"], result["fpr"])),
    ]
    atomic_files.write_text(path, "\n".join(lines) + "\n")
    return false_positives, false_negatives


def copy_false_pairs(log_dir, false_positives, false_negatives):
    """false_images/false_positive/<i>/ and false_negative/<i>/ hold copies of each pair's images."""
    root = Path(log_dir) / "false_images"
    shutil.rmtree(root, ignore_errors=True)
    for kind, pairs in (("false_positive", false_positives), ("false_negative", false_negatives)):
        (root / kind).mkdir(parents=True)
        for index, pair in enumerate(pairs):
            target = root / kind / str(index)
            target.mkdir()
            for image in pair:
                if Path(image).is_file():
                    shutil.copy(image, target)
    return root


def write_rank_report(path, command_line, summaries, rank_n):
    """Rank_on_dataset.txt: mean +- std over the folds of each protocol."""
    lines = [f"arguments: {command_line}", "--------------------"]
    for protocol, summary in summaries.items():
        lines += [
            f"Protocol {protocol} ({summary['folds']} folds, {summary['ranking']} ranking)",
            f"Rank1 accuracy: {summary['rank1_mean']:1.3f}+-{summary['rank1_std']:1.3f}",
            f"Rank{rank_n} accuracy: {summary['rankn_mean']:1.3f}+-{summary['rankn_std']:1.3f}",
            "Per fold rank1: " + " ".join(f"{value:.4f}" for value in summary["rank1"]),
            f"Per fold rank{rank_n}: " + " ".join(f"{value:.4f}" for value in summary["rankn"]),
        ]
    atomic_files.write_text(path, "\n".join(lines) + "\n")

"""The evaluation flows behind evaluate/*.py: model → embeddings → metrics → reports and figures.

Readers of the datasets (cari_mtl.data.cavi / webcari) hand over image paths and labels; this
module only runs the network and the protocols (PORTING E1-E19) and writes, in a new
`<logs_base_dir>/<YYYYmmdd-HHMMSS>/` directory:
- verification: validation_on_dataset.txt, metrics.json, scores.npz, roc.png (pooled over all pairs),
  roc_fold_mean.png (the original's curve: the mean of the folds' ROC), distances.png, false_pairs.png,
  false_images/{false_positive,false_negative}/<i>/ (copies of each false pair);
- identification: Rank_on_dataset.txt, metrics.json, scores.npz, cmc.png;
- with --features_dir: features.npz (paths and embeddings) there as well.
"""

import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from cari_mtl.evaluation import metrics, plots, reports, scores
from cari_mtl.evaluation import summaries as pair_summaries
from cari_mtl.evaluation.features import compute_features
from cari_mtl.model.loading import open_inference_model
from cari_mtl.runtime import atomic_files
from cari_mtl.runtime.finite_check import NonFiniteError, drop_nonfinite_rows
from cari_mtl.runtime.output_dirs import new_log_dir, require_writable_dir


def check_output_dirs(config):
    """--logs_base_dir and --features_dir must be writable before the forward pass starts."""
    require_writable_dir(config.logs_base_dir, "--logs_base_dir")
    if config.features_dir:
        require_writable_dir(config.features_dir, "--features_dir")


def shuffle_pairs(pair_paths, issame, seed):
    """Pairs and labels in one seeded random order (the original shuffles unseeded before the folds)."""
    order = metrics.pair_order(len(pair_paths), seed)
    return [pair_paths[i] for i in order], [bool(issame[i]) for i in order]


def embed(config, paths):
    """Branch-1 embeddings of the unique `paths`; an unreadable image or a non-finite embedding is an
    error (no figure is computed from NaN, PORTING R1).

    Args:
        config: the EvaluationConfig (model, batch_size, speed).
        paths: image paths, repeats allowed.
    Returns:
        {path: float32 [1792] embedding}.
    """
    model, model_config, jit_compile = open_inference_model(config.model, config.speed)
    unique = list(dict.fromkeys(paths))
    print(f"Running forward pass on {len(unique)} images (image size {model_config.image_size}, "
          f"{model_config.image_standardization}, {model.dtype_policy.name}{', XLA' if jit_compile else ''})")
    features, valid = compute_features(model, model_config.image_size, unique, config.batch_size,
                                       names=("embeddings",), jit_compile=jit_compile,
                                       standardization=model_config.image_standardization)
    if not valid.all():
        unreadable = [path for path, ok in zip(unique, valid) if not ok]
        raise ValueError(
            f"{len(unreadable)} image(s) could not be read, first: {unreadable[0]}; "
            f"check --data_dir and the protocol files"
        )
    nonfinite = drop_nonfinite_rows(features, valid)
    if nonfinite.any():
        raise NonFiniteError(f"{config.model.path} gives non-finite embeddings (NaN/Inf) for {int(nonfinite.sum())} "
                             f"of {len(unique)} images, first: {unique[int(np.argmax(nonfinite))]}; its weights are "
                             f"damaged or overflow: evaluate another model directory")
    return dict(zip(unique, features["embeddings"]))


def verify(config, pair_paths, issame, command_line=None):
    """Runs the verification protocol on (first, second) path pairs and writes its reports and figures.

    Args:
        config: the EvaluationConfig (its ranges checked first: EvaluationConfigError).
        pair_paths: [(first path, second path)], issame: [bool] per pair.
        command_line: written at the top of the report (default: this process's argv).
    Returns:
        (log_dir, result of metrics.evaluate_verification).
    """
    started = time.time()
    config.validate(verification=True)
    check_output_dirs(config)
    if not pair_paths:
        raise ValueError("no pairs to evaluate: the pairs file is empty or every pair was filtered out")
    pair_paths, issame = shuffle_pairs(pair_paths, issame, config.seed)
    flat = [path for pair in pair_paths for path in pair]
    by_path = embed(config, flat)
    embeddings = np.stack([by_path[path] for path in flat])
    result = metrics.evaluate_verification(
        embeddings, issame, nrof_folds=config.nrof_folds, far_target=config.far,
        legacy_val=config.legacy_val, mode=config.mode,
    )
    distances = metrics.pair_distances(embeddings, config.mode)
    at_targets = scores.val_at_far_targets(distances, issame, config.nrof_folds, config.legacy_val)
    summary = pair_summaries.verification_summary(distances, issame, result, config.nrof_folds)
    result.update({**summary, "auc_mean": _number(summary["auc_mean"]), "auc_std": _number(summary["auc_std"])})
    log_dir = new_log_dir(config.logs_base_dir)
    with incomplete_run_named(log_dir):
        scores.write_verification_scores(log_dir / scores.SCORES_NPZ, distances, issame, result, pair_paths,
                                         config.nrof_folds, at_targets)
        false_positives, false_negatives = reports.write_validation_report(
            log_dir / reports.VALIDATION_REPORT, command_line or " ".join(sys.argv), result, pair_paths)
        _plot_rocs(distances, issame, result, log_dir)
        plots.plot_distances(distances, issame, result["best_threshold"], log_dir / "distances.png")
        plots.plot_false_pairs(false_positives, false_negatives, log_dir / "false_pairs.png")
        reports.copy_false_pairs(log_dir, false_positives, false_negatives)
        if config.features_dir:
            _save_features(config.features_dir, flat, embeddings, issame=np.array(issame))
        unresolved = pair_summaries.unresolved_fars(issame, sorted({config.far, *scores.FAR_TARGETS}))
        reports.write_json(log_dir / reports.METRICS_JSON, {**reports.verification_json(result), **at_targets,
                                                           **summary, "far_unresolved": unresolved})
    print(f"Accuracy: {result['accuracy_mean']:1.3f}+-{result['accuracy_std']:1.3f}")
    print(f"Validation rate: {result['val_mean']:2.5f}+-{result['val_std']:2.5f} @ FAR={result['far']:2.5f}")
    print(f"Area Under Curve (AUC): {result['auc_mean']:1.3f}+-{result['auc_std']:1.3f}")
    print("\n".join(pair_summaries.summary_lines(summary)))
    warning = pair_summaries.far_warning(issame, sorted({config.far, *scores.FAR_TARGETS}))
    if warning:
        print(warning, file=sys.stderr)
    one_sided = metrics.one_sided_folds(issame, config.nrof_folds)
    if one_sided:
        print(f"warning: test fold(s) {', '.join(map(str, one_sided))} of {config.nrof_folds} hold pairs of one "
              f"kind only ({sum(issame)} same, {len(issame) - sum(issame)} different pairs in all): they are left out "
              f"of the fold AUC mean (the original counts their AUC as 0) and their FAR or VAL is 0; use more "
              f"pairs (a smaller --downsample) or fewer folds (--lfw_nrof_folds)", file=sys.stderr)
    print(f"{len(pair_paths)} pairs in {time.time() - started:.1f} s; results in {log_dir}")
    return log_dir, result


def identify(config, protocols, command_line=None):
    """Rank-1 / Rank-N per protocol over its folds, written as Rank_on_dataset.txt and metrics.json.

    Args:
        config: the EvaluationConfig (rank_n, legacy_rank among others; its ranges checked first).
        protocols: {name: [(probe_paths, probe_labels, gallery_paths, gallery_labels), ...]} with one
            entry per fold; labels are comparable identity keys (e.g. upper-cased names).
        command_line: written at the top of the report (default: this process's argv).
    Returns:
        (log_dir, {name: summary with rank1/rankn per fold, their means and stds}).
    """
    started = time.time()
    config.validate(verification=False)
    check_output_dirs(config)
    everything = [path for folds in protocols.values() for fold in folds for path in fold[0] + fold[2]]
    if not everything:
        raise ValueError("no probe or gallery images: check --probe, --gallery and --protocol")
    by_path = embed(config, everything)
    summaries = {name: _identify_folds(folds, by_path, config) for name, folds in protocols.items()}
    log_dir = new_log_dir(config.logs_base_dir)
    with incomplete_run_named(log_dir):
        scores.write_identification_scores(log_dir / scores.SCORES_NPZ, {
            name: [(fold[0], ranks) for fold, ranks in zip(folds, summaries[name]["ranks"])]
            for name, folds in protocols.items()})
        reports.write_rank_report(log_dir / reports.RANK_REPORT, command_line or " ".join(sys.argv), summaries,
                                  config.rank_n)
        plots.plot_cmc({name: np.concatenate(summary["ranks"]) for name, summary in summaries.items()},
                       log_dir / "cmc.png", max_rank=max(config.rank_n, 20))
        if config.features_dir:
            paths = list(by_path)
            _save_features(config.features_dir, paths, np.stack([by_path[p] for p in paths]))
        reports.write_json(log_dir / reports.METRICS_JSON, reports.identification_json(summaries, config.rank_n))
    for name, summary in summaries.items():
        print(f"{name}: Rank1 accuracy: {summary['rank1_mean']:1.3f}+-{summary['rank1_std']:1.3f}  "
              f"Rank{config.rank_n} accuracy: {summary['rankn_mean']:1.3f}+-{summary['rankn_std']:1.3f}")
    print(f"{len(by_path)} images in {time.time() - started:.1f} s; results in {log_dir}")
    return log_dir, summaries


def _plot_rocs(distances, issame, result, log_dir):
    """roc.png from all pairs pooled (the fold-mean curve when they hold one kind only), roc_fold_mean.png as
    the original draws it."""
    fold_label = f"mean of the folds' ROC (fold AUC {result['auc_mean']:.3f})"
    plots.plot_roc(result["fpr"], result["tpr"], log_dir / "roc_fold_mean.png", label=fold_label)
    if np.isnan(result["pooled_auc"]):
        plots.plot_roc(result["fpr"], result["tpr"], log_dir / "roc.png", label=fold_label)
    else:
        fpr, tpr = pair_summaries.pooled_roc(distances, issame)
        plots.plot_roc(fpr, tpr, log_dir / "roc.png", label=f"all pairs (AUC {result['pooled_auc']:.3f})")


def _number(value):
    return float("nan") if value is None else value


@contextmanager
def incomplete_run_named(log_dir):
    """A write that fails (full disk, file-size limit) names the run folder as incomplete: metrics.json is
    written last, so a folder without it holds no result to trust; every file in it is whole."""
    try:
        yield
    except OSError as error:
        raise atomic_files.OutputWriteError(f"cannot write the results to {log_dir} ({error}); the folder has no "
                                            f"{reports.METRICS_JSON}, so this evaluation is incomplete: free space "
                                            f"and run it again") from None
    except atomic_files.OutputWriteError as error:
        raise atomic_files.OutputWriteError(f"{error}; {log_dir} has no {reports.METRICS_JSON}, so this "
                                            f"evaluation is incomplete: free space and run it again") from None


def _identify_folds(folds, by_path, config):
    rank1, rankn, ranks = [], [], []
    for probe_paths, probe_labels, gallery_paths, gallery_labels in folds:
        probes = np.stack([by_path[p] for p in probe_paths])
        gallery = np.stack([by_path[p] for p in gallery_paths])
        ranks.append(metrics.rank_ranks(probes, probe_labels, gallery, gallery_labels))
        accuracy = metrics.rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, ranks=(1, config.rank_n))
        rank1.append(accuracy[1])
        if config.legacy_rank:
            rankn.append(metrics.legacy_rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, config.rank_n))
        else:
            rankn.append(accuracy[config.rank_n])
    return {
        "folds": len(folds), "ranking": "legacy" if config.legacy_rank else "exact",
        "rank1": rank1, "rankn": rankn, "ranks": ranks,
        "rank1_mean": float(np.mean(rank1)), "rank1_std": float(np.std(rank1)),
        "rankn_mean": float(np.mean(rankn)), "rankn_std": float(np.std(rankn)),
    }


def _save_features(directory, paths, embeddings, **extra):
    directory = Path(directory).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    atomic_files.save_npz(directory / "features.npz", paths=np.array(paths), embeddings=embeddings, **extra)

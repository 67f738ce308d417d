"""The evaluation summary beside the original's fold figures, on hand-made pair sets (PORTING E22)."""

import json

import cv2
import numpy as np
import pytest
from support.evaluation import small_model_dir, write_cavi

from cari_mtl.commands.evaluate_cavi import main as evaluate_cavi_main
from cari_mtl.evaluation import metrics, plots
from cari_mtl.evaluation.summaries import (
    far_resolution,
    far_warning,
    majority_baseline,
    pooled_auc,
    unresolved_fars,
    verification_summary,
)


def hand_auc(distances, issame):
    """Probability that a same pair is closer than a different pair, ties counting one half."""
    same = [d for d, s in zip(distances, issame) if s]
    different = [d for d, s in zip(distances, issame) if not s]
    wins = sum(1.0 if a < b else 0.5 if a == b else 0.0 for a in same for b in different)
    return wins / (len(same) * len(different))


def test_majority_baseline_is_the_share_of_the_frequent_label():
    assert majority_baseline([True] * 7 + [False]) == 0.875
    assert majority_baseline([False] * 3 + [True]) == 0.75


def test_pooled_auc_counts_every_same_different_pair_ordering():
    rng = np.random.default_rng(4)
    issame = rng.random(40) < 0.6
    distances = np.round(rng.random(40) * 2 + np.where(issame, 0.0, 0.6), 1)  # ties on purpose
    assert pooled_auc(distances, issame) == pytest.approx(hand_auc(distances, issame), abs=1e-12)
    assert np.isnan(pooled_auc([0.1, 0.2], [True, True]))


def test_far_resolution_and_its_warning_for_ten_different_pairs():
    issame = [True] * 70 + [False] * 10
    assert far_resolution(issame) == pytest.approx(0.1)
    assert unresolved_fars(issame, (0.001, 0.01, 0.1)) == [0.001, 0.01]
    warning = far_warning(issame, (0.001, 0.01, 0.1))
    assert warning.startswith("warning: FAR 0.001, 0.01 below") and "10 different pairs" in warning
    assert far_warning(issame, (0.1, 0.5)) is None


def test_one_class_folds_are_left_out_of_the_fold_auc_mean():
    # 4 folds of 5 pairs; fold 1 holds same pairs only.
    issame = np.array([True] * 5 + [True, False, True, False, True] * 3)
    distances = np.where(issame, 0.4, 1.2) + np.linspace(0, 0.3, 20)
    result = metrics.verification_from_distances(distances, issame, nrof_folds=4)
    summary = verification_summary(distances, issame, result, 4)
    assert summary["one_class_folds"] == [1]
    assert result["auc"][0] == 0.0
    per_fold = [hand_auc(distances[start:stop], issame[start:stop]) for start, stop in ((5, 10), (10, 15), (15, 20))]
    assert summary["auc_mean"] == pytest.approx(np.mean(per_fold), abs=1e-9)
    assert summary["auc_mean_all_folds"] == pytest.approx(np.mean([0.0] + per_fold), abs=1e-9)
    assert summary["auc_mean"] > summary["auc_mean_all_folds"]


def test_cmc_and_distance_figures_are_written(tmp_path):
    plots.plot_cmc({"C2P": [1, 2, 1, 5, 30]}, tmp_path / "cmc.png", max_rank=10)
    plots.plot_distances([0.2, 0.5, 1.4, 1.9], [True, True, False, False], 1.1, tmp_path / "distances.png")
    for name in ("cmc.png", "distances.png"):
        assert cv2.imread(str(tmp_path / name)) is not None


@pytest.mark.slow
def test_evaluate_cavi_prints_and_stores_the_summary(tmp_path, capsys):
    model_dir = small_model_dir(tmp_path / "model")
    data = tmp_path / "CaVI_Dataset"
    write_cavi(data)
    logs = tmp_path / "logs"
    assert evaluate_cavi_main(["--data_dir", str(data), "--model_dir", str(model_dir), "--test_pairs",
                               str(data / "testing_1.txt"), "--downsample", "2", "--logs_base_dir", str(logs),
                               "--lfw_batch_size", "16", "--lfw_nrof_folds", "4"]) == 0
    captured = capsys.readouterr()
    run = next(logs.iterdir())
    document = json.loads((run / "metrics.json").read_text())
    scores = np.load(run / "scores.npz")
    assert document["majority_baseline"] == pytest.approx(majority_baseline(scores["issame"]))
    assert document["pooled_auc"] == pytest.approx(hand_auc(scores["distances"], scores["issame"]), abs=1e-9)
    assert document["far_resolution"] == pytest.approx(1 / document["pairs_different"])
    assert document["far_unresolved"] == [0.001, 0.01]
    assert f"Majority-class baseline: {document['majority_baseline']:1.3f}" in captured.out
    assert "Pooled AUC (all pairs)" in captured.out
    assert "warning: FAR 0.001, 0.01 below" in captured.err
    for name in ("roc.png", "roc_fold_mean.png", "distances.png"):
        assert cv2.imread(str(run / name)) is not None


def test_plot_roc_legend_gives_each_run_its_pooled_auc(tmp_path, monkeypatch):
    import cari_mtl.commands.plot_roc as plot_roc

    distances, issame = np.array([0.1, 0.5, 0.3, 0.9]), np.array([True, False, True, False])
    for name, flipped in (("a", False), ("b", True)):
        (tmp_path / name).mkdir()
        np.savez(tmp_path / name / "scores.npz", distances=distances, issame=issame ^ flipped,
                 far=np.linspace(0, 1, 5), val=np.linspace(0, 1, 5))
    drawn = {}
    monkeypatch.setattr(plot_roc, "plot_rocs", lambda curves, path, log_far: drawn.update(curves=curves))
    assert plot_roc.main([str(tmp_path / "a"), str(tmp_path / "b"), "--labels", "A", "B", "--output",
                          str(tmp_path / "overlay.png")]) == 0
    assert [label for label, _, _ in drawn["curves"]] == ["A (AUC 1.000)", "B (AUC 0.000)"]

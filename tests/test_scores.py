"""scores.npz of the evaluation flows reproduces metrics.json (recomputed here by loops), and plot_roc overlays runs."""

import json

import cv2
import numpy as np
import pytest
from support.evaluation import evaluation_config, write_image

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.plot_roc import main as plot_roc_main
from cari_mtl.commands.plot_roc import read_roc
from cari_mtl.evaluation import protocols as evaluation

THRESHOLDS = np.arange(0, 4, 0.01)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    return [write_image(root / f"face_{i}.png", seed=i) for i in range(16)]


@pytest.fixture(scope="module")
def verification_run(model_dir, images, tmp_path_factory):
    """A 4-fold run on 40 pairs of distinct images with arbitrary labels (every fold holds both kinds)."""
    pairs = [(images[i % 16], images[(i % 16 + 1 + i // 16) % 16]) for i in range(40)]  # 40 distinct pairs
    issame = [i % 3 == 0 for i in range(40)]
    args = evaluation_config(model_dir, tmp_path_factory.mktemp("logs"), nrof_folds=4, far=0.1)
    log_dir, _ = evaluation.verify(args, pairs, issame, command_line="test")
    return log_dir, pairs, issame


def rate(hits, total):
    return hits / total if total else 0.0


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_verification_scores_reproduce_metrics_json(verification_run, images):
    log_dir, pairs, issame = verification_run
    document = json.loads((log_dir / "metrics.json").read_text())
    scores = np.load(log_dir / "scores.npz")
    distances, same, fold = scores["distances"], scores["issame"], scores["fold"]
    assert len(distances) == 40 and sorted(same.tolist()) == sorted(issame) and set(fold.tolist()) == {0, 1, 2, 3}
    order = [pairs.index(tuple(pair)) for pair in scores["pair_paths"]]
    assert [issame[i] for i in order] == same.tolist()
    accuracies, aucs, tprs, fprs = [], [], [], []
    for k in range(4):
        train, test = fold != k, fold == k
        train_accuracy = [np.mean((distances[train] < t) == same[train]) for t in THRESHOLDS]
        threshold = THRESHOLDS[int(np.argmax(train_accuracy))]
        accuracies.append(np.mean((distances[test] < threshold) == same[test]))
        tpr = [rate(np.sum((distances[test] < t) & same[test]), np.sum(same[test])) for t in THRESHOLDS]
        fpr = [rate(np.sum((distances[test] < t) & ~same[test]), np.sum(~same[test])) for t in THRESHOLDS]
        aucs.append(sum((fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2 for i in range(len(THRESHOLDS) - 1)))
        tprs.append(tpr)
        fprs.append(fpr)
    assert np.mean(accuracies) == pytest.approx(document["accuracy_mean"], abs=1e-12)
    assert np.std(accuracies) == pytest.approx(document["accuracy_std"], abs=1e-12)
    assert np.mean(aucs) == pytest.approx(document["auc_mean"], abs=1e-12)
    np.testing.assert_allclose(scores["thresholds"], THRESHOLDS)
    np.testing.assert_allclose(scores["val"], np.mean(tprs, axis=0), atol=1e-12)
    np.testing.assert_allclose(scores["far"], np.mean(fprs, axis=0), atol=1e-12)
    assert document["val_at_far_0.1"] == pytest.approx(document["val_mean"], abs=1e-12)  # the run's --far is 0.1
    assert scores["val_at_far"].tolist() == [document[f"val_at_far_{far:g}"] for far in (0.001, 0.01, 0.1)]


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_identification_scores_give_the_ranks(model_dir, images, tmp_path):
    gallery, labels = images[:8], [f"ID{i}" for i in range(8)]
    protocols = {"C2P": [(images[:3], ["ID0", "ID1", "ID2"], gallery, labels),
                         (images[3:4] + images[12:14], ["ID3", "ABSENT", "ID0"], gallery, labels)]}
    log_dir, _ = evaluation.identify(evaluation_config(model_dir, tmp_path), protocols)
    document = json.loads((log_dir / "metrics.json").read_text())
    scores = np.load(log_dir / "scores.npz")
    ranks, fold = scores["C2P_ranks"], scores["C2P_fold"]
    assert scores["C2P_probe_paths"].tolist() == images[:4] + images[12:14]
    assert ranks[:4].tolist() == [1, 1, 1, 1] and ranks[4] == 9  # a gallery image is its own nearest; absent: G + 1
    assert 1 <= ranks[5] <= 8
    per_fold = [np.mean(ranks[fold == k] <= 1) for k in (0, 1)]
    assert np.mean(per_fold) == pytest.approx(document["C2P"]["rank1_mean"])
    assert np.mean([np.mean(ranks[fold == k] <= 10) for k in (0, 1)]) == pytest.approx(document["C2P"]["rank10_mean"])


def test_plot_roc_overlays_runs(verification_run, tmp_path, capsys):
    log_dir, _, _ = verification_run
    far, val = read_roc(log_dir)
    scores = np.load(log_dir / "scores.npz")
    np.testing.assert_array_equal(far, scores["far"])
    np.testing.assert_array_equal(val, scores["val"])
    output = tmp_path / "overlay.png"
    assert plot_roc_main([str(log_dir), str(log_dir), "--labels", "run A", "run B", "--output", str(output),
                          "--log_far"]) == 0
    assert cv2.imread(str(output)) is not None
    assert run_cli(plot_roc_main, [str(tmp_path), "--output", str(tmp_path / "none.png")]) == 2
    assert "scores.npz not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        plot_roc_main([str(log_dir), "--labels", "a", "b"])

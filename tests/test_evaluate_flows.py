"""The evaluation flows on synthetic images with an untrained model: every output exists, parses and is right."""

import json
import re

import cv2
import numpy as np
import pytest
from support.evaluation import evaluation_config, write_image

from cari_mtl.evaluation import protocols as evaluation
from cari_mtl.evaluation import reports

VERIFICATION_KEYS = {"accuracy_mean", "accuracy_std", "val_mean", "val_std", "far", "auc_mean", "auc_std",
                     "best_threshold", "pairs_same", "pairs_different", "val_at_far_0.001", "val_at_far_0.01",
                     "val_at_far_0.1", "majority_baseline", "pooled_auc", "far_resolution", "one_class_folds",
                     "auc_mean_all_folds", "far_unresolved"}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    return [write_image(root / f"face_{i}.png", seed=i) for i in range(24)]


def labelled_pairs(images):
    """20 pairs: an image with itself (distance 0) is "same", two different images are "different";
    pairs 3 and 7 are identical images labelled "different" (they must come out as the false positives)."""
    pairs, issame = [], []
    for index in range(20):
        if index % 2 == 0 or index in (3, 7):
            pairs.append((images[index], images[index]))
            issame.append(index % 2 == 0)
        else:
            pairs.append((images[index], images[index + 1]))
            issame.append(False)
    return pairs, issame


def parse_validation_report(path):
    text = path.read_text()
    accuracy = re.search(r"Average accuracy: ([\d.]+)\+-([\d.]+)", text)
    val = re.search(r"Validation rate: ([\d.]+)\+-([\d.]+) @ FAR=([\d.]+)", text)
    auc = re.search(r"Area Under Curve \(AUC\): ([\d.]+)\+-([\d.]+)", text)
    fp_header = re.search(r"False positive pairs: (\d+) / (\d+)", text)
    fn_header = re.search(r"False negative pairs: (\d+) / (\d+)", text)
    fp_block = text[fp_header.end():fn_header.start()].strip().splitlines()[1:]
    roc_start = text.index("ROC:")
    fn_block = text[fn_header.end():roc_start].strip().splitlines()[1:]
    roc = [tuple(map(float, line.split(": ")[1].split("/"))) for line in text[roc_start:].splitlines()[1:]]
    return {
        "accuracy": tuple(map(float, accuracy.groups())), "val": tuple(map(float, val.groups())),
        "auc": tuple(map(float, auc.groups())), "fp": (int(fp_header[1]), int(fp_header[2])),
        "fn": (int(fn_header[1]), int(fn_header[2])),
        "fp_pairs": [line.split()[1:] for line in fp_block], "fn_pairs": [line.split()[1:] for line in fn_block],
        "roc": roc,
    }


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_verification_writes_every_output_and_finds_the_false_pairs(tmp_path, model_dir, images):
    pairs, issame = labelled_pairs(images)
    config = evaluation_config(model_dir, tmp_path / "logs", features_dir=str(tmp_path / "features"))
    log_dir, result = evaluation.verify(config, pairs, issame, command_line="evaluate_cavi.py --test")

    document = json.loads((log_dir / reports.METRICS_JSON).read_text())
    assert set(document) == VERIFICATION_KEYS
    assert document["pairs_same"] == 10 and document["pairs_different"] == 10
    assert document["far"] == 0.01

    report = parse_validation_report(log_dir / reports.VALIDATION_REPORT)
    assert report["accuracy"] == pytest.approx((document["accuracy_mean"], document["accuracy_std"]), abs=5e-4)
    assert report["auc"] == pytest.approx((document["auc_mean"], document["auc_std"]), abs=5e-4)
    assert report["val"][2] == pytest.approx(0.01)
    # Identical images have distance 0 < any chosen threshold: the two mislabelled pairs are the
    # only false positives, and no same pair (distance 0) can be a false negative.
    assert report["fp"] == (2, 10)
    assert sorted(map(tuple, report["fp_pairs"])) == sorted([pairs[3], pairs[7]])
    assert report["fn"] == (0, 10)
    assert len(report["roc"]) == 400 and report["roc"][0] == (0.0, 0.0)

    for kind, count in (("false_positive", 2), ("false_negative", 0)):
        folders = sorted((log_dir / "false_images" / kind).iterdir())
        assert len(folders) == count
        for folder in folders:
            assert len(list(folder.iterdir())) == 1  # both images of the pair are the same file
    for figure in ("roc.png", "false_pairs.png"):
        assert cv2.imread(str(log_dir / figure)) is not None

    saved = np.load(tmp_path / "features" / "features.npz")
    assert saved["embeddings"].shape == (40, 1792)
    np.testing.assert_allclose(np.linalg.norm(saved["embeddings"], axis=1), 1.0, atol=1e-5)
    assert sorted(saved["issame"].tolist()) == sorted(issame)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_verification_is_reproducible_for_a_seed(tmp_path, monkeypatch, images):
    # The network is not under test here: each image gets a fixed direction (identical images coincide).
    def fixed_embeddings(args, paths):
        return {path: np.eye(1792)[images.index(path)] for path in paths}

    monkeypatch.setattr(evaluation, "embed", fixed_embeddings)
    pairs, issame = labelled_pairs(images)
    runs = [evaluation.verify(evaluation_config("unused", tmp_path / f"logs{seed}", seed=seed, nrof_folds=4),
                              pairs, issame)[1]
            for seed in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0]["accuracy"], runs[1]["accuracy"])
    np.testing.assert_array_equal(runs[0]["fp_indices"], runs[1]["fp_indices"])
    assert len(runs[0]["fp_indices"]) == 2
    # Another seed puts the two false positives at other positions of the shuffled pair list.
    assert not np.array_equal(runs[0]["fp_indices"], runs[2]["fp_indices"])


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_unreadable_image_is_reported_with_its_path(tmp_path, model_dir, images):
    pairs = [(images[0], str(tmp_path / "nowhere.png"))] + [(images[i], images[i]) for i in range(1, 12)]
    with pytest.raises(ValueError, match="nowhere.png"):
        evaluation.verify(evaluation_config(model_dir, tmp_path / "logs"), pairs, [True] * 12)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_identification_writes_rank_report_and_json(tmp_path, model_dir, images):
    # Gallery: 12 images of 12 identities. Probes are gallery images themselves (distance 0 to their
    # own entry), so Rank-1 = Rank-10 = 1 for every fold; a probe whose identity is absent counts as a miss.
    gallery_paths, gallery_labels = images[:12], [f"ID{i}" for i in range(12)]
    fold_perfect = (images[:4], [f"ID{i}" for i in range(4)], gallery_paths, gallery_labels)
    fold_half = (images[:2] + images[20:22], ["ID0", "ID1", "ABSENT", "ABSENT"], gallery_paths, gallery_labels)
    protocols = {"C2P": [fold_perfect, fold_half], "P2C": [fold_perfect]}
    config = evaluation_config(model_dir, tmp_path / "logs")
    log_dir, summaries = evaluation.identify(config, protocols, command_line="evaluate_webcavi_identify.py")

    document = json.loads((log_dir / reports.METRICS_JSON).read_text())
    assert set(document) == {"C2P", "P2C"}
    for protocol in document.values():
        assert set(protocol) == {"rank1_mean", "rank1_std", "rank10_mean", "rank10_std"}
    assert document["C2P"]["rank1_mean"] == pytest.approx(0.75)
    assert document["C2P"]["rank1_std"] == pytest.approx(0.25)
    assert document["C2P"]["rank10_mean"] == pytest.approx(0.75)
    assert document["P2C"] == {"rank1_mean": 1.0, "rank1_std": 0.0, "rank10_mean": 1.0, "rank10_std": 0.0}

    text = (log_dir / reports.RANK_REPORT).read_text()
    assert text.startswith("arguments: evaluate_webcavi_identify.py")
    values = re.findall(r"Rank(1|10) accuracy: ([\d.]+)\+-([\d.]+)", text)
    assert values == [("1", "0.750", "0.250"), ("10", "0.750", "0.250"),
                      ("1", "1.000", "0.000"), ("10", "1.000", "0.000")]


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_folds_with_pairs_of_one_kind_are_warned_about(tmp_path, monkeypatch, images, capsys):
    monkeypatch.setattr(evaluation, "embed", lambda args, paths: {path: np.eye(1792)[images.index(path)]
                                                                   for path in paths})
    pairs = [(images[i], images[i]) for i in range(18)] + [(images[0], images[1]), (images[2], images[3])]
    evaluation.verify(evaluation_config("unused", tmp_path / "logs", nrof_folds=4), pairs, [True] * 18 + [False] * 2)
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: test fold")]
    assert len(warning) == 1 and "of 4 hold pairs of one kind only (18 same, 2 different" in warning[0]
    assert "--lfw_nrof_folds" in warning[0]


def test_no_fold_warning_when_every_fold_has_both_kinds(tmp_path, monkeypatch, images, capsys):
    monkeypatch.setattr(evaluation, "embed", lambda args, paths: {path: np.eye(1792)[images.index(path)]
                                                                   for path in paths})
    monkeypatch.setattr(evaluation, "shuffle_pairs", lambda pairs, issame, seed: (pairs, issame))
    pairs, issame = [(images[i], images[i]) for i in range(2)], [True, False]
    evaluation.verify(evaluation_config("unused", tmp_path / "logs", nrof_folds=2), pairs * 2, issame * 2)
    assert "warning: test fold" not in capsys.readouterr().err

"""Metrics against hand-computed cases, scikit-learn, and a loop-per-threshold reading of the original."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from cari_mtl.evaluation import metrics


def embeddings_with_distances(dist):
    """Pair-ordered rows [2P, 2] whose consecutive squared distances are `dist`."""
    rows = np.zeros((2 * len(dist), 2))
    rows[1::2, 0] = np.sqrt(dist)
    return rows


def reference_protocol(dist, same, nrof_folds, far_target, legacy_val):
    """facenet_ext.calculate_roc / calculate_val as loops over folds and thresholds."""
    n = len(dist)
    sizes = [n // nrof_folds + (1 if f < n % nrof_folds else 0) for f in range(nrof_folds)]
    starts = np.cumsum([0] + sizes[:-1])
    thresholds = np.arange(0, 4, 0.01)
    accuracy, best, val = [], [], []
    for start, size in zip(starts, sizes):
        test = np.arange(start, start + size)
        train = np.setdiff1d(np.arange(n), test)
        train_acc = [np.mean((dist[train] < t) == same[train]) for t in thresholds]
        chosen = thresholds[int(np.argmax(train_acc))]
        best.append(chosen)
        accuracy.append(np.mean((dist[test] < chosen) == same[test]))
        val_grid = np.arange(0, 4, 0.001)
        negatives = dist[train][~same[train]]
        far_curve = [np.mean(negatives < t) for t in val_grid]
        threshold = 0.0
        if max(far_curve) >= far_target:
            for i in range(len(val_grid) - 1):
                if far_curve[i] <= far_target < far_curve[i + 1]:
                    share = (far_target - far_curve[i]) / (far_curve[i + 1] - far_curve[i])
                    threshold = val_grid[i] + share * (val_grid[i + 1] - val_grid[i])
                    break
        measured = train if legacy_val else test
        val.append(np.mean(dist[measured][same[measured]] < threshold))
    return np.array(accuracy), np.array(best), np.array(val)


def test_perfectly_separable_pairs_give_accuracy_and_auc_one():
    rng = np.random.default_rng(0)
    same = rng.random(200) < 0.5
    dist = np.where(same, rng.uniform(0.1, 0.9, 200), rng.uniform(1.5, 3.5, 200))
    result = metrics.evaluate_verification(embeddings_with_distances(dist), same)
    assert result["accuracy_mean"] == 1.0
    assert result["accuracy_std"] == 0.0
    np.testing.assert_allclose(result["auc"], 1.0, rtol=0, atol=1e-12)
    assert 0.9 <= result["best_threshold"] <= 1.5
    assert result["fp_indices"].size == 0 and result["fn_indices"].size == 0
    assert result["val_mean"] == 1.0


def test_inverted_distances_give_auc_zero_and_majority_accuracy():
    same = np.array([True] * 10 + [False] * 30)
    dist = np.where(same, 3.5, 0.5)
    result = metrics.verification_from_distances(dist, same, nrof_folds=4)
    assert result["auc_mean"] == 0.0
    # Best training threshold predicts "different" everywhere: each fold scores its share of negatives.
    assert result["accuracy_mean"] == pytest.approx(0.75)


def test_val_at_far_hand_computed_on_test_fold_and_legacy_training_fold():
    # Two folds of four pairs. Fold A: same 0.1053, 0.3553; different 0.3053, 0.7053.
    # Fold B: same 0.2053, 0.5053; different 0.4053, 0.6053. FAR target 0.25.
    # Test A / train B: train FAR jumps 0 -> 0.5 between thresholds 0.405 and 0.406, so the
    #   interpolated threshold is 0.4055. VAL on A = 2/2 (legacy, on B: 0.2053 only = 1/2).
    # Test B / train A: the jump lies between 0.305 and 0.306, threshold 0.3055.
    #   VAL on B = 1/2 (0.2053); legacy, on A: 0.1053 only = 1/2.
    dist = np.array([0.1053, 0.3053, 0.3553, 0.7053, 0.2053, 0.4053, 0.5053, 0.6053])
    same = np.array([True, False, True, False, True, False, True, False])
    fixed = metrics.verification_from_distances(dist, same, nrof_folds=2, far_target=0.25)
    legacy = metrics.verification_from_distances(dist, same, nrof_folds=2, far_target=0.25, legacy_val=True)
    np.testing.assert_allclose(fixed["val_thresholds"], [0.4055, 0.3055], atol=1e-12)
    np.testing.assert_allclose(fixed["val"], [1.0, 0.5])
    assert fixed["val_mean"] == pytest.approx(0.75)
    assert fixed["val_std"] == pytest.approx(0.25)
    np.testing.assert_allclose(fixed["far_measured"], [0.5, 0.0])
    np.testing.assert_allclose(legacy["val"], [0.5, 0.5])
    assert legacy["val_mean"] == pytest.approx(0.5)
    assert legacy["val_std"] == 0.0


def test_val_is_zero_when_far_never_reaches_target():
    dist = np.array([0.1, 4.5, 0.2, 4.6, 0.3, 4.7, 0.4, 4.8])
    same = np.array([True, False] * 4)
    result = metrics.verification_from_distances(dist, same, nrof_folds=2, far_target=0.5)
    np.testing.assert_array_equal(result["val_thresholds"], [0.0, 0.0])
    assert result["val_mean"] == 0.0


def test_auc_per_fold_equals_sklearn_roc_auc_score():
    rng = np.random.default_rng(1)
    nrof_pairs, nrof_folds = 103, 10
    # Distinct distances at least one grid step apart, off the grid, so that the 0.01 threshold
    # grid passes through every ROC vertex and the grid AUC is the exact AUC.
    dist = rng.permutation(np.arange(nrof_pairs)) * 0.02 + 0.005 + 0.5
    same = rng.random(nrof_pairs) < 0.5
    result = metrics.verification_from_distances(dist, same, nrof_folds=nrof_folds)
    for fold, (start, stop) in enumerate(metrics.kfold_slices(nrof_pairs, nrof_folds)):
        assert 0 < same[start:stop].sum() < stop - start  # both classes in every fold (seeded)
        expected = roc_auc_score(same[start:stop], -dist[start:stop])
        assert result["auc"][fold] == pytest.approx(expected, abs=1e-12)


def test_folds_have_sklearn_kfold_sizes():
    from sklearn.model_selection import KFold

    expected = [(int(test[0]), int(test[-1]) + 1) for _, test in KFold(10).split(np.zeros(57))]
    assert metrics.kfold_slices(57, 10) == expected


@pytest.mark.parametrize("legacy_val", [False, True])
def test_matches_loop_reading_of_the_original(legacy_val):
    rng = np.random.default_rng(2)
    same = rng.random(157) < 0.4
    dist = np.round(np.where(same, rng.normal(1.0, 0.4, 157), rng.normal(1.6, 0.4, 157)).clip(0, 3.9), 3)
    accuracy, best, val = reference_protocol(dist, same, 10, 0.1, legacy_val)
    result = metrics.verification_from_distances(dist, same, 10, 0.1, legacy_val)
    np.testing.assert_array_equal(result["best_thresholds"], best)
    np.testing.assert_allclose(result["accuracy"], accuracy)
    np.testing.assert_allclose(result["val"], val)
    assert result["best_threshold"] == pytest.approx(best.mean())
    predicted = dist < best.mean()
    np.testing.assert_array_equal(result["fp_indices"], np.flatnonzero(predicted & ~same))
    np.testing.assert_array_equal(result["fn_indices"], np.flatnonzero(~predicted & same))


def test_similarity_mode_uses_cosine_distance_after_pca():
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(40, 6))
    embeddings[1::2] = embeddings[0::2] * 3.0  # same direction: cosine distance 0 whatever the PCA
    embeddings[21::2] = -embeddings[20::2]
    dist = metrics.pair_distances(embeddings, "similarity", pca_components=6)
    centred = embeddings - embeddings.mean(axis=0)
    a, b = centred[0::2], centred[1::2]
    expected = 1 - np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(dist, expected, atol=1e-10)


def test_slinear_interpolation_on_repeated_values():
    x = [0.0, 0.0, 0.0, 0.5, 0.5, 1.0]
    y = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert metrics.slinear_interpolate(x, y, 0.25) == pytest.approx(2.5)  # last 0.0 -> first 0.5
    assert metrics.slinear_interpolate(x, y, 0.5) == 4.0  # a repeated value: its last point
    assert metrics.slinear_interpolate(x, y, 0.75) == pytest.approx(4.5)
    assert metrics.slinear_interpolate(x, y, 1.0) == 5.0


def test_mismatched_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="folds"):
        metrics.verification_from_distances(np.ones(5), np.ones(5, bool), nrof_folds=10)
    with pytest.raises(ValueError, match="pair labels"):
        metrics.verification_from_distances(np.ones(20), np.ones(19, bool))
    with pytest.raises(ValueError, match="consecutive rows"):
        metrics.pair_distances(np.ones((7, 3)))


def test_classification_and_task_accuracies():
    logits = np.array([[1.0, 2.0], [3.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    assert metrics.classification_accuracy(logits, [1, 0, 0, 0]) == 0.75  # tie -> class 0
    photo = np.array([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0], [5.0, 0.0]])
    cari = np.array([[0.0, 5.0], [0.0, 5.0], [0.0, 5.0], [5.0, 0.0]])
    labels = np.array([0, 1, 1, 0])
    is_cari = np.array([False, False, True, True])
    accuracies = metrics.task_accuracies(photo, cari, labels, is_cari)
    assert accuracies == {"photo": 1.0, "caricature": 1.0, "v2c": 0.5, "c2v": 0.5}
    assert np.isnan(metrics.classification_accuracy(np.zeros((0, 2)), np.zeros(0, int)))


def constructed_gallery():
    """Gallery on a line at x = 0..11 with identities 0..11; probes placed by hand."""
    gallery = np.stack([np.arange(12.0), np.zeros(12)], axis=1)
    gallery_labels = np.arange(12)
    probes = np.array([[0.1, 0.0], [5.2, 0.0], [11.0, 0.0], [0.0, 0.0]])
    # probe 0 at 0.1: identity 0 is nearest (rank 1).
    # probe 1 at 5.2 with identity 8: order 5, 6, 4, 7, 3, 8 -> rank 6.
    # probe 2 at 11.0 with identity 0: identity 0 is the farthest -> rank 12.
    # probe 3 at 0.0 with identity 99: absent from the gallery -> never found.
    probe_labels = np.array([0, 8, 0, 99])
    return probes, probe_labels, gallery, gallery_labels


def test_rank_n_on_constructed_gallery():
    probes, probe_labels, gallery, gallery_labels = constructed_gallery()
    ranks = metrics.rank_ranks(probes, probe_labels, gallery, gallery_labels)
    np.testing.assert_array_equal(ranks, [1, 6, 12, 13])
    result = metrics.rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, ranks=(1, 5, 6, 10, 12))
    assert result == {1: 0.25, 5: 0.25, 6: 0.5, 10: 0.5, 12: 0.75}


def test_rank_ties_prefer_the_lower_gallery_index_like_argmin():
    gallery = np.array([[1.0, 0.0], [-1.0, 0.0]])
    probes = np.zeros((2, 2))
    ranks = metrics.rank_ranks(probes, [7, 8], gallery, [7, 8])
    np.testing.assert_array_equal(ranks, [1, 2])


def test_legacy_rank_n_reproduces_the_original_flat_list_bug():
    rng = np.random.default_rng(4)
    gallery = rng.normal(size=(30, 4))
    gallery_labels = np.repeat(np.arange(15), 2)
    probes = rng.normal(size=(23, 4))
    probe_labels = rng.integers(0, 15, 23)
    n = 10
    dist = ((probes[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
    order = np.argpartition(dist, n, 1)
    flat = []
    for row in order:
        flat += [gallery_labels[j] for j in row[:n]]
    correct = np.equal(flat, np.repeat(probe_labels, n))
    expected = sum(1 for i in range(len(probe_labels)) if correct[i::n].sum() > 0) / len(probe_labels)
    legacy = metrics.legacy_rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, n)
    assert legacy == pytest.approx(expected)
    proper = metrics.rank_n_accuracy(probes, probe_labels, gallery, gallery_labels, ranks=(n,))[n]
    assert proper == pytest.approx(np.mean([
        probe_labels[i] in gallery_labels[np.argsort(dist[i])[:n]] for i in range(len(probe_labels))
    ]))


def test_folds_with_pairs_of_one_kind_are_named_and_score_auc_zero():
    issame = np.array([True] * 8 + [True, False] * 6)  # 20 pairs, 5 folds of 4: folds 1 and 2 all same
    assert metrics.one_sided_folds(issame, 5) == [1, 2]
    assert metrics.one_sided_folds(~issame, 5) == [1, 2]
    assert metrics.one_sided_folds(np.array([True, False] * 10), 5) == []
    dist = np.where(issame, 0.5, 2.0)  # perfectly separable
    result = metrics.verification_from_distances(dist, issame, nrof_folds=5)
    np.testing.assert_array_equal(result["auc"], [0.0, 0.0, 1.0, 1.0, 1.0])

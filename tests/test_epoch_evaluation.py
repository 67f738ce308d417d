"""The original's training-time choice of verification pairs, and the warning when it is degenerate."""

import numpy as np

from cari_mtl.evaluation import metrics
from cari_mtl.training.loop.epoch_evaluation import kept_pairs, one_class_warning, verification_pairs


def test_whole_batches_of_images_only():
    # 81 pairs = 162 images; batches of 100 images keep 100 images = 50 pairs (the original's floor).
    assert kept_pairs(81, 100, 10) == 50
    assert kept_pairs(81, 24, 10) == 72


def test_an_odd_batch_size_rounds_down_to_whole_pairs_where_the_original_split_failed():
    # The original (8 pairs, --lfw_batch_size 5): int(16 / 5) = 3 batches = 15 images, issame[0:7];
    # embeddings[0::2] has 8 rows and embeddings[1::2] 7, so its pair split fails (PORTING T28).
    nrof_enque = 5 * int(16 / 5)
    assert (len(range(nrof_enque)[0::2]), len(range(nrof_enque)[1::2])) == (8, 7)
    assert kept_pairs(8, 5, 2) == 7


def test_every_pair_kept_when_whole_batches_leave_fewer_pairs_than_folds():
    assert kept_pairs(12, 100, 4) == 12


def test_warning_when_the_kept_pairs_are_all_same():
    issame = [True] * 71 + [False] * 10  # sorted same-first, as CaVI's testing_1.txt
    warning = one_class_warning(issame, 50)
    assert "first 50 of 81" in warning and "all same pairs" in warning and "--lfw_batch_size" in warning


def test_no_warning_when_both_kinds_are_kept():
    issame = [True] * 71 + [False] * 10
    assert one_class_warning(issame, 72) is None
    assert one_class_warning([False, True], 2) is None


def test_warning_names_different_pairs_too():
    assert "all different pairs" in one_class_warning([False, False, True], 2)


def test_per_epoch_folds_on_a_same_first_pairs_file_are_two_sided():
    issame = [True] * 60 + [False] * 41  # CaVI's order: every same pair before every different pair
    legacy = verification_pairs(issame, batch_size=100, nrof_folds=10, legacy_folds=True)
    assert len(legacy) == 100 and metrics.one_sided_folds(np.asarray(issame)[legacy], 10) == list(range(1, 11))
    order = verification_pairs(issame, batch_size=100, nrof_folds=10, seed=0)
    assert sorted(order.tolist()) == list(range(101))  # every pair, as evaluate_cavi.py
    assert np.array_equal(order, metrics.pair_order(101, 0))  # in evaluate_cavi.py's order for the same seed
    assert metrics.one_sided_folds(np.asarray(issame)[order], 10) == []

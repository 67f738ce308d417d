"""numpy <= 1.16's introsort argsort (PORTING E2) against hand-worked traces of its C source and
outputs of that C code, and the --legacy_val VAL figure on a case where the tie order matters.

Expected orders marked "C" were produced by numpy v1.16.0's `aquicksort_double` /
`aheapsort_double` (numpy/core/src/npysort/*.c.src) compiled on their own; the hand-worked ones
are traced in the comments.
"""

import itertools

import numpy as np
import pytest

from cari_mtl.evaluation import legacy_argsort as module
from cari_mtl.evaluation.legacy_argsort import legacy_argsort
from cari_mtl.evaluation.metrics import verification_from_distances


@pytest.mark.parametrize("values", [[2, 1, 2, 1, 0, 2], [1] * 16, [3, 3, 1, 1, 2, 2, 0, 0, 3, 1, 2, 0, 1, 3, 2, 0]])
def test_up_to_sixteen_items_is_the_stable_insertion_sort(values):
    assert legacy_argsort(values).tolist() == np.argsort(values, kind="stable").tolist()


def test_every_permutation_of_a_short_array_with_ties_sorts_stably():
    for values in set(itertools.permutations([0, 0, 1, 1, 1, 2])):
        assert legacy_argsort(values).tolist() == np.argsort(values, kind="stable").tolist()


def test_seventeen_equal_items_hand_worked():
    # pm = 8 moves to 15; the scan swaps (1,14) (2,13) ... (7,8) and stops at pi = 8, which takes the
    # pivot back; both halves (0..7, 9..16) are then insertion-sorted without moving.
    assert legacy_argsort([0.0] * 17).tolist() == [0, 14, 13, 12, 11, 10, 9, 15, 8, 6, 5, 4, 3, 2, 1, 7, 16]


def test_a_sorted_run_of_zeros_then_ones_hand_worked():
    # Pivot 8 (a zero) moves to 15 (where 15, a one, was); pj walks down the ones to 7 and the scan
    # swaps (1,7) (2,6) (3,5) and stops at 4, which goes to position 15; insertion sort of 5..16 then
    # puts it before the ones. The zeros' last index is 4, the ones' first 15.
    expected = [0, 7, 6, 5, 8, 3, 2, 1, 4, 15, 9, 10, 11, 12, 13, 14, 16]
    assert legacy_argsort([0.0] * 9 + [1.0] * 8).tolist() == expected


def test_known_outputs_of_numpy_1_16_with_ties():
    values = [3, 1, 2, 1, 3, 2, 1, 3, 2, 1, 1, 2, 3, 3, 1, 2, 2, 1, 3, 1, 2, 3, 1, 2, 2]
    assert legacy_argsort(values).tolist() == [  # C
        9, 14, 10, 17, 6, 19, 22, 3, 1, 8, 2, 11, 23, 20, 15, 16, 5, 24, 21, 0, 13, 7, 4, 18, 12]


def test_a_far_curve_keeps_the_edges_numpy_1_16_gave():
    far = np.array([0.0] * 1200 + [0.1] * 800 + [1.0] * 2000)
    order = legacy_argsort(far)
    assert order[[1199, 1200, 1999, 2000]].tolist() == [401, 1730, 1452, 3328]  # C


def test_heapsort_of_equal_items_hand_worked():
    # Heap of 3 equal items: nothing sifts while building; popping moves the root (0) to the end,
    # item 2 to the root, then the root (2) before it and item 1 to the front.
    order = [0, 1, 2]
    module._heapsort([5.0, 5.0, 5.0], order, 0, 3)
    assert order == [1, 2, 0]


def test_median_of_three_killer_falls_back_to_heapsort(monkeypatch):
    # Inputs on which median-of-three partitions peel off two items at a time (built by McIlroy's
    # adversary against this algorithm): after 8 partitions the depth limit sends the last 18 items
    # to heapsort. The second input ties the ten largest values.
    killer = [0, 20, 2, 23, 4, 39, 6, 37, 8, 38, 10, 36, 12, 35, 14, 34, 16, 33, 18, 1, 3, 5, 7, 9, 11,
              13, 15, 17, 19, 21, 31, 30, 29, 28, 27, 26, 25, 24, 32, 22]
    heap_sizes = []
    heapsort = module._heapsort
    monkeypatch.setattr(module, "_heapsort", lambda v, t, start, n: (heap_sizes.append(n), heapsort(v, t, start, n)))
    assert legacy_argsort(killer).tolist() == np.argsort(killer).tolist()
    assert heap_sizes == [18]
    tied = np.minimum(killer, 27)
    assert legacy_argsort(tied).tolist() == [  # C
        0, 19, 2, 20, 4, 21, 6, 22, 8, 23, 10, 24, 12, 25, 14, 26, 16, 27, 18, 28, 1, 29, 39, 3, 37, 36,
        35, 17, 15, 9, 32, 31, 33, 34, 13, 30, 38, 11, 7, 5]
    assert heap_sizes == [18, 18]


def test_random_inputs_are_sorted_permutations():
    rng = np.random.default_rng(3)
    for size in (0, 1, 2, 17, 100, 1000):
        values = rng.integers(0, 6, size).astype(float)
        order = legacy_argsort(values)
        assert sorted(order.tolist()) == list(range(size))
        assert np.all(np.diff(values[order]) >= 0)


def test_nan_sorts_last():
    values = [np.nan, 1.0] * 10
    order = legacy_argsort(values)
    assert sorted(order[:10].tolist()) == list(range(1, 20, 2))


def test_legacy_val_threshold_follows_the_old_tie_order():
    # Two folds of 4 same pairs (0.5, 1.1, 1.15, 1.3) and 10 different pairs (one at 1.1995, nine at
    # 1.9995): each training fold's FAR on the 0.001 grid is 0 up to 1.199, 0.1 up to 1.999, then 1.
    # At FAR 0.05 the threshold order gives 1.199 + 0.5 * 0.001 = 1.1995 (3 of 4 same pairs
    # accepted); numpy 1.16's sort leaves thresholds 0.401 and 1.730 at the run edges (C, test
    # above), so the original used 0.401 + 0.5 * 1.329 = 1.0655 and accepted 1 of 4.
    fold = [0.5, 1.1, 1.15, 1.3] + [1.1995] + [1.9995] * 9
    dist = np.array(fold + fold)
    same = np.array(([True] * 4 + [False] * 10) * 2)
    legacy = verification_from_distances(dist, same, nrof_folds=2, far_target=0.05, legacy_val=True)
    np.testing.assert_allclose(legacy["val_thresholds"], [1.0655, 1.0655], atol=1e-9)
    np.testing.assert_allclose(legacy["val"], [0.25, 0.25])
    default = verification_from_distances(dist, same, nrof_folds=2, far_target=0.05)
    np.testing.assert_allclose(default["val_thresholds"], [1.1995, 1.1995], atol=1e-9)
    np.testing.assert_allclose(default["val"], [0.75, 0.75])

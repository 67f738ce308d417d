"""numpy <= 1.16's default `argsort` of a float64 vector, tie order included (PORTING E2).

The original picks its VAL threshold with scipy's `interp1d(far, thresholds, kind='slinear')`,
which sorted `far` with `np.argsort(far)` first. numpy 1.12-1.16 (the original ran on them) did
that with an introsort: median-of-three quicksort, insertion sort on partitions of at most 16
items, heapsort when the partitions stop shrinking. It is not stable: it reorders equal FAR
values, so which threshold sits at the edge of a run of equal FAR values depends on it. Today's
numpy may sort differently, so the algorithm is written out here, step for step as numpy's C
(`aquicksort_double`, `aheapsort_double`, `DOUBLE_LT` with NaN last) did it.
"""

import numpy as np

SMALL_QUICKSORT = 15  # partitions with pr - pl <= 15 (at most 16 items) go to insertion sort


def _less(a, b):
    """numpy's DOUBLE_LT: a < b, and any number sorts before NaN."""
    return a < b or (b != b and a == a)


def legacy_argsort(values):
    """Indices that sort the 1-D `values` as numpy <= 1.16's `np.argsort(values)` ordered them.

    Args: values, a 1-D array-like of numbers (compared as float64).
    Returns: int64 array of the same length.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"legacy_argsort sorts a 1-D array, got shape {array.shape}")
    v = array.tolist()
    order = list(range(len(v)))
    if v:
        _introsort(v, order)
    return np.asarray(order, dtype=np.int64)


def _introsort(v, t):
    """Sort the index list t in place by v[t[i]], as aquicksort_<type> of numpy 1.12-1.16."""
    low, high = 0, len(t) - 1
    pending = []
    depth = 2 * ((high + 1).bit_length() - 1)  # npy_get_msb(num) * 2
    while True:
        if depth < 0:
            _heapsort(v, t, low, high - low + 1)
        else:
            while high - low > SMALL_QUICKSORT:
                split = _partition(v, t, low, high)
                depth -= 1
                if split - low < high - split:  # the larger side waits on the stack
                    pending.append((split + 1, high, depth))
                    high = split - 1
                else:
                    pending.append((low, split - 1, depth))
                    low = split + 1
            _insertion_sort(v, t, low, high)
        if not pending:
            return
        low, high, depth = pending.pop()


def _partition(v, t, low, high):
    """Median of three as pivot, Hoare scan; returns the pivot's final position."""
    middle = low + ((high - low) >> 1)
    if _less(v[t[middle]], v[t[low]]):
        t[middle], t[low] = t[low], t[middle]
    if _less(v[t[high]], v[t[middle]]):
        t[high], t[middle] = t[middle], t[high]
    if _less(v[t[middle]], v[t[low]]):
        t[middle], t[low] = t[low], t[middle]
    pivot = v[t[middle]]
    i, j = low, high - 1
    t[middle], t[j] = t[j], t[middle]
    while True:
        i += 1
        while _less(v[t[i]], pivot):
            i += 1
        j -= 1
        while _less(pivot, v[t[j]]):
            j -= 1
        if i >= j:
            break
        t[i], t[j] = t[j], t[i]
    t[i], t[high - 1] = t[high - 1], t[i]
    return i


def _insertion_sort(v, t, low, high):
    """Straight insertion sort of t[low..high] (stable)."""
    for i in range(low + 1, high + 1):
        item = t[i]
        key = v[item]
        j = i
        while j > low and _less(key, v[t[j - 1]]):
            t[j] = t[j - 1]
            j -= 1
        t[j] = item


def _heapsort(v, t, start, n):
    """aheapsort_<type> on t[start:start + n]: build a max-heap (1-based), then pop the root to the end."""
    def get(k):
        return t[start + k - 1]

    def put(k, item):
        t[start + k - 1] = item

    def sift(item, i, size):
        j = 2 * i
        while j <= size:
            if j < size and _less(v[get(j)], v[get(j + 1)]):
                j += 1
            if not _less(v[item], v[get(j)]):
                break
            put(i, get(j))
            i = j
            j += j
        put(i, item)

    for root in range(n >> 1, 0, -1):
        sift(get(root), root, n)
    while n > 1:
        item = get(n)
        put(n, get(1))
        n -= 1
        sift(item, 1, n)

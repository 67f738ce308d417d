"""What the dataset readers hand to training and evaluation: a split, and the count of what was left out.

Public API:
    Skips(): reason -> count (`counts`) and reason -> first few paths (`examples`); `add`, `merge`.
    DatasetSplit: training images and test pairs/images with integer labels (fields below).
    resolve_pair_lines(lines, locate, pairs_file) -> ResolvedPairs: parsed pairs-file lines whose two
        images are found; the others counted under `pair_image_not_found`
    make_split(class_names, train_rows, pair_paths, pair_labels, issame, skip_sets, test_image_keys=None)
        -> DatasetSplit
    unique_test_images(pair_paths, pair_labels, pair_is_caricature, keys=None) -> (paths, labels, is_caricature)
    skips_as_dicts(*skips) -> (reason -> count, reason -> a few paths)
    report_skips(skips, out=stderr): one warning line per reason.
"""

import sys
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

EXAMPLES_KEPT = 5


class Skips:
    """reason -> count, and reason -> the first few paths, for everything read but not used."""

    def __init__(self):
        self.counts = Counter()
        self.examples = {}

    def add(self, reason, example, count=1):
        self.counts[reason] += count
        kept = self.examples.setdefault(reason, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append(str(example))

    @classmethod
    def from_dicts(cls, counts, examples):
        """Skips from the plain `skipped` / `skipped_examples` dicts of a DatasetSplit."""
        skips = cls()
        skips.counts.update(counts)
        skips.examples = {reason: list(paths) for reason, paths in examples.items()}
        return skips

    def merge(self, other):
        for reason, count in other.counts.items():
            self.counts[reason] += count
            kept = self.examples.setdefault(reason, [])
            kept.extend(other.examples[reason][:EXAMPLES_KEPT - len(kept)])


@dataclass
class ResolvedPairs:
    """pair_paths [(caricature, photo)], issame [P], pair_ids [(cari id, photo id)] of the pairs whose
    two images were found; nrof_lines: the lines read; skips: the pairs dropped."""
    pair_paths: list
    issame: list
    pair_ids: list
    nrof_lines: int
    skips: Skips = field(default_factory=Skips)
    lines: list = field(default_factory=list)  # the parsed lines of the kept pairs


def resolve_pair_lines(lines, locate, pairs_file):
    """ResolvedPairs of parsed lines (fields number, issame, cari_id, photo_id).

    locate(line) -> ((caricature path or None, its name in the file), (photo path or None, its name)).
    """
    pairs = ResolvedPairs([], [], [], len(lines))
    for line in lines:
        (cari, cari_name), (photo, photo_name) = locate(line)
        missing = [name for path, name in ((cari, cari_name), (photo, photo_name)) if path is None]
        if missing:
            pairs.skips.add("pair_image_not_found", f"{pairs_file}:{line.number}: {' '.join(missing)}")
            continue
        pairs.pair_paths.append((cari, photo))
        pairs.issame.append(line.issame)
        pairs.pair_ids.append((line.cari_id, line.photo_id))
        pairs.lines.append(line)
    return pairs


@dataclass
class DatasetSplit:
    """A training/test split with integer labels (CaVI: the split of PORTING D3; WebCaricature: train/test pairs files).

    class_names [K] str: a label is an index into it.
    train_paths [N] str (object array), train_labels [N] int32, train_is_caricature [N] int32 (1 = caricature).
    test_pair_paths [2P] str: caricature, photo, caricature, photo, ... of the test pairs;
    test_pair_labels [2P] int32, test_pair_is_caricature [2P] int32, test_issame [P] bool.
    test_paths [M] str: each test image once (first occurrence order), with test_labels [M] int32
    and test_is_caricature [M] int32, for identification.
    skipped: reason -> count; skipped_examples: reason -> a few paths.
    """
    class_names: list
    train_paths: np.ndarray
    train_labels: np.ndarray
    train_is_caricature: np.ndarray
    test_pair_paths: list
    test_pair_labels: np.ndarray
    test_pair_is_caricature: np.ndarray
    test_issame: np.ndarray
    test_paths: list
    test_labels: np.ndarray
    test_is_caricature: np.ndarray
    skipped: dict
    skipped_examples: dict


def make_split(class_names, train_rows, pair_paths, pair_labels, issame, skip_sets, test_image_keys=None):
    """DatasetSplit from (path, label, is_caricature) training rows, the flat test pair lists
    (caricature, photo, caricature, ...) with their labels, and the readers' Skips; `test_image_keys`
    (one per flat test image) decide which test images are the same, (path, label, modality) if None."""
    pair_is_cari = [1, 0] * len(issame)
    test_paths, test_labels, test_is_cari = unique_test_images(pair_paths, pair_labels, pair_is_cari,
                                                               test_image_keys)
    skipped, skipped_examples = skips_as_dicts(*skip_sets)
    return DatasetSplit(
        class_names=class_names,
        train_paths=np.array([row[0] for row in train_rows], dtype=object),
        train_labels=np.array([row[1] for row in train_rows], dtype=np.int32),
        train_is_caricature=np.array([row[2] for row in train_rows], dtype=np.int32),
        test_pair_paths=list(pair_paths),
        test_pair_labels=np.array(pair_labels, dtype=np.int32),
        test_pair_is_caricature=np.array(pair_is_cari, dtype=np.int32),
        test_issame=np.array(issame, dtype=bool),
        test_paths=test_paths,
        test_labels=test_labels,
        test_is_caricature=test_is_cari,
        skipped=skipped,
        skipped_examples=skipped_examples,
    )


def unique_test_images(pair_paths, pair_labels, pair_is_caricature, keys=None):
    """(path, label, is_caricature) rows with distinct keys, in first-occurrence order (the original uses
    an unordered set); the key of a row is the row itself unless `keys` gives one per row."""
    rows = list(zip(pair_paths, pair_labels, pair_is_caricature))
    first = {}
    for key, row in zip(keys or rows, rows):
        first.setdefault(key, row)
    rows = list(first.values())
    return ([row[0] for row in rows], np.array([row[1] for row in rows], np.int32),
            np.array([row[2] for row in rows], np.int32))


def skips_as_dicts(*skip_sets):
    """(skipped, skipped_examples) plain dicts of several Skips merged."""
    merged = Skips()
    for skips in skip_sets:
        merged.merge(skips)
    return dict(merged.counts), {reason: list(paths) for reason, paths in merged.examples.items()}


def report_skips(skips, out=None):
    for reason, count in sorted(skips.counts.items()):
        print(f"warning: {count} x {reason}, e.g. {'; '.join(skips.examples[reason][:2])}", file=out or sys.stderr)

"""WebCaricature: verification pairs, identification probe/gallery lists and the training split (PORTING D5, D6, D14).

Public API:
    parse_webcari_pairs(pairs_file) -> [WebcariPair]: header skipped; 3 tab-separated fields
        `<id> <cari> <photo>` = same pair, 4 fields `<id_c> <cari> <id_p> <photo>` = different pair.
    load_webcari_pairs(pairs_file, data_dir) -> ResolvedPairs: pairs resolved to
        `<data_dir>/<id>/<name>.jpg`; pairs with a missing image are dropped and counted.
    read_webcari_pairs(pairs_file, data_dir) -> (pair_paths [(caricature, photo)], issame [bool]);
        dropped pairs are reported on stderr.
    load_webcari_rank_list(list_file, data_dir) -> RankList(paths, labels, skips)
    read_webcari_rank_list(list_file, data_dir) -> (paths [str], labels [identity str]) of a
        FR_Probe_*/FR_Gallery_* file (`<id> ... <image>`, last field the image); missing images
        are reported on stderr and left out.
    webcari_split(data_dir, train_pairs, test_pairs, unique_train_images=False) -> DatasetSplit
        (cari_mtl.data.split): train = the images of the training pairs, test = the test pairs.

Names in the files carry no extension; `.jpg` is appended. Lines may end with CRLF. A path that
differs from the disk only in case or Unicode normal form (NFC/NFD) is resolved to the disk's spelling.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from cari_mtl.data.split import Skips, make_split, report_skips, resolve_pair_lines
from cari_mtl.data.text_files import nfc, read_text_file

EXTENSION = ".jpg"
IMAGE_NAME = re.compile(r"^[CP]\d+$", re.IGNORECASE)


@dataclass
class WebcariPair:
    number: int
    cari_id: str
    cari_name: str
    photo_id: str
    photo_name: str
    issame: bool


def _protocol_rows(path, flag):
    """(line number, tab-separated fields) after the header line; blank lines ignored.

    A first line ending with an image name (C00001, P00001) is a data row of a file that lost its
    header (the row count), which skipping would silently drop."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"protocol file {path} does not exist: check {flag}")
    lines = read_text_file(path, flag).splitlines()
    if lines and IMAGE_NAME.match((_fields(lines[0]) or [""])[-1]):
        raise ValueError(f"{path}:1: expected the header line (the number of rows), got the row {lines[0]!r}: add the "
                         f"header line back (the first line is skipped as a header)")
    for number, text in enumerate(lines[1:], start=2):
        fields = _fields(text)
        if fields:
            yield number, fields


def _fields(text):
    fields = [value.strip() for value in text.split("\t")]
    while fields and not fields[-1]:
        fields.pop()
    return fields


def parse_webcari_pairs(pairs_file, flag="--test_pairs"):
    pairs = []
    for number, fields in _protocol_rows(pairs_file, flag):
        if len(fields) == 3:
            pairs.append(WebcariPair(number, fields[0], fields[1], fields[0], fields[2], True))
        elif len(fields) == 4:
            pairs.append(WebcariPair(number, fields[0], fields[1], fields[2], fields[3], False))
        else:
            raise ValueError(f"{pairs_file}:{number}: expected 3 tab-separated fields (same pair) or 4 "
                             f"(different pair), got {len(fields)}: {fields}")
    return pairs


class Resolver:
    """`<data_dir>/<id>/<name>.jpg`, or its case-insensitive match on disk, or None."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir).expanduser()
        if not self.data_dir.is_dir():
            raise FileNotFoundError(f"WebCaricature face directory {self.data_dir} does not exist: --data_dir must "
                                    f"hold <Identity>/C*.jpg and P*.jpg")
        self._lower = None

    def __call__(self, identity, name):
        path = self.data_dir / identity / (name + EXTENSION)
        if path.is_file():
            return str(path)
        if self._lower is None:
            self._lower = {nfc(str(p.relative_to(self.data_dir))).lower(): str(p)
                           for p in sorted(self.data_dir.glob("*/*")) if p.is_file()}
        return self._lower.get(nfc(f"{identity}/{name}{EXTENSION}").lower())


def load_webcari_pairs(pairs_file, data_dir, flag="--test_pairs", resolver=None):
    lines = parse_webcari_pairs(pairs_file, flag)
    resolver = resolver or Resolver(data_dir)

    def locate(line):
        return ((resolver(line.cari_id, line.cari_name), f"{line.cari_id}/{line.cari_name}{EXTENSION}"),
                (resolver(line.photo_id, line.photo_name), f"{line.photo_id}/{line.photo_name}{EXTENSION}"))

    return resolve_pair_lines(lines, locate, pairs_file)


def read_webcari_pairs(pairs_file, data_dir):
    """(pair_paths, issame) of every pair of the protocol file (no downsampling)."""
    pairs = load_webcari_pairs(pairs_file, data_dir)
    report_skips(pairs.skips)
    return pairs.pair_paths, pairs.issame


@dataclass
class RankList:
    paths: list
    labels: list
    skips: Skips


def load_webcari_rank_list(list_file, data_dir, resolver=None):
    """Probe or gallery list: the first field is the identity, the last the image name."""
    rows = list(_protocol_rows(list_file, "--probe / --gallery"))
    resolver = resolver or Resolver(data_dir)
    result = RankList([], [], Skips())
    for number, fields in rows:
        if len(fields) < 2:
            raise ValueError(f"{list_file}:{number}: expected `<id> ... <image>` (tab separated), got {fields}")
        path = resolver(fields[0], fields[-1])
        if path is None:
            result.skips.add("image_not_found", f"{list_file}:{number}: {fields[0]}/{fields[-1]}{EXTENSION}")
            continue
        result.paths.append(path)
        result.labels.append(fields[0])
    return result


def read_webcari_rank_list(list_file, data_dir):
    ranked = load_webcari_rank_list(list_file, data_dir)
    report_skips(ranked.skips)
    return ranked.paths, ranked.labels


def webcari_split(data_dir, train_pairs, test_pairs, unique_train_images=False):
    """The WebCaricature training script's data: every image of every training pair (an image in n
    pairs is listed n times, as in the original, unless unique_train_images); labels index the sorted upper-cased
    identities of both files; the test pairs for verification and their images for identification."""
    resolver = Resolver(data_dir)
    train = load_webcari_pairs(train_pairs, data_dir, "--train_pairs", resolver)
    test = load_webcari_pairs(test_pairs, data_dir, "--test_pairs", resolver)
    if not train.pair_paths or not test.pair_paths:
        raise ValueError(f"no usable pair in {train_pairs if not train.pair_paths else test_pairs}: check "
                         f"--data_dir, --train_pairs and --test_pairs")
    class_names = sorted({identity.upper() for pairs in (train, test) for ids in pairs.pair_ids for identity in ids})
    label_of = {name: index for index, name in enumerate(class_names)}
    train_rows = [(path, label_of[identity.upper()], is_cari) for pair, ids in zip(train.pair_paths, train.pair_ids)
                  for path, identity, is_cari in zip(pair, ids, (1, 0))]
    if unique_train_images:
        train_rows = list(dict.fromkeys(train_rows))
    pair_paths = [path for pair in test.pair_paths for path in pair]
    pair_labels = [label_of[identity.upper()] for ids in test.pair_ids for identity in ids]
    return make_split(class_names, train_rows, pair_paths, pair_labels, test.issame, (train.skips, test.skips))

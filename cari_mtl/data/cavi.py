"""CaVI: the image tree, the pairs files and the original training script's split (PORTING D1-D3).

Public API:
    list_cavi_images(data_dir) -> [(path: str, identity: str upper-cased, is_caricature: bool)]
        every image under Real/ and Caricature/, in the original's order (modality folders
        sorted, identity folders sorted, files sorted).
    scan_cavi(data_dir) -> CaviTree: the images above plus a case-insensitive path resolver
        and the files it ignored (Thumbs.db, ...).
    load_cavi_pairs(pairs_file, data_dir, downsample=20) -> ResolvedPairs: every `downsample`-th
        line of the pairs file, resolved against the disk; pairs with a missing image are
        dropped and counted.
    read_cavi_pairs(pairs_file, data_dir, downsample=20) -> (pair_paths [(caricature, photo)],
        issame [bool]) for the evaluation scripts; dropped pairs are reported on stderr.
    cavi_split(data_dir, pairs_file, downsample=20, test_image_keys="spelled") -> DatasetSplit: the
        training/test split of the original training script (arrays and shapes in cari_mtl.data.split.DatasetSplit).

Real-data facts handled here: identity folders differ in case between Real/ and Caricature/
(`Will_Smith` / `will_smith`); the pairs file writes `Caricature/<Folder>\\<file>` with a
backslash, may end lines with CRLF and may differ in case from the disk; folders hold
`Thumbs.db`. Identities are compared upper-cased, as in the original; names are compared in Unicode
NFC, so a pairs file and a folder copied from macOS (NFD names) still match.
"""

from dataclasses import dataclass
from pathlib import Path

from cari_mtl.data.split import Skips, make_split, report_skips, resolve_pair_lines
from cari_mtl.data.text_files import nfc, read_text_file

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
MODALITY_FOLDERS = {"caricature": True, "real": False}


@dataclass
class CaviTree:
    """images: [(path, IDENTITY, is_caricature)]; `resolve` maps a pairs-file path to a disk path."""
    data_dir: Path
    images: list
    by_relative: dict
    by_lower: dict
    skips: Skips

    def resolve(self, relative):
        """Disk path of `Caricature/Folder\\file.jpg` (exact case first, then any case), or None."""
        key = nfc(relative.replace("\\", "/").strip("/"))
        return self.by_relative.get(key) or self.by_lower.get(key.lower())


def _require_dir(data_dir):
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"CaVI data directory {data_dir} does not exist: --data_dir must be the folder "
                                f"holding Real/ and Caricature/")
    return data_dir


def scan_cavi(data_dir):
    """Walks Real/ and Caricature/ (folder names in any case) one identity folder deep."""
    data_dir = _require_dir(data_dir)
    skips = Skips()
    images, by_relative, by_lower = [], {}, {}
    modalities = sorted(entry for entry in data_dir.iterdir() if entry.is_dir()
                        and entry.name.lower() in MODALITY_FOLDERS)
    if {entry.name.lower() for entry in modalities} != set(MODALITY_FOLDERS):
        raise FileNotFoundError(f"{data_dir} must hold the folders Real/ and Caricature/ (found "
                                f"{sorted(entry.name for entry in data_dir.iterdir())}): check --data_dir")
    for modality in modalities:
        is_caricature = MODALITY_FOLDERS[modality.name.lower()]
        for identity in sorted(modality.iterdir()):
            if not identity.is_dir():
                skips.add("file_outside_identity_folder", identity)
                continue
            for path in sorted(identity.iterdir()):
                if not path.is_file() or path.suffix.lower() not in IMAGE_EXTENSIONS:
                    skips.add("non_image_file", path)
                    continue
                relative = nfc(f"{modality.name}/{identity.name}/{path.name}")
                images.append((str(path), nfc(identity.name).upper(), is_caricature))
                by_relative[relative] = str(path)
                by_lower.setdefault(relative.lower(), str(path))
    return CaviTree(data_dir, images, by_relative, by_lower, skips)


def list_cavi_images(data_dir):
    """[(path, IDENTITY, is_caricature)] of every image of the tree."""
    return scan_cavi(data_dir).images


@dataclass
class PairLine:
    number: int
    cari_id: str
    cari_path: str
    photo_id: str
    photo_path: str
    issame: bool
    spelled_ids: tuple = ()  # (caricature id, photo id) as written, before upper-casing


def parse_pairs_lines(pairs_file):
    """Lines `<id> Caricature/<Folder>\\<file> <id> Real/<Folder>\\<file> <1|0>` (LF or CRLF)."""
    pairs_file = Path(pairs_file).expanduser()
    if not pairs_file.is_file():
        raise FileNotFoundError(f"pairs file {pairs_file} does not exist: check --test_pairs")
    lines = []
    for number, text in enumerate(read_text_file(pairs_file, "--test_pairs").splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) != 5 or fields[4] not in ("0", "1"):
            raise ValueError(f"{pairs_file}:{number}: expected `<id> Caricature/<Folder>\\<file> <id> "
                             f"Real/<Folder>\\<file> <1|0>`, got {text!r}")
        lines.append(PairLine(number, fields[0].upper(), fields[1], fields[2].upper(), fields[3], fields[4] == "1",
                              (fields[0], fields[2])))
    return lines


def _check_downsample(downsample):
    if downsample < 1:
        raise ValueError(f"--downsample must be at least 1, got {downsample}")


def resolve_pairs(lines, tree, pairs_file):
    return resolve_pair_lines(
        lines, lambda line: ((tree.resolve(line.cari_path), line.cari_path),
                             (tree.resolve(line.photo_path), line.photo_path)), pairs_file)


def load_cavi_pairs(pairs_file, data_dir, downsample=20):
    """Every `downsample`-th line (lines 1, 1 + n, ...), as the original keeps `pairs[0::n]`."""
    _check_downsample(downsample)
    lines = parse_pairs_lines(pairs_file)[::downsample]
    return resolve_pairs(lines, scan_cavi(data_dir), Path(pairs_file))


def read_cavi_pairs(pairs_file, data_dir, downsample=20):
    """(pair_paths, issame) for verification; pairs with a missing image are reported and left out."""
    pairs = load_cavi_pairs(pairs_file, data_dir, downsample)
    report_skips(pairs.skips)
    return pairs.pair_paths, pairs.issame


TEST_IMAGE_KEYS = ("spelled", "resolved")


def cavi_split(data_dir, pairs_file, downsample=20, test_image_keys="spelled"):
    """Test = images of every `downsample`-th pair; train = every other image of the test identities.

    The identification test images are the distinct (path, identity, modality) of the test pairs,
    compared as spelled in the pairs file (`spelled`, the original's `set(zip(...))`: an image
    written two ways is listed twice) or as found on disk with upper-cased identities
    (`resolved`: each image once) (PORTING D15).
    """
    _check_downsample(downsample)
    lines = parse_pairs_lines(pairs_file)[::downsample]
    tree = scan_cavi(data_dir)
    pairs = resolve_pairs(lines, tree, Path(pairs_file))
    if not pairs.pair_paths:
        raise ValueError(f"no usable test pair in {pairs_file} with --downsample {downsample} "
                         f"({pairs.nrof_lines} lines; missing images: {dict(pairs.skips.counts)}): "
                         f"check --data_dir and --test_pairs")
    class_names = sorted({identity for ids in pairs.pair_ids for identity in ids})
    label_of = {name: index for index, name in enumerate(class_names)}
    pair_paths = [path for pair in pairs.pair_paths for path in pair]
    pair_labels = [label_of[identity] for ids in pairs.pair_ids for identity in ids]
    in_test = set(pair_paths)
    train = [(path, label_of[identity], int(is_cari)) for path, identity, is_cari in tree.images
             if identity in label_of and path not in in_test]
    keys = None
    if test_image_keys == "spelled":
        keys = [key for line in pairs.lines for key in ((line.cari_path, line.spelled_ids[0], 1),
                                                        (line.photo_path, line.spelled_ids[1], 0))]
    return make_split(class_names, train, pair_paths, pair_labels, pairs.issame, (tree.skips, pairs.skips), keys)

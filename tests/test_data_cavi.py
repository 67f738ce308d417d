"""CaVI reader and split on a hand-written tree with the real data's quirks, and on a synthetic set."""

import numpy as np
import pytest

from cari_mtl.data.cavi import cavi_split, list_cavi_images, load_cavi_pairs, read_cavi_pairs
from cari_mtl.data.synthetic import generate_dataset

FILES = [
    "Real/Will_Smith/Will_Smith_r_1.jpg", "Real/Will_Smith/Will_Smith_r_2.jpg", "Real/Will_Smith/Thumbs.db",
    "Caricature/will_smith/will_smith_c_1.jpg", "Caricature/will_smith/will_smith_c_2(1).jpg",
    "Real/anne_hathway/anne_hathway_r_1.jpg", "Real/anne_hathway/anne_hathway_r_2.jpg",
    "Real/anne_hathway/anne_hathway_r_3.jpg", "Caricature/Anne_Hathway/Anne_Hathway_c_1.jpg",
    "Real/Zed/Zed_r_1.jpg", "Caricature/Zed/Zed_c_1.jpg",
]
PAIR_LINES = [
    r"will_smith Caricature/will_smith\will_smith_c_1.jpg will_smith Real/Will_Smith\will_smith_r_1.jpg 1",
    r"will_smith Caricature/Will_Smith\will_smith_c_2(1).jpg anne_hathway Real/anne_hathway\anne_hathway_r_1.jpg 0",
    r"anne_hathway Caricature/Anne_Hathway\Anne_Hathway_c_1.jpg anne_hathway Real/anne_hathway\anne_hathway_r_9.jpg 1",
    r"anne_hathway Caricature/anne_hathway\anne_hathway_c_1.jpg anne_hathway Real/ANNE_HATHWAY\anne_hathway_r_2.jpg 1",
]


@pytest.fixture
def tree(tmp_path):
    data = tmp_path / "CaVI_Dataset"
    for name in FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(b"not decoded by the reader")
    pairs = tmp_path / "testing_1.txt"
    pairs.write_bytes(("\r\n".join(PAIR_LINES) + "\r\n").encode())
    return data, pairs


def disk(data, name):
    return str(data / name)


def test_listing_matches_identities_case_insensitively_and_ignores_thumbs_db(tree):
    data, _ = tree
    assert list_cavi_images(data) == [
        (disk(data, "Caricature/Anne_Hathway/Anne_Hathway_c_1.jpg"), "ANNE_HATHWAY", True),
        (disk(data, "Caricature/Zed/Zed_c_1.jpg"), "ZED", True),
        (disk(data, "Caricature/will_smith/will_smith_c_1.jpg"), "WILL_SMITH", True),
        (disk(data, "Caricature/will_smith/will_smith_c_2(1).jpg"), "WILL_SMITH", True),
        (disk(data, "Real/Will_Smith/Will_Smith_r_1.jpg"), "WILL_SMITH", False),
        (disk(data, "Real/Will_Smith/Will_Smith_r_2.jpg"), "WILL_SMITH", False),
        (disk(data, "Real/Zed/Zed_r_1.jpg"), "ZED", False),
        (disk(data, "Real/anne_hathway/anne_hathway_r_1.jpg"), "ANNE_HATHWAY", False),
        (disk(data, "Real/anne_hathway/anne_hathway_r_2.jpg"), "ANNE_HATHWAY", False),
        (disk(data, "Real/anne_hathway/anne_hathway_r_3.jpg"), "ANNE_HATHWAY", False),
    ]


def test_pairs_resolve_crlf_backslashes_and_case_and_count_the_missing_image(tree):
    data, pairs_file = tree
    pairs = load_cavi_pairs(pairs_file, data, downsample=1)
    assert pairs.pair_paths == [
        (disk(data, "Caricature/will_smith/will_smith_c_1.jpg"), disk(data, "Real/Will_Smith/Will_Smith_r_1.jpg")),
        (disk(data, "Caricature/will_smith/will_smith_c_2(1).jpg"),
         disk(data, "Real/anne_hathway/anne_hathway_r_1.jpg")),
        (disk(data, "Caricature/Anne_Hathway/Anne_Hathway_c_1.jpg"),
         disk(data, "Real/anne_hathway/anne_hathway_r_2.jpg")),
    ]
    assert pairs.issame == [True, False, True]
    assert pairs.pair_ids == [("WILL_SMITH", "WILL_SMITH"), ("WILL_SMITH", "ANNE_HATHWAY"),
                              ("ANNE_HATHWAY", "ANNE_HATHWAY")]
    assert dict(pairs.skips.counts) == {"pair_image_not_found": 1}
    assert pairs.skips.examples["pair_image_not_found"] == [
        f"{pairs_file}:3: Real/anne_hathway\\anne_hathway_r_9.jpg"]


def test_downsample_keeps_every_nth_line_from_the_first(tree):
    data, pairs_file = tree
    pairs = load_cavi_pairs(pairs_file, data, downsample=2)  # lines 1 and 3; 3 is missing
    assert pairs.issame == [True] and pairs.nrof_lines == 2
    assert pairs.skips.counts["pair_image_not_found"] == 1


def test_read_cavi_pairs_reports_dropped_pairs_on_stderr(tree, capsys):
    data, pairs_file = tree
    pair_paths, issame = read_cavi_pairs(pairs_file, data, downsample=1)
    assert len(pair_paths) == 3 and issame == [True, False, True]
    assert "1 x pair_image_not_found" in capsys.readouterr().err


def test_split_follows_the_original_rules(tree):
    data, pairs_file = tree
    split = cavi_split(data, pairs_file, downsample=1)
    assert split.class_names == ["ANNE_HATHWAY", "WILL_SMITH"]
    assert list(split.train_paths) == [disk(data, "Real/Will_Smith/Will_Smith_r_2.jpg"),
                                       disk(data, "Real/anne_hathway/anne_hathway_r_3.jpg")]
    assert split.train_labels.tolist() == [1, 0] and split.train_labels.dtype == np.int32
    assert split.train_is_caricature.tolist() == [0, 0]
    assert split.test_pair_labels.tolist() == [1, 1, 1, 0, 0, 0]
    assert split.test_pair_is_caricature.tolist() == [1, 0, 1, 0, 1, 0]
    assert split.test_issame.tolist() == [True, False, True]
    assert split.test_paths == split.test_pair_paths  # no image repeats here
    assert split.skipped == {"non_image_file": 1, "pair_image_not_found": 1}
    assert split.skipped_examples["non_image_file"] == [disk(data, "Real/Will_Smith/Thumbs.db")]


def test_errors_name_the_file_and_the_flag(tmp_path, tree):
    data, pairs_file = tree
    with pytest.raises(FileNotFoundError, match="absent.txt.*--test_pairs"):
        load_cavi_pairs(tmp_path / "absent.txt", data)
    with pytest.raises(FileNotFoundError, match="Real/ and Caricature/"):
        list_cavi_images(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_text("only three fields\n")
    with pytest.raises(ValueError, match=r"bad.txt:1"):
        load_cavi_pairs(bad, data)


def test_split_on_synthetic_data_keeps_test_out_of_train(tmp_path):
    dataset = generate_dataset(tmp_path, identities=6, photos_per_id=4, caricatures_per_id=3, image_size=48, seed=1)
    split = cavi_split(dataset.data_dir, dataset.pairs_file, downsample=10)
    assert not set(split.train_paths) & set(split.test_paths)
    assert set(split.train_labels.tolist()) == set(split.test_labels.tolist())
    names = {path: identity for path, identity, _ in list_cavi_images(dataset.data_dir)}
    for paths, labels in ((split.train_paths, split.train_labels), (split.test_paths, split.test_labels)):
        assert all(split.class_names[label] == names[path] for path, label in zip(paths, labels))
    nrof_images = len(names)
    assert len(split.train_paths) + len(split.test_paths) == nrof_images  # all 6 identities are tested

"""WebCaricature protocol readers on hand-written files (header, tabs, CRLF, 3/4 fields, missing image)."""

import pytest

from cari_mtl.data.webcari import (
    load_webcari_pairs,
    parse_webcari_pairs,
    read_webcari_pairs,
    read_webcari_rank_list,
    webcari_split,
)

FACES = ["Alan_Rickman/C00001.jpg", "Alan_Rickman/C00002.jpg", "Alan_Rickman/P00001.jpg", "Alan_Rickman/P00002.jpg",
         "Bono/C00001.jpg", "Bono/P00001.JPG", "Bono/Thumbs.db", "Cher/P00003.jpg"]


@pytest.fixture
def faces(tmp_path):
    root = tmp_path / "faces"
    for name in FACES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return root


def write(path, lines):
    path.write_bytes("".join(line + "\r\n" for line in lines).encode())
    return path


def test_same_and_different_pairs_with_header_crlf_and_case(tmp_path, faces):
    pairs_file = write(tmp_path / "FV_Test1.txt", [
        "Caricature\tPhoto", "Alan_Rickman\tC00001\tP00002", "Alan_Rickman\tC00002\tBono\tP00001",
        "Bono\tC00001\tP00009", "", "Bono\tC00001\tCher\tP00003"])
    parsed = parse_webcari_pairs(pairs_file)
    assert [(p.number, p.issame) for p in parsed] == [(2, True), (3, False), (4, True), (6, False)]
    assert (parsed[1].cari_id, parsed[1].cari_name, parsed[1].photo_id, parsed[1].photo_name) == (
        "Alan_Rickman", "C00002", "Bono", "P00001")
    pairs = load_webcari_pairs(pairs_file, faces)
    assert pairs.pair_paths == [
        (str(faces / "Alan_Rickman/C00001.jpg"), str(faces / "Alan_Rickman/P00002.jpg")),
        (str(faces / "Alan_Rickman/C00002.jpg"), str(faces / "Bono/P00001.JPG")),  # disk spelling
        (str(faces / "Bono/C00001.jpg"), str(faces / "Cher/P00003.jpg")),
    ]
    assert pairs.issame == [True, False, False]
    assert pairs.pair_ids == [("Alan_Rickman", "Alan_Rickman"), ("Alan_Rickman", "Bono"), ("Bono", "Cher")]
    assert dict(pairs.skips.counts) == {"pair_image_not_found": 1}
    assert pairs.skips.examples["pair_image_not_found"] == [f"{pairs_file}:4: Bono/P00009.jpg"]


def test_read_pairs_reports_the_dropped_pair(tmp_path, faces, capsys):
    pairs_file = write(tmp_path / "pairs.txt", ["header", "Bono\tC00001\tP00002", "Bono\tC00001\tP00001"])
    assert read_webcari_pairs(pairs_file, faces) == ([(str(faces / "Bono/C00001.jpg"),
                                                       str(faces / "Bono/P00001.JPG"))], [True])
    assert "1 x pair_image_not_found" in capsys.readouterr().err


def test_bad_field_count_names_the_line(tmp_path, faces):
    pairs_file = write(tmp_path / "pairs.txt", ["header", "Bono\tC00001"])
    with pytest.raises(ValueError, match=r"pairs.txt:2: expected 3 tab-separated fields"):
        load_webcari_pairs(pairs_file, faces)
    with pytest.raises(FileNotFoundError, match="--test_pairs"):
        load_webcari_pairs(tmp_path / "absent.txt", faces)


def test_probe_and_gallery_lists_use_first_and_last_field(tmp_path, faces, capsys):
    probe = write(tmp_path / "FR_Probe_C2P1.txt", ["id\timage", "Alan_Rickman\tC00002", "Bono\t7\tC00001",
                                                   "Cher\tC00001"])
    paths, labels = read_webcari_rank_list(probe, faces)
    assert paths == [str(faces / "Alan_Rickman/C00002.jpg"), str(faces / "Bono/C00001.jpg")]
    assert labels == ["Alan_Rickman", "Bono"]
    assert "1 x image_not_found" in capsys.readouterr().err


def test_split_lists_every_training_pair_image_and_labels_both_files(tmp_path, faces):
    train = write(tmp_path / "train.txt", ["h", "Alan_Rickman\tC00001\tP00001", "Alan_Rickman\tC00001\tP00002",
                                           "Alan_Rickman\tC00002\tBono\tP00001"])
    test = write(tmp_path / "test.txt", ["h", "bono\tC00001\tP00001", "Bono\tC00001\tCher\tP00003"])
    split = webcari_split(faces, train, test)
    assert split.class_names == ["ALAN_RICKMAN", "BONO", "CHER"]  # `bono` and `Bono` are one identity
    c1, p1, p2 = (str(faces / "Alan_Rickman" / n) for n in ("C00001.jpg", "P00001.jpg", "P00002.jpg"))
    assert list(split.train_paths) == [c1, p1, c1, p2, str(faces / "Alan_Rickman/C00002.jpg"),
                                       str(faces / "Bono/P00001.JPG")]
    assert split.train_labels.tolist() == [0, 0, 0, 0, 0, 1]
    assert split.train_is_caricature.tolist() == [1, 0, 1, 0, 1, 0]
    assert split.test_pair_labels.tolist() == [1, 1, 1, 2] and split.test_issame.tolist() == [True, False]
    assert split.test_paths == [str(faces / "Bono/C00001.jpg"), str(faces / "Bono/P00001.JPG"),
                                str(faces / "Cher/P00003.jpg")]
    assert split.test_is_caricature.tolist() == [1, 0, 0]
    unique = webcari_split(faces, train, test, unique_train_images=True)
    assert list(unique.train_paths) == [c1, p1, p2, str(faces / "Alan_Rickman/C00002.jpg"),
                                        str(faces / "Bono/P00001.JPG")]

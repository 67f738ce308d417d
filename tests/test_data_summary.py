"""The dataset summary command: the keys other tools read, with counts checked against the split rules."""

import json

import cv2
import numpy as np

from cari_mtl.commands import data_summary as summary


def write_jpeg(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((12, 12, 3), value, np.uint8))


def test_cavi_summary_counts(tmp_path, capsys):
    data = tmp_path / "CaVI_Dataset"
    for name in ("Ann", "Bob"):
        for n in (1, 2, 3):
            write_jpeg(data / "Real" / name / f"{name}_r_{n}.jpg", 10 * n)
        write_jpeg(data / "Caricature" / name.lower() / f"{name.lower()}_c_1.jpg", 99)
    write_jpeg(data / "Real" / "Cy" / "Cy_r_1.jpg", 5)  # an identity without test pairs: not in the split
    (data / "Real" / "Bob" / "Bob_r_3.jpg").write_bytes(b"corrupt")  # listed for training, counted by --check_images
    (data / "Real" / "Ann" / "Thumbs.db").write_bytes(b"")
    pairs = tmp_path / "testing_1.txt"
    pairs.write_text("ann Caricature/Ann\\ann_c_1.jpg ann Real/Ann\\Ann_r_1.jpg 1\r\n"
                     "cy Caricature/Cy\\cy_c_1.jpg cy Real/Cy\\Cy_r_1.jpg 1\r\n"  # dropped by --downsample
                     "ann Caricature/ann\\ann_c_1.jpg bob Real/Bob\\Bob_r_1.jpg 0\r\n"
                     "cy Caricature/Cy\\cy_c_2.jpg cy Real/Cy\\Cy_r_1.jpg 1\r\n"
                     "bob Caricature/Bob\\bob_c_1.jpg bob Real/Bob\\Bob_r_7.jpg 1\r\n")
    status = summary.main(["--dataset", "cavi", "--data_dir", str(data), "--test_pairs", str(pairs),
                           "--downsample", "2", "--check_images"])
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert {key: result[key] for key in ("classes", "train_photos", "train_caricatures", "test_pairs_same",
                                         "test_pairs_different", "test_photos", "test_caricatures", "skipped")} == {
        "classes": 2, "train_photos": 4, "train_caricatures": 1, "test_pairs_same": 1, "test_pairs_different": 1,
        "test_photos": 2, "test_caricatures": 1,
        "skipped": {"non_image_file": 1, "pair_image_not_found": 1, "undecodable_image": 1}}
    assert result["skipped_examples"]["undecodable_image"] == [str(data / "Real" / "Bob" / "Bob_r_3.jpg")]


def test_missing_pairs_file_is_one_error_line(tmp_path, capsys):
    status = summary.main(["--dataset", "cavi", "--data_dir", str(tmp_path), "--test_pairs", str(tmp_path / "no.txt")])
    assert status == 2
    assert capsys.readouterr().err.startswith(f"error: pairs file {tmp_path / 'no.txt'} does not exist")

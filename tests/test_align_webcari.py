"""WebCaricature landmark crop (PORTING A7): FacialPoints parsing, the scaled box, and the dataset run."""

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from cari_mtl.alignment.image_jobs import FAILURES_FILE, ImageFailed
from cari_mtl.alignment.webcari_crop import crop_webcaricature, landmark_box, read_landmarks

REPO = Path(__file__).resolve().parents[1]

# 17 points as WebCaricature writes them (CRLF, some in scientific notation). Extent after int():
# x 100..181, y 50..171.
POINTS_TEXT = "\r\n".join(
    ["100.9 120", "1.81e+02 130.5", "140 50.7", "150 1.71e+02"]
    + [f"{110 + 4 * k}.25 {60 + 6 * k}" for k in range(13)]
) + "\r\n"


def _expected_box():
    # centre x int(281 / 2) = 140, half width int(81 * 1.5 / 2) = int(60.75) = 60
    # centre y int(221 / 2) = 110, half height int(121 * 1.2 / 2) = int(72.6) = 72
    return (80, 38, 200, 182)


def test_read_landmarks_parses_crlf_and_scientific_notation(tmp_path):
    path = tmp_path / "C00001.txt"
    path.write_bytes(POINTS_TEXT.encode())
    points = read_landmarks(path)
    assert points.shape == (17, 2)
    assert points[0].tolist() == [100, 120]  # truncated like int(float(x))
    assert points[1].tolist() == [181, 130]
    assert points.min(axis=0).tolist() == [100, 50]
    assert points.max(axis=0).tolist() == [181, 171]


def test_read_landmarks_names_file_and_line_of_a_bad_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("10 20\n30\n")
    with pytest.raises(ImageFailed, match=r"bad.txt line 2"):
        read_landmarks(path)
    with pytest.raises(ImageFailed, match="missing"):
        read_landmarks(tmp_path / "absent.txt")


def test_landmark_box_scales_around_the_centre(tmp_path):
    path = tmp_path / "p.txt"
    path.write_bytes(POINTS_TEXT.encode())
    assert landmark_box(read_landmarks(path), (300, 400)) == _expected_box()


def test_landmark_box_is_clipped_to_the_image():
    points = np.array([[2, 3], [60, 90]])
    # centre (31, 46); half width int(58 * 1.5 / 2) = 43; half height int(87 * 1.2 / 2) = 52
    assert landmark_box(points, (80, 70)) == (0, 0, 70, 80)
    assert landmark_box(points, (200, 200), scale_horizontal=1.0, scale_vertical=1.0) == (2, 3, 60, 89)


def _write_dataset(root):
    images, points = root / "OriginalImages", root / "FacialPoints"
    for folder in (images / "Aaron", points / "Aaron", images / "Bea", points / "Bea"):
        folder.mkdir(parents=True)
    ramp = np.add.outer(np.arange(300), np.arange(400)) % 256
    photo = np.dstack([ramp, ramp[::-1], np.full_like(ramp, 90)]).astype(np.uint8)
    cv2.imwrite(str(images / "Aaron" / "C00001.jpg"), photo)
    (points / "Aaron" / "C00001.txt").write_bytes(POINTS_TEXT.encode())
    cv2.imwrite(str(images / "Bea" / "P00001.jpg"), photo)
    return images, points, photo


def test_crop_webcaricature_crops_lists_missing_landmarks_and_resumes(tmp_path):
    images, points, photo = _write_dataset(tmp_path)
    output = tmp_path / "FaceDetected"
    summary = crop_webcaricature(images, points, output, progress=False)
    assert (summary.total, summary.written, summary.failed) == (2, 1, 1)

    x1, y1, x2, y2 = _expected_box()
    face = cv2.imread(str(output / "Aaron" / "C00001.jpg"))
    assert face.shape == (y2 - y1, x2 - x1, 3)
    source = cv2.imread(str(images / "Aaron" / "C00001.jpg"))
    assert np.mean(np.abs(face.astype(int) - source[y1:y2, x1:x2].astype(int))) < 3  # JPEG re-encoding only
    assert (output / "bounding_boxes.txt").read_text() == "Aaron/C00001.jpg 80 38 200 182\n"
    assert "Bea/P00001.jpg\tlandmark file" in (output / FAILURES_FILE).read_text()

    (points / "Bea" / "P00001.txt").write_bytes(POINTS_TEXT.encode())
    assert crop_webcaricature(images, points, output, progress=False).written == 0  # listed failure kept
    summary = crop_webcaricature(images, points, output, retry_failed=True, progress=False)
    assert (summary.written, summary.skipped, summary.failed) == (1, 1, 0)
    assert (output / "Bea" / "P00001.jpg").exists()


def test_crop_script_runs_and_reports(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("crop_webcaricature", REPO / "align" / "crop_webcaricature.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    images, points, _ = _write_dataset(tmp_path)
    argv = ["--images_dir", str(images), "--points_dir", str(points), "--output_dir", str(tmp_path / "out")]
    assert script.main(argv) == 0
    assert "2 images: 1 written, 0 already done, 1 failed" in capsys.readouterr().out
    with pytest.raises(NotADirectoryError, match="FacialPoints"):
        script.main(argv[:2] + ["--points_dir", str(tmp_path / "nope"), "--output_dir", str(tmp_path / "o")])

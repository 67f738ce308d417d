"""MTCNN alignment: face choice, margin box, crop, and the resumable dataset walk (§9).

The real face is matplotlib's public-domain sample photo of Grace Hopper, installed with matplotlib.
"""

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from cari_mtl.align import (
    Faces,
    FaceDetector,
    align_dataset,
    align_face,
    margin_box,
    resize_bilinear,
    select_face,
)
from cari_mtl.image_jobs import FAILURES_FILE, check_output_outside_input, list_images, write_atomically

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def detector():
    return FaceDetector()


@pytest.fixture(scope="session")
def face_rgb():
    """Grace Hopper, 300 x 256 (half size, to keep MTCNN on CPU quick)."""
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    image = np.asarray(Image.open(path).convert("RGB"))
    return cv2.resize(image, (256, 300), interpolation=cv2.INTER_AREA)


class FixedDetector:
    """Returns preset boxes and records what it was given."""

    def __init__(self, boxes):
        self.boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        self.seen = []

    def detect(self, image):
        self.seen.append(image)
        count = len(self.boxes)
        return Faces(self.boxes, np.linspace(0.9, 0.99, count), np.zeros((count, 10)))


def test_select_face_prefers_large_and_centred():
    image_shape = (100, 100, 3)
    corner_big = [0, 0, 40, 40]  # 1600 - 2 * (30² + 30²) = -2000
    centre_small = [40, 40, 60, 60]  # 400 - 0 = 400
    centre_big = [20, 20, 80, 80]  # 3600
    assert select_face([corner_big, centre_small], image_shape) == 1
    assert select_face([corner_big, centre_small, centre_big], image_shape) == 2


def test_select_face_uses_width_for_x_and_height_for_y():
    # Image 100 high, 200 wide: centre (x 100, y 50). Box A sits on it; box B is centred on
    # (50, 100), which would be the centre if the axes were swapped.
    box_a, box_b = [95, 45, 105, 55], [45, 95, 55, 105]
    assert select_face([box_b, box_a], (100, 200)) == 1
    assert select_face([box_a, box_b], (200, 100)) == 1


def test_margin_box_grows_clips_and_truncates():
    assert margin_box((30.6, 30.6, 50.4, 50.4), 10, (100, 100)) == (25, 25, 55, 55)
    # Image 100 high, 120 wide: left/top clipped to 0, right truncated, bottom clipped to the height.
    assert margin_box((10.7, 5.2, 90.9, 95.5), 44, (100, 120)) == (0, 0, 112, 100)


def test_align_face_crops_the_chosen_box_with_margin_and_resizes():
    image = np.random.default_rng(0).integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    detector = FixedDetector([[0, 0, 30, 30], [60.5, 40.2, 100.9, 80.8]])
    aligned = align_face(image, detector, image_size=32, margin=10)
    assert aligned.box == (55, 35, 105, 85)
    expected = np.asarray(Image.fromarray(image[35:85, 55:105]).resize((32, 32), Image.BILINEAR))
    np.testing.assert_array_equal(aligned.image, expected)
    assert aligned.score == pytest.approx(0.99)


def test_resize_bilinear_averages_when_shrinking():
    stripes = np.zeros((64, 64, 3), dtype=np.uint8)
    stripes[:, ::2] = 255
    small = resize_bilinear(stripes, 8)
    assert small.shape == (8, 8, 3)
    assert np.all(np.abs(small.astype(int) - 128) <= 6)  # antialiased; sampling would give 0 or 255


@pytest.mark.parametrize("shape", [(50, 60), (50, 60, 4)])
def test_align_face_gives_the_detector_rgb_for_gray_and_rgba(shape):
    image = np.full(shape, 200, dtype=np.uint8)
    detector = FixedDetector([[10, 10, 40, 40]])
    aligned = align_face(image, detector, image_size=16, margin=0)
    assert detector.seen[0].shape == (50, 60, 3)
    assert detector.seen[0].dtype == np.uint8
    assert aligned.image.shape == (16, 16, 3)


def test_detector_finds_the_real_face_and_nothing_on_blank(detector, face_rgb):
    faces = detector.detect(face_rgb)
    assert len(faces.scores) == 1
    assert faces.scores[0] > 0.95
    x1, y1, x2, y2 = faces.boxes[0]
    # The face of the sample photo spans about x 89-176, y 55-165 at this size.
    assert 75 < x1 < 105 and 160 < x2 < 190 and 40 < y1 < 70 and 150 < y2 < 180
    left_eye = faces.landmarks[0][[0, 5]]
    assert x1 < left_eye[0] < (x1 + x2) / 2 and y1 < left_eye[1] < (y1 + y2) / 2
    assert len(detector.detect(np.zeros((200, 200, 3), dtype=np.uint8)).scores) == 0


def test_gray_and_rgba_real_face_align_like_rgb(detector, face_rgb):
    rgb = align_face(face_rgb, detector, image_size=160, margin=32)
    gray = align_face(cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY), detector, image_size=160, margin=32)
    rgba = align_face(np.dstack([face_rgb, np.full(face_rgb.shape[:2], 7, np.uint8)]), detector, 160, 32)
    assert rgb.image.shape == (160, 160, 3)
    assert rgba.box == rgb.box
    np.testing.assert_array_equal(rgba.image, rgb.image)
    assert gray is not None
    assert np.max(np.abs(np.asarray(gray.box) - np.asarray(rgb.box))) <= 8


def _write_tree(root, face_rgb):
    (root / "Alice").mkdir(parents=True)
    (root / "Bob").mkdir()
    cv2.imwrite(str(root / "Alice" / "Alice_r_1.jpg"), cv2.cvtColor(face_rgb, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / "Alice" / "Alice_r_2.png"), cv2.cvtColor(face_rgb, cv2.COLOR_RGB2GRAY))
    bgra = np.dstack([cv2.cvtColor(face_rgb, cv2.COLOR_RGB2BGR), np.full(face_rgb.shape[:2], 255, np.uint8)])
    cv2.imwrite(str(root / "Bob" / "Bob_r_1.png"), bgra)
    cv2.imwrite(str(root / "Bob" / "blank.jpg"), np.full((200, 200, 3), 128, np.uint8))
    (root / "Bob" / "broken.jpg").write_bytes(b"not a jpeg")
    (root / "Bob" / "Thumbs.db").write_bytes(b"\0" * 10)


def _failures(output):
    lines = (output / FAILURES_FILE).read_text().splitlines()
    return dict(line.split("\t") for line in lines)


def test_align_dataset_mirrors_tree_lists_failures_and_resumes(tmp_path, detector, face_rgb):
    source, output = tmp_path / "in", tmp_path / "out"
    _write_tree(source, face_rgb)
    summary = align_dataset(source, output, image_size=64, margin=16, detector=detector, progress=False)

    assert (summary.total, summary.written, summary.failed, summary.skipped) == (5, 3, 2, 0)
    aligned = sorted(str(p.relative_to(output)) for p in output.rglob("*.png"))
    assert aligned == ["Alice/Alice_r_1.png", "Alice/Alice_r_2.png", "Bob/Bob_r_1.png"]
    assert Image.open(output / "Bob" / "Bob_r_1.png").size == (64, 64)
    assert Image.open(output / "Bob" / "Bob_r_1.png").mode == "RGB"
    failures = _failures(output)
    assert failures["Bob/blank.jpg"] == "no face found"
    assert failures["Bob/broken.jpg"].startswith("unreadable")
    boxes = (output / "bounding_boxes.txt").read_text().splitlines()
    assert [line.split()[0] for line in boxes] == aligned
    assert all(len(line.split()) == 1 + 4 + 1 + 10 for line in boxes)

    (output / "Alice" / "Alice_r_2.png").unlink()
    calls = FixedDetector([[80, 50, 180, 170]])
    summary = align_dataset(source, output, image_size=64, margin=16, detector=calls, progress=False)
    assert (summary.written, summary.skipped, summary.failed) == (1, 2, 2)
    assert len(calls.seen) == 1  # only the removed output is redone; failures are not retried

    retry = FixedDetector([])
    summary = align_dataset(source, output, 64, 16, detector=retry, retry_failed=True, progress=False)
    assert len(retry.seen) == 1  # blank retried; broken fails before detection
    assert set(_failures(output)) == {"Bob/blank.jpg", "Bob/broken.jpg"}


def test_list_images_ignores_other_files_and_sorts(tmp_path):
    for name in ["b/2.JPG", "b/1.png", "a/x.jpeg", "a/Thumbs.db", "top.bmp"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [str(p) for p in list_images(tmp_path)] == ["top.bmp", "a/x.jpeg", "b/1.png", "b/2.JPG"]


def test_output_inside_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="inside input directory"):
        check_output_outside_input(tmp_path, tmp_path / "aligned")
    check_output_outside_input(tmp_path / "in", tmp_path / "out")


def test_interrupted_write_leaves_no_output(tmp_path):
    target = tmp_path / "id" / "face.png"

    def fail_midway(path):
        path.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, fail_midway)
    assert list((tmp_path / "id").iterdir()) == []


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "align" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_aligns_and_reports(tmp_path, detector, face_rgb, monkeypatch, capsys):
    script = _load_script("align_dataset_mtcnn")
    monkeypatch.setattr("cari_mtl.align_dataset_mtcnn.FaceDetector", lambda device: detector)  # the script's code
    _write_tree(tmp_path / "in", face_rgb)
    argv = ["--input_dir", str(tmp_path / "in"), "--output_dir", str(tmp_path / "out"), "--image_size", "48"]
    assert script.main(argv) == 0
    assert "5 images: 3 written, 0 already done, 2 failed" in capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "Alice" / "Alice_r_1.png").size == (48, 48)


def test_script_names_a_missing_input_directory(tmp_path, detector, monkeypatch, capsys):
    from cari_mtl.cli import run_cli

    script = _load_script("align_dataset_mtcnn")
    monkeypatch.setattr("cari_mtl.align_dataset_mtcnn.FaceDetector", lambda device: detector)  # the script's code
    argv = ["--input_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "out")]
    assert run_cli(script.main, argv) == 2
    assert "missing" in capsys.readouterr().err

"""What `embed` accepts and how much it runs: folders, EXIF orientation, missing files, no padding."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps
from support.evaluation import IMAGE_SIZE, NROF_CLASSES, write_image

from cari_mtl.api import FaceModel
from cari_mtl.data.pipeline import preprocess
from cari_mtl.evaluation.features import compute_features
from cari_mtl.images.eval_loader import read_rgb
from cari_mtl.images.orientation import orientation_of, upright
from cari_mtl.model.model_dir import ModelConfig

from small_network import small_network


@pytest.fixture(scope="module")
def tiny(network):
    return FaceModel(small_network(network, IMAGE_SIZE, NROF_CLASSES), ModelConfig(IMAGE_SIZE, NROF_CLASSES))


def pattern(height=60, width=90):
    """A smooth asymmetric RGB image (JPEG keeps it nearly intact)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, (x + 2 * y) % 256], axis=-1).astype(np.uint8)


def exif_jpeg(pixels, orientation):
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def counting(model, batch_size):
    """The extractor of `model` for `batch_size`, with the batch sizes it runs recorded in `.runs`."""
    extractor = model._extractor(batch_size, "embeddings")
    infer, extractor.runs = extractor.infer, []

    def recorded(batch):
        extractor.runs.append(int(batch.shape[0]))
        return infer(batch)

    extractor.infer = recorded
    return extractor


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_turns_as_pil_exif_transpose(orientation):
    data = exif_jpeg(pattern(5, 7), orientation)
    assert orientation_of(data) == orientation
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    np.testing.assert_array_equal(upright(np.asarray(Image.open(io.BytesIO(data))), orientation), expected)


def test_rotated_exif_jpeg_embeds_as_a_physically_rotated_copy(tiny, tmp_path):
    data = exif_jpeg(pattern(), 6)
    (tmp_path / "exif.jpg").write_bytes(data)
    stored = read_rgb_unturned(tmp_path / "exif.jpg")
    Image.fromarray(stored).transpose(Image.Transpose.ROTATE_270).save(tmp_path / "rotated.png")
    assert read_rgb(tmp_path / "exif.jpg").shape == (90, 60, 3)
    embeddings = tiny.embed([str(tmp_path / "exif.jpg"), str(tmp_path / "rotated.png")], batch_size=2)
    np.testing.assert_allclose(embeddings[0], embeddings[1], atol=1e-5)
    unturned = tiny.embed(stored, batch_size=2)
    assert np.abs(unturned[0] - embeddings[1]).max() > 1e-3


def read_rgb_unturned(path):
    """The stored pixels as OpenCV decodes them (no EXIF handling), RGB."""
    import cv2

    return cv2.cvtColor(cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def test_training_reader_applies_exif_orientation(tmp_path):
    data = exif_jpeg(pattern(), 8)
    stored = tf.io.decode_image(data, channels=3).numpy()
    rotated = io.BytesIO()
    Image.fromarray(stored).transpose(Image.Transpose.ROTATE_90).save(rotated, "PNG")
    seeds = tf.zeros([3, 2], tf.int32)
    from_exif = preprocess(tf.constant(data), seeds, 48).numpy()
    from_png = preprocess(tf.constant(rotated.getvalue()), seeds, 48).numpy()
    np.testing.assert_allclose(from_exif, from_png, atol=1e-6)


def test_embed_of_a_folder_is_one_row_per_image_in_sorted_order(tiny, tmp_path):
    names = ["b/2.png", "a/1.png", "a/10.jpg", "c.png"]
    for seed, name in enumerate(names):
        write_image(tmp_path / "gallery" / name, seed)
    (tmp_path / "gallery" / "notes.txt").write_text("not an image")
    embeddings, paths = tiny.embed(tmp_path / "gallery", batch_size=3, return_paths=True)
    expected = [str(tmp_path / "gallery" / name) for name in ["a/1.png", "a/10.jpg", "b/2.png", "c.png"]]
    assert paths == expected
    np.testing.assert_allclose(embeddings, tiny.embed(expected, batch_size=3), atol=1e-6)


def test_missing_file_and_directory_are_named_as_such(tiny, tmp_path):
    image = write_image(tmp_path / "a.png", 0)
    with pytest.raises(ValueError, match=r"missing\.png \(not found\)"):
        tiny.embed([image, str(tmp_path / "missing.png")])
    with pytest.raises(ValueError, match=r"\(is a directory\)"):
        tiny.embed([image, str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="not found"):
        read_rgb(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_rgb(tmp_path)


def test_embed_runs_only_the_images_given(tiny, tmp_path):
    paths = [write_image(tmp_path / f"{n}.png", n) for n in range(5)]
    one = counting(tiny, 100)
    tiny.embed(paths[0], batch_size=100)
    assert one.runs == [1]
    two = counting(tiny, 2)
    tiny.embed(paths, batch_size=2)
    assert two.runs == [2, 2, 1]


def test_a_batch_size_beyond_the_image_count_is_capped(tiny, tmp_path):
    paths = [write_image(tmp_path / f"{n}.png", n) for n in range(3)]
    features, valid = compute_features(tiny.keras_model, IMAGE_SIZE, paths, batch_size=100000,
                                       names=("embeddings",), progress=False)
    assert valid.all() and features["embeddings"].shape == (3, 8)
    np.testing.assert_allclose(features["embeddings"], tiny.embed(paths, batch_size=2), atol=1e-6)

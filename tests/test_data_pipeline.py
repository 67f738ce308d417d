"""The tf.data training pipeline: decoding, the original's augmentation and sampling, skipped files."""

import math

import cv2
import numpy as np
import pytest
import tensorflow as tf

from cari_mtl.data.pipeline import TrainingPipeline, epoch_indices, preprocess, resize_tf1, rotate

SIZE = 24
NO_SEEDS = tf.zeros([3, 2], tf.int64)


def gradient_image(index, size=SIZE):
    """A distinct, non-constant BGR image per index (standardisation keeps it distinguishable)."""
    ramp = np.linspace(0, 1, size)[None, :, None] * np.array([200, 40 * (index % 5), 10 * index])
    return np.clip(ramp + np.linspace(0, 50, size)[:, None, None] + index, 0, 255).astype(np.uint8).repeat(
        size, 0)[:size]


@pytest.fixture
def images(tmp_path):
    paths = []
    for index in range(10):
        path = tmp_path / f"img_{index}.jpg"
        cv2.imwrite(str(path), gradient_image(index), [cv2.IMWRITE_JPEG_QUALITY, 100])
        paths.append(str(path))
    return paths


def standardize(rgb):
    return tf.image.per_image_standardization(tf.constant(rgb, tf.float32)).numpy()


def decode(path):
    return preprocess(tf.io.read_file(str(path)), NO_SEEDS, SIZE).numpy()


def test_grayscale_png_alpha_and_bmp_decode_to_rgb(tmp_path):
    gray = np.tile(np.arange(0, 240, 10, dtype=np.uint8), (SIZE, 1))
    cv2.imwrite(str(tmp_path / "gray.jpg"), gray, [cv2.IMWRITE_JPEG_QUALITY, 100])
    rgba = np.dstack([gradient_image(3), np.zeros((SIZE, SIZE), np.uint8)])  # fully transparent alpha
    cv2.imwrite(str(tmp_path / "alpha.png"), rgba)
    cv2.imwrite(str(tmp_path / "image.bmp"), gradient_image(4))
    image = decode(tmp_path / "gray.jpg")
    assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.float32
    np.testing.assert_array_equal(image[..., 0], image[..., 2])
    np.testing.assert_allclose(decode(tmp_path / "alpha.png"), standardize(gradient_image(3)[..., ::-1]), atol=1e-5)
    np.testing.assert_allclose(decode(tmp_path / "image.bmp"), standardize(gradient_image(4)[..., ::-1]), atol=1e-5)


def test_resize_is_tf1_bilinear_without_half_pixel_centres():
    image = tf.constant([[[0.0], [8.0]], [[0.0], [8.0]]])
    np.testing.assert_array_equal(resize_tf1(image, 4).numpy()[0, :, 0], [0, 4, 8, 8])


def test_rotate_quarter_turn_is_counter_clockwise_like_imrotate():
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    np.testing.assert_allclose(rotate(tf.constant(image), tf.constant(math.pi / 2)).numpy(), np.rot90(image, 1),
                               atol=1e-4)


def test_random_crop_takes_a_window_and_flip_mirrors(tmp_path):
    big = gradient_image(7, size=40)
    cv2.imwrite(str(tmp_path / "big.png"), big)
    contents = tf.io.read_file(str(tmp_path / "big.png"))
    rgb = big[..., ::-1]
    seeds = tf.constant([[1, 2], [3, 4], [5, 6]], tf.int64)
    crop = preprocess(contents, seeds, SIZE, random_crop=True).numpy()
    windows = [standardize(rgb[y:y + SIZE, x:x + SIZE]) for y in range(17) for x in range(17)]
    assert any(np.allclose(crop, window, atol=1e-5) for window in windows)
    flips = {bool(np.allclose(preprocess(contents, tf.constant([[0, 0], [0, 0], [0, s]], tf.int64), SIZE,
                                         random_flip=True).numpy()[:, ::-1], decode(tmp_path / "big.png"), atol=1e-5))
             for s in range(8)}
    assert flips == {True, False}


def test_small_image_with_random_crop_is_padded_not_dropped(tmp_path):
    cv2.imwrite(str(tmp_path / "small.png"), gradient_image(2, size=10))
    image = preprocess(tf.io.read_file(str(tmp_path / "small.png")), NO_SEEDS, SIZE, random_crop=True)
    assert image.shape == (SIZE, SIZE, 3)


def test_epoch_indices_walk_seeded_permutations():
    first = epoch_indices(7, batch_size=4, epoch_size=5, seed=1, epoch=1)
    assert len(first) == 20
    for start in (0, 7):
        assert sorted(first[start:start + 7]) == list(range(7))
    np.testing.assert_array_equal(first, epoch_indices(7, 4, 5, 1, 1))
    np.testing.assert_array_equal(first, epoch_indices(7, 4, 5, 1, 1, spare=7)[:20])
    assert not np.array_equal(first, epoch_indices(7, 4, 5, 1, 2))
    assert not np.array_equal(first, epoch_indices(7, 4, 5, 2, 1))


def test_batches_follow_the_sampling_and_keep_labels_with_images(images):
    labels, is_cari = np.arange(10) % 4, np.arange(10) % 2
    pipeline = TrainingPipeline(images, labels, is_cari, SIZE, batch_size=4, epoch_size=3, seed=5, report=False)
    batches = list(pipeline.batches(epoch=2))
    order = epoch_indices(10, 4, 3, 5, 2)
    assert len(batches) == 3
    for b, (image_batch, label_batch, cari_batch) in enumerate(batches):
        rows = order[4 * b:4 * b + 4]
        assert image_batch.dtype == tf.float32 and label_batch.dtype == tf.int32 and cari_batch.dtype == tf.int32
        np.testing.assert_array_equal(label_batch.numpy(), labels[rows])
        np.testing.assert_array_equal(cari_batch.numpy(), is_cari[rows])
        for image, row in zip(image_batch.numpy(), rows):
            np.testing.assert_allclose(image, decode(images[row]), atol=1e-5)
    assert pipeline.skips.counts == {}


def test_corrupt_and_missing_files_are_skipped_counted_and_replaced(images, capsys):
    with open(images[3], "r+b") as handle:
        handle.truncate(60)  # a truncated JPEG
    paths = images + [images[0] + ".absent.jpg"]
    pipeline = TrainingPipeline(paths, np.arange(11), np.zeros(11), SIZE, batch_size=5, epoch_size=4, seed=0,
                                random_flip=True, random_crop=True)
    batches = list(pipeline.batches(epoch=1))
    order = epoch_indices(11, 5, 4, 0, 1, spare=11)
    bad = {3, 10}
    good_positions = [p for p, i in enumerate(order) if i not in bad][:20]
    drawn_bad = [i for i in order[:good_positions[-1] + 1] if i in bad]  # bad files the 20 images stepped over
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5]
    good = order[good_positions]
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), good)
    assert pipeline.skips.counts["undecodable_image"] == len(drawn_bad) > 0
    assert sum(pipeline.skipped_files.values()) == len(drawn_bad)
    assert set(pipeline.skipped_files) <= {paths[3], paths[10]}
    assert "skipped undecodable image" in capsys.readouterr().err


def test_resume_skip_continues_exactly_after_a_skipped_file(images):
    with open(images[1], "wb") as handle:
        handle.write(b"not an image")
    pipeline = TrainingPipeline(images, np.arange(10), np.zeros(10), SIZE, batch_size=3, epoch_size=4, seed=2,
                                random_rotate=True, random_flip=True, report=False)
    full = list(pipeline.batches(epoch=3))
    resumed = list(pipeline.batches(epoch=3, skip=2))
    assert len(resumed) == 2
    for (image_a, label_a, _), (image_b, label_b, _) in zip(full[2:], resumed):
        np.testing.assert_array_equal(label_a.numpy(), label_b.numpy())
        np.testing.assert_array_equal(image_a.numpy(), image_b.numpy())


def test_length_mismatch_is_refused(images):
    with pytest.raises(ValueError, match="one entry per image"):
        TrainingPipeline(images, [0], [0], SIZE, 2, 2)

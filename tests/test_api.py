"""cari_mtl.load_model / FaceModel: embed, verify and identify against extract_features and hand computations."""

import json

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image
from support.evaluation import IMAGE_SIZE, NROF_CLASSES, write_image

import cari_mtl
from cari_mtl.api import FaceModel
from cari_mtl.commands.extract_features import main as extract_main
from cari_mtl.model.model_dir import ModelConfig

from small_network import small_network


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Five images: four at the model's size, one larger (resized by the loader after standardisation)."""
    root = tmp_path_factory.mktemp("images")
    paths = [write_image(root / f"{n}.png", n) for n in range(4)]
    large = cv2.resize(cv2.imread(paths[0]), (113, 97), interpolation=cv2.INTER_CUBIC)[:, ::-1]
    cv2.imwrite(str(root / "large.png"), large)
    return paths + [str(root / "large.png")]


@pytest.fixture(scope="module")
def tiny(network):
    """A FaceModel over the small network (seconds to trace), for the distance logic."""
    return FaceModel(small_network(network, IMAGE_SIZE, NROF_CLASSES), ModelConfig(IMAGE_SIZE, NROF_CLASSES))


def rgb(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_embed_paths_equals_arrays_equals_extract_features(tmp_path, model_dir, images):
    image_list = tmp_path / "images.txt"
    image_list.write_text("\n".join(images) + "\n")
    output = tmp_path / "features.npz"
    assert extract_main(["--model_dir", str(model_dir), "--image_list", str(image_list), "--output", str(output),
                         "--lfw_batch_size", "8"]) == 0
    expected = np.load(output)
    model = cari_mtl.load_model(model_dir)
    for branch, key in (("verification", "embeddings"), ("photo", "embeddings_visual"),
                        ("caricature", "embeddings_cari")):
        from_paths = model.embed(images, branch=branch, batch_size=8)
        from_arrays = model.embed([rgb(path) for path in images], branch=branch, batch_size=8)
        assert from_paths.dtype == np.float32 and from_paths.shape == (5, 1792)
        np.testing.assert_allclose(from_paths, expected[key], atol=1e-6)
        np.testing.assert_allclose(from_arrays, from_paths, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(from_paths, axis=1), 1.0, atol=1e-5)
    mixed = model.embed([images[0], rgb(images[1])], batch_size=8)
    np.testing.assert_allclose(mixed, expected["embeddings"][:2], atol=1e-6)


def test_embed_accepts_one_image_and_a_stacked_batch(tiny, images):
    batch = np.stack([rgb(path) for path in images[:3]])
    together = tiny.embed(batch, batch_size=4)
    assert together.shape[0] == 3
    np.testing.assert_allclose(tiny.embed(images[1], batch_size=4), together[1:2], atol=1e-6)
    np.testing.assert_allclose(tiny.embed(batch[2], batch_size=4), together[2:3], atol=1e-6)


def test_unreadable_image_is_named_or_masked(tiny, images, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        tiny.embed([images[0], str(broken)], batch_size=4)
    embeddings, valid = tiny.embed([images[0], str(broken)], batch_size=4, return_valid=True)
    assert valid.tolist() == [True, False]
    assert not embeddings[1].any() and embeddings[0].any()
    with pytest.raises(ValueError, match="branch"):
        tiny.embed(images, branch="sketch")


def test_verify_against_hand_computed_distances(tiny, images, tmp_path):
    e = tiny.embed(images, batch_size=4).astype(np.float64)
    first, second = [images[0], images[1], images[2]], [images[0], images[3], images[4]]
    hand = [sum((e[0][d] - e[0][d]) ** 2 for d in range(e.shape[1])),
            sum((e[1][d] - e[3][d]) ** 2 for d in range(e.shape[1])),
            sum((e[2][d] - e[4][d]) ** 2 for d in range(e.shape[1]))]
    threshold = (hand[1] + hand[2]) / 2
    result = tiny.verify(first, second, threshold=threshold, batch_size=4)
    np.testing.assert_allclose(result.distances, hand, atol=1e-6)
    assert result.same.tolist() == [h < threshold for h in hand] and result.threshold == threshold
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"accuracy_mean": 0.5, "best_threshold": 0.0}))
    from_run = tiny.verify(first, second, threshold=run, batch_size=4)
    assert from_run.threshold == 0.0 and not from_run.same.any()
    tiny.threshold = 10.0
    assert tiny.verify(first, second, batch_size=4).same.all()
    tiny.threshold = None
    with pytest.raises(ValueError, match="threshold"):
        tiny.verify(first, second)
    with pytest.raises(ValueError, match="pair by pair"):
        tiny.verify(first, second[:2], threshold=1.0)


def test_identify_against_hand_ranked_gallery(tiny, images):
    e = tiny.embed(images, batch_size=4).astype(np.float64)
    gallery, labels = images[1:], ["b", "c", "d", "e"]
    result = tiny.identify(images[:2], gallery, labels, k=3, batch_size=4)
    for row, probe in enumerate((0, 1)):
        distances = [float(np.sum((e[probe] - e[g]) ** 2)) for g in range(1, 5)]
        order = sorted(range(4), key=lambda g: (distances[g], g))[:3]
        assert result.labels[row].tolist() == [labels[g] for g in order]
        np.testing.assert_allclose(result.distances[row], [distances[g] for g in order], atol=1e-6)
        assert result.indices[row].tolist() == order
    assert result.labels[1, 0] == "b" and result.distances[1, 0] == pytest.approx(0.0, abs=1e-6)
    assert tiny.identify(images[:1], gallery, labels, k=10, batch_size=4).labels.shape == (1, 4)


def test_align_gives_the_crop_of_align_dataset_mtcnn(tiny, tmp_path):
    from cari_mtl.alignment.mtcnn_align import align_dataset

    face = np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB"))
    face = cv2.resize(face, (256, 300), interpolation=cv2.INTER_AREA)
    source = tmp_path / "raw" / "Grace"
    source.mkdir(parents=True)
    cv2.imwrite(str(source / "hopper.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(source / "blank.png"), np.full((120, 120, 3), 200, np.uint8))
    align_dataset(tmp_path / "raw", tmp_path / "aligned", progress=False)
    cropped = tmp_path / "aligned" / "Grace" / "hopper.png"
    embeddings, valid = tiny.embed([str(source / "hopper.png"), face, str(source / "blank.png")], batch_size=4,
                                   align=True, return_valid=True)
    assert valid.tolist() == [True, True, False]
    expected = tiny.embed(str(cropped), batch_size=4)[0]
    np.testing.assert_allclose(embeddings[0], expected, atol=1e-6)
    np.testing.assert_allclose(embeddings[1], expected, atol=1e-6)
    with pytest.raises(ValueError, match="blank.png.*no face found"):
        tiny.embed([str(source / "blank.png")], align=True)

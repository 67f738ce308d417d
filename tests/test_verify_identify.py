"""cari-verify, cari-identify and saved galleries, on an untrained small-network model directory."""

import json
import shutil

import numpy as np
import pytest
from support.evaluation import small_model_dir, write_image

import cari_mtl
from cari_mtl.commands.console import run_command
from cari_mtl.evaluation.gallery import load_gallery
from cari_mtl.model.model_card import set_threshold

IDENTITIES = ("Anna_Lee", "Bob_Stone", "Carl_Ito", "Dora_Moss")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = small_model_dir(tmp_path_factory.mktemp("model") / "model")
    set_threshold(directory, 0.5, "test")
    return directory


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """faces/<identity>/<n>.png, 2 images each; Anna_Lee's three are copies of one image (distance 0)."""
    root = tmp_path_factory.mktemp("faces")
    for index, identity in enumerate(IDENTITIES):
        for n in range(2):
            write_image(root / identity / f"{n}.png", 10 * index + n)
    shutil.copy(root / "Anna_Lee" / "0.png", root / "Anna_Lee" / "1.png")
    shutil.copy(root / "Anna_Lee" / "0.png", root / "Anna_Lee" / "2.png")
    return root


def count_images(model, batch_size):
    """Patches the model's extractor to record how many images each network call runs."""
    extractor = model._extractor(batch_size, "embeddings")
    infer, runs = extractor.infer, []

    def recorded(batch):
        runs.append(int(batch.shape[0]))
        return infer(batch)

    extractor.infer = recorded
    return runs


def test_cari_verify_json_of_an_image_with_itself(model_dir, faces, capsys):
    image = str(faces / "Bob_Stone" / "0.png")
    assert run_command("cari-verify", [image, image, "--model_dir", str(model_dir), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"image_a", "image_b", "distance", "threshold", "threshold_source", "same"}
    assert answer["distance"] < 1e-6 and answer["same"] is True
    assert answer["threshold"] == 0.5 and "model card" in answer["threshold_source"]


def test_cari_verify_text_and_a_given_threshold(model_dir, faces, capsys):
    a, b = str(faces / "Bob_Stone" / "0.png"), str(faces / "Carl_Ito" / "0.png")
    assert run_command("cari-verify", [a, b, "--model_dir", str(model_dir), "--threshold", "0"]) == 0
    out = capsys.readouterr().out
    assert "threshold 0.0000 (given)" in out and "same: no" in out


def test_cari_verify_without_a_threshold_is_one_error_line(tmp_path, faces, capsys):
    bare = small_model_dir(tmp_path / "bare")
    image = str(faces / "Bob_Stone" / "0.png")
    assert run_command("cari-verify", [image, image, "--model_dir", str(bare)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bare} has no model card (model_card.json): give --threshold")


def test_identify_with_a_saved_gallery_embeds_only_the_probes(model_dir, faces, tmp_path):
    model = cari_mtl.load_model(model_dir)
    gallery = model.build_gallery(faces, output=tmp_path / "faces.npz", batch_size=4)
    stored = load_gallery(tmp_path / "faces.npz")
    assert stored.labels.tolist() == ["Anna_Lee"] * 3 + ["Bob_Stone"] * 2 + ["Carl_Ito"] * 2 + ["Dora_Moss"] * 2
    np.testing.assert_array_equal(stored.embeddings, gallery.embeddings)
    runs = count_images(model, 4)
    probes = [str(faces / "Anna_Lee" / "0.png"), str(faces / "Dora_Moss" / "1.png")]
    result = model.identify(probes, tmp_path / "faces.npz", k=3, batch_size=4)
    assert runs == [2]
    assert result.labels[0].tolist() == ["Anna_Lee"] * 3
    distinct = model.identify(probes, tmp_path / "faces.npz", k=3, batch_size=4, unique_identities=True)
    assert runs == [2, 2]
    assert distinct.labels[0, 0] == "Anna_Lee" and len(set(distinct.labels[0].tolist())) == 3
    assert distinct.paths[0, 0] == str(faces / "Anna_Lee" / "0.png")
    assert distinct.paths[1, 0] == probes[1] and distinct.distances[1, 0] < 1e-6
    everything = model.identify(probes[:1], tmp_path / "faces.npz", k=10, unique_identities=True)
    assert sorted(everything.labels[0].tolist()) == sorted(IDENTITIES)


def test_a_gallery_of_another_model_is_refused(model_dir, faces, tmp_path, capsys):
    cari_mtl.load_model(model_dir).build_gallery(faces, output=tmp_path / "faces.npz")
    other = small_model_dir(tmp_path / "other")
    probe = str(faces / "Bob_Stone" / "0.png")
    with pytest.raises(ValueError, match="built by another model"):
        cari_mtl.load_model(other).identify([probe], tmp_path / "faces.npz")
    assert run_command("cari-identify", [probe, "--gallery", str(tmp_path / "faces.npz"),
                                         "--model_dir", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "built by another model" in err[0]


def test_cari_identify_ranks_distinct_identities_and_saves_the_gallery(model_dir, faces, tmp_path, capsys):
    probe = str(faces / "Anna_Lee" / "0.png")
    saved = tmp_path / "faces.npz"
    flags = ["--model_dir", str(model_dir), "-k", "2", "--json"]
    assert run_command("cari-identify", [probe, "--gallery", str(faces), "--save_gallery", str(saved), *flags]) == 0
    first = json.loads(capsys.readouterr().out)
    matches = first["results"][0]["matches"]
    assert [m["rank"] for m in matches] == [1, 2] and matches[0]["identity"] == "Anna_Lee"
    assert matches[1]["identity"] != "Anna_Lee" and matches[0]["distance"] < 1e-6
    assert saved.is_file()
    assert run_command("cari-identify", [probe, "--gallery", str(saved), *flags]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == first["results"]
    assert run_command("cari-identify", [probe, "--gallery", str(faces), "--save_gallery", str(saved), *flags]) == 2
    assert "--overwrite" in capsys.readouterr().err

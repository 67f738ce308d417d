"""Model cards: every model directory of a training holds one, `verify` takes its threshold, a full
evaluation can replace it."""

import json

import pytest
from support.evaluation import IMAGE_SIZE, NROF_CLASSES, SMALL_NETWORK, small_model_dir, write_cavi  # noqa: F401
from support.training_runs import BASE_FLAGS, patch_data

import cari_mtl
import cari_mtl.commands.train as train_module
from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.evaluate_cavi import main as evaluate_cavi_main
from cari_mtl.model.model_card import CARD_JSON, CARD_MARKDOWN, card_threshold, read_model_card, set_threshold


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Two epochs of the small network on the 4-identity image set of test_train."""
    root = tmp_path_factory.mktemp("card")
    patcher = pytest.MonkeyPatch()
    patch_data(patcher.setattr, root / "data")
    flags = BASE_FLAGS + ["--model_def", SMALL_NETWORK, "--logs_base_dir", str(root / "logs"),
                          "--models_base_dir", str(root / "models"), "--epoch_size", "2"]
    try:
        model_dir, _, metrics = train_module.train(flags, progress=False)
    finally:
        patcher.undo()
    return model_dir, metrics, root / "data"


@pytest.mark.slow
def test_every_model_directory_of_a_training_holds_a_card(tiny_run):
    model_dir, metrics, _ = tiny_run
    directories = sorted(model_dir.glob("epoch_*")) + sorted(model_dir.glob("best_model_*"))
    assert len(directories) == 5
    for directory in directories:
        card = read_model_card(directory)
        assert card["image_size"] == 80 and card["image_standardization"] == "prewhiten"
        assert card["identities"]["count"] == 4
        assert card["network"]["model_def"] == SMALL_NETWORK
        assert card["task_weighting"]["method"] == "dynamic"
        assert "--epoch_size" in card["command_line"]
        assert card["package_version"] == cari_mtl.__version__
        assert "Verification threshold" in (directory / CARD_MARKDOWN).read_text()
    last = read_model_card(model_dir / "epoch_0002")
    assert last["training"] == {"epoch": 2, "step": 4}
    assert last["evaluation"]["verification_accuracy"] == pytest.approx(metrics["verification_accuracy"])
    assert last["threshold"]["value"] == pytest.approx(metrics["verification_threshold"])
    assert 0.0 <= last["threshold"]["value"] < 4.0


@pytest.mark.slow
def test_load_model_of_the_best_directory_verifies_without_a_threshold(tiny_run):
    model_dir, _, data = tiny_run
    image = str(sorted((data / "photo").glob("*.png"))[0])
    model = cari_mtl.load_model(model_dir / "best_model_verifexpr")
    result = model.verify([image], [image])
    assert result.same.tolist() == [True]
    assert result.distances[0] < 1e-6
    assert result.threshold == pytest.approx(card_threshold(model.card)[0])
    assert "model card" in result.threshold_source and "per-epoch evaluation" in result.threshold_source
    assert model.verify([image], [image], threshold=0.0).threshold_source == "given"


def test_set_threshold_replaces_the_card_threshold(tmp_path):
    set_threshold(tmp_path, 1.25, "evaluate_cavi run X", accuracy=0.9)
    card = json.loads((tmp_path / CARD_JSON).read_text())
    assert card["threshold"] == {"value": 1.25, "source": "evaluate_cavi run X", "accuracy": 0.9}
    assert card_threshold(read_model_card(tmp_path)) == (1.25, "evaluate_cavi run X")


def test_evaluate_cavi_writes_its_threshold_into_the_card_on_request(tmp_path, capsys):
    model_dir = small_model_dir(tmp_path / "model")
    data = tmp_path / "CaVI_Dataset"
    write_cavi(data)
    status = evaluate_cavi_main(["--data_dir", str(data), "--model_dir", str(model_dir), "--test_pairs",
                                 str(data / "testing_1.txt"), "--downsample", "2", "--logs_base_dir",
                                 str(tmp_path / "logs"), "--lfw_batch_size", "16", "--write_threshold"])
    assert status == 0
    run = next((tmp_path / "logs").iterdir())
    expected = json.loads((run / "metrics.json").read_text())["best_threshold"]
    threshold, source = card_threshold(read_model_card(model_dir))
    assert threshold == pytest.approx(expected) and str(run) in source
    assert "written to the model card" in capsys.readouterr().out


def test_write_threshold_refuses_a_tf1_checkpoint_before_any_work(tmp_path, capsys):
    status = run_cli(evaluate_cavi_main, ["--data_dir", str(tmp_path), "--model_dir", str(tmp_path), "--test_pairs",
                                          str(tmp_path / "p.txt"), "--write_threshold"])
    assert status == 2
    assert "--write_threshold" in capsys.readouterr().err

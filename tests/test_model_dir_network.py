"""A model directory names its network: the packaged one is built from the package, never from the copy
in the directory; a user's own --model_def file is loaded from the directory; version-1 directories
(written before the name was stored) still load."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.evaluation import save_untrained_model

from cari_mtl.model.model_dir import MODEL_DEF_NAME, ModelConfig, load_model_dir, save_model_dir

SMALL_NETWORK = str(Path(__file__).resolve().parent / "small_network.py")
RAISING = 'raise RuntimeError("the copied network file was executed")\n'


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """(directory of the packaged network, its weights) written by save_model_dir."""
    directory = tmp_path_factory.mktemp("packaged") / "model"
    model = save_untrained_model(directory)
    model, _ = load_model_dir(directory)
    return directory, model.get_weights()


def document(directory):
    return json.loads((directory / "config.json").read_text())


def assert_same_weights(model, weights):
    assert len(model.get_weights()) == len(weights)
    for loaded, saved in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(loaded, saved)


def test_packaged_network_is_named_and_its_copy_is_not_executed(packaged, tmp_path):
    source, weights = packaged
    assert (document(source)["network"], document(source)["version"]) == ("inception_resnet_v1_cari_vis", 2)
    directory = Path(shutil.copytree(source, tmp_path / "model"))
    (directory / MODEL_DEF_NAME).write_text(RAISING)
    model, config = load_model_dir(directory)
    assert config.image_size == 80
    assert_same_weights(model, weights)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_version_1_directory_of_today_still_loads(packaged, tmp_path):
    source, weights = packaged
    directory = Path(shutil.copytree(source, tmp_path / "model"))
    old = document(directory)
    del old["network"]
    old["version"] = 1
    (directory / "config.json").write_text(json.dumps(old, indent=2) + "\n")
    assert_same_weights(load_model_dir(directory)[0], weights)
    copy = directory / MODEL_DEF_NAME  # an older copy, unlike the packaged file: built from the copy, as before
    marker = '\nimport pathlib\n\npathlib.Path(__file__).with_name("executed").write_text("yes")\n'
    copy.write_text(copy.read_text() + marker)
    assert_same_weights(load_model_dir(directory)[0], weights)
    assert (directory / "executed").read_text() == "yes"


def test_own_network_file_is_loaded_from_the_directory(tmp_path):
    config = ModelConfig(image_size=32, nrof_classes=3, model_def=SMALL_NETWORK)
    model = config.build()
    directory = save_model_dir(model, tmp_path / "model", config)
    assert document(directory)["network"] == MODEL_DEF_NAME
    broken = Path(shutil.copytree(directory, tmp_path / "broken"))
    (broken / MODEL_DEF_NAME).write_text(RAISING)
    assert_same_weights(load_model_dir(directory)[0], model.get_weights())
    with pytest.raises(RuntimeError, match="copied network file was executed"):
        load_model_dir(broken)

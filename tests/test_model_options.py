"""The options a model directory stores (image standardisation, head ReLU) and the @file recipes."""

import json
from pathlib import Path

import numpy as np
import pytest

from cari_mtl.commands.argument_files import expand_argument_files
from cari_mtl.data.pipeline import preprocess
from cari_mtl.images.eval_loader import load_eval_image
from cari_mtl.model.model_dir import ModelConfig, load_model_dir, read_config, save_model_dir
from cari_mtl.model.options import chosen_logits_relu, chosen_standardization

IMAGE_SIZE = 80


@pytest.fixture
def image_file(tmp_path):
    import cv2

    rgb = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    rgb[:, :, 0], rgb[:40, :, 1], rgb[:, 10:20, 2] = 255, 128, 1
    path = tmp_path / "hand_made.png"
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    return path, rgb


def test_fixed_standardization_is_x_minus_127_5_over_128(image_file):
    path, rgb = image_file
    by_hand = (rgb.astype(np.float64) - 127.5) / 128.0  # 255 -> 0.99609375, 128 -> 0.00390625, 0 -> -0.99609375
    assert by_hand[0, 0].tolist() == [0.99609375, 0.00390625, -0.99609375]
    np.testing.assert_array_equal(load_eval_image(path, IMAGE_SIZE, "fixed"), by_hand.astype(np.float32))
    import tensorflow as tf

    trained_on = preprocess(tf.io.read_file(str(path)), tf.zeros([3, 2], tf.int64), IMAGE_SIZE,
                            standardization="fixed").numpy()
    np.testing.assert_array_equal(trained_on, by_hand.astype(np.float32))
    prewhitened = load_eval_image(path, IMAGE_SIZE)
    assert abs(prewhitened.mean()) < 1e-5 and not np.allclose(prewhitened, by_hand)


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_model_directory_remembers_both_options(tmp_path):
    config = ModelConfig(IMAGE_SIZE, 5, image_standardization="fixed", logits_relu=False)
    save_model_dir(config.build(), tmp_path / "model", config)
    stored = read_config(tmp_path / "model")
    assert stored.image_standardization == "fixed" and stored.logits_relu is False
    model, loaded = load_model_dir(tmp_path / "model")
    assert loaded == stored
    assert model.get_layer("Logits").activation.__name__ == "linear"
    assert model.get_layer("Logits_cari").activation.__name__ == "linear"
    relu_model, _ = load_model_dir(tmp_path / "model", logits_relu=True)
    assert relu_model.get_layer("Logits").activation.__name__ == "relu"


def test_directory_without_the_options_gets_the_originals(tmp_path):
    config = ModelConfig(IMAGE_SIZE, 5)
    save_model_dir(config.build(), tmp_path / "model", config)
    path = tmp_path / "model" / "config.json"
    document = json.loads(path.read_text())
    del document["image_standardization"], document["logits_relu"]  # as written before these options existed
    path.write_text(json.dumps(document))
    stored = read_config(tmp_path / "model")
    assert stored.image_standardization == "prewhiten" and stored.logits_relu is True


def test_flag_beats_stored_value_beats_original():
    assert chosen_standardization(None) == "prewhiten"
    assert chosen_standardization(None, "fixed") == "fixed"
    assert chosen_standardization("prewhiten", "fixed") == "prewhiten"
    assert chosen_logits_relu(None) is True
    assert chosen_logits_relu(None, False) is False
    assert chosen_logits_relu("on", False) is True


def test_argument_files_expand_in_place_with_comments_and_nesting(tmp_path):
    inner = tmp_path / "inner.args"
    inner.write_text("--seed 3  # a comment\n")
    recipe = tmp_path / "recipe.args"
    recipe.write_text(f"# recipe\n--learning_rate 0.01 --logs_base_dir 'a dir'\n@{inner}\n\n--random_flip\n")
    argv = expand_argument_files(["--image_size", "96", f"@{recipe}", "--seed", "4"])
    assert argv == ["--image_size", "96", "--learning_rate", "0.01", "--logs_base_dir", "a dir", "--seed", "3",
                    "--random_flip", "--seed", "4"]


def test_missing_argument_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.args"):
        expand_argument_files([f"@{tmp_path / 'absent.args'}"])


def test_shipped_recipes_parse_and_flags_after_them_win():
    from cari_mtl.commands.training_flags import parse_training_arguments

    root = Path(__file__).resolve().parents[1]
    paper = parse_training_arguments(expand_argument_files([f"@{root / 'configs' / 'cavi_paper.args'}",
                                                         "--data_dir", "D"]))
    assert (paper.image_size, paper.batch_size, paper.keep_probability, paper.learning_rate) == (160, 256, 0.5, -1)
    assert paper.logits_relu is None and paper.data_dir == "D"
    scratch = parse_training_arguments(expand_argument_files([f"@{root / 'configs' / 'cavi_from_scratch.args'}",
                                                           "--seed", "7"]))
    assert (scratch.image_size, scratch.logits_relu, scratch.seed) == (96, "off", 7)
    schedule = root / scratch.learning_rate_schedule_file
    assert schedule.is_file()

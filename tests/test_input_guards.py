"""What the commands and the API refuse or warn about before they work (issue 30, items 1-9): each case
checks the exit status or exception, the one `error:` line (or the warning), and that no file that
existed changed and no folder was made."""

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from support.evaluation import write_image

import cari_mtl.commands.train as train_module
from cari_mtl.commands import extract_features, plot_roc, plot_training, plot_tsne
from cari_mtl.commands.cli import run_cli
from cari_mtl.model.model_card import CARD_JSON
from cari_mtl.training.config import TrainingConfig
from cari_mtl.training.loop.logs import LOSS_FILE, LOSS_HEADER, TrainingLogs

ROOT = Path(__file__).resolve().parents[1]


def error_lines(captured):
    """The `error:` lines of stderr (a flag refused by argparse reads `<prog>: error: ...`)."""
    return [line for line in captured.err.splitlines() if line.startswith("error:") or ": error: " in line]


def status_of(main, argv):
    """The exit status of a command (argparse's refusals exit through SystemExit)."""
    try:
        return run_cli(main, argv)
    except SystemExit as stop:
        return stop.code


def one_error(capsys, *fragments):
    """The single `error:` line of the captured stderr, checked to hold every fragment."""
    lines = error_lines(capsys.readouterr())
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def folders(tmp_path):
    return ["--logs_base_dir", str(tmp_path / "logs"), "--models_base_dir", str(tmp_path / "models")]


# --- 1. the options beyond the original: ranges, one schedule, flags that do nothing ----------------------

@pytest.mark.parametrize("flags, fragments", [
    (["--verif_head", "arcface", "--margin", "4"], ["--margin must be in [0, 1.571) for arcface heads", "4.0"]),
    (["--verif_head", "cosface", "--margin", "1.5"], ["--margin must be in [0, 1) for cosface heads"]),
    (["--identity_heads", "cosface", "--margin_scale", "0"], ["--margin_scale must be > 0, got 0.0"]),
    (["--optimizer", "AdamW", "--adamw_weight_decay", "-1"], ["--adamw_weight_decay must be in [0, inf]"]),
    (["--learning_rate_schedule", "cosine", "--learning_rate_schedule_file", "rates.txt"],
     ["two schedules for one run: give one of them"]),
], ids=["arcface margin", "cosface margin", "scale 0", "negative decay", "two schedules"])
def test_options_out_of_range_are_refused_before_any_folder(tmp_path, capsys, flags, fragments):
    status = status_of(train_module.main, ["--data_dir", str(tmp_path), "--test_pairs", str(tmp_path / "p.txt"),
                                           *flags, *folders(tmp_path)])
    assert status == 2
    one_error(capsys, *fragments)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "models").exists()


def test_flags_that_do_nothing_in_the_chosen_configuration_say_so(tmp_path, capsys):
    status = run_cli(train_module.main, ["--data_dir", str(tmp_path / "none"), "--test_pairs", "p.txt",
                                         "--margin_scale", "20", "--adamw_weight_decay", "0.01", *folders(tmp_path)])
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert status == 2 and len(error_lines(captured)) == 1
    assert "warning: --margin_scale does nothing with softmax heads" in warnings[0]
    assert "warning: --adamw_weight_decay does nothing with --optimizer RMSProp" in warnings[1]


# --- 2. thresholds finite and >= 0: the model card, the API ---------------------------------------------

@pytest.mark.parametrize("value", [float("nan"), -1.0, "abc"], ids=["nan", "negative", "text"])
def test_a_model_card_threshold_that_is_no_distance_is_refused_naming_the_card(model_dir, tmp_path, value):
    from cari_mtl.api import load_model

    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    (copy / CARD_JSON).write_text(json.dumps({"format": "cari-mtl-model-card", "threshold": {"value": value}}))
    before = digest(copy / CARD_JSON)
    with pytest.raises(ValueError) as error:
        load_model(str(copy))
    assert str(error.value).startswith(f"{copy / CARD_JSON}: its threshold")
    assert "finite number >= 0" in str(error.value)
    assert digest(copy / CARD_JSON) == before


def test_verify_refuses_a_negative_threshold(tiny_model, image_file):
    with pytest.raises(ValueError, match="threshold must be a finite number >= 0"):
        tiny_model.verify([image_file], [image_file], threshold=-1)


# --- 3. galleries: the layout they take, a damaged index ----------------------------------------------------

def test_a_gallery_folder_with_loose_images_is_refused(tiny_model, tmp_path):
    write_image(tmp_path / "gallery" / "Ada" / "a.png", 1)
    write_image(tmp_path / "gallery" / "loose.png", 2)
    with pytest.raises(ValueError, match=r"holds 1 image\(s\) at its top level \(first: loose.png\): a gallery is "
                                         r"<identity>/<image> files"):
        tiny_model.build_gallery(str(tmp_path / "gallery"), output=str(tmp_path / "g.npz"))
    assert not (tmp_path / "g.npz").exists()


def test_a_damaged_gallery_index_is_named_without_pickle_advice(tmp_path):
    from cari_mtl.evaluation.gallery import load_gallery

    index = tmp_path / "faces.npz"
    index.write_bytes(b"\x80\x04garbage that is no zip archive")
    with pytest.raises(ValueError) as error:
        load_gallery(index)
    assert str(error.value).startswith(f"{index} cannot be read as a gallery index")
    assert "pickle" not in str(error.value)


# --- 4. --overwrite on every command that writes a file --------------------------------------------------

@pytest.mark.parametrize("main, argv", [
    (extract_features.main, ["--model_dir", "m", "--image_list", "list.txt"]),
    (plot_roc.main, ["run"]),
    (plot_training.main, ["--logs_dir", "logs"]),
    (plot_tsne.main, ["--model_dir", "m", "--data_dir", "d"]),
], ids=["extract", "plot_roc", "plot_training", "plot_tsne"])
def test_an_existing_output_is_kept_unless_overwrite(tmp_path, capsys, main, argv):
    output = tmp_path / "existing.out"
    output.write_bytes(b"results of yesterday")
    assert run_cli(main, [*argv, "--output", str(output)]) == 2
    one_error(capsys, f"--output {output}: the file exists; pass --overwrite")
    assert output.read_bytes() == b"results of yesterday"


# --- 5. a stored config read with its types ------------------------------------------------------------------

def test_a_stored_value_of_the_wrong_type_names_the_field_and_the_file(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = TrainingConfig().to_dict()
    config["network"]["image_size"] = "96"
    (run_dir / "run.json").write_text(json.dumps({"log_dir": str(tmp_path / "logs"), "config": config}))
    before = digest(run_dir / "run.json")
    assert run_cli(train_module.main, ["--resume", str(run_dir)]) == 2
    one_error(capsys, f"{run_dir / 'run.json'}: stored training config: NetworkConfig.image_size must be int, "
                      f"got '96'")
    assert digest(run_dir / "run.json") == before


# --- 6. inputs checked before any folder is made -------------------------------------------------------------

def test_a_recipe_without_data_names_the_missing_flag_and_makes_no_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run_cli(train_module.main, ["@configs/cavi_modern_cpu.args", *folders(tmp_path)]) == 2
    one_error(capsys, "--data_dir was not given, and its default", "give --data_dir")
    assert not (tmp_path / "logs").exists() and not (tmp_path / "models").exists()


# --- 7. cari-verify worded for the command line, --json errors as JSON ------------------------------------------

def test_verify_without_a_card_names_the_missing_card_and_the_flag(model_dir, tmp_path, capsys):
    from cari_mtl.commands import verify

    image = write_image(tmp_path / "a.png", 1)
    assert run_cli(verify.main, [image, image, "--model_dir", str(model_dir)]) == 2
    line = one_error(capsys, f"{model_dir} has no model card (model_card.json): give --threshold")
    assert "threshold=" not in line


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_verify_of_an_unreadable_image_names_it_and_json_prints_the_error_as_an_object(model_dir, tmp_path,
                                                                                        capsys):
    from cari_mtl.commands import verify

    image, broken = write_image(tmp_path / "a.png", 1), tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    argv = [image, str(broken), "--model_dir", str(model_dir), "--threshold", "1.0"]
    assert run_cli(verify.main, argv) == 2
    line = one_error(capsys, f"{broken} has no embedding", "--align")
    assert "return_valid" not in line
    assert run_cli(verify.main, [*argv, "--json"]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert list(answer) == ["error"] and answer["error"].startswith(f"{broken} has no embedding")


# --- 8. a resumed run's logs: the header once -----------------------------------------------------------------

def test_reopened_logs_keep_one_header(tmp_path):
    for _ in range(2):  # the run, then its resume
        logs = TrainingLogs(tmp_path, tensorboard=False)
        logs.step(1, {key: 1.0 for key in ("L1", "L2", "L3", "CE1", "CE2", "CE3", "center1", "w1", "w2", "w3")})
        logs.close()
    text = (tmp_path / LOSS_FILE).read_text()
    assert text.count(LOSS_HEADER) == 1 and text.startswith(LOSS_HEADER) and len(text.splitlines()) == 3


# --- 9. a tiny image is embedded with a warning ------------------------------------------------------------

def test_a_tiny_image_draws_a_warning(tiny_model, capsys):
    tiny = np.full((12, 12, 3), 128, np.uint8)
    tiny_model.embed([tiny])
    err = capsys.readouterr().err
    assert "warning: 1 image(s) smaller than 32 px on a side (first: an array, 12 px) are upsampled to 80 px" in err
    tiny_model.embed([np.full((80, 80, 3), 128, np.uint8)])
    assert "warning" not in capsys.readouterr().err




def test_nan_is_not_a_threshold_either(tiny_model, image_file):
    with pytest.raises(ValueError, match="finite number >= 0"):
        tiny_model.verify([image_file], [image_file], threshold=math.nan)

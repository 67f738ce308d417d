"""The TrainingConfig is the record of a run: the flags take their defaults from it, run.json stores it,
--resume rebuilds the run from it (or from the flags of a run.json written before it was stored), and
`cari_mtl.train(TrainingConfig(...))` trains without a command line."""

import json
import sys
from pathlib import Path

import pytest

import cari_mtl
import cari_mtl.commands.train as train_module
from cari_mtl.commands.training_flags import parse_training_arguments, training_config
from cari_mtl.data.synthetic import generate_dataset
from cari_mtl.training.config import (
    DataConfig,
    EpochEvaluationConfig,
    LoopConfig,
    NetworkConfig,
    StepConfig,
    TrainingConfig,
    WeightingOptions,
    resolve,
)
from cari_mtl.training.loop.logs import read_step_table
from cari_mtl.training.run.run_file import RUN_FILE

TESTS = Path(__file__).resolve().parent
SMALL_NETWORK = str(TESTS / "small_network.py")


def test_flag_defaults_are_the_config_defaults(capsys):
    from_flags = training_config(parse_training_arguments([]))
    assert from_flags == resolve(TrainingConfig(), lossweights_lr_factor=1.0)
    assert from_flags.step.weighting_options.dwa_window == from_flags.loop.epoch_size == 1000
    assert capsys.readouterr().err == ""


def test_owned_values_are_copied_into_the_groups_that_read_them():
    config = TrainingConfig(network=NetworkConfig(image_size=80, image_standardization="fixed"),
                            loop=LoopConfig(epoch_size=7, legacy_global_step=True), seed=11)
    assert (config.data.image_size, config.data.epoch_size, config.data.seed) == (80, 7, 11)
    assert (config.data.image_standardization, config.evaluation.seed, config.step.legacy_global_step) == \
           ("fixed", 11, True)
    with pytest.raises(TypeError):
        DataConfig(seed=3)


def test_config_round_trips_through_json():
    options = WeightingOptions(dwa_window=5, staged_epochs=(2, 1, 1, 0))
    config = TrainingConfig(data=DataConfig(dataset="webcari", preprocess_threads=2),
                            step=StepConfig(task_weighting="dwa", static_weights=(1.0, 0.0, 0.0),
                                            weighting_options=options),
                            evaluation=EpochEvaluationConfig(mode="similarity"), seed=4)
    stored = json.loads(json.dumps(config.to_dict()))
    assert TrainingConfig.from_dict(stored) == config
    with pytest.raises(ValueError, match="format version"):
        TrainingConfig.from_dict({**stored, "format_version": 99})
    with pytest.raises(ValueError, match="unknown field"):
        TrainingConfig.from_dict({**stored, "loop": {**stored["loop"], "epochs": 3}})


def test_a_do_nothing_flag_is_grouped_and_warned_about(capsys):
    from cari_mtl.commands.training_flags import NOOP_TITLE, training_parser

    assert NOOP_TITLE in training_parser().format_help()
    parse_training_arguments(["--nfold", "3", "--learning_rate_decay_factor", "0.1"])
    assert capsys.readouterr().err.splitlines() == [
        "warning: --nfold does nothing (kept only so that the original's command lines run)"]


def small_run(root, **loop):
    """A TrainingConfig of a tiny run on a synthetic CaVI tree under `root`."""
    dataset = generate_dataset(root / "data", identities=3, photos_per_id=4, caricatures_per_id=3, image_size=40)
    return TrainingConfig(
        data=DataConfig(data_dir=str(dataset.data_dir), test_pairs=str(dataset.pairs_file), downsample=8,
                        batch_size=4),
        network=NetworkConfig(model_def=SMALL_NETWORK, image_size=80),
        loop=LoopConfig(**{"max_nrof_epochs": 1, "epoch_size": 2, "learning_rate": 0.01, **loop}),
        evaluation=EpochEvaluationConfig(batch_size=8, nrof_folds=2),
        logs_base_dir=str(root / "logs"), models_base_dir=str(root / "models"), seed=5,
        speed=cari_mtl.SpeedOptions(xla="off", mixed_precision="off"))


def loss_rows(log_dir):
    return len(read_step_table(Path(log_dir) / "loss.txt", 7))


@pytest.mark.slow
def test_python_api_trains_and_the_command_resumes_new_and_old_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["no-command-line"])
    config = small_run(tmp_path)
    model_dir, log_dir, metrics = cari_mtl.train(config, progress=False)
    assert loss_rows(log_dir) == 2 and metrics is not None
    run = json.loads((model_dir / RUN_FILE).read_text())
    stored = TrainingConfig.from_dict(run["config"])
    assert stored.loop == config.loop and stored.data == config.data and stored.step.lossweights_lr_factor == 1.0

    run["config"]["loop"]["max_nrof_epochs"] = 2  # the stored config is what --resume trains
    (model_dir / RUN_FILE).write_text(json.dumps(run))
    train_module.train(["--resume", str(model_dir)], progress=False)
    assert loss_rows(log_dir) == 4

    old = (TESTS / "fixtures" / "run_v0.json").read_text()  # what the previous version wrote: flags only
    for name, value in {"log_dir": log_dir, "data_dir": config.data.data_dir, "test_pairs": config.data.test_pairs,
                        "model_def": SMALL_NETWORK, "logs_base_dir": tmp_path / "logs",
                        "models_base_dir": tmp_path / "models"}.items():
        old = old.replace("{" + name + "}", str(value))
    (model_dir / RUN_FILE).write_text(old)
    train_module.train(["--resume", str(model_dir)], progress=False)
    assert loss_rows(log_dir) == 6


@pytest.mark.slow
def test_a_registered_third_dataset_trains_without_touching_commands_or_model(tmp_path, monkeypatch):
    from cari_mtl.data.cavi import cavi_split
    from cari_mtl.training import datasets

    read = []

    def read_every_fourth_pair(config):  # a reader of its own: the CaVI tree with a fixed split
        read.append(config.data_dir)
        return cavi_split(config.data_dir, config.test_pairs, downsample=4)

    monkeypatch.setitem(datasets.DATASETS, "cavi_every_fourth", None)
    datasets.register(datasets.Dataset("cavi_every_fourth", read_every_fourth_pair, lossweights_variant="webcari",
                                       lossweights_lr_factor=3.0))
    base = small_run(tmp_path)
    config = TrainingConfig(data=DataConfig(dataset="cavi_every_fourth", data_dir=base.data.data_dir,
                                            test_pairs=base.data.test_pairs, batch_size=4),
                            network=base.network, loop=base.loop, evaluation=base.evaluation, speed=base.speed,
                            logs_base_dir=base.logs_base_dir, models_base_dir=base.models_base_dir, seed=5)
    model_dir, log_dir, _ = cari_mtl.train(config, progress=False)
    stored = TrainingConfig.from_dict(json.loads((model_dir / RUN_FILE).read_text())["config"])
    assert read == [base.data.data_dir] and loss_rows(log_dir) == 2
    assert stored.data.dataset == "cavi_every_fourth" and stored.step.lossweights_lr_factor == 3.0
    model_config = json.loads((model_dir / "epoch_0001" / "config.json").read_text())
    assert model_config["lossweights_variant"] == "webcari"
    assert "cavi_every_fourth" in parse_training_arguments(["--dataset", "cavi_every_fourth"]).dataset

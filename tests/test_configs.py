"""Flags become typed configs once, in the command layer; shared flags mean the same in every command."""

from dataclasses import replace

import pytest

from cari_mtl.commands.argument_files import expand_argument_files
from cari_mtl.commands.evaluation_flags import evaluation_config, evaluation_parser, parse_evaluation_arguments
from cari_mtl.commands.training_flags import parse_training_arguments, training_config, training_parser
from cari_mtl.evaluation.config import EvaluationConfig, EvaluationConfigError
from cari_mtl.model.loading import ModelSource
from cari_mtl.runtime.speed import SpeedOptions

SHARED = ("--lfw_batch_size", "--lfw_nrof_folds", "--far", "--evaluate_mode", "--legacy_val", "--xla",
          "--mixed_precision", "--image_standardization")


def test_training_flags_reach_their_config_groups():
    args = parse_training_arguments(["--dataset", "webcari", "--lfw_batch_size", "7", "--evaluate_mode", "Euclidian",
                                     "--no_restore_optimizer_state", "--xla", "off", "--seed", "3",
                                     "--loss_weight_base2", "0.5", "--nrof_preprocess_threads", "2"])
    config = training_config(args)
    assert config.step.lossweights_lr_factor == 10.0 and config.step.loss_weight_base == (0.0, 0.5, 0.0)
    assert (config.evaluation.batch_size, config.evaluation.mode, config.evaluation.seed) == (7, "euclidean", 3)
    assert not config.network.restore_optimizer_state and config.speed == SpeedOptions("off", "auto")
    assert (config.data.dataset, config.data.preprocess_threads, config.data.seed) == ("webcari", 2, 3)
    assert (config.network.image_standardization, config.network.logits_relu) == ("prewhiten", True)


def test_evaluation_flags_give_the_evaluation_config(tmp_path):
    parser = evaluation_parser("test", "cavi")
    args = parse_evaluation_arguments(parser, ["--data_dir", "D", "--model_dir", "M", "--test_pairs", "P",
                                               "--evaluate_mode", "similarity", "--lfw_nrof_folds", "4",
                                               "--logs_base_dir", str(tmp_path), "--image_size", "96"])
    assert evaluation_config(args) == EvaluationConfig(ModelSource("M", 96), logs_base_dir=str(tmp_path),
                                                       nrof_folds=4, mode="similarity")


def test_evaluation_config_validate_checks_the_ranges_and_the_command_names_the_flag(tmp_path):
    config = EvaluationConfig(ModelSource("M"))
    assert config.validate() is config
    assert replace(config, nrof_folds=1).validate(verification=False).nrof_folds == 1
    for field, value in (("nrof_folds", 1), ("far", 0.0), ("far", float("nan")), ("batch_size", 0), ("rank_n", 0)):
        with pytest.raises(EvaluationConfigError) as caught:
            replace(config, **{field: value}).validate()
        assert caught.value.field == field and caught.value.value is value
    parser = evaluation_parser("test", "identify")
    argv = ["--data_dir", "D", "--model_dir", "M", "--probe", "P", "--gallery", "G", "--lfw_nrof_folds", "1"]
    assert evaluation_config(parse_evaluation_arguments(parser, argv)).nrof_folds == 1
    args = parse_evaluation_arguments(evaluation_parser("test", "cavi"), ["--data_dir", "D", "--model_dir", "M",
                                                                         "--test_pairs", "P", "--lfw_batch_size", "0"])
    with pytest.raises(ValueError, match=r"^--lfw_batch_size must be a positive integer, got 0; checked before"):
        evaluation_config(args)


def test_shared_flags_have_one_definition():
    training = training_parser()._option_string_actions
    for kind in ("cavi", "webcari"):
        evaluation = evaluation_parser("test", kind)._option_string_actions
        for flag in SHARED:
            assert (training[flag].help, training[flag].default, training[flag].choices) == \
                   (evaluation[flag].help, evaluation[flag].default, evaluation[flag].choices), flag


def test_modern_flags_reach_their_config_groups_and_default_to_the_original():
    default = training_config(parse_training_arguments([]))
    assert (default.network.heads, default.step.optimizer, default.step.label_smoothing) == ({}, "RMSProp", 0.0)
    assert (default.loop.learning_rate_schedule, default.loop.warmup_steps) == ("epochs", 0)
    config = training_config(parse_training_arguments([
        "--verif_head", "cosface", "--identity_heads", "arcface", "--margin", "0.4", "--optimizer", "AdamW",
        "--adamw_weight_decay", "0.001", "--learning_rate", "0.002", "--learning_rate_schedule", "cosine",
        "--warmup_steps", "50", "--label_smoothing", "0.1"]))
    assert config.network.heads == {"verif_head": "cosface", "identity_heads": "arcface", "margin": 0.4,
                                    "margin_scale": 30.0}
    assert (config.step.optimizer, config.step.adamw_weight_decay, config.step.label_smoothing) == ("AdamW", 0.001,
                                                                                                     0.1)
    assert (config.loop.learning_rate_schedule, config.loop.warmup_steps) == ("cosine", 50)


def test_a_cosine_schedule_without_a_peak_rate_is_refused(capsys):
    import pytest

    with pytest.raises(SystemExit) as stopped:
        parse_training_arguments(["--learning_rate_schedule", "cosine", "--learning_rate", "-1"])
    assert stopped.value.code == 2 and "--learning_rate > 0" in capsys.readouterr().err


def test_the_modern_recipes_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "configs"
    cpu = training_config(parse_training_arguments(expand_argument_files([f"@{root / 'cavi_modern_cpu.args'}"])))
    assert (cpu.data.image_size, cpu.data.batch_size, cpu.loop.max_nrof_epochs * cpu.loop.epoch_size) == (96, 32, 2000)
    assert (cpu.network.heads["verif_head"], cpu.step.optimizer, cpu.loop.learning_rate_schedule) == (
        "cosface", "AdamW", "cosine")
    gpu = training_config(parse_training_arguments(expand_argument_files([f"@{root / 'cavi_modern_gpu.args'}"])))
    assert (gpu.data.image_size, gpu.data.batch_size, gpu.speed.mixed_precision) == (160, 256, "bfloat16")


def test_both_backends_take_the_options_beyond_the_original_from_one_reading_of_the_config():
    """step_options reads the heads' losses, AdamW's decay and the per-step schedule once for the
    TensorFlow and the JAX step; the original's config gives the original's loss and per-epoch rates."""
    from cari_mtl.model.model_dir import ModelConfig
    from cari_mtl.training.config import LoopConfig, StepConfig, TrainingConfig
    from cari_mtl.training.step.formulas import task_loss_terms
    from cari_mtl.training.step.options import heads_line, modern_step_options

    original = modern_step_options(TrainingConfig(), ModelConfig(96, 5))
    assert original["loss_terms_fn"] is task_loss_terms and original["learning_rate_schedule"] is None
    assert heads_line(ModelConfig(96, 5)) is None
    modern = TrainingConfig(step=StepConfig(optimizer="AdamW", adamw_weight_decay=1e-3, label_smoothing=0.1),
                            loop=LoopConfig(learning_rate=0.002, learning_rate_schedule="cosine", warmup_steps=10,
                                            epoch_size=20, max_nrof_epochs=3))
    model_config = ModelConfig(96, 5, verif_head="cosface", margin_scale=30.0)
    options = modern_step_options(modern, model_config)
    heads = options["loss_terms_fn"].keywords["cross_entropy_fns"]
    assert [fn.keywords["head"] for fn in heads] == ["cosface", "softmax", "softmax"]
    assert {fn.keywords["label_smoothing"] for fn in heads} == {0.1}
    assert options["optimizer_options"] == {"adamw_weight_decay": 1e-3}
    schedule = options["learning_rate_schedule"]
    assert (schedule.decay_steps, schedule.warmup_steps, schedule.warmup_target) == (50, 10, 0.002)
    assert heads_line(model_config).startswith("heads: verification cosface, identification softmax")

"""Training command: flags → TrainingConfig → cari_mtl.training.run.session (train/*.py call `main`).

    python train/train.py --data_dir D --test_pairs P [--dataset cavi|webcari] [--task_weighting ...]
    python train/train.py @configs/cavi_from_scratch.args --data_dir D --test_pairs P   # a recipe file
    python train/train.py --resume <models_base_dir>/<timestamp>      # continue an interrupted run
    python train/train.py ... --distribute mirrored                   # every local GPU

A run stores its TrainingConfig in run.json (and its flags beside it, for display); --resume
rebuilds the run from that config. A run.json of an older version holds only the flags: they
are parsed again.
"""

import dataclasses
import sys
from pathlib import Path

from cari_mtl.commands.argument_files import expand_argument_files
from cari_mtl.commands.resume_flags import resume_extension
from cari_mtl.commands.training_flags import parse_training_arguments, training_config
from cari_mtl.runtime.backend import DEFAULT_BACKEND, chosen_at_start, select_backend
from cari_mtl.training.config import TrainingConfig
from cari_mtl.training.loop.interrupt import TrainingInterrupted, WorkerLost
from cari_mtl.training.run.run_file import RUN_FILE, newest_run, read_run_file


def resolve_resume(resume, models_base_dir):
    """The model directory named by --resume ('latest': newest run with a checkpoint)."""
    if resume != "latest":
        return Path(resume).expanduser()
    run = newest_run(models_base_dir)
    if run is None:
        raise FileNotFoundError(f"--resume latest: no run with a checkpoint under {models_base_dir}")
    return run


def config_of_flags(args):
    """The TrainingConfig of the flags, checked (a native --pretrained_model lends its stored model options)."""
    config = training_config(args, stored_model_config(args.pretrained_model))
    config.validate()
    return config


def stored_run_config(run, max_nrof_epochs=None, path=RUN_FILE):
    """The TrainingConfig a run stored in its run.json (from its flags when an older version wrote it), with
    `max_nrof_epochs` when --resume extends the run."""
    if "config" in run:
        try:
            config = TrainingConfig.from_dict(run["config"])
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path}: {error}; put it back as the run wrote it") from None
    else:
        config = config_of_flags(parse_training_arguments(run["argv"], run.get("defaults")))
    if max_nrof_epochs is None:
        return config
    config = dataclasses.replace(config, loop=dataclasses.replace(config.loop, max_nrof_epochs=max_nrof_epochs))
    config.validate()
    return config


def resolve_config(argv, defaults=None):
    """(TrainingConfig, model directory to resume or None, run.json's new content or None): the stored config
    of the run when resuming, on the backend it was trained on; a longer epoch budget goes into the new
    run.json, which the run writes once it has restored the checkpoint."""
    args = parse_training_arguments(argv, defaults)
    if not args.resume:
        return config_of_flags(args), None, None
    extension = resume_extension(argv, args)
    model_dir = resolve_resume(args.resume, args.models_base_dir)
    run = read_run_file(model_dir)
    config = stored_run_config(run, args.max_nrof_epochs if extension else None, Path(model_dir) / RUN_FILE)
    config = dataclasses.replace(config, backend=resumed_backend(model_dir, config.backend or run.get("backend"),
                                                                 args.backend or chosen_at_start()))
    if not extension:
        return config, model_dir, None
    settings = {key: value for key, value in run.items() if key != "log_dir"}
    print(f"--resume {model_dir}: epoch budget now {config.loop.max_nrof_epochs} (stored in its run.json)")
    return config, model_dir, {**settings, "config": config.to_dict(), "argv": run.get("argv", []) + extension}


def resumed_backend(model_dir, stored, asked):
    """The backend a resumed run continues on: the one it was trained on (`stored`; a run.json without one is
    TensorFlow's); `asked` (--backend or KERAS_BACKEND), when given, must be the same."""
    stored = stored or DEFAULT_BACKEND
    if asked and asked != stored:
        raise ValueError(f"--resume {model_dir}: this run was trained under --backend {stored}, whose "
                         f"checkpoints this backend cannot read: resume it with --backend {stored}")
    return select_backend(stored)


def stored_model_config(pretrained_model):
    """The ModelConfig of a native --pretrained_model directory, else None."""
    from cari_mtl.model.model_dir import is_model_dir, read_config

    return read_config(pretrained_model) if pretrained_model and is_model_dir(pretrained_model) else None


def train(argv, defaults=None, progress=True):
    """Runs (or resumes) a training from its flags; returns (model_dir, log_dir, last epoch's metrics)."""
    argv = expand_argument_files(argv)
    config, resume_dir, resumed_record = resolve_config(argv, defaults)
    from cari_mtl.training.run.session import run_training  # Keras, once the flags parsed (not for --help)

    return run_training(config, run_settings={"argv": list(argv), "defaults": defaults or {}}, resume_dir=resume_dir,
                        command_line=" ".join([sys.argv[0], *argv]), progress=progress,
                        resumed_record=resumed_record)



def main(argv=None, defaults=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        train(argv, defaults)
    except (TrainingInterrupted, WorkerLost) as stopped:
        from cari_mtl.commands.stop_messages import stop_message

        print(stop_message(stopped), file=sys.stderr)
        return stopped.exit_code
    return 0

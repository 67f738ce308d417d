"""Training command: flags → TrainingConfig → cari_mtl.training.session (train/*.py call `main`).

    python train/train.py --data_dir D --test_pairs P [--dataset cavi|webcari] [--task_weighting ...]
    python train/train.py @configs/cavi_from_scratch.args --data_dir D --test_pairs P   # a recipe file
    python train/train.py --resume <models_base_dir>/<timestamp>      # continue an interrupted run
    python train/train.py ... --distribute mirrored                   # every local GPU

A run stores its expanded flags in run.json; --resume parses them again, so a resumed run has the
configuration of the interrupted one.
"""

import sys
from pathlib import Path

from cari_mtl.commands.argument_files import expand_argument_files
from cari_mtl.commands.flag_checks import check_training_flags
from cari_mtl.commands.resume_flags import resume_extension
from cari_mtl.commands.training_flags import parse_training_arguments, training_config
from cari_mtl.model.model_dir import is_model_dir, read_config
from cari_mtl.training.interrupt import TrainingInterrupted
from cari_mtl.training.session import run_training
from cari_mtl.training.trainer import CHECKPOINT_DIR, read_run_file, write_run_file
from cari_mtl.training.worker_failure import WorkerLost


def resolve_resume(resume, models_base_dir):
    """The model directory named by --resume ('latest': newest run with a checkpoint)."""
    if resume != "latest":
        return Path(resume).expanduser()
    runs = sorted(p.parent.parent for p in Path(models_base_dir).expanduser().glob(f"*/{CHECKPOINT_DIR}/checkpoint"))
    if not runs:
        raise FileNotFoundError(f"--resume latest: no run with a checkpoint under {models_base_dir}")
    return runs[-1]


def resolve_arguments(argv, defaults=None):
    """(args, model directory to resume or None): the stored flags of the run when resuming."""
    args = parse_training_arguments(argv, defaults)
    if args.resume:
        extension = resume_extension(argv, args)
        model_dir = resolve_resume(args.resume, args.models_base_dir)
        run = read_run_file(model_dir)
        args = parse_training_arguments(run["argv"] + extension, run.get("defaults"))
        check_training_flags(args)
        if extension:
            settings = {key: value for key, value in run.items() if key != "log_dir"}
            write_run_file(model_dir, run["log_dir"], {**settings, "argv": run["argv"] + extension})
            print(f"--resume {model_dir}: epoch budget now {args.max_nrof_epochs} (stored in its run.json)")
    else:
        model_dir = None
        check_training_flags(args)
    return args, model_dir


def stored_model_config(pretrained_model):
    """The ModelConfig of a native --pretrained_model directory, else None."""
    return read_config(pretrained_model) if pretrained_model and is_model_dir(pretrained_model) else None


def train(argv, defaults=None, progress=True):
    """Runs (or resumes) a training from its flags; returns (model_dir, log_dir, last epoch's metrics)."""
    argv = expand_argument_files(argv)
    args, resume_dir = resolve_arguments(argv, defaults)
    config = training_config(args, stored_model_config(args.pretrained_model))
    return run_training(config, run_settings={"argv": list(argv), "defaults": defaults or {}}, resume_dir=resume_dir,
                        command_line=" ".join([sys.argv[0], *argv]), progress=progress)


def main(argv=None, defaults=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        train(argv, defaults)
    except (TrainingInterrupted, WorkerLost) as stopped:
        print(stopped, file=sys.stderr)
        return stopped.exit_code
    return 0


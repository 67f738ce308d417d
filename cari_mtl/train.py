"""Training command: flags → data → network → compiled step → epochs (train/train.py calls `main`).

    python train/train.py --data_dir D --test_pairs P [--dataset cavi|webcari] [--task_weighting ...]
    python train/train.py @configs/cavi_from_scratch.args --data_dir D --test_pairs P   # a recipe file
    python train/train.py --resume <models_base_dir>/<timestamp>      # continue an interrupted run
    python train/train.py ... --distribute mirrored                   # every local GPU

With --distribute multiworker every machine runs the same command; the chief writes the run's
directories, the other workers restore from them (a shared filesystem for --resume) and write
their own copies of checkpoints and logs to a temporary directory.
"""

import sys
from pathlib import Path

import keras

from cari_mtl import distribute, weighting, worker_failure
from cari_mtl.argument_files import expand_argument_files
from cari_mtl.checkpoints import find_checkpoint_prefix
from cari_mtl.cli import run_cli
from cari_mtl.evaluation import new_log_dir
from cari_mtl.flag_checks import check_training_flags
from cari_mtl.flags import parse_training_arguments
from cari_mtl.interrupt import TrainingInterrupted
from cari_mtl.log_truncation import cut_logs
from cari_mtl.model_dir import ModelConfig, is_model_dir, load_model_dir, read_config
from cari_mtl.model_flags import chosen_logits_relu, chosen_standardization
from cari_mtl.model_loading import model_from_checkpoint
from cari_mtl.optimizer_state import restore_optimizer_state
from cari_mtl.output_dirs import require_writable_dir
from cari_mtl.resume import find_resume_point
from cari_mtl.schedule import LearningRate
from cari_mtl.speed import apply_mixed_precision, use_xla
from cari_mtl.train_step import TrainStep
from cari_mtl.trainer import CHECKPOINT_DIR, Trainer, read_run_file, write_run_file
from cari_mtl.training_data import load_training_data

SOURCE_DIR = Path(__file__).resolve().parent


def resolve_model_options(args):
    """Turns --image_standardization / --logits_relu into the values to train with: the flag, else
    what a native --pretrained_model directory stores, else the original's (prewhiten, ReLU on)."""
    stored = read_config(args.pretrained_model) if args.pretrained_model and is_model_dir(args.pretrained_model) else None
    args.image_standardization = chosen_standardization(args.image_standardization,
                                                        stored.image_standardization if stored else None)
    args.logits_relu = chosen_logits_relu(args.logits_relu, stored.logits_relu if stored else None)


def build_model(args, nrof_classes, variant):
    """(model, ModelConfig): fresh, or from --pretrained_model (native directory or TF1 checkpoint)."""
    options = {"image_standardization": args.image_standardization, "logits_relu": args.logits_relu}
    if args.pretrained_model and is_model_dir(args.pretrained_model):
        model, stored = load_model_dir(args.pretrained_model, args.keep_probability, args.weight_decay, **options)
        if stored.nrof_classes != nrof_classes or stored.lossweights_variant != variant:
            raise ValueError(
                f"--pretrained_model {args.pretrained_model} has {stored.nrof_classes} classes and weights head "
                f"{stored.lossweights_variant!r}, the training data needs {nrof_classes} and {variant!r}: "
                f"convert a TF1 checkpoint instead or train from scratch")
        return model, stored
    if args.pretrained_model:
        model, config, report = model_from_checkpoint(
            args.pretrained_model, image_size=args.image_size, nrof_classes=nrof_classes,
            lossweights_variant=variant, model_def=args.model_def, keep_probability=args.keep_probability,
            weight_decay=args.weight_decay, **options)
        print(report.format())
        return model, config
    config = ModelConfig(args.image_size, nrof_classes, variant, str(Path(args.model_def).resolve()), **options)
    return config.build(args.keep_probability, args.weight_decay), config


def check_pretrained_image_size(args):
    """A native --pretrained_model must have the input size of --image_size (else step 1 fails in the graph)."""
    if args.pretrained_model and is_model_dir(args.pretrained_model):
        stored = read_config(args.pretrained_model).image_size
        if stored != args.image_size:
            raise ValueError(f"--pretrained_model {args.pretrained_model} is a {stored} px model and --image_size is "
                             f"{args.image_size}: pass --image_size {stored}")


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
        model_dir = resolve_resume(args.resume, args.models_base_dir)
        run = read_run_file(model_dir)
        args = parse_training_arguments(run["argv"], run.get("defaults"))
    else:
        model_dir = None
    check_training_flags(args)
    resolve_model_options(args)
    return args, model_dir


def run_dirs(args, argv, defaults, resume_dir, chief=True):
    """(model_dir, log_dir) this process writes to: the run's own, or a scratch copy off the chief."""
    if not chief:
        scratch = Path(distribute.worker_scratch_dir())
        return scratch / "model", scratch / "logs"
    if resume_dir is not None:
        return resume_dir, Path(read_run_file(resume_dir)["log_dir"])
    require_writable_dir(args.logs_base_dir, "--logs_base_dir")
    require_writable_dir(args.models_base_dir, "--models_base_dir")
    log_dir = new_log_dir(args.logs_base_dir)
    model_dir = Path(args.models_base_dir).expanduser() / log_dir.name
    model_dir.mkdir(parents=True, exist_ok=True)
    write_run_file(model_dir, log_dir, {"argv": list(argv), "defaults": defaults or {}})
    return model_dir, log_dir


def train(argv, defaults=None, progress=True):
    """Runs (or resumes) a training; returns (model_dir, log_dir, last epoch's metrics)."""
    argv = expand_argument_files(argv)
    args, resume_dir = resolve_arguments(argv, defaults)
    with worker_failure.LostWorkers(args, resume_dir), worker_failure.started_within(args):
        distribution = distribute.make_distribution(args.distribute, args.collective_timeout)
    distribute.check_batch_size(args.batch_size, distribution)
    chief = distribute.is_chief(distribution)
    check_pretrained_image_size(args)
    model_dir, log_dir = run_dirs(args, argv, defaults, resume_dir, chief)
    if resume_dir is not None and chief:
        cut_logs(log_dir, find_resume_point(resume_dir / CHECKPOINT_DIR), args.epoch_size)
    keras.utils.set_random_seed(args.seed)
    policy = apply_mixed_precision(args.mixed_precision)
    jit_compile = use_xla(args.xla) and (args.distribute == "none" or args.xla == "on")
    strategy = weighting.make_strategy(args.task_weighting, (args.loss_weight_base1, args.loss_weight_base2,
                                                             args.loss_weight_base3), args.static_weights)
    variant = strategy.lossweights_variant(args.dataset)
    data, nrof_classes = load_training_data(args)
    lost_workers = worker_failure.LostWorkers(args, model_dir if chief else resume_dir)
    with distribution.scope(), lost_workers:
        model, config = build_model(args, nrof_classes, variant)
    print(f"Model directory: {model_dir}\nLog directory: {log_dir}\nclasses: {nrof_classes}, "
          f"weighting: {strategy.name}, weights head: {variant}\nreplicas: {distribution.num_replicas_in_sync}, "
          f"dtype policy: {policy}, XLA: {'on' if jit_compile else 'off'}\nimage standardization: "
          f"{config.image_standardization}, logits ReLU: {'on' if config.logits_relu else 'off'}")
    with lost_workers:
        step = TrainStep(model, strategy, args.optimizer, args.center_loss_factor, args.center_loss_alfa,
                         args.lossweights_lr_factor, args.moving_average_decay, args.legacy_global_step,
                         distribution=distribution, jit_compile=jit_compile)
    if args.pretrained_model and not is_model_dir(args.pretrained_model) and resume_dir is None \
            and not args.no_restore_optimizer_state:
        print(restore_optimizer_state(step, find_checkpoint_prefix(args.pretrained_model), args.optimizer).format())
    trainer = Trainer(args, step, config, data, model_dir, log_dir, progress)
    if resume_dir is not None:
        print(f"resuming from {trainer.restore(resume_dir)}")
    elif chief:
        trainer.logs.write_revision(" ".join([sys.argv[0], *argv]), SOURCE_DIR)
    with lost_workers:
        metrics = trainer.run(LearningRate(args.learning_rate, args.learning_rate_schedule_file))
    return model_dir, log_dir, metrics


def main(argv=None, defaults=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        train(argv, defaults)
    except (TrainingInterrupted, worker_failure.WorkerLost) as stopped:
        print(stopped, file=sys.stderr)
        return stopped.exit_code
    return 0


def run(defaults=None):
    """Entry point of the script wrappers: exit status 2 with one line for expected errors."""
    sys.exit(run_cli(lambda argv: main(argv, defaults), sys.argv[1:]))


if __name__ == "__main__":
    run()

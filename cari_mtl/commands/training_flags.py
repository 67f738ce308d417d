"""The training scripts' command-line flags, defined once for every script, parsed into a TrainingConfig.

Every flag of the original `parse_arguments` is accepted with its meaning and default; the defaults
come from the TrainingConfig tree (cari_mtl.training.config), the single source. Flags the original
parsed but never used sit in a group of their own and draw a warning when set. The port adds --dataset,
--task_weighting, --static_weights, --lossweights_lr_factor, --resume, --save_every_n_steps,
--legacy_global_step, --image_standardization, --logits_relu, --legacy_folds, --legacy_val,
--no_restore_optimizer_state and the performance flags --xla, --mixed_precision, --distribute and --collective_timeout;
beyond the original, the margin heads (--verif_head, --identity_heads, --margin, --margin_scale), --optimizer
AdamW with --adamw_weight_decay, --learning_rate_schedule cosine with --warmup_steps, and --label_smoothing.
The wrappers named like the original scripts preset --dataset and --task_weighting through
`training_parser(defaults=...)`. `@file` arguments are expanded before parsing, once, by the training
command (cari_mtl.commands.argument_files).
The groups shared with the evaluation commands come from cari_mtl.commands.common_flags.
"""

import argparse
import dataclasses
import sys

from cari_mtl.commands.common_flags import (
    EVALUATE_MODES,
    add_collective_timeout_flag,
    add_distribute_flag,
    add_forward_batch_flag,
    add_image_standardization_flag,
    add_legacy_val_flag,
    add_logits_relu_flag,
    add_speed_flags,
    add_verification_flags,
)
from cari_mtl.model.options import HEADS, LOGITS_RELU_CHOICES
from cari_mtl.training import datasets
from cari_mtl.training.config import LEARNING_RATE_SCHEDULES, OPTIMIZERS, TrainingConfig, resolve
from cari_mtl.training.config_checks import FLAGS
from cari_mtl.training.weighting import registry

NOOP = "does nothing (unused by the original's training scripts)"
NOOP_TITLE = "flags of the original that do nothing (accepted for compatibility)"
DEFAULTS = TrainingConfig()


def add_output_flags(parser):
    parser.add_argument("--logs_base_dir", default=DEFAULTS.logs_base_dir,
                        help="logs go to <logs_base_dir>/<YYYYmmdd-HHMMSS>/ (default %(default)s)")
    parser.add_argument("--models_base_dir", default=DEFAULTS.models_base_dir,
                        help="models and checkpoints go to <models_base_dir>/<YYYYmmdd-HHMMSS>/ "
                             "(default %(default)s)")


def add_data_flags(parser):
    data = DEFAULTS.data
    parser.add_argument("--dataset", choices=sorted(datasets.DATASETS), default=data.dataset,
                        help="cavi (CaVI layout and split) or webcari (WebCaricature); also selects the "
                             "weights-head variant and the default --lossweights_lr_factor (default %(default)s)")
    parser.add_argument("--data_dir", default=data.data_dir,
                        help="dataset folder (CaVI: holds Real/ and Caricature/; WebCaricature: the face crops)")
    parser.add_argument("--test_pairs", default=data.test_pairs,
                        help="pairs file of the test split (CaVI testing_1.txt; WebCaricature protocol file)")
    parser.add_argument("--train_pairs", default=data.train_pairs,
                        help="WebCaricature: protocol file listing the training images; CaVI: " + NOOP)
    parser.add_argument("--downsample", type=int, default=data.downsample,
                        help="CaVI: keep every n-th test pair (default %(default)s)")
    parser.add_argument("--test_image_keys", choices=("spelled", "resolved"), default=data.test_image_keys,
                        help="CaVI: test images of the per-epoch identification are distinct by path and "
                             "identity as spelled in the pairs file (spelled, the original: an image written "
                             "two ways counts twice) or as found on disk (resolved: each image once)")
    parser.add_argument("--image_size", type=int, default=DEFAULTS.network.image_size,
                        help="input size in pixels (default %(default)s)")
    parser.add_argument("--random_crop", action="store_true",
                        help="random crops of image_size instead of resizing")
    parser.add_argument("--random_flip", action="store_true", help="random horizontal flips")
    parser.add_argument("--random_rotate", action="store_true", help="random rotations (-180..180 degrees)")
    parser.add_argument("--nrof_preprocess_threads", type=int, default=data.preprocess_threads,
                        help="parallel image decoding calls of the input pipeline (default: autotuned by "
                             "tf.data; the original hard-coded 4)")


def add_noop_flags(parser):
    """The original's flags that no training script of it used, in a group of their own."""
    group = parser.add_argument_group(NOOP_TITLE)
    group.add_argument("--gpu_memory_fraction", type=float, default=1.0,
                       help="does nothing (TensorFlow 2 allocates GPU memory itself)")
    for name in ("--data_dir_test", "--labels_expression", "--labels_expression_test", "--lfw_dir",
                 "--filter_filename", "--trainset_end"):
        group.add_argument(name, default=None, help=NOOP)
    group.add_argument("--lfw_pairs", default="../data/pairs.txt", help=NOOP)
    group.add_argument("--lfw_file_ext", default="png", choices=["jpg", "png"], help=NOOP)
    group.add_argument("--filter_percentile", type=float, default=100.0, help=NOOP)
    group.add_argument("--filter_min_nrof_images_per_class", type=int, default=0, help=NOOP)
    group.add_argument("--trainset_start", type=int, default=0, help=NOOP)
    group.add_argument("--augfer2013", action="store_true", help=NOOP)
    group.add_argument("--nfold", type=int, default=10, help=NOOP)
    group.add_argument("--ifold", type=int, default=0, help=NOOP)
    group.add_argument("--decov_loss_factor", type=float, default=0.0, help=NOOP)
    group.add_argument("--expression_loss_factor", type=float, default=0.1, help=NOOP)
    group.add_argument("--learning_rate_decay_epochs", type=int, default=10,
                       help="does nothing: the original's decay uses factor 1.0, so nothing decays")
    group.add_argument("--learning_rate_decay_factor", type=float, default=0.1,
                       help="does nothing: the original's decay uses factor 1.0, so nothing decays")
    group.add_argument("--evaluate_express", default=True,
                       help="does nothing: evaluation always runs after each epoch (the original's type=bool "
                            "flag is true for any value)")
    group.add_argument("--expr_pairs", default="../data/IdentitySplit_4th_10fold_oulucasiapairs_Six.txt",
                       help="does nothing: the verification always uses --test_pairs")
    return group


def warn_noop_flags(parser, args, out=None):
    """A warning line per do-nothing flag given a value other than its default."""
    group = next(group for group in parser._action_groups if group.title == NOOP_TITLE)
    for action in group._group_actions:
        if getattr(args, action.dest) != action.default:
            print(f"warning: {action.option_strings[0]} does nothing (kept only so that the original's command "
                  f"lines run)", file=out or sys.stderr)


def warn_unused_flags(args, out=None):
    """A warning line per flag that does nothing in the configuration the other flags chose."""
    unused = []
    margin_heads = {args.verif_head, args.identity_heads} - {None, "softmax"}
    if not margin_heads and args.pretrained_model is None:
        unused += [(name, "with softmax heads (it sets the margin heads: --verif_head / --identity_heads cosface "
                          "or arcface)") for name in ("--margin", "--margin_scale")
                   if getattr(args, name[2:]) is not None]
    if args.optimizer != "AdamW" and args.adamw_weight_decay != DEFAULTS.step.adamw_weight_decay:
        unused.append(("--adamw_weight_decay", f"with --optimizer {args.optimizer} (it is AdamW's)"))
    for name, reason in unused:
        print(f"warning: {name} does nothing {reason}", file=out or sys.stderr)


def add_model_flags(parser):
    network = DEFAULTS.network
    parser.add_argument("--model_def", default=network.model_def,
                        help="network definition file (default: the package's inception_resnet_v1_cari_vis.py, "
                             "also reachable as models/inception_resnet_v1_cari_vis.py of the checkout; the "
                             "original's default 'models.nn4' does not exist here)")
    parser.add_argument("--pretrained_model", default=None,
                        help="start from a TF1 checkpoint directory (converted on load) or a native model "
                             "directory")
    parser.add_argument("--keep_probability", type=float, default=network.keep_probability,
                        help="dropout keep probability of the three branches (default %(default)s)")
    parser.add_argument("--weight_decay", type=float, default=network.weight_decay,
                        help="L2 weight decay; as in the original it is only logged, never added to the "
                             "loss, so it has no training effect (default %(default)s)")
    add_image_standardization_flag(parser)
    add_logits_relu_flag(parser)
    parser.add_argument("--no_restore_optimizer_state", action="store_true",
                        help="with a TF1 --pretrained_model: restore its weights only, not the optimizer slots "
                             "of --optimizer, moving averages, center table and global step it holds (the "
                             "original restores them)")
    add_margin_head_flags(parser)


def add_margin_head_flags(parser):
    """Beyond the original (PORTING X1): CosFace / ArcFace in place of the softmax heads."""
    parser.add_argument("--verif_head", choices=HEADS, default=None,
                        help="head of the verification branch (Logits_verif): softmax (the original's), cosface "
                             "(Wang et al. 2018) or arcface (Deng et al. 2019), the last two on l2-normalised "
                             "embeddings and class weights. Default: a --pretrained_model directory's stored head, "
                             "else softmax")
    parser.add_argument("--identity_heads", choices=HEADS, default=None,
                        help="head of the photo and caricature branches (Logits, Logits_cari), as --verif_head; a "
                             "margin head has no ReLU whatever --logits_relu says (default: stored, else softmax)")
    parser.add_argument("--margin", type=float, default=None,
                        help="margin m of the margin heads (default 0.35 for cosface, 0.5 for arcface)")
    parser.add_argument("--margin_scale", type=float, default=None,
                        help="scale s of the margin heads: their logits are s*cos (default 30)")


def add_loss_flags(parser):
    step, options = DEFAULTS.step, DEFAULTS.step.weighting_options
    parser.add_argument("--center_loss_factor", type=float, default=step.center_loss_factor,
                        help="beta: weight of the center loss in L1, L2 and L3 (default %(default)s)")
    parser.add_argument("--center_loss_alfa", type=float, default=step.center_loss_alfa,
                        help="center update rate: c -= (1 - alfa) * mean(c - f) per class (default %(default)s)")
    parser.add_argument("--task_weighting", choices=registry.names(), default=step.task_weighting,
                        help="dynamic: the proposed method (weights head trained on L4 by its own optimizer); "
                             "naive: weights head trained on L with everything else; static: --static_weights; "
                             "uncertainty (Kendall et al. 2018), dwa (Liu et al. 2019), gradnorm (Chen et al. "
                             "2018), pcgrad (Yu et al. 2020), mgda (MGDA-UB, Sener & Koltun 2018), staged (TFN's "
                             "alternating stages, --staged_epochs): see docs/TASK_WEIGHTING.md (default %(default)s)")
    parser.add_argument("--detach_weights_input", action="store_true",
                        help="dynamic: the weights head reads the trunk features through a stop-gradient, so only "
                             "L4 moves the weights (the original lets L's gradient reach the trunk through them)")
    parser.add_argument("--dwa_temperature", type=float, default=options.dwa_temperature,
                        help="dwa: softmax temperature T (default %(default)s)")
    parser.add_argument("--dwa_window", type=int, default=options.dwa_window,
                        help="dwa: steps per loss-averaging window (default: --epoch_size, one epoch)")
    parser.add_argument("--gradnorm_alpha", type=float, default=options.gradnorm_alpha,
                        help="gradnorm: asymmetry alpha (default %(default)s)")
    parser.add_argument("--gradnorm_lr", type=float, default=options.gradnorm_lr,
                        help="gradnorm: learning rate of the task weights (default %(default)s)")
    parser.add_argument("--staged_epochs", default=_listed(options.staged_epochs),
                        help="staged: epochs of the joint, verification, photo and caricature stages, repeated in "
                             "that order (default %(default)s)")
    parser.add_argument("--static_weights", default=_listed(step.static_weights),
                        help="w1,w2,w3 for --task_weighting static; 1,0,0 / 0,1,0 / 0,0,1 are the paper's "
                             "single-task baselines (default %(default)s)")
    parser.add_argument("--label_smoothing", type=float, default=step.label_smoothing,
                        help="smooth the one-hot labels of the three cross-entropies: (1 - eps) onehot + eps / K "
                             "(default %(default)s, the original's; PORTING X4)")
    for task in (1, 2, 3):
        parser.add_argument(f"--loss_weight_base{task}", type=float, default=step.loss_weight_base[task - 1],
                            help=f"added to the dynamic weight of task {task} (default %(default)s)")


def _listed(values):
    return ",".join(f"{value:g}" for value in values)


def add_optimizer_flags(parser):
    step, loop = DEFAULTS.step, DEFAULTS.loop
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=step.optimizer,
                        help="optimizer of both variable groups, TF1 hyper-parameters; AdamW (Keras's, beyond the "
                             "original: PORTING X2) decays the weights by --adamw_weight_decay (default %(default)s)")
    parser.add_argument("--adamw_weight_decay", type=float, default=step.adamw_weight_decay,
                        help="AdamW's decoupled weight decay (--weight_decay keeps the original's meaning) "
                             "(default %(default)s)")
    parser.add_argument("--learning_rate_schedule", choices=LEARNING_RATE_SCHEDULES,
                        default=loop.learning_rate_schedule,
                        help="epochs: --learning_rate, or --learning_rate_schedule_file per epoch (the original's); "
                             "cosine: linear warm-up from 0 over --warmup_steps to --learning_rate, then cosine "
                             "decay to 0 at the last step (Keras CosineDecay, per step; PORTING X3) "
                             "(default %(default)s)")
    parser.add_argument("--warmup_steps", type=int, default=loop.warmup_steps,
                        help="cosine schedule: steps of linear warm-up (default %(default)s)")
    parser.add_argument("--learning_rate", type=float, default=loop.learning_rate,
                        help="learning rate; < 0 reads --learning_rate_schedule_file each epoch "
                             "(default %(default)s)")
    parser.add_argument("--learning_rate_schedule_file", default=loop.learning_rate_schedule_file,
                        help="lines 'epoch: rate' used when --learning_rate < 0, e.g. "
                             "learning_rate_schedules/learning_rate_schedule_classifier_cavi.txt")
    parser.add_argument("--lossweights_lr_factor", type=float, default=step.lossweights_lr_factor,
                        help="learning-rate factor of the weights-head optimizer (default 1 for cavi, 10 for "
                             "webcari, as the original scripts)")
    parser.add_argument("--moving_average_decay", type=float, default=step.moving_average_decay,
                        help="decay of the moving averages of the trained variables kept in the training "
                             "checkpoints (default %(default)s)")


def add_loop_flags(parser):
    loop = DEFAULTS.loop
    parser.add_argument("--max_nrof_epochs", type=int, default=loop.max_nrof_epochs,
                        help="number of epochs (default %(default)s)")
    parser.add_argument("--batch_size", type=int, default=DEFAULTS.data.batch_size,
                        help="images per batch (default %(default)s)")
    parser.add_argument("--epoch_size", type=int, default=loop.epoch_size,
                        help="batches per epoch (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed,
                        help="seed of every random choice (default %(default)s)")
    parser.add_argument("--log_histograms", action="store_true",
                        help="write histograms of the trainable variables to TensorBoard each epoch")
    parser.add_argument("--legacy_global_step", action="store_true",
                        help="count the global step as the original (+1 per optimizer and iteration: +2 for "
                             "dynamic) and run its number of epochs (1 + ceil(max_nrof_epochs / 2) for dynamic)")
    parser.add_argument("--resume", default=None,
                        help="continue an interrupted run: its model directory, or 'latest' for the newest "
                             "run under --models_base_dir")
    parser.add_argument("--save_every_n_steps", type=int, default=loop.save_every_n_steps,
                        help="also write a training checkpoint every n iterations (default 0: per epoch only)")


def add_evaluation_flags(parser):
    add_forward_batch_flag(parser)
    parser.add_argument("--legacy_folds", action="store_true",
                        help="per-epoch verification as the original: the first whole --lfw_batch_size batches of "
                             "pairs, in file order, contiguous folds (one-sided on a same-first pairs file such as "
                             "CaVI's). Default: every test pair, shuffled with --seed, as evaluate/evaluate_cavi.py")
    add_legacy_val_flag(parser)
    add_verification_flags(parser)


def training_parser(description="Train the dynamic multi-task photo-caricature network.", defaults=None):
    """The parser of train/train.py; `defaults` presets flags (the original script names)."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for add in (add_output_flags, add_data_flags, add_model_flags, add_loss_flags, add_optimizer_flags,
                add_loop_flags, add_evaluation_flags, add_speed_flags, add_distribute_flag,
                add_collective_timeout_flag, add_noop_flags):
        add(parser)
    if defaults:
        parser.set_defaults(**defaults)
    return parser


def parse_training_arguments(argv=None, defaults=None, description=None):
    """Parsed flags plus derived values: static_weights and staged_epochs as tuples. A do-nothing flag
    that is set draws a warning."""
    parser = training_parser(description or "Train the dynamic multi-task photo-caricature network.", defaults)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        args.static_weights = tuple(float(w) for w in args.static_weights.split(","))
    except ValueError:
        parser.error(f"--static_weights must be three comma-separated numbers, got {args.static_weights!r}")
    if len(args.static_weights) != 3:
        parser.error(f"--static_weights needs 3 numbers, got {len(args.static_weights)}")
    try:
        args.staged_epochs = tuple(int(count) for count in args.staged_epochs.split(","))
    except ValueError:
        parser.error(f"--staged_epochs must be four comma-separated integers, got {args.staged_epochs!r}")
    warn_noop_flags(parser, args)
    warn_unused_flags(args)
    schedule_file_given = args.learning_rate_schedule_file != DEFAULTS.loop.learning_rate_schedule_file
    if args.learning_rate_schedule == "cosine" and schedule_file_given:
        parser.error("--learning_rate_schedule cosine and --learning_rate_schedule_file are two schedules for one "
                     "run: give one of them")
    if args.learning_rate_schedule == "cosine" and args.learning_rate <= 0:
        parser.error(f"--learning_rate_schedule cosine needs --learning_rate > 0 (its peak), got {args.learning_rate}")
    if not 0.0 <= args.label_smoothing < 1.0:
        parser.error(f"--label_smoothing must be in [0, 1), got {args.label_smoothing}")
    if args.warmup_steps < 0 or (args.learning_rate_schedule == "cosine"
                                 and args.warmup_steps >= args.max_nrof_epochs * args.epoch_size):
        parser.error(f"--warmup_steps must be >= 0 and fewer than the run's {args.max_nrof_epochs * args.epoch_size} "
                     f"steps (--max_nrof_epochs x --epoch_size), got {args.warmup_steps}")
    return args


FLAG_NAMES = FLAGS  # config field (group.name) -> its flag, where the names differ
CONVERTED = {  # config field -> its value from the parsed flags, where it is not one flag as given
    "network.restore_optimizer_state": lambda args: not args.no_restore_optimizer_state,
    "network.logits_relu": lambda args: None if args.logits_relu is None else LOGITS_RELU_CHOICES[args.logits_relu],
    "step.loss_weight_base": lambda args: (args.loss_weight_base1, args.loss_weight_base2, args.loss_weight_base3),
    "evaluation.mode": lambda args: EVALUATE_MODES[args.evaluate_mode],
    "network.heads": lambda args: margin_heads(args),
}


def _from_flags(kind, args, prefix=""):
    """An instance of the config dataclass `kind` from parsed flags, field by field (FLAG_NAMES, CONVERTED)."""
    values = {}
    for item in dataclasses.fields(kind):
        if not item.init:
            continue
        key = f"{prefix}{item.name}"
        if dataclasses.is_dataclass(item.type):
            values[item.name] = _from_flags(item.type, args, prefix or f"{item.name}.")
        elif key in CONVERTED:
            values[item.name] = CONVERTED[key](args)
        else:
            values[item.name] = getattr(args, FLAG_NAMES.get(key, item.name))
    return kind(**values)


def margin_heads(args):
    """The head flags given, for ModelConfig; with a margin head the scale is written out (default 30)."""
    heads = {name: getattr(args, name) for name in ("verif_head", "identity_heads", "margin", "margin_scale")
             if getattr(args, name) is not None}
    if any(heads.get(name, "softmax") != "softmax" for name in ("verif_head", "identity_heads")):
        from cari_mtl.model.margin_heads import head_scale  # Keras: not for --help

        heads["margin_scale"] = head_scale(args.margin_scale)
    return heads


def training_config(args, stored=None):
    """The TrainingConfig of parsed training flags, its defaults resolved (cari_mtl.training.config.resolve);
    `stored`: the ModelConfig of a native --pretrained_model."""
    config = _from_flags(TrainingConfig, args)
    return resolve(config, stored, datasets.get(config.data.dataset).lossweights_lr_factor)

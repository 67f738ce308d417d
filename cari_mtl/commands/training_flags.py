"""The training scripts' command-line flags, defined once for every script, parsed into a TrainingConfig.

Every flag of the original `parse_arguments` is accepted with its meaning and default. Flags the
original parsed but never used say "does nothing" in their help. The port adds --dataset,
--task_weighting, --static_weights, --lossweights_lr_factor, --resume, --save_every_n_steps,
--legacy_global_step, --image_standardization, --logits_relu, --legacy_folds, --legacy_val,
--no_restore_optimizer_state and the performance flags --xla, --mixed_precision, --distribute and --collective_timeout.
The wrappers named like the original scripts preset --dataset and --task_weighting through
`training_parser(defaults=...)`. `@file` arguments are expanded first (cari_mtl.commands.argument_files).
The groups shared with the evaluation commands come from cari_mtl.commands.common_flags.
"""

import argparse
import sys

from cari_mtl.commands.argument_files import expand_argument_files
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
from cari_mtl.model.network import DEFAULT_MODEL_DEF
from cari_mtl.model.options import chosen_logits_relu, chosen_standardization
from cari_mtl.runtime.speed import SpeedOptions
from cari_mtl.training.config import (
    DataConfig,
    EpochEvaluationConfig,
    LoopConfig,
    NetworkConfig,
    StepConfig,
    TrainingConfig,
    WeightingOptions,
)
from cari_mtl.training.optimizers import OPTIMIZERS
from cari_mtl.training.weighting_names import STRATEGIES

NOOP = "accepted for compatibility, does nothing (unused by the original's training scripts)"
LOSSWEIGHTS_LR_FACTOR = {"cavi": 1.0, "webcari": 10.0}


def add_output_flags(parser):
    parser.add_argument("--logs_base_dir", default="~/logs/facenet",
                        help="logs go to <logs_base_dir>/<YYYYmmdd-HHMMSS>/ (default ~/logs/facenet)")
    parser.add_argument("--models_base_dir", default="~/models/facenet",
                        help="models and checkpoints go to <models_base_dir>/<YYYYmmdd-HHMMSS>/ "
                             "(default ~/models/facenet)")
    parser.add_argument("--gpu_memory_fraction", type=float, default=1.0,
                        help="accepted for compatibility, does nothing (TensorFlow 2 allocates GPU memory "
                             "itself)")


def add_data_flags(parser):
    parser.add_argument("--dataset", choices=sorted(LOSSWEIGHTS_LR_FACTOR), default="cavi",
                        help="cavi (CaVI layout and split) or webcari (WebCaricature); also selects the "
                             "weights-head variant and the default --lossweights_lr_factor (default cavi)")
    parser.add_argument("--data_dir", default="/data/zming/datasets/CK+/CK+_mtcnnpy_182_160_expression",
                        help="dataset folder (CaVI: holds Real/ and Caricature/; WebCaricature: the face crops)")
    parser.add_argument("--test_pairs", default="../data/IdentitySplit_4th_10fold_oulucasiapairs_Six.txt",
                        help="pairs file of the test split (CaVI testing_1.txt; WebCaricature protocol file)")
    parser.add_argument("--train_pairs", default="../data/IdentitySplit_4th_10fold_oulucasiapairs_Six.txt",
                        help="WebCaricature: protocol file listing the training images; CaVI: " + NOOP)
    parser.add_argument("--downsample", type=int, default=20,
                        help="CaVI: keep every n-th test pair (default 20)")
    parser.add_argument("--image_size", type=int, default=96, help="input size in pixels (default 96)")
    parser.add_argument("--random_crop", action="store_true",
                        help="random crops of image_size instead of resizing")
    parser.add_argument("--random_flip", action="store_true", help="random horizontal flips")
    parser.add_argument("--random_rotate", action="store_true", help="random rotations (-180..180 degrees)")
    parser.add_argument("--nrof_preprocess_threads", type=int, default=None,
                        help="parallel image decoding calls of the input pipeline (default: autotuned by "
                             "tf.data; the original hard-coded 4)")
    for name in ("--data_dir_test", "--labels_expression", "--labels_expression_test", "--lfw_dir",
                 "--filter_filename", "--trainset_end"):
        parser.add_argument(name, default=None, help=NOOP)
    parser.add_argument("--lfw_pairs", default="../data/pairs.txt", help=NOOP)
    parser.add_argument("--lfw_file_ext", default="png", choices=["jpg", "png"], help=NOOP)
    parser.add_argument("--filter_percentile", type=float, default=100.0, help=NOOP)
    parser.add_argument("--filter_min_nrof_images_per_class", type=int, default=0, help=NOOP)
    parser.add_argument("--trainset_start", type=int, default=0, help=NOOP)
    parser.add_argument("--augfer2013", action="store_true", help=NOOP)
    parser.add_argument("--nfold", type=int, default=10, help=NOOP)
    parser.add_argument("--ifold", type=int, default=0, help=NOOP)


def add_model_flags(parser):
    parser.add_argument("--model_def", default=str(DEFAULT_MODEL_DEF),
                        help="network definition file (default: the package's inception_resnet_v1_cari_vis.py, "
                             "also reachable as models/inception_resnet_v1_cari_vis.py of the checkout; the "
                             "original's default 'models.nn4' does not exist here)")
    parser.add_argument("--pretrained_model", default=None,
                        help="start from a TF1 checkpoint directory (converted on load) or a native model "
                             "directory")
    parser.add_argument("--keep_probability", type=float, default=1.0,
                        help="dropout keep probability of the three branches (default 1.0)")
    parser.add_argument("--weight_decay", type=float, default=0.0,
                        help="L2 weight decay; as in the original it is only logged, never added to the "
                             "loss, so it has no training effect (default 0.0)")
    add_image_standardization_flag(parser)
    add_logits_relu_flag(parser)
    parser.add_argument("--no_restore_optimizer_state", action="store_true",
                        help="with a TF1 --pretrained_model: do not restore the optimizer slots (and global step) "
                             "it holds for --optimizer (the original restores them)")
    parser.add_argument("--decov_loss_factor", type=float, default=0.0, help=NOOP)
    parser.add_argument("--expression_loss_factor", type=float, default=0.1, help=NOOP)


def add_loss_flags(parser):
    parser.add_argument("--center_loss_factor", type=float, default=0.0,
                        help="beta: weight of the center loss in L1, L2 and L3 (default 0.0)")
    parser.add_argument("--center_loss_alfa", type=float, default=0.95,
                        help="center update rate: c -= (1 - alfa) * mean(c - f) per class (default 0.95)")
    parser.add_argument("--task_weighting", choices=STRATEGIES, default="dynamic",
                        help="dynamic: the proposed method (weights head trained on L4 by its own optimizer); "
                             "naive: weights head trained on L with everything else; static: --static_weights; "
                             "uncertainty (Kendall et al. 2018), dwa (Liu et al. 2019), gradnorm (Chen et al. "
                             "2018), pcgrad (Yu et al. 2020), mgda (MGDA-UB, Sener & Koltun 2018), staged (TFN's "
                             "alternating stages, --staged_epochs): see docs/TASK_WEIGHTING.md (default dynamic)")
    parser.add_argument("--detach_weights_input", action="store_true",
                        help="dynamic: the weights head reads the trunk features through a stop-gradient, so only "
                             "L4 moves the weights (the original lets L's gradient reach the trunk through them)")
    parser.add_argument("--dwa_temperature", type=float, default=2.0, help="dwa: softmax temperature T (default 2)")
    parser.add_argument("--dwa_window", type=int, default=None,
                        help="dwa: steps per loss-averaging window (default: --epoch_size, one epoch)")
    parser.add_argument("--gradnorm_alpha", type=float, default=1.5, help="gradnorm: asymmetry alpha (default 1.5)")
    parser.add_argument("--gradnorm_lr", type=float, default=0.025,
                        help="gradnorm: learning rate of the task weights (default 0.025)")
    parser.add_argument("--staged_epochs", default="1,1,1,1",
                        help="staged: epochs of the joint, verification, photo and caricature stages, repeated in "
                             "that order (default 1,1,1,1)")
    parser.add_argument("--static_weights", default="1,1,1",
                        help="w1,w2,w3 for --task_weighting static; 1,0,0 / 0,1,0 / 0,0,1 are the paper's "
                             "single-task baselines (default 1,1,1)")
    for task in (1, 2, 3):
        parser.add_argument(f"--loss_weight_base{task}", type=float, default=0.0,
                            help=f"added to the dynamic weight of task {task} (default 0)")


def add_optimizer_flags(parser):
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="RMSProp",
                        help="optimizer of both variable groups, TF1 hyper-parameters (default RMSProp)")
    parser.add_argument("--learning_rate", type=float, default=0.1,
                        help="learning rate; < 0 reads --learning_rate_schedule_file each epoch (default 0.1)")
    parser.add_argument("--learning_rate_schedule_file", default="../data/learning_rate_schedule.txt",
                        help="lines 'epoch: rate' used when --learning_rate < 0, e.g. "
                             "learning_rate_schedules/learning_rate_schedule_classifier_cavi.txt")
    parser.add_argument("--lossweights_lr_factor", type=float, default=None,
                        help="learning-rate factor of the weights-head optimizer (default 1 for cavi, 10 for "
                             "webcari, as the original scripts)")
    parser.add_argument("--learning_rate_decay_epochs", type=int, default=10,
                        help="accepted; the original's decay uses factor 1.0, so nothing decays")
    parser.add_argument("--learning_rate_decay_factor", type=float, default=0.1,
                        help="accepted; the original's decay uses factor 1.0, so nothing decays")
    parser.add_argument("--moving_average_decay", type=float, default=0.9999,
                        help="decay of the moving averages of the trained variables kept in the training "
                             "checkpoints (default 0.9999)")


def add_loop_flags(parser):
    parser.add_argument("--max_nrof_epochs", type=int, default=500, help="number of epochs (default 500)")
    parser.add_argument("--batch_size", type=int, default=90, help="images per batch (default 90)")
    parser.add_argument("--epoch_size", type=int, default=1000, help="batches per epoch (default 1000)")
    parser.add_argument("--seed", type=int, default=666, help="seed of every random choice (default 666)")
    parser.add_argument("--log_histograms", action="store_true",
                        help="write histograms of the trainable variables to TensorBoard each epoch")
    parser.add_argument("--legacy_global_step", action="store_true",
                        help="count the global step as the original (+1 per optimizer and iteration: +2 for "
                             "dynamic) and run its number of epochs (1 + ceil(max_nrof_epochs / 2) for dynamic)")
    parser.add_argument("--resume", default=None,
                        help="continue an interrupted run: its model directory, or 'latest' for the newest "
                             "run under --models_base_dir")
    parser.add_argument("--save_every_n_steps", type=int, default=0,
                        help="also write a training checkpoint every n iterations (default 0: per epoch only)")


def add_evaluation_flags(parser):
    parser.add_argument("--evaluate_express", default=True,
                        help="accepted; evaluation always runs after each epoch (the original's type=bool "
                             "flag is true for any value)")
    parser.add_argument("--expr_pairs", default="../data/IdentitySplit_4th_10fold_oulucasiapairs_Six.txt",
                        help="accepted; the verification always uses --test_pairs")
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
                add_collective_timeout_flag):
        add(parser)
    if defaults:
        parser.set_defaults(**defaults)
    return parser


def parse_training_arguments(argv=None, defaults=None, description=None):
    """Parsed flags plus derived values: static_weights as a tuple, lossweights_lr_factor of the dataset."""
    parser = training_parser(description or "Train the dynamic multi-task photo-caricature network.", defaults)
    args = parser.parse_args(expand_argument_files(sys.argv[1:] if argv is None else argv))
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
    if args.lossweights_lr_factor is None:
        args.lossweights_lr_factor = LOSSWEIGHTS_LR_FACTOR[args.dataset]
    return args


def model_options(args, stored=None):
    """(image_standardization, logits_relu) to train with: the flag, else what the ModelConfig `stored` of a
    native --pretrained_model holds, else the original's (prewhiten, ReLU on)."""
    return (chosen_standardization(args.image_standardization, stored.image_standardization if stored else None),
            chosen_logits_relu(args.logits_relu, stored.logits_relu if stored else None))


def training_config(args, stored=None):
    """The TrainingConfig of parsed training flags; `stored`: the ModelConfig of a native --pretrained_model."""
    standardization, logits_relu = model_options(args, stored)
    return TrainingConfig(
        data=DataConfig(
            dataset=args.dataset, data_dir=args.data_dir, test_pairs=args.test_pairs, train_pairs=args.train_pairs,
            downsample=args.downsample, image_size=args.image_size, batch_size=args.batch_size,
            epoch_size=args.epoch_size, seed=args.seed, random_crop=args.random_crop, random_flip=args.random_flip,
            random_rotate=args.random_rotate, preprocess_threads=args.nrof_preprocess_threads,
            image_standardization=standardization),
        network=NetworkConfig(
            model_def=args.model_def, image_size=args.image_size, pretrained_model=args.pretrained_model,
            keep_probability=args.keep_probability, weight_decay=args.weight_decay,
            image_standardization=standardization, logits_relu=logits_relu,
            restore_optimizer_state=not args.no_restore_optimizer_state),
        step=StepConfig(
            task_weighting=args.task_weighting,
            loss_weight_base=(args.loss_weight_base1, args.loss_weight_base2, args.loss_weight_base3),
            static_weights=args.static_weights, weighting_options=WeightingOptions(
                detach_weights_input=args.detach_weights_input, dwa_temperature=args.dwa_temperature,
                dwa_window=args.dwa_window or args.epoch_size, gradnorm_alpha=args.gradnorm_alpha,
                gradnorm_lr=args.gradnorm_lr, staged_epochs=args.staged_epochs),
            optimizer=args.optimizer, center_loss_factor=args.center_loss_factor,
            center_loss_alfa=args.center_loss_alfa, lossweights_lr_factor=args.lossweights_lr_factor,
            moving_average_decay=args.moving_average_decay, legacy_global_step=args.legacy_global_step),
        loop=LoopConfig(
            max_nrof_epochs=args.max_nrof_epochs, epoch_size=args.epoch_size, learning_rate=args.learning_rate,
            learning_rate_schedule_file=args.learning_rate_schedule_file, legacy_global_step=args.legacy_global_step,
            save_every_n_steps=args.save_every_n_steps, log_histograms=args.log_histograms),
        evaluation=EpochEvaluationConfig(
            batch_size=args.lfw_batch_size, nrof_folds=args.lfw_nrof_folds, far=args.far,
            mode=EVALUATE_MODES[args.evaluate_mode], seed=args.seed, legacy_folds=args.legacy_folds,
            legacy_val=args.legacy_val),
        speed=SpeedOptions(xla=args.xla, mixed_precision=args.mixed_precision), distribute=args.distribute,
        collective_timeout=args.collective_timeout,
        logs_base_dir=args.logs_base_dir, models_base_dir=args.models_base_dir, seed=args.seed,
    )

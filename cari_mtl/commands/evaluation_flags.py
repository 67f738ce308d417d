"""Command-line flags of the three evaluation scripts, parsed into an EvaluationConfig.

The originals' flags plus the port's additions; the groups shared with the training command come
from cari_mtl.commands.common_flags.
"""

import argparse

from cari_mtl.commands.common_flags import (
    EVALUATE_MODES,
    add_forward_batch_flag,
    add_legacy_val_flag,
    add_model_source_flags,
    add_speed_flags,
    add_verification_flags,
)
from cari_mtl.evaluation.config import EvaluationConfig, EvaluationConfigError
from cari_mtl.model.source import ModelSource
from cari_mtl.runtime.options import SpeedOptions

PROTOCOLS = {"C2P": ("C2P",), "P2C": ("P2C",), "both": ("C2P", "P2C")}
FLAGS = {"batch_size": "lfw_batch_size", "nrof_folds": "lfw_nrof_folds"}  # EvaluationConfig field -> its flag
HINTS = {"far": " (e.g. --far 0.01 for 1 %)"}


def evaluation_parser(description, kind):
    """ArgumentParser for `kind` 'cavi', 'webcari' (verification) or 'identify'."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", required=True,
                        help="dataset folder (CaVI: the one holding Real/ and Caricature/; "
                             "WebCaricature: <Identity>/C*.jpg, P*.jpg face crops)")
    add_model_source_flags(parser)
    add_forward_batch_flag(parser)
    add_verification_flags(parser)
    parser.add_argument("--logs_base_dir", default="logs/evaluate",
                        help="results go to <logs_base_dir>/<YYYYmmdd-HHMMSS>/ (default logs/evaluate)")
    parser.add_argument("--features_dir", default=None,
                        help="also write the embeddings with their paths to <features_dir>/features.npz")
    parser.add_argument("--lfw_file_ext", default="png", choices=["jpg", "png"],
                        help="accepted for compatibility, does nothing (the protocol files name the images)")
    add_speed_flags(parser)
    if kind == "identify":
        parser.add_argument("--probe", required=True, help="folder of FR_Probe_<C2P|P2C><k>.txt, k = 1..folds")
        parser.add_argument("--gallery", required=True, help="folder of FR_Gallery_<C2P|P2C><k>.txt")
        parser.add_argument("--protocol", default="C2P", choices=sorted(PROTOCOLS),
                            help="C2P: caricature probes, photo gallery (the original's only one); "
                                 "P2C: the reverse; both (default C2P)")
        parser.add_argument("--rank_n", type=int, default=10, help="N of Rank-N (default 10)")
        parser.add_argument("--legacy_rank", action="store_true",
                            help="Rank-N as the original computes it (a flat-list indexing bug that "
                                 "counts other probes' neighbours); Rank-1 is unaffected")
        parser.add_argument("--test_pairs", default=None, help="accepted for compatibility, does nothing here")
    else:
        parser.add_argument("--test_pairs", required=True, help="pairs file of the protocol")
        parser.add_argument("--seed", type=int, default=0,
                            help="seed of the shuffle of the pairs before the folds (default 0; the "
                                 "original's shuffle is unseeded)")
        add_legacy_val_flag(parser)
    if kind == "cavi":
        parser.add_argument("--downsample", type=int, default=20,
                            help="keep every n-th pair of --test_pairs (default 20, as the original)")
    return parser


def parse_evaluation_arguments(parser, argv):
    """Parsed flags; `protocols` (a tuple) added for identification. The ranges of the EvaluationConfig's
    fields are checked by `evaluation_config`; --downsample, which is not one, here."""
    args = parser.parse_args(argv)
    if hasattr(args, "protocol"):
        args.protocols = PROTOCOLS[args.protocol]
    if getattr(args, "downsample", 1) < 1:
        parser.error("--downsample must be a positive integer")
    return args


def model_source(args):
    """The ModelSource of --model_dir, --image_size, --nrof_classes and --image_standardization."""
    return ModelSource(args.model_dir, args.image_size, args.nrof_classes, args.image_standardization)


def evaluation_config(args):
    """The EvaluationConfig of parsed evaluation flags (identification has no --seed: its default 0), its
    ranges checked: call it before any data is read. A field out of range is a ValueError naming its flag."""
    config = EvaluationConfig(
        model=model_source(args), logs_base_dir=args.logs_base_dir, features_dir=args.features_dir,
        batch_size=args.lfw_batch_size, nrof_folds=args.lfw_nrof_folds, far=args.far,
        mode=EVALUATE_MODES[args.evaluate_mode], legacy_val=getattr(args, "legacy_val", False),
        seed=getattr(args, "seed", 0),
        rank_n=getattr(args, "rank_n", 10), legacy_rank=getattr(args, "legacy_rank", False),
        speed=SpeedOptions(args.xla, args.mixed_precision),
    )
    try:
        return config.validate(verification=not hasattr(args, "protocol"))
    except EvaluationConfigError as error:
        raise ValueError(f"--{FLAGS.get(error.field, error.field)} must be {error.allowed}, got {error.value}"
                         f"{HINTS.get(error.field, '')}; checked before any data is read") from None

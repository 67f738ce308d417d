"""Command-line flags of the three evaluation scripts: the originals' flags plus the port's additions."""

import argparse

import keras

from cari_mtl.model.options import add_image_standardization_flag
from cari_mtl.model.loading import open_model
from cari_mtl.runtime.speed import add_speed_flags, apply_mixed_precision, use_xla

EVALUATE_MODES = {"Euclidian": "euclidean", "euclidean": "euclidean", "similarity": "similarity"}
PROTOCOLS = {"C2P": ("C2P",), "P2C": ("P2C",), "both": ("C2P", "P2C")}


def evaluation_parser(description, kind):
    """ArgumentParser for `kind` 'cavi', 'webcari' (verification) or 'identify'."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", required=True,
                        help="dataset folder (CaVI: the one holding Real/ and Caricature/; "
                             "WebCaricature: <Identity>/C*.jpg, P*.jpg face crops)")
    parser.add_argument("--model_dir", required=True,
                        help="native model directory or TF1 checkpoint directory (converted on the fly)")
    parser.add_argument("--lfw_batch_size", type=int, default=100, help="images per forward batch (default 100)")
    parser.add_argument("--lfw_nrof_folds", type=int, default=10, help="number of folds (default 10)")
    parser.add_argument("--logs_base_dir", default="logs/evaluate",
                        help="results go to <logs_base_dir>/<YYYYmmdd-HHMMSS>/ (default logs/evaluate)")
    parser.add_argument("--features_dir", default=None,
                        help="also write the embeddings with their paths to <features_dir>/features.npz")
    parser.add_argument("--image_size", type=int, default=160,
                        help="input size when --model_dir is a TF1 checkpoint (default 160; a model "
                             "directory has its own)")
    parser.add_argument("--nrof_classes", type=int, default=None,
                        help="classes when --model_dir is a TF1 checkpoint without logits layers")
    parser.add_argument("--lfw_file_ext", default="png", choices=["jpg", "png"],
                        help="accepted for compatibility, does nothing (the protocol files name the images)")
    parser.add_argument("--far", type=float, default=0.01,
                        help="false accept rate at which VAL is reported (default 0.01)")
    parser.add_argument("--evaluate_mode", default="Euclidian", choices=sorted(EVALUATE_MODES),
                        help="Euclidian/euclidean: squared L2 distance; similarity: PCA(128) then cosine "
                             "distance (verification only; default Euclidian)")
    add_image_standardization_flag(parser)
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
        parser.add_argument("--legacy_val", action="store_true",
                            help="measure VAL on the training folds as the original does (its bug); "
                                 "default: on the test fold")
    if kind == "cavi":
        parser.add_argument("--downsample", type=int, default=20,
                            help="keep every n-th pair of --test_pairs (default 20, as the original)")
    return parser


def parse_evaluation_arguments(parser, argv):
    """Parses and normalises: evaluate_mode to 'euclidean' / 'similarity', protocol to a tuple."""
    args = parser.parse_args(argv)
    args.evaluate_mode = EVALUATE_MODES[args.evaluate_mode]
    if hasattr(args, "protocol"):
        args.protocols = PROTOCOLS[args.protocol]
    for name in ("lfw_batch_size", "lfw_nrof_folds", "downsample", "rank_n"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} must be a positive integer")
    if not hasattr(args, "protocol") and args.lfw_nrof_folds < 2:
        parser.error(f"--lfw_nrof_folds must be an integer >= 2 for verification, got {args.lfw_nrof_folds}")
    return args


def open_evaluation_model(args):
    """(model, ModelConfig, jit_compile) for --model_dir with the speed flags applied (absent ones: auto).

    The --mixed_precision dtype policy must be global while the model is built; it is restored
    afterwards so that models built later in the same process are not affected.
    """
    previous = keras.config.dtype_policy()
    try:
        apply_mixed_precision(getattr(args, "mixed_precision", "auto"))
        model, config = open_model(args.model_dir, image_size=args.image_size, nrof_classes=args.nrof_classes,
                                   image_standardization=getattr(args, "image_standardization", None))
    finally:
        keras.config.set_dtype_policy(previous)
    return model, config, use_xla(getattr(args, "xla", "auto"))

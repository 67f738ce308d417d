"""Converts a TF1 checkpoint (this project's or FaceNet-style) into a native model directory.

    cari convert --pretrained_model DIR_OR_PREFIX --output_dir DIR
"""

import argparse

from cari_mtl.commands.common_flags import (
    add_backend_flag,
    add_image_standardization_flag,
    add_logits_relu_flag,
    add_overwrite_flag,
)
from cari_mtl.model.options import chosen_logits_relu, chosen_standardization
from cari_mtl.runtime.backend import tensorflow_only
from cari_mtl.runtime.overwrite import refuse_existing


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pretrained_model", required=True,
                        help="TF1 checkpoint directory (newest model-*.ckpt-N is used) or checkpoint prefix")
    parser.add_argument("--output_dir", required=True,
                        help="native model directory to write (refused if it exists and is not empty, "
                             "unless --overwrite)")
    parser.add_argument("--image_size", type=int, default=160, help="input size in pixels (default 160)")
    parser.add_argument("--nrof_classes", type=int, default=None,
                        help="number of identities K; read from the checkpoint's logits layers when it "
                             "has them, required otherwise")
    parser.add_argument("--lossweights_variant", choices=("cavi", "webcari", "naive"), default="cavi",
                        help="form of the dynamic-weights head (default cavi)")
    parser.add_argument("--init_cari_from_verif", action="store_true",
                        help="also initialise the caricature branch from branch 1, as the paper says "
                             "(the original code does not)")
    parser.add_argument("--model_def", default=None,
                        help="network definition file (default models/inception_resnet_v1_cari_vis.py)")
    add_image_standardization_flag(parser)
    add_logits_relu_flag(parser)
    add_backend_flag(parser)
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    refuse_existing(args.output_dir, "--output_dir", args.overwrite)
    tensorflow_only("convert_checkpoint (reading TF1 checkpoints)")
    from cari_mtl.model.loading import convert_checkpoint  # TensorFlow, once the flags parsed (not for --help)

    output_dir, report = convert_checkpoint(
        args.pretrained_model, args.output_dir, image_size=args.image_size,
        nrof_classes=args.nrof_classes, lossweights_variant=args.lossweights_variant,
        init_cari_from_verif=args.init_cari_from_verif, model_def=args.model_def,
        image_standardization=chosen_standardization(args.image_standardization),
        logits_relu=chosen_logits_relu(args.logits_relu),
    )
    print(report.format())
    print(f"wrote {output_dir}")
    return 0

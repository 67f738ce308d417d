"""Writes the network's embeddings and logits for a list of images to an .npz file.

    cari extract --model_dir DIR --image_list FILE --output OUT.npz

Images are loaded like the original evaluation loader (RGB, standardise, resize); the standardisation
is the model directory's (`--image_standardization` overrides it; prewhiten for a TF1 checkpoint). The .npz holds
`embeddings`, `embeddings_visual`, `embeddings_cari` [N, 1792], `logits_verif`, `logits_visual`,
`logits_cari` [N, K] (photo/caricature logits after ReLU), `paths` [N] and `valid` [N] (False
for an unreadable image or one with non-finite outputs, whose rows are zeros), rows in the order
of the image list (an empty list gives the same keys with 0 rows). --xla and
--mixed_precision (default auto: on a GPU only) speed up the forward pass; the features are float32.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from cari_mtl.commands.common_flags import (
    add_forward_batch_flag,
    add_model_source_flags,
    add_overwrite_flag,
    add_speed_flags,
)
from cari_mtl.commands.evaluation_flags import model_source
from cari_mtl.data.text_files import read_text_file
from cari_mtl.runtime import atomic_files
from cari_mtl.runtime.finite_check import NonFiniteError, drop_nonfinite_rows
from cari_mtl.runtime.options import SpeedOptions
from cari_mtl.runtime.output_dirs import require_writable_dir
from cari_mtl.runtime.overwrite import refuse_existing


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_source_flags(parser)
    parser.add_argument("--image_list", required=True, help="text file, one image path per line")
    parser.add_argument("--output", required=True, help=".npz file to write")
    add_overwrite_flag(parser)
    add_forward_batch_flag(parser)
    add_speed_flags(parser)
    args = parser.parse_args(argv)
    if args.lfw_batch_size < 1:
        parser.error(f"--lfw_batch_size must be an integer >= 1, got {args.lfw_batch_size}")
    return args


def read_image_list(path):
    """Non-blank lines of the list; every listed file must exist."""
    list_file = Path(path)
    if not list_file.is_file():
        raise FileNotFoundError(f"image list {list_file} not found")
    paths = [line.strip() for line in read_text_file(list_file, "--image_list").splitlines() if line.strip()]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} image(s) of {list_file} not found, first: {missing[0]}"
        )
    return paths


def open_inference_model(source, speed):
    """cari_mtl.model.loading.open_inference_model, imported when a model is opened (not for --help)."""
    from cari_mtl.model.loading import open_inference_model as open_model

    return open_model(source, speed)


def main(argv=None):
    args = parse_arguments(argv)
    refuse_existing(args.output, "--output", args.overwrite)
    from cari_mtl.evaluation.features import compute_features  # TensorFlow, once the flags parsed

    paths = read_image_list(args.image_list)
    require_writable_dir(Path(args.output).expanduser().parent, "--output")
    model, config, jit_compile = open_inference_model(model_source(args), SpeedOptions(args.xla, args.mixed_precision))
    features, valid = compute_features(model, config.image_size, paths, args.lfw_batch_size, jit_compile=jit_compile,
                                       standardization=config.image_standardization)
    readable = valid.copy()
    nonfinite = drop_nonfinite_rows(features, valid)
    if nonfinite.any() and nonfinite.sum() == readable.sum():
        raise NonFiniteError(f"{args.model_dir} gives non-finite outputs (NaN/Inf) for every readable image: its "
                             f"weights are damaged or overflow; {args.output} not written")
    if not readable.all():
        unreadable = [p for p, ok in zip(paths, readable) if not ok]
        print(f"skipped {len(unreadable)} unreadable image(s), first: {unreadable[0]}", file=sys.stderr)
    if nonfinite.any():
        print(f"marked {int(nonfinite.sum())} image(s) invalid: non-finite outputs (NaN/Inf), first: "
              f"{paths[int(np.argmax(nonfinite))]}", file=sys.stderr)
    atomic_files.save_npz(Path(args.output).expanduser(), paths=np.array(paths), valid=valid, **features)
    print(f"wrote {args.output}: {len(paths)} images")
    return 0

"""Are two face images the same person? `cari-verify IMG_A IMG_B --model_dir M`.

    cari-verify a.jpg b.jpg --model_dir models/cavi/<run>/best_model_verifexpr
    cari-verify a.jpg b.jpg --model_dir M --threshold 1.1 --align --json

Prints the squared L2 distance of the two verification embeddings, the threshold (given, or the one of
the model directory's model card) and where it comes from, and `same` (distance < threshold). --json
prints one object: image_a, image_b, distance, threshold, threshold_source, same.

A command on the Python API (cari_mtl.api): `cari verify` and `python -m cari_mtl verify` run it too.
"""

import argparse
import json
import sys

from cari_mtl.commands.cli import EXPECTED_ERRORS
from cari_mtl.commands.common_flags import add_backend_flag, add_model_source_flags


def verify_parser():
    parser = argparse.ArgumentParser(prog="cari-verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("image_a", help="first face image")
    parser.add_argument("image_b", help="second face image")
    add_model_source_flags(parser)
    add_backend_flag(parser)
    parser.add_argument("--threshold", default=None,
                        help="a number, or the metrics.json (or run directory) of an evaluation; default: the "
                             "threshold stored in the model directory's model_card.json")
    parser.add_argument("--align", action="store_true",
                        help="crop the faces with MTCNN first (for photos that are not face crops)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser


def main(argv=None):
    args = verify_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        answer = verify_pair(args)
    except EXPECTED_ERRORS as error:
        if not args.json:
            raise
        print(json.dumps({"error": str(error)}))  # --json: the error is an object on stdout too
        return 2
    if args.json:
        print(json.dumps(answer))
    else:
        print(f"distance {answer['distance']:.4f} (squared L2 of the verification embeddings)\n"
              f"threshold {answer['threshold']:.4f} ({answer['threshold_source']})\n"
              f"same: {'yes' if answer['same'] else 'no'}")
    return 0


def verify_pair(args):
    """The answer for the command's flags; the API's errors worded for the command line."""
    threshold = _number_or_path(args.threshold)
    from cari_mtl.runtime.backend import select_backend

    select_backend(args.backend)
    from cari_mtl.api import load_model  # Keras loads here, not for --help
    from cari_mtl.api_inputs import NoEmbedding, NoThreshold

    model = load_model(args.model_dir, image_size=args.image_size, nrof_classes=args.nrof_classes,
                       image_standardization=args.image_standardization)
    try:
        result = model.verify([args.image_a], [args.image_b], threshold=threshold, batch_size=1, align=args.align)
    except NoThreshold:
        card = "has no model card (model_card.json)" if model.card is None else "has a model card without a threshold"
        raise ValueError(f"{args.model_dir} {card}: give --threshold <number>, or --threshold <metrics.json of a "
                         f"verification run>") from None
    except NoEmbedding as error:
        advice = "" if args.align else "; for a photo that is not a face crop add --align"
        raise ValueError(f"{error.path} has no embedding ({error.reason}){advice}") from None
    return {"image_a": args.image_a, "image_b": args.image_b, "distance": float(result.distances[0]),
            "threshold": result.threshold, "threshold_source": result.threshold_source,
            "same": bool(result.same[0])}


def _number_or_path(value):
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value

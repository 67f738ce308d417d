"""Who is this? `cari-identify PROBE... --gallery DIR|G.npz --model_dir M`: ranked identities of a gallery.

    cari-identify q.jpg --gallery faces/ --model_dir M                # faces/<identity>/<image>
    cari-identify q.jpg --gallery faces/ --model_dir M --save_gallery faces.npz
    cari-identify q1.jpg q2.jpg --gallery faces.npz --model_dir M -k 3 --json

A folder is embedded once per call (--save_gallery keeps the index); a saved index (.npz, see
FaceModel.build_gallery) is used as it is, and only the probes run through the network. Each probe gets
the k nearest distinct identities with their nearest image (--all_images: the k nearest images, an
identity possibly several times). Distances are squared L2 of the verification embeddings.

A command on the Python API (cari_mtl.api): `cari identify` and `python -m cari_mtl identify` run it too.
"""

import argparse
import json
import sys
from pathlib import Path

from cari_mtl.commands.common_flags import add_backend_flag, add_model_source_flags, add_overwrite_flag


def identify_parser():
    parser = argparse.ArgumentParser(prog="cari-identify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probes", nargs="+", help="face images to identify")
    parser.add_argument("--gallery", required=True,
                        help="a folder of <identity>/<image> files, or a gallery index (.npz) of this model")
    add_model_source_flags(parser)
    add_backend_flag(parser)
    parser.add_argument("-k", type=int, default=5, help="identities listed per probe (default 5)")
    parser.add_argument("--all_images", action="store_true",
                        help="list the k nearest images, not k distinct identities")
    parser.add_argument("--save_gallery", default=None,
                        help="with a --gallery folder: save its index there (.npz) for the next calls")
    add_overwrite_flag(parser)
    parser.add_argument("--align", action="store_true", help="crop the faces with MTCNN first")
    parser.add_argument("--lfw_batch_size", type=int, default=100, help="images per forward batch (default 100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser


def check_arguments(parser, args):
    if args.k < 1:
        parser.error(f"-k must be an integer >= 1, got {args.k}")
    if args.lfw_batch_size < 1:
        parser.error(f"--lfw_batch_size must be an integer >= 1, got {args.lfw_batch_size}")
    if args.save_gallery and not Path(args.gallery).is_dir():
        parser.error("--save_gallery needs a --gallery folder to index")
    if args.save_gallery and Path(args.save_gallery).exists() and not args.overwrite:
        raise ValueError(f"--save_gallery {args.save_gallery} exists: pass --overwrite to replace it, or use it "
                         f"as --gallery")


def main(argv=None):
    parser = identify_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    check_arguments(parser, args)
    from cari_mtl.runtime.backend import select_backend

    select_backend(args.backend)
    from cari_mtl.api import load_model  # Keras loads here, not for --help

    model = load_model(args.model_dir, image_size=args.image_size, nrof_classes=args.nrof_classes,
                       image_standardization=args.image_standardization)
    options = dict(batch_size=args.lfw_batch_size, align=args.align)
    gallery = args.gallery
    if Path(gallery).is_dir():
        print(f"embedding the gallery {gallery} ...", file=sys.stderr)
        gallery = model.build_gallery(gallery, output=args.save_gallery, progress=True, **options)
        if args.save_gallery:
            print(f"gallery index saved to {args.save_gallery}", file=sys.stderr)
    result = model.identify(args.probes, gallery, k=args.k, unique_identities=not args.all_images, **options)
    answers = [{"probe": probe, "matches": [
        {"rank": rank + 1, "identity": str(label), "distance": float(distance), "image": str(path)}
        for rank, (label, distance, path) in enumerate(zip(result.labels[row], result.distances[row],
                                                           result.paths[row]))]}
        for row, probe in enumerate(args.probes)]
    if args.json:
        print(json.dumps({"gallery": args.gallery, "results": answers}))
    else:
        for answer in answers:
            print(answer["probe"])
            for match in answer["matches"]:
                print(f"  {match['rank']}. {match['identity']}  {match['distance']:.4f}  {match['image']}")
    return 0

"""Images per second of the training input pipeline: JPEG files -> decoded, augmented 160 px batches.

    python benchmarks/input_pipeline.py [--quick] [--batch_size 90 --batches 40 --warmup 10 --source_size 182
        --image_size 160 --random_crop --random_flip --random_rotate --num_parallel_calls -1]

A synthetic CaVI-layout set of --source_size JPEGs (the aligned size of the README) is written to a
temporary folder, or the images of --data_dir are read; the first --warmup batches (tracing, file
cache, and the batches prefetched meanwhile) are not timed. The last line is one JSON object.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from cari_mtl.data.cavi import list_cavi_images  # noqa: E402
from cari_mtl.data.pipeline import AUTOTUNE, TrainingPipeline  # noqa: E402
from cari_mtl.data.synthetic import generate_dataset  # noqa: E402


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a run of well under a minute (10 timed batches)")
    parser.add_argument("--batch_size", type=int, default=90, help="images per batch (default 90, the paper's)")
    parser.add_argument("--batches", type=int, default=40, help="timed batches (default 40)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed batches first: tracing, file cache, prefetched batches (default 10)")
    parser.add_argument("--image_size", type=int, default=160, help="training image size (default 160)")
    parser.add_argument("--source_size", type=int, default=182, help="side of the JPEG files (default 182)")
    parser.add_argument("--identities", type=int, default=20, help="synthetic identities (default 20)")
    parser.add_argument("--data_dir", help="a CaVI-layout folder of real JPEGs to read instead of the synthetic set")
    parser.add_argument("--random_crop", action="store_true", help="crop instead of resize")
    parser.add_argument("--random_flip", action="store_true", help="random left-right flip")
    parser.add_argument("--random_rotate", action="store_true", help="random rotation in -180..180 degrees")
    parser.add_argument("--num_parallel_calls", type=int, default=AUTOTUNE,
                        help="parallel decoding calls (default -1: tf.data autotune)")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches = min(args.batches, 10)
    return args


def measure(pipeline, batches, warmup):
    """(seconds, images) of `batches` batches after `warmup` untimed ones.

    The warm-up covers tracing and the file cache, and drains the batches prefetched meanwhile,
    which would otherwise be timed as free.
    """
    iterator = pipeline.batches(epoch=1)
    for _ in range(warmup):
        next(iterator)
    started, images = time.perf_counter(), 0
    for _ in range(batches):
        images += int(next(iterator)[0].shape[0])
    return time.perf_counter() - started, images


def main(argv=None):
    args = parse_arguments(argv)
    with tempfile.TemporaryDirectory() as folder:
        if args.data_dir:
            rows = list_cavi_images(args.data_dir)
        else:
            rows = list_cavi_images(generate_dataset(folder, identities=args.identities, photos_per_id=10,
                                                     caricatures_per_id=10, image_size=args.source_size).data_dir)
        pipeline = TrainingPipeline([r[0] for r in rows], [0] * len(rows), [int(r[2]) for r in rows],
                                    args.image_size, args.batch_size, args.warmup + args.batches, seed=0,
                                    random_crop=args.random_crop, random_flip=args.random_flip,
                                    random_rotate=args.random_rotate, num_parallel_calls=args.num_parallel_calls)
        seconds, images = measure(pipeline, args.batches, args.warmup)
    result = {
        "benchmark": "input_pipeline", "images_per_s": round(images / seconds, 1), "images": images,
        "warmup_batches": args.warmup,
        "seconds": round(seconds, 3), "batch_size": args.batch_size, "image_size": args.image_size,
        "source": args.data_dir or f"synthetic {args.source_size} px JPEGs", "files": len(rows),
        "random_crop": args.random_crop, "random_flip": args.random_flip, "random_rotate": args.random_rotate,
        "num_parallel_calls": args.num_parallel_calls, "cpu_count": os.cpu_count(),
        "machine": platform.machine(), "python": platform.python_version(), "tensorflow": tf.__version__,
        "command": " ".join(["python", "benchmarks/input_pipeline.py", *(sys.argv[1:] if argv is None else argv)]),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

r"""Print what a dataset's split holds, as JSON, before spending hours training on it.

    python -m cari_mtl.data.summary --dataset cavi --data_dir CaVI_Dataset \
        --test_pairs train-test-files/testing_1.txt [--downsample 20] [--check_images]
    python -m cari_mtl.data.summary --dataset webcari --data_dir FACES \
        --train_pairs FV_Train1.txt --test_pairs FV_Test1.txt [--check_images]

Public API:
    summarize(split, dataset, check_images=False) -> dict with the keys classes, train_photos,
        train_caricatures, test_pairs_same, test_pairs_different, test_photos, test_caricatures,
        skipped (reason -> count), skipped_examples (reason -> a few paths), plus context keys.
Other tools read these keys: keep them. Counts of test images count each image once.
`--check_images` decodes every train and test image with the evaluation loader's decoder and
counts the failures under `undecodable_image`.
"""

import argparse
import json
import sys

import numpy as np

from cari_mtl.data.cavi import cavi_split
from cari_mtl.data.eval_loader import read_rgb
from cari_mtl.data.split import Skips
from cari_mtl.data.webcari import webcari_split


def undecodable(paths):
    """Skips of the paths OpenCV cannot decode."""
    skips = Skips()
    for path in dict.fromkeys(paths):
        try:
            read_rgb(path)
        except (OSError, ValueError):
            skips.add("undecodable_image", path)
    return skips


def summarize(split, dataset, check_images=False):
    train_cari = np.asarray(split.train_is_caricature, bool)
    test_cari = np.asarray(split.test_is_caricature, bool)
    issame = np.asarray(split.test_issame, bool)
    skipped = dict(split.skipped)
    examples = {reason: list(paths) for reason, paths in split.skipped_examples.items()}
    if check_images:
        failed = undecodable(list(split.train_paths) + list(split.test_paths))
        skipped.update(failed.counts)
        examples.update(failed.examples)
    return {
        "dataset": dataset,
        "classes": len(split.class_names),
        "train_photos": int((~train_cari).sum()),
        "train_caricatures": int(train_cari.sum()),
        "train_unique_images": len(set(split.train_paths)),
        "train_identities": len(set(np.asarray(split.train_labels).tolist())),
        "test_pairs_same": int(issame.sum()),
        "test_pairs_different": int((~issame).sum()),
        "test_photos": int((~test_cari).sum()),
        "test_caricatures": int(test_cari.sum()),
        "test_identities": len(set(np.asarray(split.test_labels).tolist())),
        "skipped": dict(sorted(skipped.items())),
        "skipped_examples": dict(sorted(examples.items())),
    }


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("cavi", "webcari"), required=True, help="which reader to use")
    parser.add_argument("--data_dir", required=True,
                        help="cavi: the folder holding Real/ and Caricature/; webcari: the face crops <Identity>/*.jpg")
    parser.add_argument("--test_pairs", required=True, help="the test pairs file (cavi: testing_1.txt)")
    parser.add_argument("--train_pairs", help="webcari: the training pairs file (cavi: not used)")
    parser.add_argument("--downsample", type=int, default=20, help="cavi: keep every n-th test pair (default 20)")
    parser.add_argument("--check_images", action="store_true", help="decode every image and count failures")
    args = parser.parse_args(argv)
    if args.dataset == "webcari" and not args.train_pairs:
        parser.error("--dataset webcari needs --train_pairs")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    try:
        if args.dataset == "cavi":
            split = cavi_split(args.data_dir, args.test_pairs, args.downsample)
        else:
            split = webcari_split(args.data_dir, args.train_pairs, args.test_pairs)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summarize(split, args.dataset, args.check_images), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

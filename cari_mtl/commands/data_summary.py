r"""`cari data-summary`: print what a dataset's split holds, as JSON (see cari_mtl.data.summary).

    cari data-summary --dataset cavi --data_dir CaVI_Dataset \
        --test_pairs train-test-files/testing_1.txt [--downsample 20] [--check_images]
    cari data-summary --dataset webcari --data_dir FACES \
        --train_pairs FV_Train1.txt --test_pairs FV_Test1.txt [--check_images]
"""

import argparse
import json
import sys

from cari_mtl.data.cavi import cavi_split
from cari_mtl.data.summary import summarize
from cari_mtl.data.webcari import webcari_split


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
            split = cavi_split(args.data_dir, args.test_pairs, args.downsample, test_image_keys="resolved")
        else:
            split = webcari_split(args.data_dir, args.train_pairs, args.test_pairs)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summarize(split, args.dataset, args.check_images), indent=2))
    return 0

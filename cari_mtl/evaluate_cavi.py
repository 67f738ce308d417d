r"""Photo-caricature verification on CaVI test pairs (the original's evaluate_cavi.py).

    python evaluate/evaluate_cavi.py --data_dir CaVI_Dataset --model_dir MODEL \
        --test_pairs train-test-files/testing_1.txt [--downsample 20 --seed 0 --far 0.01]

Every --downsample-th pair of the pairs file is kept, the pairs are shuffled with --seed and split
into --lfw_nrof_folds folds. Results: <logs_base_dir>/<YYYYmmdd-HHMMSS>/validation_on_dataset.txt,
metrics.json, roc.png, false_pairs.png, false_images/.
"""

import sys

from cari_mtl.cli import run_cli
from cari_mtl.data.cavi import read_cavi_pairs
from cari_mtl.evaluation import verify
from cari_mtl.evaluation_flags import evaluation_parser, parse_evaluation_arguments


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_evaluation_arguments(evaluation_parser(__doc__, "cavi"), argv)
    pair_paths, issame = read_cavi_pairs(args.test_pairs, args.data_dir, downsample=args.downsample)
    verify(args, pair_paths, issame, command_line=" ".join(["evaluate_cavi.py", *argv]))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

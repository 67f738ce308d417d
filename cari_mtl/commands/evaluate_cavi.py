r"""Photo-caricature verification on CaVI test pairs (the original's evaluate_cavi.py).

    python evaluate/evaluate_cavi.py --data_dir CaVI_Dataset --model_dir MODEL \
        --test_pairs train-test-files/testing_1.txt [--downsample 20 --seed 0 --far 0.01]

Every --downsample-th pair of the pairs file is kept, the pairs are shuffled with --seed and split
into --lfw_nrof_folds folds. Results: <logs_base_dir>/<YYYYmmdd-HHMMSS>/validation_on_dataset.txt,
metrics.json, roc.png, false_pairs.png, false_images/.
"""

import sys

from cari_mtl.commands.evaluation_flags import evaluation_config, evaluation_parser, parse_evaluation_arguments
from cari_mtl.data.cavi import read_cavi_pairs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_evaluation_arguments(evaluation_parser(__doc__, "cavi"), argv)
    from cari_mtl.evaluation.protocols import verify  # TensorFlow, once the flags parsed (not for --help)
    pair_paths, issame = read_cavi_pairs(args.test_pairs, args.data_dir, downsample=args.downsample)
    verify(evaluation_config(args), pair_paths, issame, command_line=" ".join(["evaluate_cavi.py", *argv]))
    return 0


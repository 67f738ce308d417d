r"""Photo-caricature verification on a WebCaricature protocol file (the original's evaluate_webcavi.py).

    python evaluate/evaluate_webcavi.py --data_dir WEBCARI_FACES --model_dir MODEL \
        --test_pairs FV_Test1.txt [--far 0.001 --seed 0]

All pairs of the protocol file are used, shuffled with --seed and split into --lfw_nrof_folds
folds. Results: <logs_base_dir>/<YYYYmmdd-HHMMSS>/validation_on_dataset.txt, metrics.json,
roc.png, false_pairs.png, false_images/.
"""

import sys

from cari_mtl.commands.evaluation_flags import evaluation_config, evaluation_parser, parse_evaluation_arguments
from cari_mtl.data.webcari import read_webcari_pairs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_evaluation_arguments(evaluation_parser(__doc__, "webcari"), argv)
    config = evaluation_config(args)
    from cari_mtl.evaluation.protocols import verify  # TensorFlow, once the flags parsed (not for --help)
    pair_paths, issame = read_webcari_pairs(args.test_pairs, args.data_dir)
    verify(config, pair_paths, issame, command_line=" ".join(["evaluate_webcavi.py", *argv]))
    return 0


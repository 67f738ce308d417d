r"""Photo-caricature verification on CaVI test pairs (the original's evaluate_cavi.py).

    python evaluate/evaluate_cavi.py --data_dir CaVI_Dataset --model_dir MODEL \
        --test_pairs train-test-files/testing_1.txt [--downsample 20 --seed 0 --far 0.01]

Every --downsample-th pair of the pairs file is kept, the pairs are shuffled with --seed and split
into --lfw_nrof_folds folds. Results: <logs_base_dir>/<YYYYmmdd-HHMMSS>/validation_on_dataset.txt,
metrics.json, roc.png, false_pairs.png, false_images/. --write_threshold puts the run's best threshold
into the model card of --model_dir (what `verify` uses when given none).
"""

import sys

from cari_mtl.commands.evaluation_flags import evaluation_config, evaluation_parser, parse_evaluation_arguments
from cari_mtl.data.cavi import read_cavi_pairs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = evaluation_parser(__doc__, "cavi")
    parser.add_argument("--write_threshold", action="store_true",
                        help="write the best threshold of this run into the model card of --model_dir (a native "
                             "model directory), replacing the per-epoch one: `verify` then uses it by default")
    args = parse_evaluation_arguments(parser, argv)
    config = evaluation_config(args)
    from cari_mtl.evaluation.protocols import verify  # TensorFlow, once the flags parsed (not for --help)
    from cari_mtl.model.model_card import set_threshold
    from cari_mtl.model.model_dir import is_model_dir

    if args.write_threshold and not is_model_dir(args.model_dir):
        raise ValueError(f"--write_threshold: {args.model_dir} is not a native model directory (a TF1 checkpoint "
                         f"has no model card); convert it first with cari-convert")
    pair_paths, issame = read_cavi_pairs(args.test_pairs, args.data_dir, downsample=args.downsample)
    log_dir, result = verify(config, pair_paths, issame,
                             command_line=" ".join(["evaluate_cavi.py", *argv]))
    if args.write_threshold:
        source = (f"evaluate_cavi in {log_dir} ({len(pair_paths)} pairs of {args.test_pairs}, "
                  f"{args.lfw_nrof_folds} folds)")
        set_threshold(args.model_dir, result["best_threshold"], source, accuracy=result["accuracy_mean"])
        print(f"threshold {result['best_threshold']:.5f} written to the model card of {args.model_dir}")
    return 0


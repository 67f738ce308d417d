"""Plots the dynamic task weights and the losses over training steps.

    cari plot-training --logs_dir LOG_DIR [--output training_curves.png]

Reads the training logs as the original writes them (PORTING T4, T18): `percentage_full_loss.txt`
(a header line, then per step "w1 w2 w3") and `loss.txt` (a header line, then per step
"L1 L2 L3 CE1 CE2 CE3 center1"). Files are appended to on resume, so repeated header lines are
skipped wherever they occur. Writes one PNG with both panels (default <logs_dir>/training_curves.png).
"""

import argparse
from pathlib import Path

from cari_mtl.commands.common_flags import add_overwrite_flag
from cari_mtl.runtime.output_dirs import require_writable_dir
from cari_mtl.runtime.overwrite import refuse_existing


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs_dir", required=True, help="training log directory holding the two files")
    parser.add_argument("--output", default=None, help="PNG to write (default <logs_dir>/training_curves.png)")
    add_overwrite_flag(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    output = Path(args.output) if args.output else Path(args.logs_dir) / "training_curves.png"
    refuse_existing(output, "--output", args.overwrite)
    from cari_mtl.evaluation import plots  # matplotlib and TensorFlow, once the flags parsed (not for --help)
    from cari_mtl.training.loop.logs import LOSS_FILE, WEIGHTS_FILE, read_step_table

    weights = read_step_table(Path(args.logs_dir) / WEIGHTS_FILE, 3)
    losses = read_step_table(Path(args.logs_dir) / LOSS_FILE, 7)
    require_writable_dir(output.parent, "--output")
    plots.plot_training_curves(weights, losses, output)
    print(f"wrote {output}: {len(weights)} weight steps, {len(losses)} loss steps")
    return 0

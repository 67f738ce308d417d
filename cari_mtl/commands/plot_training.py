"""Plots the dynamic task weights and the losses over training steps.

    python -m cari_mtl.plot_training --logs_dir LOG_DIR [--output training_curves.png]

Reads the training logs as the original writes them (PORTING T4, T18): `percentage_full_loss.txt`
(a header line, then per step "w1 w2 w3") and `loss.txt` (a header line, then per step
"L1 L2 L3 CE1 CE2 CE3 center1"). Files are appended to on resume, so repeated header lines are
skipped wherever they occur. Writes one PNG with both panels (default <logs_dir>/training_curves.png).
"""

import argparse
from pathlib import Path

import numpy as np

from cari_mtl.evaluation import plots

WEIGHTS_FILE = "percentage_full_loss.txt"
LOSS_FILE = "loss.txt"


def read_step_table(path, columns):
    """[steps, columns] float64 from the numeric lines of a training log; other lines are headers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --logs_dir must be a training log directory")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.replace(",", " ").split()
        try:
            values = [float(field) for field in fields]
        except ValueError:
            continue
        if not values:
            continue
        if len(values) != columns:
            raise ValueError(f"{path}:{number} has {len(values)} numbers, expected {columns}: {line!r}")
        rows.append(values)
    if not rows:
        raise ValueError(f"{path} has no step lines yet: train for at least one step first")
    return np.array(rows)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs_dir", required=True, help="training log directory holding the two files")
    parser.add_argument("--output", default=None, help="PNG to write (default <logs_dir>/training_curves.png)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    weights = read_step_table(Path(args.logs_dir) / WEIGHTS_FILE, 3)
    losses = read_step_table(Path(args.logs_dir) / LOSS_FILE, 7)
    output = Path(args.output) if args.output else Path(args.logs_dir) / "training_curves.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    plots.plot_training_curves(weights, losses, output)
    print(f"wrote {output}: {len(weights)} weight steps, {len(losses)} loss steps")
    return 0

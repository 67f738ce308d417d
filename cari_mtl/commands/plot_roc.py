"""Overlays the ROC curves of several verification runs in one figure, from their scores.npz.

    cari plot-roc RUN_DIR [RUN_DIR ...] [--labels NAME ...] [--output roc_overlay.png] [--log_far]

RUN_DIR is a `<logs_base_dir>/<YYYYmmdd-HHMMSS>/` directory written by evaluate_cavi.py or
evaluate_webcavi.py (it holds scores.npz); each curve is its VAL (true accept rate) against FAR, the
means over the test folds (the original's curve, roc_fold_mean.png), labelled with --labels (default: the
directory names) and the run's AUC over all pairs.
"""

import argparse
import sys
import zipfile
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cari_mtl.commands.cli import run_cli  # noqa: E402
from cari_mtl.commands.common_flags import add_overwrite_flag  # noqa: E402
from cari_mtl.evaluation.scores import SCORES_NPZ  # noqa: E402
from cari_mtl.evaluation.summaries import pooled_auc  # noqa: E402
from cari_mtl.runtime import atomic_files  # noqa: E402
from cari_mtl.runtime.overwrite import refuse_existing  # noqa: E402


def read_roc(run_dir):
    """(far [T], val [T]) of a verification run directory."""
    path = Path(run_dir) / SCORES_NPZ
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass the run directory of an evaluate_cavi / evaluate_webcavi "
                                f"run (runs made before scores.npz existed must be evaluated again)")
    try:
        with np.load(path) as scores:
            roc = (scores["far"], scores["val"]) if {"far", "val"} <= set(scores.files) else None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{path} cannot be read ({type(error).__name__}: {error}): the file is truncated or "
                         f"damaged; evaluate that run again to write it anew") from None
    if roc is None:
        raise ValueError(f"{path} holds no ROC (far, val): it is the scores of an identification run")
    return roc


def read_auc(run_dir):
    """AUC over all pairs of a verification run directory (from its distances and labels)."""
    with np.load(Path(run_dir) / SCORES_NPZ) as scores:
        return pooled_auc(scores["distances"], scores["issame"])


def plot_rocs(curves, path, log_far=False):
    """One figure with a VAL-against-FAR curve per (label, far, val) of `curves`."""
    figure, axes = plt.subplots(figsize=(6, 5))
    for label, far, val in curves:
        shown = far > 0 if log_far else slice(None)
        axes.plot(far[shown], val[shown], label=label)
    if log_far:
        axes.set_xscale("log")
    else:
        axes.plot([0, 1], [0, 1], "g--", label="chance")
    axes.set_title("Receiver Operating Characteristics")
    axes.set_xlabel("False Accept Rate (FAR)")
    axes.set_ylabel("Validation rate (VAL)")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(True)
    figure.tight_layout()
    try:
        with atomic_files.atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=100, format=Path(path).suffix[1:] or "png")
    finally:
        plt.close(figure)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", help="verification run directories (each holds scores.npz)")
    parser.add_argument("--labels", nargs="+", default=None, help="one legend label per run (default: folder names)")
    parser.add_argument("--output", default="roc_overlay.png", help="PNG to write (default roc_overlay.png)")
    add_overwrite_flag(parser)
    parser.add_argument("--log_far", action="store_true", help="logarithmic FAR axis (thresholds with FAR 0 left out)")
    args = parser.parse_args(argv)
    if args.labels is not None and len(args.labels) != len(args.run_dirs):
        parser.error(f"--labels gives {len(args.labels)} label(s) for {len(args.run_dirs)} run directories")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    refuse_existing(args.output, "--output", args.overwrite)
    labels = args.labels or [Path(run_dir).name for run_dir in args.run_dirs]
    curves = [(label, *read_roc(run_dir)) for label, run_dir in zip(labels, args.run_dirs)]
    curves = [(f"{label} (AUC {read_auc(run_dir):.3f})", far, val)
              for (label, far, val), run_dir in zip(curves, args.run_dirs)]
    plot_rocs(curves, args.output, args.log_far)
    print(f"wrote {args.output}: {len(curves)} ROC curve(s)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

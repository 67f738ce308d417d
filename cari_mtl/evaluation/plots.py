"""Figures of the evaluation and training tools, written to files (no display needed)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cari_mtl.images.eval_loader import read_rgb  # noqa: E402
from cari_mtl.runtime import atomic_files  # noqa: E402

FALSE_PAIRS_SHOWN = 20
WEIGHT_NAMES = ("w1 verification", "w2 photo id", "w3 caricature id")
LOSS_NAMES = ("L1 verification", "L2 photo id", "L3 caricature id",
              "CE1", "CE2", "CE3", "center loss (branch 1)")


def plot_roc(fpr, tpr, path, label="ROC"):
    """ROC curve with the chance diagonal, as the original's roc.png."""
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot(fpr, tpr, label=label)
    axes.plot([0, 1], [0, 1], "g--", label="chance")
    axes.set_title("Receiver Operating Characteristics")
    axes.set_xlabel("False Positive Rate")
    axes.set_ylabel("True Positive Rate")
    axes.legend(loc="lower right")
    axes.grid(True)
    _save(figure, path)


def plot_distances(distances, issame, threshold, path):
    """Histograms of the same and the different pairs' distances, with the decision threshold."""
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(issame, dtype=bool)
    figure, axes = plt.subplots(figsize=(6, 4))
    bins = np.linspace(min(distances.min(initial=0.0), threshold), max(distances.max(initial=0.0), threshold), 41)
    axes.hist(distances[same], bins=bins, alpha=0.6, label=f"same ({int(same.sum())} pairs)", color="tab:green")
    axes.hist(distances[~same], bins=bins, alpha=0.6, label=f"different ({int((~same).sum())} pairs)",
              color="tab:red")
    axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    axes.set_xlabel("distance")
    axes.set_ylabel("pairs")
    axes.set_title("Pair distances")
    axes.legend(fontsize=8)
    _save(figure, path)


def plot_cmc(ranks_by_curve, path, max_rank=20):
    """Cumulative match characteristic: fraction of probes whose identity is within the first r, r = 1..max_rank.

    ranks_by_curve: {label: 1-based ranks [Q] of each probe's true identity}.
    """
    figure, axes = plt.subplots(figsize=(5, 4))
    positions = np.arange(1, max_rank + 1)
    for label, ranks in ranks_by_curve.items():
        ranks = np.asarray(ranks)
        curve = [(ranks <= r).mean() for r in positions]
        axes.plot(positions, curve, marker="o", markersize=3, label=f"{label} (Rank-1 {curve[0]:.3f})")
    axes.set_xlabel("rank")
    axes.set_ylabel("identification rate")
    axes.set_ylim(0, 1.02)
    axes.set_title("Cumulative match characteristic")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(True)
    _save(figure, path)


def plot_false_pairs(false_positives, false_negatives, path, limit=FALSE_PAIRS_SHOWN):
    """One row per pair: false positives in the left two columns, false negatives in the right two.

    Each argument is a list of (first image path, second image path); at most `limit` of each are
    shown (the text report lists all of them).
    """
    groups = (("false positive", false_positives[:limit]), ("false negative", false_negatives[:limit]))
    rows = max(1, *(len(pairs) for _, pairs in groups))
    figure, axes = plt.subplots(rows, 4, figsize=(6, 1.6 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for group, (title, pairs) in enumerate(groups):
        axes[0, 2 * group].set_title(f"{title}s: {len(pairs)} shown", loc="left", fontsize=8)
        for row, pair in enumerate(pairs):
            for column, image_path in enumerate(pair):
                axis = axes[row, 2 * group + column]
                axis.imshow(_thumbnail(image_path))
                axis.text(0, -2, _short_name(image_path), fontsize=5)
    _save(figure, path)


def plot_tsne(points, identities, is_cari, path, title="t-SNE of photo and caricature embeddings"):
    """Scatter of 2-D points [N, 2]: colour = identity, circle = photo, triangle = caricature."""
    identities = np.asarray(identities)
    is_cari = np.asarray(is_cari, dtype=bool)
    names = sorted(set(identities.tolist()))
    colours = plt.get_cmap("tab20" if len(names) <= 20 else "hsv")(np.linspace(0, 1, max(len(names), 2)))
    figure, axes = plt.subplots(figsize=(8, 7))
    for index, name in enumerate(names):
        mine = identities == name
        for modality, marker in ((False, "o"), (True, "^")):
            chosen = mine & (is_cari == modality)
            axes.scatter(points[chosen, 0], points[chosen, 1], color=colours[index], marker=marker, s=18,
                         label=name if not modality else None)
    axes.scatter([], [], color="grey", marker="o", label="photo")
    axes.scatter([], [], color="grey", marker="^", label="caricature")
    axes.set_title(title)
    axes.legend(fontsize=6, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    _save(figure, path)


def plot_training_curves(weights, losses, path):
    """Task weights [S, 3] and losses [S, 7] over steps, one panel each."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for column, name in enumerate(WEIGHT_NAMES):
        top.plot(np.arange(1, len(weights) + 1), weights[:, column], label=name)
    top.set_ylabel("task weight")
    top.set_title("Dynamic task weights")
    top.legend(fontsize=7)
    top.grid(True)
    for column, name in enumerate(LOSS_NAMES):
        bottom.plot(np.arange(1, len(losses) + 1), losses[:, column], label=name,
                    linestyle="-" if column < 3 else ":")
    bottom.set_xlabel("step")
    bottom.set_ylabel("loss")
    bottom.set_title("Losses")
    bottom.legend(fontsize=7, ncol=2)
    bottom.grid(True)
    _save(figure, path)


def _thumbnail(path):
    """The image as RGB uint8, or a grey square when it cannot be read (the pair is still listed)."""
    try:
        return read_rgb(path)
    except (OSError, ValueError):
        return np.full((32, 32, 3), 128, dtype=np.uint8)


def _short_name(path):
    return str(path).replace("\\", "/").rsplit("/", 1)[-1]


def _save(figure, path):
    figure.tight_layout()
    try:
        with atomic_files.atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=100, format=Path(path).suffix[1:] or "png")
    finally:
        plt.close(figure)

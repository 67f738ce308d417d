"""Figures and the training-log reader: files are written, readable, and the logs parse as the original writes them."""

import cv2
import numpy as np
import pytest

from cari_mtl.commands import plot_training
from cari_mtl.evaluation import plots
from cari_mtl.training.loop.logs import read_step_table

WEIGHTS_HEADER = "loss_verif_weight, loss_expr_weight, loss_cari_weight\n"
# The original's header literal continues over a backslash-newline, so the line holds the indentation.
LOSS_HEADER = ("loss_verif, loss_expr, loss_cari, cross_entropy_mean_verif, cross_entropy_mean_expr, "
               "                cross_entropy_mean_cari, prelogits_center_loss_verif\n")


def write_logs(directory, weights, losses):
    """Logs as the original's training loop writes them, including a resumed run's second header."""
    half = len(weights) // 2
    with open(directory / "percentage_full_loss.txt", "w") as f:
        f.write(WEIGHTS_HEADER)
        for step, row in enumerate(weights):
            if step == half:
                f.write(WEIGHTS_HEADER)
            f.write("%2.4f %2.4f %2.4f\n" % tuple(row))
    with open(directory / "loss.txt", "w") as f:
        f.write(LOSS_HEADER)
        for step, row in enumerate(losses):
            if step == half:
                f.write(LOSS_HEADER)
            f.write("%2.4f %2.4f %2.4f %2.4f %2.4f %2.4f %2.4f\n" % tuple(row))


def assert_png(path, min_height=50):
    image = cv2.imread(str(path))
    assert image is not None, f"{path} is not a readable image"
    assert image.shape[0] >= min_height and image.shape[1] >= 50
    assert image.std() > 0  # not a blank canvas
    return image


def test_training_logs_parse_and_plot(tmp_path):
    rng = np.random.default_rng(0)
    weights = np.round(rng.dirichlet(np.ones(3), size=12), 4)
    losses = np.round(rng.uniform(0, 5, size=(12, 7)), 4)
    write_logs(tmp_path, weights, losses)
    np.testing.assert_allclose(read_step_table(tmp_path / "percentage_full_loss.txt", 3), weights)
    np.testing.assert_allclose(read_step_table(tmp_path / "loss.txt", 7), losses)
    assert plot_training.main(["--logs_dir", str(tmp_path)]) == 0
    assert_png(tmp_path / "training_curves.png")


def test_training_log_with_wrong_column_count_names_the_line(tmp_path):
    (tmp_path / "loss.txt").write_text(LOSS_HEADER + "1 2 3 4 5 6 7\n1 2 3\n")
    with pytest.raises(ValueError, match=r"loss.txt:3 has 3 numbers, expected 7"):
        read_step_table(tmp_path / "loss.txt", 7)


def test_missing_training_log_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="training log directory"):
        read_step_table(tmp_path / "percentage_full_loss.txt", 3)


def test_roc_and_false_pair_grid_are_written(tmp_path):
    images = []
    for index in range(4):
        path = tmp_path / f"img_{index}.jpg"
        cv2.imwrite(str(path), np.full((40, 30, 3), 60 * index, dtype=np.uint8))
        images.append(str(path))
    plots.plot_roc(np.linspace(0, 1, 50), np.linspace(0, 1, 50) ** 0.3, tmp_path / "roc.png")
    assert_png(tmp_path / "roc.png")
    fp = [(images[0], images[1]), (images[2], images[3]), (images[1], str(tmp_path / "missing.jpg"))]
    plots.plot_false_pairs(fp, [(images[3], images[0])], tmp_path / "grid.png", limit=2)
    grid = assert_png(tmp_path / "grid.png")
    one_row = tmp_path / "one.png"
    plots.plot_false_pairs(fp[:1], [], one_row)
    assert grid.shape[0] > cv2.imread(str(one_row)).shape[0]  # rows follow the number of pairs shown


def test_tsne_scatter_is_written(tmp_path):
    rng = np.random.default_rng(1)
    points = rng.normal(size=(30, 2))
    identities = np.repeat(["A", "B", "C"], 10)
    plots.plot_tsne(points, identities, np.tile([True, False], 15), tmp_path / "tsne.png")
    assert_png(tmp_path / "tsne.png")

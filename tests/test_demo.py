"""The demo with a tiny setting: it writes metrics.json with the five fractions and the plot."""

import json

import pytest

from cari_mtl.commands import demo

pytestmark = pytest.mark.slow  # the demo trains


def test_demo_writes_metrics_and_plot(tmp_path):
    assert demo.main(["--output_dir", str(tmp_path), "--identities", "2", "--photos_per_id", "3",
                      "--caricatures_per_id", "3", "--nrof_test_pairs", "6",
                      "--epochs", "1", "--epoch_size", "2", "--batch_size", "4"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) == {"verification_accuracy", "photo_id_accuracy", "caricature_id_accuracy",
                            "v2c_accuracy", "c2v_accuracy"}
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    plot = tmp_path / "task_weights_and_losses.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""benchmarks/gpu_check.py --quick runs on a CPU without TensorFlow and writes its JSON: the train
step's rate and FLOPs (a), the synthetic training and evaluate_cavi under JAX (b)."""

import json

import pytest

from jax_subprocess import ROOT, requires_jax, run_jax


@requires_jax
@pytest.mark.slow
def test_gpu_check_quick_writes_both_parts(tmp_path):
    run_jax([ROOT / "benchmarks" / "gpu_check.py", "--quick", "--output", tmp_path], timeout=900)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["keras_backend"] == "jax" and not report["tensorflow_importable"]
    step = report["train_step"]
    assert step["finite"] and step["images_per_second"] > 0
    assert step["flops_per_step"] > 0 and 0 < step["fraction_of_peak"] < 1
    train = report["train_and_evaluate"]
    assert train["train"]["returncode"] == 0 and train["train"]["last_epoch_metrics"]["epoch"] == 2
    assert train["evaluate_cavi"]["returncode"] == 0
    assert 0 <= train["evaluate_cavi"]["metrics"]["accuracy_mean"] <= 1

"""Each task-weighting method of the literature: two MirroredStrategy steps over 2 logical CPUs equal two
single-device steps on the same batches (the same construction as test_distribute.py, in a subprocess)."""

import json
import sys

import numpy as np
import pytest
from support.distribution import IMAGE_SIZE, IS_CARI, LABELS, NROF_CLASSES, max_abs_difference, run_comparison

from small_network import small_network

pytestmark = pytest.mark.slow  # every method traced under MirroredStrategy in a subprocess

METHODS = {"dynamic_detached": ("dynamic", {"detach_weights_input": True}), "uncertainty": ("uncertainty", {}),
           "dwa": ("dwa", {"dwa_window": 1}), "gradnorm": ("gradnorm", {}), "pcgrad": ("pcgrad", {}),
           "mgda": ("mgda", {}), "staged_photo": ("staged", {"staged_epochs": (1, 1, 1, 1)})}
STAGED_EPOCH = 3  # the photo stage: only the photo branch learns
COMPARED = ("L1", "L2", "L3", "L", "w1", "w2", "w3", "grad_norm_theta")
STEPS = 3  # dwa's weights leave 1 at the third step with a window of one step
TOLERANCE = {"logs": 1e-4, "trainable": 2e-6}


@pytest.fixture(scope="module")
def differences(tmp_path_factory):
    return run_comparison(__file__, tmp_path_factory.mktemp("distribute_methods") / "differences.json", timeout=900)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_distributed_steps_equal_single_device_steps(differences, method):
    result = differences[method]
    assert result["replicas"] == 2
    assert result["max_abs"]["logs"] <= TOLERANCE["logs"], result
    assert result["max_abs"]["trainable"] <= TOLERANCE["trainable"], result
    assert result["max_change"] > 100 * TOLERANCE["trainable"], result


def test_dwa_weights_moved_in_the_compared_steps(differences):
    assert differences["dwa"]["weights"][-1] != [1.0, 1.0, 1.0]


def compare(out_path):
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from cari_mtl.model.network import load_model_def
    from cari_mtl.training.step.tensorflow import TrainStep
    from cari_mtl.training.weighting import registry

    network = load_model_def()
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(len(LABELS), IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32) for _ in range(STEPS)]
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def run(distribution, name, options, initial_weights=None):
        keras.utils.set_random_seed(1)
        with distribution.scope():
            model = small_network(network, IMAGE_SIZE, NROF_CLASSES)
            if initial_weights is not None:
                model.set_weights(initial_weights)
        before = model.get_weights()
        trainable_before = [v.numpy() for v in model.trainable_variables]
        step = TrainStep(model, registry.make_weighting(name, **options), "RMSProp", center_loss_factor=0.1,
                         center_loss_alfa=0.5, distribution=distribution)
        step.weighting.start_epoch(STAGED_EPOCH)
        logs = [{k: float(v) for k, v in step(images, LABELS, IS_CARI, 0.01).items()} for images in batches]
        return before, trainable_before, [v.numpy() for v in model.trainable_variables], logs

    result = {}
    for label, (name, options) in METHODS.items():
        before, trainable_before, single, single_logs = run(tf.distribute.get_strategy(), name, options)
        _, _, distributed, distributed_logs = run(mirrored, name, options, before)
        result[label] = {
            "replicas": mirrored.num_replicas_in_sync,
            "max_abs": {"logs": max(abs(a[k] - b[k]) / max(1.0, abs(a[k]))
                                    for a, b in zip(single_logs, distributed_logs) for k in COMPARED),
                        "trainable": max_abs_difference(single, distributed)},
            "max_change": max_abs_difference(trainable_before, single),
            "weights": [[logs[f"w{i}"] for i in (1, 2, 3)] for logs in single_logs],
        }
    with open(out_path, "w") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    compare(sys.argv[1])

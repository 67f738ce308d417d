"""One MirroredStrategy step over 2 logical CPUs equals one single-device step on the same batch.

The comparison runs in a subprocess (this file as a script): logical devices must be configured
before TensorFlow initialises its devices, which other tests in the pytest process already did.
The batch's halves hold different numbers of photos and caricatures (3+1 and 1+3) and share
classes, so per-replica masked means, task weights, center updates or batch-norm statistics
would differ from the global ones and fail the comparison.

The test's network is a small one made of the real network's pieces (conv + batch norm blocks,
three branches with L2-normalised embeddings and logits heads, the real weights head), because
tracing the full network for two replicas takes about a minute on two cores. The full network:
    python tests/test_distribute.py differences.json --full
"""

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from support.distribution import IMAGE_SIZE, IS_CARI, LABELS, NROF_CLASSES, max_abs_difference, run_comparison  # noqa: F401

from cari_mtl.runtime import distribute

from small_network import small_network

LOGGED = ("L1", "L2", "L3", "L", "L4", "w1", "w2", "w3", "CE1", "CE2", "CE3", "center1", "acc_verif",
          "acc_photo", "acc_cari", "grad_norm_theta", "grad_norm_psi", "global_step")
# logs: |difference| / max(1, |value|); the others: |difference|. Float32 sums in another order
# (and E[x^2] - E[x]^2 for the synchronized batch variance) differ in the last bits.
TOLERANCE = {"logs": 2e-5, "trainable": 1e-6, "centers": 1e-6, "non_trainable": 1e-6, "ema": 1e-6,
             "optimizer": 1e-6}


@pytest.fixture(scope="module")
def differences(tmp_path_factory):
    return run_comparison(__file__, tmp_path_factory.mktemp("distribute") / "differences.json", timeout=600)


def test_the_batch_halves_have_different_modality_counts():
    halves = np.array(IS_CARI).reshape(2, -1).sum(axis=1)
    assert halves[0] != halves[1]


@pytest.mark.slow
def test_distributed_step_runs_on_two_replicas(differences):
    assert differences["replicas"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(TOLERANCE))
def test_distributed_step_equals_single_device_step(differences, kind):
    assert differences["counts"][kind] > 0
    assert differences["max_abs"][kind] <= TOLERANCE[kind], differences


@pytest.mark.slow
def test_the_step_changed_what_is_compared(differences):
    """Guards against comparing two untouched copies: the step moved weights, centers and stats."""
    for kind in ("trainable", "centers", "non_trainable", "ema", "optimizer"):
        assert differences["max_change"][kind] > 100 * TOLERANCE[kind], (kind, differences)


def test_uneven_global_batch_is_refused():
    with pytest.raises(ValueError, match="multiple of 2"):
        distribute.check_batch_size(7, SimpleNamespace(num_replicas_in_sync=2))


def compare(out_path, full=False):
    """Runs both steps from the same initial weights; writes max |difference| per kind of value."""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from cari_mtl.model.network import load_model_def
    from cari_mtl.training.step.tensorflow import TrainStep
    from cari_mtl.training.weighting import registry

    network = load_model_def()
    rng = np.random.default_rng(0)
    images = rng.normal(size=(len(LABELS), IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)

    def run(distribution, initial_weights=None):
        keras.utils.set_random_seed(1)
        with distribution.scope():
            if full:
                model = network.build_model(image_size=IMAGE_SIZE, nrof_classes=NROF_CLASSES, keep_probability=1.0)
            else:
                model = small_network(network, IMAGE_SIZE, NROF_CLASSES)
            if initial_weights is not None:
                model.set_weights(initial_weights)
        step = TrainStep(model, registry.make_weighting("dynamic"), "RMSProp", center_loss_factor=0.1,
                         center_loss_alfa=0.5, lossweights_lr_factor=10.0, moving_average_decay=0.9,
                         distribution=distribution)
        before = state(step)
        logs = {k: float(v) for k, v in step(images, LABELS, IS_CARI, 0.01).items()}
        return before, state(step), logs

    single_before, single, single_logs = run(tf.distribute.get_strategy())
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    distributed_before, distributed, distributed_logs = run(mirrored, single_before["model"])
    for kind in ("trainable", "non_trainable"):
        assert max_abs_difference(single_before[kind], distributed_before[kind]) == 0.0
    result = {"replicas": mirrored.num_replicas_in_sync, "max_abs": {}, "max_change": {}, "counts": {},
              "logs": {k: [single_logs[k], distributed_logs[k]] for k in LOGGED}}
    result["max_abs"]["logs"] = max(abs(single_logs[k] - distributed_logs[k]) / max(1.0, abs(single_logs[k]))
                                    for k in LOGGED)
    result["counts"]["logs"] = len(LOGGED)
    for kind in ("trainable", "centers", "non_trainable", "ema", "optimizer"):
        result["max_abs"][kind] = max_abs_difference(single[kind], distributed[kind])
        result["max_change"][kind] = max_abs_difference(single_before[kind], single[kind])
        result["counts"][kind] = len(single[kind])
    with open(out_path, "w") as handle:
        json.dump(result, handle, indent=1)


def state(step):
    """Numpy copies of everything the step updates (replica 0's copy of mirrored variables)."""
    return {
        "model": step.model.get_weights(),
        "trainable": [v.numpy() for v in step.model.trainable_variables],
        "non_trainable": [v.numpy() for v in step.model.non_trainable_variables],
        "centers": [step.centers.numpy()],
        "ema": [v.numpy() for v in step.ema_shadows],
        "optimizer": [v.numpy() for opt in step.optimizers.values() for v in opt.variables],
    }


if __name__ == "__main__":
    compare(sys.argv[1], full="--full" in sys.argv[2:])

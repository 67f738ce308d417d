"""Three train steps under JAX equal three under TensorFlow (issue 21): the toy network of
tests/small_network.py from one model directory, the same batches, dropout off; the TensorFlow
TrainStep is the reference. Logged losses and weights within 1e-4 relative, variables within 1e-5.
Every task weighting JAX trains is a case; each step starts "epoch" EPOCHS[i] (the stages of `staged`:
verification, photo, caricature), the DWA window is one step (its weights move from the third step).
The options beyond the original (margin heads, label smoothing, AdamW, a cosine schedule) are one more
case, on a toy network with a CosFace and two ArcFace heads."""

import numpy as np
import pytest

from cari_mtl.model.model_dir import ModelConfig, load_model_dir, save_model_dir
from cari_mtl.training.step.formulas import task_loss_terms_fn
from cari_mtl.training.step.lr_schedules import step_schedule
from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry

from jax_subprocess import TESTS, requires_jax, run_jax

IMAGE_SIZE, CLASSES, BATCH, STEPS = 24, 5, 8, 3
LOGGED = ("L", "L1", "L2", "L3", "L4", "CE1", "CE2", "CE3", "w1", "w2", "w3", "center1", "grad_norm_theta",
          "acc_verif", "acc_photo", "acc_cari", "global_step")
STATIC_WEIGHTS = (1.0, 0.5, 0.25)
CENTER_LOSS_FACTOR = 0.01
EPOCHS, DWA_WINDOW = (2, 3, 4), 1
LABEL_SMOOTHING, PEAK, WARMUP_STEPS = 0.1, 0.05, 1
MARGIN_HEADS = {"verif_head": "cosface", "identity_heads": "arcface", "margin_scale": 16.0}


def batches():
    rng = np.random.default_rng(7)
    is_cari = np.tile([0, 1], BATCH // 2)
    return {"images": rng.normal(size=(STEPS, BATCH, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32),
            "labels": rng.integers(0, CLASSES, size=(STEPS, BATCH)),
            "is_cari": np.tile(is_cari, (STEPS, 1)), "learning_rates": np.array([0.05, 0.05, 0.02]),
            "static_weights": np.array(STATIC_WEIGHTS), "center_loss_factor": np.array(CENTER_LOSS_FACTOR),
            "epochs": np.array(EPOCHS), "dwa_window": np.array(DWA_WINDOW),
            "label_smoothing": np.array(LABEL_SMOOTHING), "peak": np.array(PEAK),
            "warmup_steps": np.array(WARMUP_STEPS)}


def toy_model_dir(folder, **heads):
    import keras

    keras.utils.set_random_seed(3)
    config = ModelConfig(IMAGE_SIZE, CLASSES, model_def=str(TESTS / "small_network.py"), **heads)
    return save_model_dir(config.build(), folder / "model", config)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return toy_model_dir(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="module")
def margin_model_dir(tmp_path_factory):
    return toy_model_dir(tmp_path_factory.mktemp("toy_margin"), **MARGIN_HEADS)


def tensorflow_run(model_dir, data, name, optimizer, modern=False, detached=False):
    model, model_config = load_model_dir(model_dir)
    weighting = registry.make_weighting(name, static_weights=STATIC_WEIGHTS, dwa_window=DWA_WINDOW,
                                                 detach_weights_input=detached)
    options = {"loss_terms_fn": task_loss_terms_fn(model_config, LABEL_SMOOTHING),
               "learning_rate_schedule": step_schedule("cosine", PEAK, STEPS, WARMUP_STEPS)} if modern else {}
    step = TrainStep(model, weighting, optimizer, center_loss_factor=CENTER_LOSS_FACTOR, moving_average_decay=0.9,
                     **options)
    logs = []
    for i in range(STEPS):
        weighting.start_epoch(EPOCHS[i])
        logs.append({k: float(v) for k, v in step(data["images"][i], data["labels"][i], data["is_cari"][i],
                                                   float(data["learning_rates"][i])).items()})
    return logs, {v.path: v.numpy() for v in model.variables}, step


CASES = (("dynamic", "RMSProp"), ("static", "RMSProp"), ("naive", "Momentum"), ("dynamic", "Adam"),
         ("uncertainty", "RMSProp"), ("dwa", "Momentum"), ("staged", "RMSProp"), ("gradnorm", "RMSProp"),
         ("pcgrad", "Momentum"), ("mgda", "RMSProp"))


@pytest.fixture(scope="module")
def jax_results(model_dir, tmp_path_factory):
    """One JAX subprocess runs every case (one start-up of JAX for all)."""
    folder = tmp_path_factory.mktemp("jax_steps")
    np.savez(folder / "batches.npz", **batches())
    run_jax([TESTS / "jax_steps.py", model_dir, folder / "batches.npz", folder,
             *(f"{name}:{optimizer}" for name, optimizer in CASES), "dynamic:RMSProp:detached"], timeout=600)
    return folder


@requires_jax
@pytest.mark.slow
@pytest.mark.parametrize("name,optimizer", CASES)
def test_three_jax_steps_equal_three_tensorflow_steps(model_dir, jax_results, name, optimizer):
    assert_same_steps(np.load(jax_results / f"{name}_{optimizer}.npz"),
                      *tensorflow_run(model_dir, batches(), name, optimizer), name)


@requires_jax
@pytest.mark.slow
def test_dynamic_with_a_detached_weights_input_trains_alike(model_dir, jax_results):
    """Ψ behind a stop-gradient: under JAX the network runs cut at the trunk's output (jax_split)."""
    jax_result = np.load(jax_results / "dynamic_RMSProp_detached.npz")
    logs, variables, step = tensorflow_run(model_dir, batches(), "dynamic", "RMSProp", detached=True)
    np.testing.assert_allclose(jax_result["log/grad_norm_psi"], [e["grad_norm_psi"] for e in logs], rtol=1e-4)
    assert_same_steps(jax_result, logs, variables, step, "dynamic")


@requires_jax
@pytest.mark.slow
def test_margin_heads_smoothing_adamw_and_cosine_schedule_train_alike(margin_model_dir, tmp_path):
    """CosFace on verification, ArcFace on the identity heads, label smoothing 0.1, AdamW, a cosine
    schedule with one warm-up step (logged rates 0, the peak, half the peak): both steps give the same
    numbers, so the modern recipes run under either backend."""
    np.savez(tmp_path / "batches.npz", **batches())
    run_jax([TESTS / "jax_steps.py", margin_model_dir, tmp_path / "batches.npz", tmp_path, "static:AdamW:modern"])
    jax_result = np.load(tmp_path / "static_AdamW_modern.npz")
    logs, variables, step = tensorflow_run(margin_model_dir, batches(), "static", "AdamW", modern=True)
    np.testing.assert_allclose(jax_result["log/learning_rate"], [0.0, PEAK, PEAK / 2], atol=1e-7)
    assert_same_steps(jax_result, logs, variables, step, "static")


def assert_same_steps(jax_result, logs, variables, step, name):
    for key in LOGGED:
        np.testing.assert_allclose(jax_result[f"log/{key}"], [entry[key] for entry in logs], rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    if name == "dynamic":
        np.testing.assert_allclose(jax_result["log/grad_norm_psi"], [e["grad_norm_psi"] for e in logs], rtol=1e-4)
    for path, value in variables.items():
        if "seed_generator" in path:
            continue
        np.testing.assert_allclose(jax_result[f"var/{path}"], value, rtol=1e-5, atol=1e-5, err_msg=path)
    np.testing.assert_allclose(jax_result["centers"], step.centers.numpy(), rtol=1e-5, atol=1e-5)
    shadows = np.concatenate([np.ravel(shadow.numpy()) for shadow in step.ema_shadows])
    np.testing.assert_allclose(jax_result["ema"], shadows, rtol=1e-5, atol=1e-5)
    own = {**{f"params/{n}": v.numpy() for n, v in step.params.items()},
           **{f"weighting/{k}": v.numpy() for k, v in step.weighting_state.items()}}
    for key in jax_result.files:  # the weighting's own state (learned weights, loss history)
        if key.startswith(("params/", "weighting/")):
            np.testing.assert_allclose(jax_result[key], own.pop(key), rtol=1e-5, atol=1e-6, err_msg=key)
    assert not own, f"state of {name} not compared: {sorted(own)}"


@requires_jax
@pytest.mark.slow
def test_data_parallel_on_two_devices_equals_one_device(model_dir, jax_results, tmp_path):
    run_jax([TESTS / "jax_steps.py", model_dir, jax_results / "batches.npz", tmp_path, "dynamic:RMSProp"],
            XLA_FLAGS="--xla_force_host_platform_device_count=2")
    one, two = np.load(jax_results / "dynamic_RMSProp.npz"), np.load(tmp_path / "dynamic_RMSProp.npz")
    assert int(one["devices"]) == 1 and int(two["devices"]) == 2 and one.files == two.files
    for key in one.files:
        if key == "devices":
            continue
        if key.startswith("log/"):
            np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-6, err_msg=key)
        elif "seed_generator" not in key:
            np.testing.assert_allclose(two[key], one[key], rtol=1e-5, atol=1e-5, err_msg=key)


def test_one_registry_makes_every_method_with_its_options():
    """One class per method serves both backends: the registry builds each with the options it takes."""
    with pytest.raises(ValueError, match="^unknown --task_weighting 'cagrad'"):
        registry.make_weighting("cagrad")
    assert registry.make_weighting("dynamic", detach_weights_input=True).detach_weights_input
    assert registry.make_weighting("dwa", dwa_window=5, static_weights=(1, 1, 1)).window == 5
    assert registry.make_weighting("staged", staged_epochs=(2, 1, 1, 1)).epochs == (2, 1, 1, 1)

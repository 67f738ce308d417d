"""Run by the JAX tests in a subprocess (KERAS_BACKEND=jax, TensorFlow blocked): N train steps of a
model directory under JAX on the batches of an .npz, for each WEIGHTING:OPTIMIZER, writing the logs
and the state to OUT_DIR/<weighting>_<optimizer>.npz.

    python tests/jax_steps.py MODEL_DIR BATCHES.npz OUT_DIR WEIGHTING:OPTIMIZER[:modern|:detached]...

`:detached`: the weighting with detach_weights_input (dynamic). `:modern`: the options beyond the
original as step_options gives them: the model directory's heads (margin heads there) with the
batches' label smoothing, and a cosine schedule (peak, warm-up) over the steps in place of the
batches' learning rates.

Every local device is used (data parallel): XLA_FLAGS=--xla_force_host_platform_device_count=2 gives two.
"""

import sys

import jax
import numpy as np

from cari_mtl.model.model_dir import load_model_dir
from cari_mtl.training.step.formulas import task_loss_terms_fn
from cari_mtl.training.step.jax import JaxTrainStep
from cari_mtl.training.step.lr_schedules import step_schedule
from cari_mtl.training.weighting import make_weighting


def modern_options(batches, model_config):
    return {"loss_terms_fn": task_loss_terms_fn(model_config, float(batches["label_smoothing"])),
            "learning_rate_schedule": step_schedule("cosine", float(batches["peak"]), len(batches["images"]),
                                                    int(batches["warmup_steps"]))}


def main(model_dir, batches_file, output, weighting, optimizer, modern=False, detached=False):
    batches = np.load(batches_file)
    model, model_config = load_model_dir(model_dir)
    weighting = make_weighting(weighting, static_weights=tuple(batches["static_weights"]),
                                   dwa_window=int(batches["dwa_window"]), detach_weights_input=detached)
    step = JaxTrainStep(model, weighting, optimizer,
                        center_loss_factor=float(batches["center_loss_factor"]), moving_average_decay=0.9,
                        devices=jax.devices(), **(modern_options(batches, model_config) if modern else {}))
    logs = []
    for index in range(len(batches["images"])):
        weighting.start_epoch(int(batches["epochs"][index]))
        values = step(batches["images"][index], batches["labels"][index], batches["is_cari"][index],
                      float(batches["learning_rates"][index]))
        logs.append({key: float(value) for key, value in values.items()})
    step.sync_model()
    arrays = {f"log/{key}": np.array([entry[key] for entry in logs]) for key in logs[0]}
    arrays.update({f"var/{v.path}": np.asarray(v.value) for v in model.variables})
    arrays["centers"] = np.asarray(step.state["centers"])
    arrays["devices"] = np.array(len(jax.devices()))
    arrays.update({f"weighting/{key}": np.asarray(value) for key, value in step.state["weighting"].items()
                   if key != "params"})
    arrays.update({f"params/{name}": np.asarray(value) for name, value in step.state["weighting"]["params"].items()})
    arrays["ema"] = np.concatenate([np.ravel(np.asarray(value)) for value in step.state["ema"]])
    np.savez(output, **arrays)


if __name__ == "__main__":
    for case in sys.argv[4:]:
        name, optimizer, *flags = case.split(":")
        main(sys.argv[1], sys.argv[2], f"{sys.argv[3]}/{'_'.join([name, optimizer, *flags])}.npz", name, optimizer,
             modern="modern" in flags, detached="detached" in flags)

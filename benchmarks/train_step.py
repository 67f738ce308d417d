"""Images per second of the full custom train step against a plain `keras.Model.fit` of the same network.

    python benchmarks/train_step.py [--quick] [--batch_size 90 --image_size 160 --steps 6 --warmup 2
        --nrof_classes 200 --xla [auto|on|off] --mixed_precision auto|off|bfloat16|float16]

Custom: `TrainStep` with dynamic weighting, as the training command runs it: forward in training
mode, L1..L3 with the center loss, both optimizers (TF1 RMSProp, clipping by global norm),
center update, moving averages of every trained variable, global step, and every logged scalar
fetched to the host after each step (the Trainer writes them to loss.txt).
Reference: `fit` on the same network definition with one optimizer (the same RMSProp, so the
ratio measures the custom step's extra work, not a choice of optimizer) on the summed softmax
cross-entropies of the three branches, the same batch already in memory (a repeated tf.data
batch), the same XLA and dtype policy, no callbacks or progress bar, `--steps_per_execution`.
Both run `--warmup` untimed steps (tracing) first; with --repeats the two loops alternate and
the best time of each counts. Wall-clock rates are reported, plus the process CPU time of each
loop, which is steadier when other programs share the cores. The last line is one JSON object.

`--backend jax` times the JAX step (cari_mtl.training.step.jax.JaxTrainStep, the same work, compiled
by jax.jit whatever --xla says) against `fit` under JAX on the same batch, without TensorFlow.
"""

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cari_mtl.runtime.backend import select_from_argv  # noqa: E402

JAX = select_from_argv() == "jax"

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cari_mtl.commands.common_flags import add_speed_flags  # noqa: E402
from cari_mtl.model.network import load_model_def  # noqa: E402
from cari_mtl.runtime.speed import apply_mixed_precision, gpu_compute_capability, use_xla  # noqa: E402
from cari_mtl.training.step.optimizers import make_optimizer  # noqa: E402
from cari_mtl.training.tasks import WEIGHTS_HEAD  # noqa: E402
from cari_mtl.training.weighting import registry  # noqa: E402

if JAX:
    import jax

    from cari_mtl.training.step.jax import JaxTrainStep
else:
    import tensorflow as tf

    from cari_mtl.training.step.tensorflow import TrainStep

BRANCH_LOGITS = ("logits_verif", "logits_visual", "logits_cari")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a run under a minute on 2 CPU cores: --batch_size 8, 3 timed steps, 1 warm-up step")
    parser.add_argument("--batch_size", type=int, default=90, help="images per step (default 90, the paper's)")
    parser.add_argument("--image_size", type=int, default=160, help="input size in pixels (default 160)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps of each loop (default 6)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps of each loop first (default 2)")
    parser.add_argument("--nrof_classes", type=int, default=200, help="identities (default 200, about CaVI's)")
    parser.add_argument("--steps_per_execution", type=int, default=1,
                        help="fit's steps per graph execution; one step takes seconds on a CPU, so 1 costs "
                             "nothing there, while a GPU gains from more (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate custom and fit timings this many times, report the best of each "
                             "(default 1)")
    add_speed_flags(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.steps, args.warmup = 8, 3, 1
    return args


def synthetic_batch(batch_size, image_size, nrof_classes):
    """A fixed batch in memory: standardised-like pixels, labels, half photos and half caricatures."""
    rng = np.random.default_rng(0)
    images = rng.normal(size=(batch_size, image_size, image_size, 3)).astype(np.float32)
    labels, is_cari = rng.integers(0, nrof_classes, batch_size), np.arange(batch_size) % 2
    if JAX:
        return jax.device_put(images), jax.device_put(labels.astype(np.int32)), jax.device_put(is_cari.astype(np.int32))
    return tf.constant(images), tf.constant(labels, tf.int64), tf.constant(is_cari, tf.int64)


def custom_loop(network, args, jit_compile, batch):
    """A callable running n custom steps (logs fetched each step), and its TrainStep."""
    model = network.build_model(image_size=args.image_size, nrof_classes=args.nrof_classes)
    if JAX:
        step = JaxTrainStep(model, registry.make_weighting("dynamic"), "RMSProp", center_loss_factor=0.01,
                            center_loss_alfa=0.95)
    else:
        step = TrainStep(model, registry.make_weighting("dynamic"), "RMSProp", center_loss_factor=0.01,
                         center_loss_alfa=0.95, jit_compile=jit_compile)

    def run(steps):
        for _ in range(steps):
            logs = {name: float(value) for name, value in step(*batch, 0.01).items()}
        return logs

    return run


def fit_loop(network, args, jit_compile, batch, steps_per_execution):
    """A callable running n steps of `fit` (n a multiple of steps_per_execution)."""
    model = network.build_model(image_size=args.image_size, nrof_classes=args.nrof_classes)
    model.get_layer(WEIGHTS_HEAD).trainable = False  # no loss reaches it in this reference
    images, labels, _ = batch
    targets = {name: labels for name in BRANCH_LOGITS}
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=make_optimizer("RMSProp", 0.01), loss={name: cross_entropy for name in BRANCH_LOGITS},
                  jit_compile=jit_compile or JAX, steps_per_execution=steps_per_execution)
    if JAX:
        def run(steps):
            repeated = np.concatenate([np.asarray(images)] * steps)
            model.fit(repeated, {name: np.tile(np.asarray(labels), steps) for name in BRANCH_LOGITS},
                      batch_size=len(images), epochs=1, verbose=0, shuffle=False)

        return run
    dataset = tf.data.Dataset.from_tensors((images, targets)).repeat().prefetch(2)

    def run(steps):
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)

    return run


def timed(run, steps):
    """(wall seconds, process CPU seconds) of `run(steps)`."""
    wall, cpu = time.perf_counter(), time.process_time()
    run(steps)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    args = parse_arguments(argv)
    policy = apply_mixed_precision(args.mixed_precision)
    jit_compile = use_xla(args.xla)
    network = load_model_def()
    batch = synthetic_batch(args.batch_size, args.image_size, args.nrof_classes)
    custom = custom_loop(network, args, jit_compile, batch)
    if args.steps % args.steps_per_execution or args.warmup % args.steps_per_execution:
        raise ValueError("--steps and --warmup must be multiples of --steps_per_execution")
    fit = fit_loop(network, args, jit_compile, batch, args.steps_per_execution)
    custom(args.warmup)
    fit(args.warmup)
    custom_times, fit_times = [], []
    for _ in range(args.repeats):
        custom_times.append(timed(custom, args.steps))
        fit_times.append(timed(fit, args.steps))
    images = args.batch_size * args.steps
    custom_rate = images / min(wall for wall, _ in custom_times)
    fit_rate = images / min(wall for wall, _ in fit_times)
    custom_cpu, fit_cpu = min(cpu for _, cpu in custom_times), min(cpu for _, cpu in fit_times)
    result = {
        "benchmark": "train_step", "custom_images_per_s": round(custom_rate, 2), "fit_images_per_s": round(fit_rate, 2),
        "ratio": round(custom_rate / fit_rate, 3), "batch_size": args.batch_size, "image_size": args.image_size,
        "steps": args.steps, "warmup": args.warmup, "repeats": args.repeats, "nrof_classes": args.nrof_classes,
        "custom_seconds": [round(wall, 3) for wall, _ in custom_times],
        "fit_seconds": [round(wall, 3) for wall, _ in fit_times],
        "cpu_time_ratio": round(fit_cpu / custom_cpu, 3), "steps_per_execution": args.steps_per_execution,
        "load_average": round(os.getloadavg()[0], 2), "xla": jit_compile, "dtype_policy": policy,
        "device": f"GPU (compute capability {gpu_compute_capability()})" if gpu_compute_capability()
        else f"CPU ({os.cpu_count()} cores, {platform.machine()})", "backend": keras.backend.backend(),
        "python": platform.python_version(), "keras": keras.__version__,
        ("jax" if JAX else "tensorflow"): jax.__version__ if JAX else tf.__version__,
        "command": " ".join(["python", "benchmarks/train_step.py", *(sys.argv[1:] if argv is None else argv)]),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

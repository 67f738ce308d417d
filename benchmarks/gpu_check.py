"""The GPU check of the JAX backend, one command on a machine with JAX (CUDA) but no TensorFlow.

    python3 benchmarks/gpu_check.py --output OUT_DIR [--wheels WHEEL_DIR] [--quick]

Run from the product's checkout (it is put on sys.path here; nothing is installed). When Keras
cannot be imported, every wheel of --wheels (keras, namex, optree, and any other one placed there)
is installed with `pip install --no-index --no-deps --target <--site_dir>` and that folder put on
sys.path. Then, under KERAS_BACKEND=jax:

(a) the product's own train step (cari_mtl.training.step.jax.JaxTrainStep: dynamic weighting, both
    TF1 RMSProp optimizers, clipping, center update, moving averages), the real network at 160 px,
    batch 256, mixed bfloat16, batches already on the device: images/s over the timed steps after
    the warm-up (compilation) steps, and the fraction of --peak_tflops (790, an H200's dense
    bfloat16) reached, from the step's FLOPs counted by XLA's cost analysis of the step lowered for
    the CPU platform (`Lowered.cost_analysis()["flops"]`, forward + backward + updates);
(b) `train/train.py --backend jax` on a synthetic dataset (cari_mtl.data.synthetic) for two short
    epochs, then `evaluate/evaluate_cavi.py --backend jax` on its last epoch's model directory, each
    a subprocess; wall times, the training's last metrics.jsonl record and the evaluation's metrics.

Everything goes into OUT_DIR/gpu_check.json (with the device, versions and the output tails of
(b)). --quick shrinks both parts (the toy network of tests/small_network.py, 80 px, small batches,
float32) so that the whole check runs on a CPU in about a minute (tests/test_gpu_check.py).
"""

import argparse
import glob
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
REQUIRED_ELSEWHERE = ("numpy", "cv2", "sklearn", "tqdm", "matplotlib", "h5py")
PEAK_TFLOPS = 790.0  # H200 SXM, dense bfloat16


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="folder to write gpu_check.json (and the run's files) into")
    parser.add_argument("--wheels", default=None, help="folder of the keras, namex and optree wheels, installed "
                                                       "when Keras is missing")
    parser.add_argument("--site_dir", default="/tmp/cari_mtl_site", help="where those wheels are installed "
                                                                          "(default /tmp/cari_mtl_site)")
    parser.add_argument("--quick", action="store_true", help="a CPU-sized run: toy network, 80 px, small batches")
    parser.add_argument("--batch_size", type=int, default=256, help="(a) images per step (default 256)")
    parser.add_argument("--image_size", type=int, default=160, help="(a) input size (default 160)")
    parser.add_argument("--steps", type=int, default=30, help="(a) timed steps (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="(a) untimed steps first (default 3)")
    parser.add_argument("--nrof_classes", type=int, default=205, help="(a) identities (default 205, CaVI's)")
    parser.add_argument("--mixed_precision", default="bfloat16", choices=("bfloat16", "off"),
                        help="(a) and (b) dtype policy (default bfloat16)")
    parser.add_argument("--peak_tflops", type=float, default=PEAK_TFLOPS,
                        help=f"the device's peak for the fraction (default {PEAK_TFLOPS:g}, H200 bfloat16)")
    parser.add_argument("--skip_train", action="store_true", help="run (a) only")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.image_size, args.steps, args.warmup, args.nrof_classes = 8, 80, 3, 1, 10
        args.mixed_precision = "off"
    return args


def importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def make_keras_importable(wheels, site_dir):
    """'present', or 'installed from <wheels>' after installing the wheels into site_dir (on sys.path)."""
    os.environ["KERAS_BACKEND"] = "jax"
    if importable("keras"):
        return "present"
    if not wheels:
        raise SystemExit("error: Keras is not installed here: pass --wheels with the keras, namex and optree wheels")
    files = sorted(glob.glob(os.path.join(wheels, "*.whl")))
    if not files:
        raise SystemExit(f"error: no .whl file in --wheels {wheels}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--target", site_dir, *files],
                   check=True)
    sys.path.insert(0, site_dir)
    return f"installed from {wheels}: {', '.join(os.path.basename(f) for f in files)}"


def python_path(site_dir):
    """PYTHONPATH for the subprocesses of (b): the checkout and the installed wheels first."""
    return os.pathsep.join([str(CHECKOUT), site_dir, os.environ.get("PYTHONPATH", "")])


def model_def(quick):
    return str(CHECKOUT / "tests" / "small_network.py") if quick else None


def step_flops(step, images, labels, is_cari):
    """(FLOPs of one iteration, the platform they were counted for): the CPU lowering, else the default one."""
    for platform_name in ("cpu", None):
        try:
            cost = step.lowered(images, labels, is_cari, platform=platform_name).cost_analysis()
        except Exception:  # a JAX without CPU lowering from this device: count on the default platform
            continue
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        if cost and "flops" in cost:
            return float(cost["flops"]), platform_name or "the default platform"
    return None, None


def measure_train_step(args):
    """(a): img/s of JaxTrainStep after warm-up, and the FLOPs of one step from XLA's cost analysis."""
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    from cari_mtl.model.model_dir import ModelConfig
    from cari_mtl.model.network import DEFAULT_MODEL_DEF
    from cari_mtl.runtime.speed import apply_mixed_precision
    from cari_mtl.training.step.jax import JaxTrainStep
    from cari_mtl.training.weighting import registry

    policy = apply_mixed_precision(args.mixed_precision)
    keras.utils.set_random_seed(0)
    config = ModelConfig(args.image_size, args.nrof_classes, model_def=model_def(args.quick) or str(DEFAULT_MODEL_DEF))
    model = config.build()
    step = JaxTrainStep(model, registry.make_weighting("dynamic"), "RMSProp", center_loss_factor=0.01)
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.normal(size=(args.batch_size, args.image_size, args.image_size, 3)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, args.nrof_classes, args.batch_size), jnp.int32)
    is_cari = jnp.asarray(np.arange(args.batch_size) % 2, jnp.int32)
    started = time.perf_counter()
    flops, counted_on = step_flops(step, images, labels, is_cari)
    count_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.warmup):
        logs = step.dispatch(images, labels, is_cari, 0.01)
    jax.block_until_ready(logs)
    warmup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.steps):
        logs = step.dispatch(images, labels, is_cari, 0.01)
    jax.block_until_ready((logs, step.state))
    seconds = time.perf_counter() - started
    images_per_second = args.steps * args.batch_size / seconds
    result = {"network": "tests/small_network.py" if args.quick else "inception_resnet_v1_cari_vis (product)",
              "image_size": args.image_size, "batch_size": args.batch_size, "nrof_classes": args.nrof_classes,
              "dtype_policy": policy, "weighting": "dynamic", "optimizer": "RMSProp (TF1)",
              "warmup_steps": args.warmup, "warmup_seconds": round(warmup_seconds, 2), "timed_steps": args.steps,
              "timed_seconds": round(seconds, 4), "images_per_second": round(images_per_second, 1),
              "last_L": float(logs["L"]), "finite": bool(np.isfinite(float(logs["L"])))}
    if flops is not None:
        achieved = flops * args.steps / seconds
        result.update(flops_per_step=flops, gflops_per_image=round(flops / args.batch_size / 1e9, 4),
                      flops_method=f"XLA HLO cost analysis of the train step lowered for {counted_on} (before "
                                   f"backend optimisation), jax Lowered.cost_analysis()['flops']",
                      flops_count_seconds=round(count_seconds, 2), achieved_tflops=float(f"{achieved / 1e12:.4g}"),
                      peak_tflops=args.peak_tflops,
                      fraction_of_peak=float(f"{achieved / (args.peak_tflops * 1e12):.4g}"))
    return result


def run_command(command, site_dir, timeout):
    """(returncode, seconds, output tail) of a subprocess under JAX with the checkout on PYTHONPATH."""
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=python_path(site_dir),
               XLA_PYTHON_CLIENT_PREALLOCATE="false")  # (a) in this process holds most of the GPU memory
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *command], cwd=CHECKOUT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    output = (result.stdout + result.stderr)[-3000:]
    return result.returncode, round(time.perf_counter() - started, 1), output


def train_and_evaluate(args, output):
    """(b): train.py on a synthetic dataset for two short epochs, then evaluate_cavi on its model."""
    from cari_mtl.data.synthetic import generate_dataset

    work = output / "synthetic_run"
    if args.quick:
        identities, image_size, batch_size, epoch_size, per_id = 6, 80, 8, 3, (3, 3)
    else:
        identities, image_size, batch_size, epoch_size, per_id = 40, 160, 64, 10, (6, 5)
    dataset = generate_dataset(work / "data", identities, per_id[0], per_id[1], image_size=96 if args.quick else 182,
                               seed=0)
    flags = ["train/train.py", "--backend", "jax", "--data_dir", str(dataset.data_dir),
             "--test_pairs", str(dataset.pairs_file), "--downsample", "4", "--image_size", str(image_size),
             "--batch_size", str(batch_size), "--epoch_size", str(epoch_size), "--max_nrof_epochs", "2",
             "--logs_base_dir", str(work / "logs"), "--models_base_dir", str(work / "models"),
             "--optimizer", "RMSProp", "--learning_rate", "0.01", "--center_loss_factor", "0.01",
             "--lfw_batch_size", str(batch_size), "--lfw_nrof_folds", "2", "--random_crop", "--random_flip",
             "--mixed_precision", args.mixed_precision]
    if model_def(args.quick):
        flags += ["--model_def", model_def(args.quick)]
    code, seconds, tail = run_command(flags, args.site_dir, timeout=1800)
    result = {"train": {"command": " ".join(flags), "returncode": code, "seconds": seconds, "output_tail": tail,
                        "identities": identities, "image_size": image_size, "batch_size": batch_size,
                        "epoch_size": epoch_size, "epochs": 2}}
    runs = sorted((work / "models").glob("*/epoch_0002"))
    logs = sorted((work / "logs").glob("*/metrics.jsonl"))
    if logs:
        result["train"]["last_epoch_metrics"] = json.loads(logs[-1].read_text().splitlines()[-1])
    if code != 0 or not runs:
        return result
    evaluation = ["evaluate/evaluate_cavi.py", "--backend", "jax", "--data_dir", str(dataset.data_dir),
                  "--model_dir", str(runs[-1]), "--test_pairs", str(dataset.pairs_file), "--downsample", "4",
                  "--lfw_nrof_folds", "2", "--lfw_batch_size", str(batch_size),
                  "--logs_base_dir", str(work / "evaluation"), "--mixed_precision", args.mixed_precision]
    code, seconds, tail = run_command(evaluation, args.site_dir, timeout=900)
    result["evaluate_cavi"] = {"command": " ".join(evaluation), "returncode": code, "seconds": seconds,
                               "output_tail": tail}
    metrics = sorted((work / "evaluation").glob("*/metrics.json"))
    if metrics:
        result["evaluate_cavi"]["metrics"] = json.loads(metrics[-1].read_text())
    return result


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(CHECKOUT))
    report = {"quick": args.quick, "keras": make_keras_importable(args.wheels, args.site_dir),
              "missing_modules": [name for name in REQUIRED_ELSEWHERE if not importable(name)],
              "tensorflow_importable": importable("tensorflow"),
              "python": platform.python_version()}
    import jax
    import keras

    report.update(jax=jax.__version__, keras_version=keras.__version__, keras_backend=keras.backend.backend(),
                  devices=[f"{device.platform}:{device.device_kind}" for device in jax.devices()])
    path = output / "gpu_check.json"
    try:
        report["train_step"] = measure_train_step(args)
    except Exception as error:  # the JSON must say what failed, (b) still runs
        report["train_step"] = {"error": f"{type(error).__name__}: {error}"}
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["train_step"], indent=2))
    if not args.skip_train:
        report["train_and_evaluate"] = train_and_evaluate(args, output)
        path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    failed = "error" in report["train_step"] or any(
        part.get("returncode") for part in report.get("train_and_evaluate", {}).values() if isinstance(part, dict))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every --task_weighting method trained with the same seed, data, steps and learning rate, compared.

    python benchmarks/task_weighting.py [--output_dir task_weighting_output] [--steps 300]
        [--data_dir CAVI_DIR --test_pairs PAIRS_FILE]   # default: the demo's synthetic CaVI-layout data
        [--methods dynamic,pcgrad,...] [--quick]

Each method trains through `cari_mtl.train` with the same TrainingConfig but its task weighting;
the table has the last epoch's verification accuracy, photo id, caricature id, V2C, C2V and the
wall-clock seconds of the run relative to `static` (training and the per-epoch evaluations, which
cost the same for every method). Writes <output_dir>/task_weighting.json, task_weighting.md and
task_weights.png (every method's w1, w2, w3 over the steps). The last line is one JSON object.

    python benchmarks/task_weighting.py --step_cost [--image_size 80 --batch_size 16 --rounds 3]

times the compiled train step alone, per method, on one batch in memory (the full network, 8
classes), the methods interleaved round by round; it reports the process CPU seconds per step (the
best round), which other programs on the machine disturb far less than wall-clock time.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import cari_mtl  # noqa: E402
from cari_mtl.data.synthetic import generate_dataset  # noqa: E402
from cari_mtl.model.network import load_model_def  # noqa: E402
from cari_mtl.training.config import (  # noqa: E402
    DataConfig,
    EpochEvaluationConfig,
    LoopConfig,
    NetworkConfig,
    StepConfig,
    TrainingConfig,
    WeightingOptions,
)
from cari_mtl.training.loop.epoch_evaluation import METRIC_KEYS  # noqa: E402
from cari_mtl.training.loop.logs import read_step_table  # noqa: E402
from cari_mtl.training.step.tensorflow import TrainStep  # noqa: E402
from cari_mtl.training.weighting import registry  # noqa: E402

METHODS = {  # label: (task weighting, detach_weights_input)
    "static": ("static", False),
    "dynamic": ("dynamic", False),
    "dynamic_detached": ("dynamic", True),
    "naive": ("naive", False),
    "uncertainty": ("uncertainty", False),
    "dwa": ("dwa", False),
    "gradnorm": ("gradnorm", False),
    "pcgrad": ("pcgrad", False),
    "mgda": ("mgda", False),
    "staged": ("staged", False),
}
COLUMNS = {"verification_accuracy": "verification", "photo_id_accuracy": "photo id",
           "caricature_id_accuracy": "caricature id", "v2c_accuracy": "V2C", "c2v_accuracy": "C2V"}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="task_weighting_output", help="where runs and tables go")
    parser.add_argument("--data_dir", default=None, help="a CaVI-layout dataset (default: synthetic)")
    parser.add_argument("--test_pairs", default=None, help="its pairs file (with --data_dir)")
    parser.add_argument("--downsample", type=int, default=None,
                        help="CaVI test-pair downsampling (default 20 with --data_dir, about 32 test pairs on "
                             "the synthetic data)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated labels of METHODS")
    parser.add_argument("--steps", type=int, default=300, help="training steps per method (default 300)")
    parser.add_argument("--epoch_size", type=int, default=100, help="steps per epoch (default 100)")
    parser.add_argument("--batch_size", type=int, default=16, help="images per batch (default 16)")
    parser.add_argument("--image_size", type=int, default=80, help="input size (default 80)")
    parser.add_argument("--learning_rate", type=float, default=0.01, help="RMSProp learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=1, help="seed of data and training (default 1)")
    parser.add_argument("--quick", action="store_true", help="20 steps of 2 methods, to check the script")
    parser.add_argument("--step_cost", action="store_true", help="time the train step of every method instead")
    parser.add_argument("--rounds", type=int, default=3, help="--step_cost: rounds of 3 steps per method")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.epoch_size, args.methods = 20, 10, "static,mgda"
    if (args.data_dir is None) != (args.test_pairs is None):
        parser.error("--data_dir and --test_pairs go together")
    unknown = set(args.methods.split(",")) - set(METHODS)
    if unknown:
        parser.error(f"unknown --methods {sorted(unknown)}; choose among {', '.join(METHODS)}")
    return args


def dataset_config(args, output):
    """(DataConfig, EpochEvaluationConfig) of --data_dir, else of the synthetic data."""
    data = DataConfig(dataset="cavi", batch_size=args.batch_size)
    if args.data_dir:
        return replace(data, data_dir=args.data_dir, test_pairs=args.test_pairs,
                       downsample=args.downsample or 20), EpochEvaluationConfig()
    synthetic = generate_dataset(output / "data", 8, 20, 20, image_size=96, seed=args.seed)
    lines = sum(1 for line in Path(synthetic.pairs_file).read_text().splitlines() if line.strip())
    return (replace(data, data_dir=str(synthetic.data_dir), test_pairs=str(synthetic.pairs_file),
                    downsample=args.downsample or max(1, lines // 32)),
            EpochEvaluationConfig(batch_size=24, nrof_folds=4))


def run_method(label, common, output):
    """Trains `common` (a TrainingConfig) with the weighting of METHODS[label]."""
    name, detach = METHODS[label]
    step = replace(common.step, task_weighting=name, weighting_options=WeightingOptions(detach_weights_input=detach))
    config = replace(common, step=step, logs_base_dir=str(output / label / "logs"),
                     models_base_dir=str(output / label / "models"))
    started = time.perf_counter()
    _, log_dir, metrics = cari_mtl.train(config, progress=False)
    seconds = time.perf_counter() - started
    return {"metrics": {key: float(metrics[key]) for key in METRIC_KEYS}, "seconds": seconds,
            "weights": read_step_table(log_dir / "percentage_full_loss.txt", 3).tolist(), "log_dir": str(log_dir)}


def markdown(results, steps):
    reference = results.get("static", next(iter(results.values())))["seconds"]
    lines = ["| method | " + " | ".join(COLUMNS.values()) + " | s/step vs static |",
             "|---|" + "---|" * (len(COLUMNS) + 1)]
    for label, result in results.items():
        values = " | ".join(f"{100 * result['metrics'][key]:.1f} %" for key in COLUMNS)
        lines.append(f"| {label} | {values} | {result['seconds'] / reference:.2f} |")
    lines.append(f"\n{steps} steps per method; seconds include the per-epoch evaluations, which cost the same "
                 f"for every method.")
    return "\n".join(lines) + "\n"


def plot_weights(results, path):
    figure, axes = plt.subplots(len(results), 1, figsize=(8, 1.8 * len(results)), sharex=True, squeeze=False)
    for axis, (label, result) in zip(axes[:, 0], results.items()):
        for column, name in enumerate(("w1 verification", "w2 photo", "w3 caricature")):
            axis.plot([row[column] for row in result["weights"]], label=name)
        axis.set_ylabel(label, fontsize=8)
        axis.grid(True)
    axes[0, 0].legend(fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel("step")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def step_costs(args):
    """{label: CPU seconds per compiled step}, best of --rounds rounds of 3 steps, methods interleaved."""
    network = load_model_def()
    rng = np.random.default_rng(0)
    batch = (tf.constant(rng.normal(size=(args.batch_size, args.image_size, args.image_size, 3)), tf.float32),
             tf.constant(rng.integers(0, 8, args.batch_size), tf.int64),
             tf.constant(np.arange(args.batch_size) % 2, tf.int64))
    steps = {}
    for label in args.methods.split(","):
        name, detach = METHODS[label]
        options = {"detach_weights_input": True} if detach else {}
        model = network.build_model(image_size=args.image_size, nrof_classes=8,
                                    lossweights_variant="naive" if name == "naive" else "cavi")
        steps[label] = TrainStep(model, registry.make_weighting(name, **options), "RMSProp",
                                 center_loss_factor=0.01)
        steps[label](*batch, 0.01)  # traces
    best = {label: float("inf") for label in steps}
    for _ in range(args.rounds):
        for label, step in steps.items():
            started = time.process_time()
            for _ in range(3):
                float(step(*batch, 0.01)["L"])
            best[label] = min(best[label], (time.process_time() - started) / 3)
    return best


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    if args.step_cost:
        costs = step_costs(args)
        print("| method | CPU s per step | relative to static |\n|---|---|---|")
        for label, seconds in costs.items():
            print(f"| {label} | {seconds:.3f} | {seconds / costs.get('static', seconds):.2f} |")
        print(json.dumps(costs))
        return 0
    output = Path(args.output_dir)
    epochs = max(1, args.steps // args.epoch_size)
    data, evaluation = dataset_config(args, output)
    common = TrainingConfig(
        data=data, evaluation=evaluation,
        network=NetworkConfig(image_size=args.image_size, keep_probability=0.8, logits_relu=False),
        step=StepConfig(optimizer="RMSProp", center_loss_factor=0.01, center_loss_alfa=0.5),
        loop=LoopConfig(max_nrof_epochs=epochs, epoch_size=args.epoch_size, learning_rate=args.learning_rate),
        seed=args.seed)
    results = {}
    for label in args.methods.split(","):
        print(f"{label}: training {epochs * args.epoch_size} steps", flush=True)
        results[label] = run_method(label, common, output)
    (output / "task_weighting.json").write_text(json.dumps(results, indent=1) + "\n")
    (output / "task_weighting.md").write_text(markdown(results, epochs * args.epoch_size))
    plot_weights(results, output / "task_weights.png")
    print(markdown(results, epochs * args.epoch_size))
    print(json.dumps({label: {**result["metrics"], "seconds": result["seconds"]} for label, result in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

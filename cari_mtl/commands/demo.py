"""Demo: train the dynamic multi-task model on a small synthetic CaVI-layout dataset on the CPU.

    cari demo [--output_dir demo_output] [--epochs 15] [--epoch_size 50]

The dataset comes from `cari_mtl.data.synthetic` (procedural faces; caricatures exaggerate each
identity's features and are drawn as line art or flat colours) with a CaVI pairs file, and goes
through the same reader, split and tf.data pipeline as `train/train.py --dataset cavi`. The run
writes the images, logs and model directories under --output_dir, prints the five accuracies of
Table 2 (verification, photo id, caricature id, V2C, C2V), writes them as fractions to
<output_dir>/metrics.json and plots the three task weights and the losses over the steps
(like the paper's Fig. 5/6) to <output_dir>/task_weights_and_losses.png.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

from cari_mtl.commands.common_flags import add_overwrite_flag
from cari_mtl.data.synthetic import generate_dataset
from cari_mtl.evaluation import plots
from cari_mtl.runtime import atomic_files
from cari_mtl.runtime.overwrite import refuse_existing
from cari_mtl.training.config import (
    DataConfig,
    EpochEvaluationConfig,
    LoopConfig,
    NetworkConfig,
    StepConfig,
    TrainingConfig,
    WeightingOptions,
)
from cari_mtl.training.weighting.registry import names as weighting_names

LABELS = {"verification_accuracy": "verification", "photo_id_accuracy": "photo id",
          "caricature_id_accuracy": "caricature id", "v2c_accuracy": "V2C", "c2v_accuracy": "C2V"}


def downsample_for(pairs_file, nrof_test_pairs):
    """The --downsample that keeps about `nrof_test_pairs` lines of the pairs file as the test split."""
    nrof_lines = sum(1 for line in Path(pairs_file).read_text().splitlines() if line.strip())
    return max(1, nrof_lines // nrof_test_pairs)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="demo_output",
                        help="where everything goes (default demo_output; refused if it exists and is not empty, "
                             "unless --overwrite)")
    parser.add_argument("--identities", type=int, default=8, help="synthetic identities (default 8)")
    parser.add_argument("--photos_per_id", type=int, default=20, help="photos per identity (default 20)")
    parser.add_argument("--caricatures_per_id", type=int, default=20, help="caricatures per identity (default 20)")
    parser.add_argument("--nrof_test_pairs", type=int, default=32,
                        help="about this many pairs of the pairs file form the test split; their images "
                             "are left out of training, as in the CaVI protocol (default 32)")
    parser.add_argument("--image_size", type=int, default=80, help="input size in pixels, >= 75 (default 80)")
    parser.add_argument("--batch_size", type=int, default=16, help="images per batch (default 16)")
    parser.add_argument("--epoch_size", type=int, default=50, help="batches per epoch (default 50)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs (default 15)")
    parser.add_argument("--learning_rate", type=float, default=0.01, help="RMSProp learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the images and of training (default 1)")
    parser.add_argument("--task_weighting", choices=weighting_names(), default="dynamic",
                        help="weighting method, as on train/train.py (default dynamic, the paper's)")
    parser.add_argument("--detach_weights_input", action="store_true",
                        help="dynamic: only L4 moves the weights (see train/train.py --help)")
    add_overwrite_flag(parser)
    args = parser.parse_args(argv)
    if args.identities < 2:
        parser.error("--identities must be at least 2 (verification needs different pairs)")
    if min(args.photos_per_id, args.caricatures_per_id, args.nrof_test_pairs) < 1:
        parser.error("--photos_per_id, --caricatures_per_id and --nrof_test_pairs must be at least 1")
    return args


def demo_config(args, dataset, output):
    """The TrainingConfig of the demo's run on `dataset` (a cari_mtl.data.synthetic tree)."""
    return TrainingConfig(
        data=DataConfig(dataset="cavi", data_dir=str(dataset.data_dir), test_pairs=str(dataset.pairs_file),
                        downsample=downsample_for(dataset.pairs_file, args.nrof_test_pairs),
                        batch_size=args.batch_size),
        network=NetworkConfig(image_size=args.image_size, keep_probability=0.8),
        step=StepConfig(task_weighting=args.task_weighting, optimizer="RMSProp", center_loss_factor=0.1,
                        center_loss_alfa=0.5,
                        weighting_options=WeightingOptions(detach_weights_input=args.detach_weights_input)),
        loop=LoopConfig(max_nrof_epochs=args.epochs, epoch_size=args.epoch_size, learning_rate=args.learning_rate),
        evaluation=EpochEvaluationConfig(batch_size=24, nrof_folds=4),
        logs_base_dir=str(output / "logs"), models_base_dir=str(output / "models"), seed=args.seed)


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    from cari_mtl.training.loop.epoch_evaluation import METRIC_KEYS  # TensorFlow, once the flags parsed
    from cari_mtl.training.loop.logs import read_step_table
    from cari_mtl.training.run import train

    started = time.time()
    output = refuse_existing(args.output_dir, "--output_dir", args.overwrite)
    if args.overwrite:
        shutil.rmtree(output / "data", ignore_errors=True)  # no image of an earlier, larger dataset survives
    dataset = generate_dataset(output / "data", args.identities, args.photos_per_id, args.caricatures_per_id,
                               image_size=96, seed=args.seed)
    print(f"synthetic dataset: {args.identities} identities in {dataset.data_dir}, pairs {dataset.pairs_file}")
    model_dir, log_dir, metrics = train(demo_config(args, dataset, output))
    result = {key: float(metrics[key]) for key in METRIC_KEYS}
    atomic_files.write_json(output / "metrics.json", result)
    plot = output / "task_weights_and_losses.png"
    plots.plot_training_curves(read_step_table(log_dir / "percentage_full_loss.txt", 3),
                               read_step_table(log_dir / "loss.txt", 7), plot)
    print("\n| task | accuracy |\n|---|---|")
    for key in METRIC_KEYS:
        print(f"| {LABELS[key]} | {100 * result[key]:.1f} % |")
    print(tryout(model_dir / "best_model_verifexpr", dataset.data_dir))
    print(f"\nmetrics: {output / 'metrics.json'}\nplot: {plot}\nmodel: {model_dir}\nlogs: {log_dir}\n"
          f"time: {time.time() - started:.0f} s")
    return 0


def tryout(model_dir, data_dir):
    """The README's two queries on the trained model, each with whether its answer is right: a photo and a
    caricature of the first identity (verify), a caricature of the fourth against every photo (identify).
    A model of a few minutes on synthetic faces misses some: the table above says how often."""
    from cari_mtl.api import load_model

    model = load_model(model_dir)
    names = sorted(path.name for path in (data_dir / "Real").iterdir())
    first, fourth = names[0], names[min(3, len(names) - 1)]
    photo = data_dir / "Real" / first / f"{first}_r_1.jpg"
    caricature = data_dir / "Caricature" / first / f"{first}_c_1.jpg"
    same = bool(model.verify([str(photo)], [str(caricature)]).same[0])
    probe = data_dir / "Caricature" / fourth / f"{fourth}_c_2.jpg"
    found = list(model.identify([str(probe)], str(data_dir / "Real"), k=3, unique_identities=True).labels[0])
    if found[0] == fourth:
        placed = "right"
    else:
        placed = f"wrong: it is {fourth}, " + (f"ranked {found.index(fourth) + 1}" if fourth in found else
                                                "not in the top 3")
    return (f"\ntry it (the README's two queries on this model):\n"
            f"  cari verify {photo} {caricature}: same: {'yes' if same else 'no'} "
            f"({'right' if same else 'wrong'}: both are {first})\n"
            f"  cari identify {probe}: {', '.join(found)} ({placed})")

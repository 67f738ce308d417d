"""Demo: train the dynamic multi-task model on a small synthetic photo/caricature set on the CPU.

    python -m cari_mtl.demo [--output_dir demo_output] [--epochs 6] [--epoch_size 40]

Each identity has a colour and a mark; its "photos" draw them as a soft disc, its
"caricatures" as an exaggerated polygon, both with random position, size and noise. The run
writes images, logs and model directories under --output_dir, prints the five accuracies of
Table 2 (verification, photo id, caricature id, V2C, C2V), writes them as fractions to
<output_dir>/metrics.json and plots the three task weights and the losses over the steps
(like the paper's Fig. 5/6) to <output_dir>/task_weights_and_losses.png.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from cari_mtl import plots
from cari_mtl.epoch_evaluation import METRIC_KEYS
from cari_mtl.plot_training import read_step_table

IDENTITY_COLOURS = [(230, 60, 50), (60, 200, 70), (50, 80, 230), (230, 210, 50), (200, 60, 210), (60, 210, 220)]
LABELS = {"verification_accuracy": "verification", "photo_id_accuracy": "photo id",
          "caricature_id_accuracy": "caricature id", "v2c_accuracy": "V2C", "c2v_accuracy": "C2V"}


def draw(identity, kind, rng, size=96):
    """One RGB uint8 image of `identity` as a photo (disc) or a caricature (polygon)."""
    image = rng.normal(110, 25, size=(size, size, 3)).clip(0, 255).astype(np.uint8)
    colour = tuple(int(c) for c in IDENTITY_COLOURS[identity])
    centre = (int(size / 2 + rng.integers(-8, 9)), int(size / 2 + rng.integers(-8, 9)))
    radius = int(rng.integers(22, 32))
    if kind == "photo":
        cv2.circle(image, centre, radius, colour, -1)
        cv2.circle(image, centre, radius // 3, (255 - colour[0], 255 - colour[1], 255 - colour[2]), -1)
    else:
        corners = 3 + identity % 4
        angles = np.linspace(0, 2 * np.pi, corners, endpoint=False) + rng.uniform(0, 0.5)
        points = np.stack([centre[0] + 1.3 * radius * np.cos(angles), centre[1] + radius * np.sin(angles)], 1)
        cv2.fillPoly(image, [points.astype(np.int32)], colour)
    return cv2.GaussianBlur(image, (3, 3), 0)


def write_dataset(root, nrof_identities, per_kind, seed):
    """Writes PNGs under root/{Real,Caricature}/id<k>/; returns [(path, label, is_cari)]."""
    rng = np.random.default_rng(seed)
    items = []
    for identity in range(nrof_identities):
        for is_cari, kind, folder in ((0, "photo", "Real"), (1, "cari", "Caricature")):
            for index in range(per_kind):
                path = Path(root) / folder / f"id{identity}" / f"id{identity}_{kind}_{index}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), draw(identity, kind, rng)[:, :, ::-1])
                items.append((str(path), identity, is_cari))
    return items


def demo_data(items, per_kind_test, image_size, batch_size, epoch_size, seed):
    """(TrainingData, nrof_classes): the last `per_kind_test` images of each kind and identity are the test set."""
    from cari_mtl.array_batches import array_batches
    from cari_mtl.data.eval_loader import load_eval_batch
    from cari_mtl.epoch_evaluation import EvaluationSplit
    from cari_mtl.trainer import TrainingData

    test = [item for item in items if int(Path(item[0]).stem.rsplit("_", 1)[1]) >= _per_kind(items) - per_kind_test]
    train = [item for item in items if item not in test]
    images = load_eval_batch([p for p, _, _ in train], image_size)
    batches = array_batches(images, [l for _, l, _ in train], [c for _, _, c in train], batch_size, epoch_size, seed)
    caricatures = [item for item in test if item[2] == 1]
    photos = [item for item in test if item[2] == 0]
    pair_paths, issame = [], []
    for cari_path, cari_label, _ in caricatures:
        for photo_path, photo_label, _ in photos:
            pair_paths += [cari_path, photo_path]
            issame.append(cari_label == photo_label)
    split = EvaluationSplit(pair_paths, issame, [p for p, _, _ in test], [l for _, l, _ in test],
                            [c for _, _, c in test])
    return TrainingData(batches, split), len({label for _, label, _ in items})


def _per_kind(items):
    return 1 + max(int(Path(path).stem.rsplit("_", 1)[1]) for path, _, _ in items)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="demo_output", help="where everything goes (default demo_output)")
    parser.add_argument("--identities", type=int, default=6, help="synthetic identities, at most 6 (default 6)")
    parser.add_argument("--images_per_kind", type=int, default=10,
                        help="photos and caricatures per identity; 2 of each are the test set (default 10)")
    parser.add_argument("--image_size", type=int, default=80, help="input size in pixels, >= 75 (default 80)")
    parser.add_argument("--batch_size", type=int, default=16, help="images per batch (default 16)")
    parser.add_argument("--epoch_size", type=int, default=40, help="batches per epoch (default 40)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs (default 6)")
    parser.add_argument("--learning_rate", type=float, default=0.01, help="RMSProp learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the images and of training (default 1)")
    args = parser.parse_args(argv)
    if not 2 <= args.identities <= len(IDENTITY_COLOURS):
        parser.error(f"--identities must be between 2 and {len(IDENTITY_COLOURS)}")
    if args.images_per_kind < 3:
        parser.error("--images_per_kind must be at least 3 (2 test images per kind)")
    return args


def main(argv=None):
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    import cari_mtl.train as train_module

    started = time.time()
    output = Path(args.output_dir)
    items = write_dataset(output / "data", args.identities, args.images_per_kind, args.seed)
    print(f"synthetic dataset: {args.identities} identities, {len(items)} images in {output / 'data'}")
    train_module.load_training_data = lambda flags: demo_data(items, 2, args.image_size, args.batch_size,
                                                               args.epoch_size, args.seed)
    flags = ["--logs_base_dir", str(output / "logs"), "--models_base_dir", str(output / "models"),
             "--image_size", str(args.image_size), "--batch_size", str(args.batch_size),
             "--epoch_size", str(args.epoch_size), "--max_nrof_epochs", str(args.epochs),
             "--learning_rate", str(args.learning_rate), "--optimizer", "RMSProp", "--keep_probability", "0.8",
             "--center_loss_factor", "0.1", "--center_loss_alfa", "0.5", "--lfw_batch_size", "24",
             "--lfw_nrof_folds", "4", "--seed", str(args.seed), "--task_weighting", "dynamic"]
    model_dir, log_dir, metrics = train_module.train(flags)
    result = {key: float(metrics[key]) for key in METRIC_KEYS}
    (output / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    plot = output / "task_weights_and_losses.png"
    plots.plot_training_curves(read_step_table(log_dir / "percentage_full_loss.txt", 3),
                               read_step_table(log_dir / "loss.txt", 7), plot)
    print("\n| task | accuracy |\n|---|---|")
    for key in METRIC_KEYS:
        print(f"| {LABELS[key]} | {100 * result[key]:.1f} % |")
    print(f"\nmetrics: {output / 'metrics.json'}\nplot: {plot}\nmodel: {model_dir}\nlogs: {log_dir}\n"
          f"time: {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

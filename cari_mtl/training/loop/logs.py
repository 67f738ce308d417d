"""What a training run writes to its log directory, in the original's formats (PORTING T4, T14, T18).

    revision_info.txt          command line, git revision and `git status --short` of the checkout
    percentage_full_loss.txt   header, then per step "w1 w2 w3"            (appended on resume)
    loss.txt                   header, then per step "L1 L2 L3 CE1 CE2 CE3 center1"
    <task>.txt                 per epoch "step  accuracy  best", task in visual, cari, visual2cari,
                               cari2visual (original file names); cari-verif-pairs_result.txt has the
                               original's six columns "step accuracy VAL FAR best mix-accuracy"; "best"
                               is the best before this epoch (0 at the first), as the original writes it
    metrics.jsonl              one JSON object per epoch with every evaluation figure
    features_*.npy             features of the best epoch of each task (cari_mtl.training.loop.feature_files)
    events.out.tfevents.*      TensorBoard scalars: losses, weights, accuracies, learning rate
"""

import functools
import json
import subprocess
from pathlib import Path

import numpy as np

from cari_mtl.runtime import atomic_files

WEIGHTS_FILE = "percentage_full_loss.txt"
LOSS_FILE = "loss.txt"
WEIGHTS_HEADER = "loss_verif_weight, loss_expr_weight, loss_cari_weight\n"
LOSS_HEADER = ("loss_verif, loss_expr, loss_cari, cross_entropy_mean_verif, cross_entropy_mean_expr, "
               "cross_entropy_mean_cari, prelogits_center_loss_verif\n")
LOSS_KEYS = ("L1", "L2", "L3", "CE1", "CE2", "CE3", "center1")
WEIGHT_KEYS = ("w1", "w2", "w3")
TASK_FILES = {"verification_accuracy": "cari-verif-pairs_result.txt", "photo_id_accuracy": "visual.txt",
              "caricature_id_accuracy": "cari.txt", "v2c_accuracy": "visual2cari.txt",
              "c2v_accuracy": "cari2visual.txt"}
HISTOGRAM_BINS = 30
STEP_SCALARS = ("L1", "L2", "L3", "L", "L4", "w1", "w2", "w3", "CE1", "CE2", "CE3", "center1",
                "acc_verif", "acc_photo", "acc_cari", "learning_rate", "grad_norm_theta", "grad_norm_psi")


@functools.cache
def _plugin_metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    return metadata.SerializeToString()


def write_scalar(tag, value, step):
    """A TensorBoard scalar through the core summary op (no tensorboard package needed)."""
    import tensorflow as tf

    tf.summary.write(tag, tf.constant(float(value), tf.float32), step=step, metadata=_plugin_metadata("scalars"))


def write_histogram(tag, values, step):
    """A TensorBoard histogram: [bins, 3] rows of (left edge, right edge, count)."""
    counts, edges = np.histogram(np.asarray(values, np.float64).ravel(), bins=HISTOGRAM_BINS)
    buckets = np.stack([edges[:-1], edges[1:], counts], axis=1)
    import tensorflow as tf

    tf.summary.write(tag, tf.constant(buckets, tf.float64), step=step, metadata=_plugin_metadata("histograms"))


def git_revision(source_dir):
    """(revision, status) of the checkout holding `source_dir`, or explanations when git fails."""
    def run(*command):
        try:
            result = subprocess.run(["git", *command], cwd=source_dir, capture_output=True, text=True, timeout=10)
            return result.stdout.strip() if result.returncode == 0 else f"(git failed: {result.stderr.strip()})"
        except (OSError, subprocess.SubprocessError) as error:
            return f"(git not available: {error})"
    return run("rev-parse", "HEAD"), run("status", "--short")


class TrainingLogs:
    """Appends step and epoch records to the log directory; safe to reopen when resuming.

    `tensorboard=False` (the JAX backend) writes the text files only: TensorBoard events need TensorFlow."""

    def __init__(self, log_dir, tensorboard=True):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._weights = self._open(WEIGHTS_FILE, WEIGHTS_HEADER)
        self._losses = self._open(LOSS_FILE, LOSS_HEADER)
        self.summary = None
        if tensorboard:
            import tensorflow as tf

            self.summary = tf.summary.create_file_writer(str(self.log_dir))

    def _open(self, name, header):
        """The file opened for appending; its header written once, when the run starts it (a resumed run's
        logs read as an uninterrupted run's)."""
        path = self.log_dir / name
        started = path.is_file() and path.stat().st_size > 0
        handle = open(path, "at")
        if not started:
            handle.write(header)
        return handle

    def write_revision(self, command_line, source_dir):
        revision, status = git_revision(source_dir)
        text = f"arguments: {command_line}\n--------------------\ngit hash: {revision}\n--------------------\n" \
               f"git status:\n{status}\n"
        (self.log_dir / "revision_info.txt").write_text(text)

    def step(self, step, values):
        """One iteration's scalars (floats) at global step `step`."""
        self._weights.write(" ".join(f"{values[k]:2.4f}" for k in WEIGHT_KEYS) + "\n")
        self._losses.write(" ".join(f"{values[k]:2.4f}" for k in LOSS_KEYS) + "\n")
        if self.summary is None:
            return
        with self.summary.as_default():
            for key in STEP_SCALARS:
                if key in values:
                    write_scalar(f"train/{key}", values[key], step)

    def epoch(self, step, epoch, metrics, best):
        """Evaluation figures of one epoch; `best`: each task's best before this epoch (the original's column)."""
        for key, name in TASK_FILES.items():
            with open(self.log_dir / name, "at") as handle:
                if key == "verification_accuracy":
                    handle.write(f"{step}\t{metrics[key]:.5f}\t{metrics['verification_val']:.5f}\t"
                                 f"{metrics['verification_far']:.5f}\t{best[key]:.5f}\t"
                                 f"{metrics['verification_mix_accuracy']:f}\n")
                else:
                    handle.write(f"{step}\t{metrics[key]:.5f}\t{best[key]:.5f}\n")
        with open(self.log_dir / "metrics.jsonl", "at") as handle:
            handle.write(json.dumps({"epoch": epoch, "step": step, **metrics}) + "\n")
        if self.summary is not None:
            with self.summary.as_default():
                for key, value in metrics.items():
                    write_scalar(f"test/{key}", value, step)
        self.flush()

    def histograms(self, step, variables):
        if self.summary is None:
            return
        with self.summary.as_default():
            for variable in variables:
                write_histogram(variable.path, variable.numpy(), step)

    def save_features(self, name, **arrays):
        for suffix, array in arrays.items():
            atomic_files.save_npy(self.log_dir / f"features_{name}{suffix}.npy", array)

    def flush(self):
        self._weights.flush()
        self._losses.flush()
        if self.summary is not None:
            self.summary.flush()

    def close(self):
        self.flush()
        self._weights.close()
        self._losses.close()
        if self.summary is not None:
            self.summary.close()


def read_step_table(path, columns):
    """[steps, columns] float64 from the numeric lines of a training log; other lines are headers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --logs_dir must be a training log directory")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.replace(",", " ").split()
        try:
            values = [float(field) for field in fields]
        except ValueError:
            continue
        if not values:
            continue
        if len(values) != columns:
            raise ValueError(f"{path}:{number} has {len(values)} numbers, expected {columns}: {line!r}")
        rows.append(values)
    if not rows:
        raise ValueError(f"{path} has no step lines yet: train for at least one step first")
    return np.array(rows)

"""Cuts a run's logs back to a checkpoint before it resumes, so replayed steps are not logged twice.

Steps logged after the checkpoint (up to the interrupt or crash) are trained again on resume.
loss.txt / percentage_full_loss.txt keep their first `iterations` data rows (with the header lines
among them); the per-task files and metrics.jsonl keep one row per finished epoch; the TensorBoard
events files are rewritten without the records of the replayed steps.
"""

import os
from pathlib import Path

from cari_mtl.training.loop.logs import LOSS_FILE, LOSS_HEADER, TASK_FILES, WEIGHTS_FILE, WEIGHTS_HEADER

METRICS_FILE = "metrics.jsonl"
EVENTS_GLOB = "events.out.tfevents.*"
STEP_TAG_PREFIX = "train/"


def cut_logs(log_dir, point, epoch_size):
    """Cuts every log of `log_dir` back to the ResumePoint `point`."""
    log_dir = Path(log_dir)
    iterations = point.iterations(epoch_size)
    for name, header in ((LOSS_FILE, LOSS_HEADER), (WEIGHTS_FILE, WEIGHTS_HEADER)):
        _rewrite_lines(log_dir / name, _first_data_rows(header, iterations))
    for name in (*TASK_FILES.values(), METRICS_FILE):
        _rewrite_lines(log_dir / name, _first_data_rows(None, point.epoch_done))
    for path in sorted(log_dir.glob(EVENTS_GLOB)):
        cut_events(path, point.global_step, epoch_finished=point.batch_done == 0)


def _first_data_rows(header, count):
    """A line filter keeping the lines up to the `count`-th line that is not `header`."""
    def keep(lines):
        kept, rows = [], 0
        for line in lines:
            if rows >= count:
                break
            kept.append(line)
            rows += line != header
        return kept
    return keep


def _rewrite_lines(path, keep):
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    if not lines or not lines[-1].endswith("\n"):  # a row cut by a kill
        lines = lines[:-1]
    text = "".join(keep(lines))
    if text != path.read_text():
        _atomic_write(path, text.encode())


def cut_events(path, step, epoch_finished):
    """Rewrites a TensorBoard events file without the records after `step`: per-step scalars
    (train/*) up to `step`; per-epoch records (test/*, histograms) at `step` only when that epoch
    had finished at the checkpoint. A record cut by a kill ends the file."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    kept, changed = [], False
    try:
        for record in tf.data.TFRecordDataset(str(path)):
            data = record.numpy()
            event = event_pb2.Event.FromString(data)
            if event.HasField("summary") and not _kept(event, step, epoch_finished):
                changed = True
                continue
            kept.append(data)
    except tf.errors.DataLossError:
        changed = True
    if changed:
        temporary = path.with_name(path.name + ".cut")
        with tf.io.TFRecordWriter(str(temporary)) as writer:
            for data in kept:
                writer.write(data)
        os.replace(temporary, path)


def _kept(event, step, epoch_finished):
    per_step = all(value.tag.startswith(STEP_TAG_PREFIX) for value in event.summary.value)
    if per_step or event.step != step:
        return event.step <= step
    return epoch_finished


def _atomic_write(path, data):
    temporary = path.with_name(path.name + ".cut")
    temporary.write_bytes(data)
    os.replace(temporary, path)

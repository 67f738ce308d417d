"""Reading what runs write: step logs, TensorBoard event steps, one error line."""


import numpy as np
import tensorflow as tf


def rows(path, header=None):
    return [line for line in path.read_text().splitlines() if line != header]


def numbers(lines):
    return np.array([[float(value) for value in line.split()] for line in lines])


def event_steps(log_dir, tag):
    steps = []
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


def one_error_line(lines, *fragments):
    """The command's stderr ends with one `error:` line holding `fragments` (progress bars may precede it)."""
    errors = [line for line in lines if "error:" in line]
    assert errors == lines[-1:] and lines[-1].startswith("error: ") and "Traceback" not in "".join(lines), lines
    for fragment in fragments:
        assert fragment in lines[-1], lines

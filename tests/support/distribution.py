"""Running a distributed step beside a single-device one in a subprocess with two logical CPUs, and
comparing."""

import json
import os
import subprocess
import sys

import numpy as np

IMAGE_SIZE = 80
NROF_CLASSES = 3
LABELS = [0, 1, 2, 0, 1, 0, 2, 2]
IS_CARI = [0, 0, 0, 1, 0, 1, 1, 1]


def run_comparison(script, out, timeout):
    """Runs a comparison script in its own process (fresh logical devices); returns the JSON it writes."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, script, str(out)], env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def max_abs_difference(first, second):
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0
               for a, b in zip(first, second))

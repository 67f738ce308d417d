"""How the JAX tests run code under the JAX backend: a subprocess with KERAS_BACKEND=jax in which
importing TensorFlow raises (tests/no_tensorflow/sitecustomize.py), so a JAX path that needs
TensorFlow fails instead of passing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

requires_jax = pytest.mark.skipif(__import__("importlib").util.find_spec("jax") is None,
                                  reason="jax is not installed (pip install '.[jax]')")


def jax_environment(**extra):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "no_tensorflow"), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_jax(args, timeout=300, **extra_env):
    """Runs `python args...` under JAX without TensorFlow; returns the CompletedProcess (checked)."""
    result = subprocess.run([sys.executable, *map(str, args)], env=jax_environment(**extra_env), cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result

"""Which Keras backend runs the network: TensorFlow (the default and the reference) or JAX.

Keras reads KERAS_BACKEND once, when it is first imported, so the choice is made before that:
the command layer calls `select_from_argv` when it is imported (an entry point imports it before
anything that imports Keras). `--backend` wins over KERAS_BACKEND; without either, TensorFlow.
Under JAX the evaluation and training paths import no TensorFlow (docs/ARCHITECTURE.md, "Backends").
"""

import os
import sys

BACKENDS = ("tensorflow", "jax")
DEFAULT_BACKEND = "tensorflow"


def requested_backend(argv):
    """The value of `--backend X` / `--backend=X` in argv, or None."""
    for index, arg in enumerate(argv):
        if arg == "--backend" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--backend="):
            return arg.split("=", 1)[1]
    return None


def select_backend(name=None):
    """Sets KERAS_BACKEND to `name` (None: KERAS_BACKEND or the default) before Keras is imported.

    Raises ValueError for an unknown name, or when Keras was already imported with another backend.
    Returns the backend in use.
    """
    chosen = name or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}, got {chosen!r}")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != chosen:
            raise ValueError(f"--backend {chosen}: Keras was already imported with the {current} backend; "
                             f"set KERAS_BACKEND={chosen} before starting Python")
        return current
    os.environ["KERAS_BACKEND"] = chosen
    return chosen


def select_from_argv(argv=None):
    """`select_backend` with the `--backend` of the command line (sys.argv by default); a bad value
    is left for the command's own flag parsing to report."""
    name = requested_backend(sys.argv[1:] if argv is None else argv)
    try:
        return select_backend(name)
    except ValueError:
        return None


def backend_name():
    """The backend Keras runs on (importing Keras if needed)."""
    import keras

    return keras.backend.backend()


def is_jax():
    return backend_name() == "jax"


BACKEND_HELP = ("Keras backend: tensorflow (default, every feature) or jax (training and evaluation without "
            "TensorFlow; see README 'Backends'). KERAS_BACKEND is honoured when the flag is absent.")


def tensorflow_only(feature):
    """Raises the one-line error of a TensorFlow-only feature asked for under JAX."""
    if is_jax():
        raise ValueError(f"{feature} needs the TensorFlow backend: run it with --backend tensorflow")

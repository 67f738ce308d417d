"""Which Keras backend runs the network: TensorFlow (the default and the reference) or JAX.

Keras reads KERAS_BACKEND once, when it is first imported, so the choice is made before that:
the command layer calls `select_from_argv` when it is imported (an entry point imports it before
anything that imports Keras). `--backend` wins over KERAS_BACKEND; without either, TensorFlow.
Under JAX the evaluation and training paths import no TensorFlow (docs/ARCHITECTURE.md, "Backends").
"""

import importlib.util
import os
import sys
from importlib import metadata

BACKENDS = ("tensorflow", "jax")
DEFAULT_BACKEND = "tensorflow"
YNN_FUSION_FLAG = "xla_cpu_experimental_ynn_fusion_type"
EIGEN_CPU_CONVOLUTIONS = f"--{YNN_FUSION_FLAG}=-individual_convolution"
YNN_CONVOLUTION_JAXLIBS = ("0.9.", "0.10.")
STARTED_WITH = os.environ.get("KERAS_BACKEND")  # before select_backend sets it


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

    Raises ValueError in one line for a backend cari-mtl does not run on (named by the flag or by
    KERAS_BACKEND), for JAX when it is not installed, or when Keras was already imported with another
    backend. Returns the backend in use.
    """
    chosen = name or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if chosen not in BACKENDS:
        if name is None:
            raise ValueError(f"KERAS_BACKEND={chosen} is not a backend cari-mtl runs on: set it to "
                             f"{' or '.join(BACKENDS)}, or unset it (the default is {DEFAULT_BACKEND})")
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}, got {chosen!r}")
    if "keras" in sys.modules:
        current = sys.modules["keras"].backend.backend()
        if current != chosen:
            raise ValueError(f"--backend {chosen}: Keras was already imported with the {current} backend; "
                             f"set KERAS_BACKEND={chosen} before starting Python")
        return current
    if chosen == "jax" and importlib.util.find_spec("jax") is None:
        raise ValueError('--backend jax needs JAX, which is not installed: pip install "cari-mtl[jax]"')
    os.environ["KERAS_BACKEND"] = chosen
    if chosen == "jax":
        prefer_eigen_cpu_convolutions()
    return chosen


def prefer_eigen_cpu_convolutions():
    """Routes XLA:CPU's convolutions away from YNNPACK, before JAX compiles anything.

    From jaxlib 0.9 on, XLA's CPU compiler hands every convolution to YNNPACK, whose filter gradients of
    the network's 3x3 stem convolutions run at about 4 GFLOP/s: the network's gradient took 1.7 s there
    against 0.82 s with XLA's Eigen convolutions (docs/BENCHMARKS.md, PORTING P4). XLA reads XLA_FLAGS
    once, when JAX first starts its CPU client, and aborts on a flag it does not know, so the flag is
    added only for the jaxlib releases measured (0.9, 0.10), never over a setting of the user's own.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if YNN_FUSION_FLAG in flags or not installed_jaxlib().startswith(YNN_CONVOLUTION_JAXLIBS):
        return
    os.environ["XLA_FLAGS"] = f"{flags} {EIGEN_CPU_CONVOLUTIONS}".strip()


def installed_jaxlib():
    """jaxlib's version string, or "" when it is not installed (read without importing it)."""
    try:
        return metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        return ""


def select_from_argv(argv=None):
    """`select_backend` with the `--backend` of the command line (sys.argv by default); an unknown flag
    value is left for the command's own flag parsing to report, any other refusal for `startup_error`."""
    global _startup_error, _requested
    name = requested_backend(sys.argv[1:] if argv is None else argv)
    _requested = name
    try:
        return select_backend(name)
    except ValueError as error:
        if name is None or name in BACKENDS:
            _startup_error = str(error)
        return None


_startup_error = None
_requested = None


def chosen_at_start():
    """The backend the user named: the command line's --backend, else the KERAS_BACKEND the process
    started with; None when neither was given."""
    return _requested or STARTED_WITH


def startup_error():
    """The refusal `select_from_argv` met (no JAX, an unsupported KERAS_BACKEND), or None."""
    return _startup_error


def backend_name():
    """The backend Keras runs on (importing Keras if needed)."""
    import keras

    return keras.backend.backend()


def resume_flags(model_dir):
    """`--resume <model_dir>`, with `--backend <name>` when the run's backend is not the default (the
    command that continues a run must run it on the backend its checkpoints belong to)."""
    name = backend_name() if "keras" in sys.modules else os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)
    return f"--resume {model_dir}" + ("" if name == DEFAULT_BACKEND else f" --backend {name}")


def is_jax():
    return backend_name() == "jax"


BACKEND_HELP = ("Keras backend: tensorflow (default, every feature) or jax (training and evaluation without "
            "TensorFlow; see README 'Backends'). KERAS_BACKEND is honoured when the flag is absent.")


def tensorflow_only(feature):
    """Raises the one-line error of a TensorFlow-only feature asked for under JAX."""
    if is_jax():
        raise ValueError(f"{feature} needs the TensorFlow backend: run it with --backend tensorflow")

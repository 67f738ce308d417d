"""cari-mtl: cross-modal photo-caricature face recognition with dynamic multi-task learning (TF2/Keras 3 port).

`cari_mtl.load_model(path)` gives a FaceModel (cari_mtl.api); `cari_mtl.train(TrainingConfig(...))`
trains a run from Python on the config's backend (cari_mtl.training.run). Each name is imported on first use, so that
importing a command or the package does not load TensorFlow. Under KERAS_BACKEND=jax, importing the
package before JAX starts also gives JAX the faster CPU convolutions (runtime.backend).
"""

import os

from cari_mtl.runtime.backend import prefer_eigen_cpu_convolutions

__version__ = "0.1.0"
LAZY_NAMES = {"load_model": "cari_mtl.api", "FaceModel": "cari_mtl.api", "train": "cari_mtl.training.run",
              **{name: "cari_mtl.training.config" for name in (
                  "TrainingConfig", "DataConfig", "NetworkConfig", "StepConfig", "WeightingOptions", "LoopConfig",
                  "EpochEvaluationConfig")},
              "SpeedOptions": "cari_mtl.runtime.speed"}
if os.environ.get("KERAS_BACKEND") == "jax":
    prefer_eigen_cpu_convolutions()


def _refuse_moved_module():
    """`python -m cari_mtl.<old name>` (the modules that were at the top of the package): one line naming
    the command's new form. Python imports this package before it looks for the module, so the line comes
    from here."""
    import sys

    argv = getattr(sys, "orig_argv", [])
    started = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    if not started.startswith("cari_mtl."):
        return
    from cari_mtl.commands.console import moved_module_line

    line = moved_module_line(argv)
    if line:
        print(line, file=sys.stderr)
        raise SystemExit(2)


_refuse_moved_module()


def __getattr__(name):
    if name in LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'cari_mtl' has no attribute {name!r}")

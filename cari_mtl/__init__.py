"""cari-mtl: cross-modal photo-caricature face recognition with dynamic multi-task learning (TF2/Keras 3 port).

`cari_mtl.load_model(path)` gives a FaceModel (cari_mtl.api); it is imported on first use, so that
importing a command or the package does not load TensorFlow.
"""

__version__ = "0.1.0"
LAZY_NAMES = {"load_model": "cari_mtl.api", "FaceModel": "cari_mtl.api"}


def __getattr__(name):
    if name in LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'cari_mtl' has no attribute {name!r}")

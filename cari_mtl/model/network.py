"""Loads the network definition by file path, as the original's `--model_def` does."""

import importlib.util
import inspect
import sys
from pathlib import Path

DEFAULT_MODEL_DEF = Path(__file__).resolve().parent / "inception_resnet_v1_cari_vis.py"


def network_source(module):
    """The file that defines `module.build_model`: a model directory copies it, not a file re-exporting it."""
    return Path(inspect.getsourcefile(module.build_model))


def load_model_def(path=None):
    """Imports a network module from a .py file; it must define `build_model(...)`."""
    path = Path(path or DEFAULT_MODEL_DEF)
    if not path.is_file():
        raise FileNotFoundError(
            f"network definition {path} not found; pass --model_def pointing to a network file, or leave "
            f"it out for the one shipped in the package ({DEFAULT_MODEL_DEF})"
        )
    module_name = f"cari_mtl_model_def_{path.stem}_{abs(hash(str(path.resolve())))}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "build_model"):
        raise AttributeError(f"{path} defines no build_model(...) function")
    sys.modules[module_name] = module
    return module

"""Entry points of the console scripts (setup.py `console_scripts`).

Each imports its command's module only when run (a `--help` loads one command, not all of them),
calls the same `main` as the `train/`, `evaluate/` and `align/` scripts and `python -m cari_mtl.<module>`
through `run_cli`, and returns the exit status. setup.py reads COMMANDS from this file without importing
TensorFlow, so nothing heavy is imported at the top.
"""

import importlib
import sys

COMMANDS = {
    "cari-train": "cari_mtl.train",
    "cari-evaluate-cavi": "cari_mtl.evaluate_cavi",
    "cari-evaluate-webcavi": "cari_mtl.evaluate_webcavi",
    "cari-evaluate-webcavi-identify": "cari_mtl.evaluate_webcavi_identify",
    "cari-convert": "cari_mtl.convert_checkpoint",
    "cari-extract": "cari_mtl.extract_features",
    "cari-align": "cari_mtl.align_dataset_mtcnn",
    "cari-crop-webcari": "cari_mtl.crop_webcaricature",
    "cari-export": "cari_mtl.export",
    "cari-plot-roc": "cari_mtl.plot_roc",
    "cari-plot-training": "cari_mtl.plot_training",
    "cari-plot-tsne": "cari_mtl.plot_tsne",
    "cari-demo": "cari_mtl.demo",
    "cari-data-summary": "cari_mtl.data.summary",
    "cari-synthetic-data": "cari_mtl.data.synthetic",
}


def run_command(name, argv=None):
    """Exit status of the command `name` (a key of COMMANDS) on `argv` (default: sys.argv[1:])."""
    from cari_mtl.cli import run_cli

    main = importlib.import_module(COMMANDS[name]).main
    return run_cli(main, sys.argv[1:] if argv is None else argv)


def _entry_point(name):
    def entry_point():
        return run_command(name)

    entry_point.__name__ = entry_point.__qualname__ = _function_name(name)
    entry_point.__doc__ = f"`{name}`: {COMMANDS[name]}.main"
    return entry_point


def _function_name(name):
    return name.replace("-", "_")


for _name in COMMANDS:
    globals()[_function_name(_name)] = _entry_point(_name)


def console_scripts():
    """The `console_scripts` entries of setup.py: `cari-x = cari_mtl.commands:cari_x`."""
    return [f"{name} = cari_mtl.commands:{_function_name(name)}" for name in COMMANDS]

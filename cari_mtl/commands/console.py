"""Entry points of the console scripts (`[project.scripts]` of pyproject.toml).

Each imports its command's module only when run (a `--help` loads one command, not all of them),
calls the same `main` as the `train/`, `evaluate/` and `align/` scripts and `python -m cari_mtl.<module>`
through `run_cli`, and returns the exit status. Nothing heavy is imported at the top.
"""

import importlib
import sys

COMMANDS = {
    "cari-train": "cari_mtl.commands.train",
    "cari-evaluate-cavi": "cari_mtl.commands.evaluate_cavi",
    "cari-evaluate-webcavi": "cari_mtl.commands.evaluate_webcavi",
    "cari-evaluate-webcavi-identify": "cari_mtl.commands.evaluate_webcavi_identify",
    "cari-convert": "cari_mtl.commands.convert_checkpoint",
    "cari-extract": "cari_mtl.commands.extract_features",
    "cari-align": "cari_mtl.commands.align_dataset_mtcnn",
    "cari-crop-webcari": "cari_mtl.commands.crop_webcaricature",
    "cari-export": "cari_mtl.commands.export",
    "cari-plot-roc": "cari_mtl.commands.plot_roc",
    "cari-plot-training": "cari_mtl.commands.plot_training",
    "cari-plot-tsne": "cari_mtl.commands.plot_tsne",
    "cari-demo": "cari_mtl.commands.demo",
    "cari-data-summary": "cari_mtl.commands.data_summary",
    "cari-synthetic-data": "cari_mtl.commands.synthetic_data",
    "cari-verify": "cari_mtl.verify",
    "cari-identify": "cari_mtl.identify",
}


def run_command(name, argv=None):
    """Exit status of the command `name` (a key of COMMANDS) on `argv` (default: sys.argv[1:])."""
    from cari_mtl.commands.cli import run_cli

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
    """{script: entry point} as `[project.scripts]` of pyproject.toml must list them (a test compares)."""
    return {name: f"cari_mtl.commands.console:{_function_name(name)}" for name in COMMANDS}

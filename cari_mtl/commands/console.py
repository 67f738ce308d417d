"""One way in: `cari <command> [flags]` (and `python -m cari_mtl <command>`), and the `cari-*` console scripts
of `[project.scripts]`, which stay.

Each imports its command's module only when run (`cari --help` and a command's `--help` load no
framework), calls the same `main` as the `train/`, `evaluate/` and `align/` scripts through `run_cli`,
and returns the exit status. Nothing heavy is imported at the top.
"""

import importlib
import sys

COMMANDS = {  # cari <command>: (module, one line of help)
    "train": ("cari_mtl.commands.train", "train the multi-task network (or --resume a run)"),
    "evaluate-cavi": ("cari_mtl.commands.evaluate_cavi", "photo-caricature verification on CaVI"),
    "evaluate-webcavi": ("cari_mtl.commands.evaluate_webcavi", "verification on WebCaricature's protocols"),
    "evaluate-webcavi-identify": ("cari_mtl.commands.evaluate_webcavi_identify",
                                  "identification on WebCaricature (C2P, P2C)"),
    "verify": ("cari_mtl.commands.verify", "are two face images the same person?"),
    "identify": ("cari_mtl.commands.identify", "the nearest identities of a gallery for each probe image"),
    "extract": ("cari_mtl.commands.extract_features", "embeddings and logits of a list of images to .npz"),
    "export": ("cari_mtl.commands.export", "a model directory as SavedModel, .keras, TFLite or ONNX"),
    "convert": ("cari_mtl.commands.convert_checkpoint", "a TF1 checkpoint to a native model directory"),
    "demo": ("cari_mtl.commands.demo", "train on a synthetic CaVI-layout set and report (minutes on a CPU)"),
    "align": ("cari_mtl.commands.align_dataset_mtcnn", "crop faces with MTCNN, as the original's align script"),
    "crop-webcari": ("cari_mtl.commands.crop_webcaricature", "crop WebCaricature faces from its landmarks"),
    "data-summary": ("cari_mtl.commands.data_summary", "what a dataset split holds and what its reader skips"),
    "synthetic-data": ("cari_mtl.commands.synthetic_data", "write a small synthetic dataset in the CaVI layout"),
    "plot-roc": ("cari_mtl.commands.plot_roc", "overlay the ROC curves of verification runs"),
    "plot-training": ("cari_mtl.commands.plot_training", "plot a run's task weights and losses"),
    "plot-tsne": ("cari_mtl.commands.plot_tsne", "t-SNE of photo and caricature embeddings"),
}
SCRIPTS = {f"cari-{name}": module for name, (module, _) in COMMANDS.items()}  # the console scripts that stay
OLD_MODULES = {  # `python -m cari_mtl.<name>` of earlier versions -> the command now
    "cari_mtl.convert_checkpoint": "convert", "cari_mtl.demo": "demo", "cari_mtl.export": "export",
    "cari_mtl.extract_features": "extract", "cari_mtl.plot_roc": "plot-roc", "cari_mtl.plot_training": "plot-training",
    "cari_mtl.plot_tsne": "plot-tsne", "cari_mtl.verify": "verify", "cari_mtl.identify": "identify",
    "cari_mtl.data.summary": "data-summary", "cari_mtl.data.synthetic": "synthetic-data",
}


def usage():
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return ("usage: cari <command> [flags]   (also: python -m cari_mtl <command> [flags])\n\n"
            "cari-mtl: cross-modal photo-caricature face recognition with dynamic multi-task learning.\n\n"
            "commands:\n" + "\n".join(lines) + "\n\n`cari <command> --help` gives that command's flags.")


def run_module(module, argv, prog=None):
    """Exit status of the `main` of a command module on `argv`, through run_cli."""
    from cari_mtl.commands.cli import run_cli

    if prog:
        sys.argv[0] = prog
    return run_cli(importlib.import_module(module).main, argv)


def cari(argv=None):
    """`cari <command> [flags]`: the exit status of the command (2 and the list for an unknown one)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: cari has no command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return run_module(COMMANDS[name][0], rest, prog=f"cari {name}")


def run_command(name, argv=None):
    """Exit status of the console script `name` (a key of SCRIPTS) on `argv` (default: sys.argv[1:])."""
    return run_module(SCRIPTS[name], sys.argv[1:] if argv is None else argv)


def moved_module_line(orig_argv):
    """The line naming the new form when Python was started as `python -m <an old module name>`, else None."""
    for index, word in enumerate(orig_argv[:-1]):
        if word == "-m" and orig_argv[index + 1] in OLD_MODULES:
            command = OLD_MODULES[orig_argv[index + 1]]
            return (f"error: `python -m {orig_argv[index + 1]}` is now `python -m cari_mtl {command}` "
                    f"(or `cari {command}`), with the same flags")
        if word == "-m":
            return None
    return None


def _entry_point(name):
    def entry_point():
        return run_command(name)

    entry_point.__name__ = entry_point.__qualname__ = _function_name(name)
    entry_point.__doc__ = f"`{name}`: {SCRIPTS[name]}.main"
    return entry_point


def _function_name(name):
    return name.replace("-", "_")


for _name in SCRIPTS:
    globals()[_function_name(_name)] = _entry_point(_name)


def console_scripts():
    """{script: entry point} as `[project.scripts]` of pyproject.toml must list them (a test compares)."""
    return {"cari": "cari_mtl.commands.console:cari",
            **{name: f"cari_mtl.commands.console:{_function_name(name)}" for name in SCRIPTS}}

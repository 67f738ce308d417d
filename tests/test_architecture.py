"""The layering of docs/ARCHITECTURE.md holds: no import points up, argparse lives in the command layer."""

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cari_mtl"
LAYERS = {"runtime": 0, "images": 0, "model": 1, "data": 1, "evaluation": 2, "alignment": 2, "training": 3,
          "api": 3, "api_inputs": 3, "commands": 4}
ENTRY_LAYER = 5  # the package's __init__ (lazy names) and __main__ (`python -m cari_mtl <command>`)
TOP_MODULES = {"__init__", "__main__", "api", "api_inputs"}  # the package's top: its API and its entry


def layer_of(module):
    """Layer of a dotted cari_mtl module name."""
    parts = module.split(".")
    return LAYERS.get(parts[1], ENTRY_LAYER) if len(parts) > 1 else ENTRY_LAYER


def library_imports(path, main_blocks=False):
    """cari_mtl modules imported by `path`, except in its `if __name__ == "__main__":` block (an entry point)
    unless `main_blocks`."""
    tree = ast.parse(path.read_text())
    entry = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    skipped = set() if main_blocks else {id(child) for block in entry for child in ast.walk(block)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cari_mtl"):
            names |= {f"{node.module}.{alias.name}" if node.module == "cari_mtl" else node.module
                      for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names if alias.name.startswith("cari_mtl")}
    return names


def module_name(path):
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def test_no_module_imports_a_higher_layer():
    upward = [f"{module_name(path)} -> {target}" for path in sorted(PACKAGE.rglob("*.py"))
              for target in sorted(library_imports(path)) if layer_of(target) > layer_of(module_name(path))]
    assert upward == []


def test_argparse_only_in_the_command_layer():
    users = [module_name(path) for path in sorted(PACKAGE.rglob("*.py"))
             if "argparse" in path.read_text() and layer_of(module_name(path)) < LAYERS["commands"]]
    assert users == []


COMMAND_LINES = ("train/train.py", "cari-train")  # how a user runs the training: the command layer's words


def test_no_module_below_the_commands_names_a_command_line():
    naming = [f"{module_name(path)}: {line}" for path in sorted(PACKAGE.rglob("*.py"))
              if layer_of(module_name(path)) < LAYERS["commands"] for line in COMMAND_LINES if line in path.read_text()]
    assert naming == []


def import_circles():
    """Groups of cari_mtl modules that import each other, directly or through others (Tarjan's SCCs), the
    imports of `__main__` blocks included."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: {target if target in modules else target.rsplit(".", 1)[0]
                    for target in library_imports(path, main_blocks=True)}
             & set(modules) - {name} for name, path in modules.items()}
    index, low, stack, circles = {}, {}, [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                circles.append(sorted(group))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return circles


def test_no_import_circle():
    assert import_circles() == []


def test_no_command_help_imports_tensorflow():
    """Every console command answers --help without importing TensorFlow or Keras (a second, not 5-7)."""
    code = ("import contextlib, importlib, io, sys\nfrom cari_mtl.commands.console import SCRIPTS\n"
            "for name, module in SCRIPTS.items():\n"
            "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "        try:\n            importlib.import_module(module).main(['--help'])\n"
            "        except SystemExit:\n            pass\n"
            "    assert 'usage:' in out.getvalue(), name\n"
            "    heavy = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
            "    assert not heavy, f'{name} --help imported {heavy}'\n"
            "print(len(SCRIPTS))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) >= 17


def test_the_package_top_holds_its_api_and_its_entry_only():
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top <= TOP_MODULES and len(top) <= 4, sorted(top - TOP_MODULES)


def test_no_module_below_the_commands_has_a_main_block_naming_a_command():
    naming = [module_name(path) for path in sorted(PACKAGE.rglob("*.py"))
              if layer_of(module_name(path)) < LAYERS["commands"]
              and any(target.startswith("cari_mtl.commands") for target in library_imports(path, main_blocks=True))]
    assert naming == []

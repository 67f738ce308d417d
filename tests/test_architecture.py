"""The layering of docs/ARCHITECTURE.md holds: no import points up, argparse lives in the command layer."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cari_mtl"
LAYERS = {"runtime": 0, "images": 0, "model": 1, "data": 1, "evaluation": 2, "alignment": 2, "training": 3,
          "commands": 4}
ENTRY_LAYER = 5  # the `python -m cari_mtl.<command>` modules at the top of the package


def layer_of(module):
    """Layer of a dotted cari_mtl module name."""
    parts = module.split(".")
    return LAYERS.get(parts[1], ENTRY_LAYER) if len(parts) > 1 else ENTRY_LAYER


def library_imports(path):
    """cari_mtl modules imported by `path`, except in its `if __name__ == "__main__":` block (an entry point)."""
    tree = ast.parse(path.read_text())
    entry = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    skipped = {id(child) for block in entry for child in ast.walk(block)}
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

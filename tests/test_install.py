"""A regular (non-editable) install builds the model away from the checkout, and every console script answers."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cari_mtl.commands.console import SCRIPTS, console_scripts

CHECKOUT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """site-packages-like folder holding cari_mtl built and installed from a copy of the checkout by pip."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(CHECKOUT / name, source / name)
    shutil.copytree(CHECKOUT / "cari_mtl", source / "cari_mtl", ignore=shutil.ignore_patterns("__pycache__"))
    site = root / "site"
    completed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                                "--no-index", "--quiet", "--target", str(site), str(source)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return site


def run_installed(site, code, tmp_path, *args):
    """Runs Python (or an installed script) in `tmp_path` with only the installed copy on the path."""
    environment = {**os.environ, "PYTHONPATH": str(site)}
    command = [*args] if args else [sys.executable, "-c", textwrap.dedent(code)]
    completed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.slow  # several seconds: the whole suite runs it, the fast tier does not
def test_installed_package_builds_and_reloads_a_model_elsewhere(installed, tmp_path):
    output = run_installed(installed, """
        import json
        import cari_mtl
        from cari_mtl.model.model_dir import ModelConfig, save_model_dir
        config = ModelConfig(image_size=80, nrof_classes=3)
        save_model_dir(config.build(), "model", config)
        model = cari_mtl.load_model("model")
        print(json.dumps({"package": cari_mtl.__file__, "model_def": config.model_def,
                          "outputs": sorted(model.keras_model.output),
                          "copied": open("model/model_def.py").read() == open(config.model_def).read()}))
    """, tmp_path)
    report = json.loads(output.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(installed)
    assert Path(report["model_def"]).is_relative_to(installed)
    assert report["copied"] and "embeddings_cari" in report["outputs"]


def test_pyproject_lists_every_console_script():
    import tomllib

    declared = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]["scripts"]
    assert declared == console_scripts()


def test_every_console_script_answers_help(installed, tmp_path):
    scripts = sorted(path.name for path in (installed / "bin").iterdir())
    assert scripts == sorted(["cari", *SCRIPTS])
    assert "usage: cari-export" in run_installed(installed, None, tmp_path, str(installed / "bin" / "cari-export"),
                                                 "--help")
    output = run_installed(installed, """
        import contextlib, io, json
        from cari_mtl.commands.console import SCRIPTS, run_command
        answers = {}
        for name in SCRIPTS:
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                try:
                    run_command(name, ["--help"])
                except SystemExit as stop:
                    answers[name] = (stop.code, text.getvalue())
        print(json.dumps(answers))
    """, tmp_path)
    answers = json.loads(output.strip().splitlines()[-1])
    assert sorted(answers) == sorted(SCRIPTS)
    for name, (code, text) in answers.items():
        assert code == 0 and "usage:" in text and "--" in text, name


def test_models_path_is_the_package_network(tmp_path):
    from cari_mtl.model.model_dir import ModelConfig, save_model_dir
    from cari_mtl.model.network import DEFAULT_MODEL_DEF, load_model_def, network_source

    design_card = CHECKOUT / "models" / "inception_resnet_v1_cari_vis.py"
    assert "\ndef " not in design_card.read_text() and "\nclass " not in design_card.read_text()  # one copy of the code
    network = load_model_def(design_card)
    assert network_source(network) == DEFAULT_MODEL_DEF
    config = ModelConfig(image_size=80, nrof_classes=3, model_def=str(design_card))
    model = config.build(network=network)
    directory = save_model_dir(model, tmp_path / "model", config)
    assert (directory / "model_def.py").read_text() == DEFAULT_MODEL_DEF.read_text()

"""Backend selection: --backend / KERAS_BACKEND, and the XLA flag that gives JAX fast CPU convolutions."""

import os
import subprocess
import sys

import pytest

from cari_mtl.runtime import backend

from jax_subprocess import ROOT, requires_jax

FLAG = backend.EIGEN_CPU_CONVOLUTIONS

CONVOLUTION_GRADIENT_HLO = """
import os, sys
{selection}
import jax, jax.numpy as jnp
images, filters = jax.ShapeDtypeStruct((2, 12, 12, 32), "float32"), jax.ShapeDtypeStruct((3, 3, 32, 64), "float32")
loss = lambda x, f: jnp.sum(jax.lax.conv_general_dilated(x, f, (1, 1), "VALID",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC")))
print(jax.jit(jax.grad(loss, argnums=1)).lower(images, filters).compile().as_text())
"""


@pytest.mark.parametrize("version, expected", [("0.10.2", FLAG), ("0.9.2", FLAG), ("0.8.3", ""), ("", "")])
def test_the_flag_is_added_for_the_measured_jaxlib_releases_only(monkeypatch, version, expected):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(backend, "installed_jaxlib", lambda: version)
    backend.prefer_eigen_cpu_convolutions()
    assert os.environ.get("XLA_FLAGS", "") == expected


def test_the_users_flags_are_kept_and_their_own_convolution_setting_wins(monkeypatch):
    monkeypatch.setattr(backend, "installed_jaxlib", lambda: "0.10.2")
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    backend.prefer_eigen_cpu_convolutions()
    assert os.environ["XLA_FLAGS"].split() == ["--xla_force_host_platform_device_count=2", FLAG]
    own = "--xla_cpu_experimental_ynn_fusion_type=+individual_convolution"
    monkeypatch.setenv("XLA_FLAGS", own)
    backend.prefer_eigen_cpu_convolutions()
    assert os.environ["XLA_FLAGS"] == own


def compiled_convolution_gradient(selection, **env):
    environment = {name: value for name, value in os.environ.items() if name not in ("XLA_FLAGS", "KERAS_BACKEND")}
    result = subprocess.run([sys.executable, "-c", CONVOLUTION_GRADIENT_HLO.format(selection=selection)],
                            env=dict(environment, JAX_PLATFORMS="cpu", **env), cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@requires_jax
@pytest.mark.parametrize("selection, env", [
    ("from cari_mtl.runtime.backend import select_backend; select_backend('jax')", {}),
    ("import cari_mtl", {"KERAS_BACKEND": "jax"}),
], ids=["--backend jax", "KERAS_BACKEND=jax and import cari_mtl"])
def test_jax_compiles_convolutions_without_ynnpack(selection, env):
    """The convolutions leave YNNPACK's fusions, whichever way JAX was chosen (without the flag, jaxlib
    0.9/0.10 puts this filter gradient in a __ynn_fusion)."""
    if not backend.installed_jaxlib().startswith(backend.YNN_CONVOLUTION_JAXLIBS):
        pytest.skip(f"jaxlib {backend.installed_jaxlib()} is not a release the flag is added for")
    assert "__ynn_fusion" in compiled_convolution_gradient("")
    hlo = compiled_convolution_gradient(selection, **env)
    assert "convolution(" in hlo and "__ynn_fusion" not in hlo


def run_command(args, **env):
    """A command in a fresh process with `env` added; (exit status, stderr lines)."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})
    return result.returncode, [line for line in result.stderr.splitlines() if line.startswith("error:")]


TRAIN_COMMAND = ("from cari_mtl.commands.cli import run_cli; from cari_mtl.commands import train; "
                 "raise SystemExit(run_cli(train.main, ['--data_dir', 'missing']))")


@pytest.mark.parametrize("command", [["-c", TRAIN_COMMAND],
                                     ["-m", "cari_mtl", "verify", "a.jpg", "b.jpg", "--model_dir", "missing"]],
                         ids=["train", "verify"])
def test_an_unsupported_keras_backend_is_one_line_naming_the_supported_ones(command):
    status, errors = run_command(command, KERAS_BACKEND="torch")
    assert status == 2 and len(errors) == 1, errors
    assert "KERAS_BACKEND=torch" in errors[0] and "tensorflow or jax" in errors[0]


def test_jax_missing_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as before Keras is imported
    monkeypatch.setattr(backend.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(ValueError) as error:
        backend.select_backend("jax")
    assert str(error.value) == '--backend jax needs JAX, which is not installed: pip install "cari-mtl[jax]"'
    assert os.environ["KERAS_BACKEND"] == "tensorflow"  # nothing chosen


@pytest.mark.parametrize("script", ["cari_mtl.commands.verify", "cari_mtl.commands.identify"])
def test_verify_and_identify_take_backend(script):
    from importlib import import_module

    module = import_module(script)
    parser = module.verify_parser() if script.endswith("verify") else module.identify_parser()
    argv = ["a.jpg", "b.jpg"] if script.endswith("verify") else ["a.jpg", "--gallery", "g"]
    assert parser.parse_args([*argv, "--model_dir", "m", "--backend", "jax"]).backend == "jax"

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

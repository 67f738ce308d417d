"""Shared fixtures: the network module loaded by path, as the scripts do."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from cari_mtl.model.network import DEFAULT_MODEL_DEF, load_model_def  # noqa: E402


@pytest.fixture(scope="session")
def network():
    return load_model_def(DEFAULT_MODEL_DEF)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained 80 px model directory (tests/test_evaluate_helpers.py), shared by a module's tests."""
    from test_evaluate_helpers import save_untrained_model

    return save_untrained_model(tmp_path_factory.mktemp("model") / "model")

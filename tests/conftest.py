"""Shared fixtures: the network module loaded by path, as the scripts do."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from cari_mtl.model.network import DEFAULT_MODEL_DEF, load_model_def  # noqa: E402


@pytest.fixture(scope="session")
def network():
    return load_model_def(DEFAULT_MODEL_DEF)

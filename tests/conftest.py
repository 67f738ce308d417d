"""Shared fixtures (the network module loaded by path, as the scripts do; an untrained model directory) and
the checks that keep the fast tier fast: a test not marked `slow` fails when it starts a training or a pip
install in a subprocess, and, in a fast-tier run (`-m "not slow"`), when its setup or its call takes longer
than FAST_TIER_SECONDS (about three times the slowest fast test here: a slower machine does not fail it, and
the whole suite, which CI runs, is not timed at all)."""

import os
import subprocess

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from cari_mtl.model.network import DEFAULT_MODEL_DEF, load_model_def  # noqa: E402

FAST_TIER_SECONDS = 20
SLOW_COMMANDS = ("train.py", "training_runs.py", "cari-train", "pip")  # what a fast test may not start


@pytest.fixture(scope="session")
def network():
    return load_model_def(DEFAULT_MODEL_DEF)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained 80 px model directory (tests/support/evaluation.py), shared by a module's tests."""
    from support.evaluation import save_untrained_model

    return save_untrained_model(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(scope="module")
def tiny_model(network):
    """A FaceModel over the small network (tests/small_network.py): seconds to trace."""
    from support.evaluation import IMAGE_SIZE, NROF_CLASSES

    from cari_mtl.api import FaceModel
    from cari_mtl.model.model_dir import ModelConfig

    from small_network import small_network

    return FaceModel(small_network(network, IMAGE_SIZE, NROF_CLASSES), ModelConfig(IMAGE_SIZE, NROF_CLASSES))


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    """One synthetic face image file, shared by a module's tests."""
    from support.evaluation import write_image

    return write_image(tmp_path_factory.mktemp("api") / "face.png", 1)


@pytest.fixture(autouse=True)
def fast_tests_start_no_training(request, monkeypatch):
    """In the fast tier, a subprocess that trains or installs is an error naming the mark to add."""
    if "slow" in request.keywords:
        return
    real = subprocess.Popen

    class FastTierPopen(real):
        def __init__(self, args, *rest, **options):
            words = [os.path.basename(str(word)) for word in (args if isinstance(args, (list, tuple)) else [args])]
            slow = any(word in SLOW_COMMANDS or word.endswith(SLOW_COMMANDS[:2]) for word in words)
            if slow and "--help" not in words:
                raise AssertionError(f"{request.node.nodeid} starts {' '.join(words[:3])}: mark it "
                                     f"@pytest.mark.slow (the fast tier runs no training and no install)")
            super().__init__(args, *rest, **options)

    monkeypatch.setattr(subprocess, "Popen", FastTierPopen)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A fast-tier test over FAST_TIER_SECONDS in its setup or its call fails, naming the mark to add."""
    outcome = yield
    report = outcome.get_result()
    fast_tier = "not slow" in (item.config.getoption("markexpr") or "")
    if fast_tier and report.when in ("setup", "call") and report.passed and "slow" not in item.keywords \
            and call.duration > FAST_TIER_SECONDS:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid}: its {report.when} took {call.duration:.1f} s, over the fast tier's "
                           f"{FAST_TIER_SECONDS} s: mark it @pytest.mark.slow or make it faster")

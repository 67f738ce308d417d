"""The training guards under both backends: every test runs once with TensorFlow and once with JAX.

Each case trains on a tiny synthetic CaVI dataset (5 identities) with tests/small_network.py in a
subprocess: under JAX with KERAS_BACKEND=jax and TensorFlow blocked (tests/jax_subprocess.py), under
TensorFlow with KERAS_BACKEND=tensorflow. One finished run per backend (2 epochs of 2 steps) is shared
by the tests that only read it; a test that changes a run works on a copy (model and log folders).

    model card          every epoch / best model directory holds one; cari-verify takes its threshold
    refused resume      an edited run.json or a class added to the data: one error line naming the
                        difference, run.json and the checkpoints unchanged
    full disk           a checkpoint save under RLIMIT_FSIZE: one line naming the last complete
                        checkpoint, no partial file, and --resume continues exactly
    SIGINT              exit 130 and a `continue with:` command that, run as printed, finishes the run
    non-finite loss     one line naming the step, the non-finite loss and the checkpoint to continue from
    dead head           a head whose every logit is <= 0 is reported on stderr and in warnings.txt
    registries          a dataset and a task weighting registered by the caller train
    library API         cari_mtl.train(TrainingConfig(backend=...))
"""

import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cari_mtl.data.synthetic import generate_dataset
from cari_mtl.model.model_card import CARD_JSON, read_model_card

from jax_subprocess import ROOT, TESTS, jax_environment, requires_jax

TRAIN = ROOT / "train" / "train.py"
SMALL_NETWORK = TESTS / "small_network.py"
EPOCHS, EPOCH_SIZE = 2, 2
NROF_IDENTITIES = 5
TF_LOG_LINE = re.compile(r"WARNING|[IWEF]\d{4} \d\d:\d\d:")  # TensorFlow's / XLA's C++ log lines
TIMEOUT = 600

pytestmark = pytest.mark.slow


# --- helpers ------------------------------------------------------------------------------------------------

def environment(backend, *python_paths):
    """The subprocess environment of `backend`: JAX with TensorFlow blocked (jax_environment), or TensorFlow;
    `python_paths` go first on PYTHONPATH."""
    if backend == "jax":
        env = jax_environment()
    else:
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if python_paths:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, python_paths), env["PYTHONPATH"]])
    return env


def run_python(backend, args, python_paths=(), preexec_fn=None):
    """`python args...` under `backend`, from the repository root; the CompletedProcess (not checked)."""
    return subprocess.run([sys.executable, *map(str, args)], env=environment(backend, *python_paths), cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=preexec_fn)


def succeeded(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def stderr_lines(result):
    """stderr without the C++ log lines of TensorFlow / XLA."""
    return [line for line in result.stderr.strip().splitlines() if not TF_LOG_LINE.match(line)]


def one_error_line(result, *fragments, status=2):
    """The command exits with `status`, its stderr ends with one `error:` line holding `fragments`, no traceback."""
    lines = stderr_lines(result)
    assert result.returncode == status, result.stdout[-2000:] + "\n".join(lines)[-3000:]
    errors = [line for line in lines if "error:" in line]
    assert errors == lines[-1:] and lines[-1].startswith("error: ") and "Traceback" not in result.stderr, lines
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])
    return lines[-1]


def train_flags(backend, dataset, base, epochs=EPOCHS, epoch_size=EPOCH_SIZE):
    return ["--backend", backend, "--data_dir", dataset.data_dir, "--test_pairs", dataset.pairs_file,
            "--downsample", "4", "--image_size", "80", "--batch_size", "4", "--epoch_size", str(epoch_size),
            "--max_nrof_epochs", str(epochs), "--model_def", SMALL_NETWORK, "--learning_rate", "0.01",
            "--lfw_batch_size", "8", "--lfw_nrof_folds", "2",
            "--logs_base_dir", Path(base) / "logs", "--models_base_dir", Path(base) / "models"]


def only_run(folder):
    runs = [path for path in Path(folder).iterdir() if path.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def log_dir_of(model_dir):
    return Path(json.loads((Path(model_dir) / "run.json").read_text())["log_dir"])


def data_rows(path):
    """The rows of a step log (loss.txt), without its header lines (a resumed run adds one)."""
    lines = Path(path).read_text().splitlines()
    return [line for line in lines if line != lines[0]]


def checksums(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def copy_run(model_dir, target, edit=None):
    """A copy of the run (model and log folders) under `target`, whose run.json names the copied log folder
    and is edited by `edit(record)`; the copied model directory."""
    model_copy = shutil.copytree(model_dir, Path(target) / "models" / Path(model_dir).name)
    log_copy = shutil.copytree(log_dir_of(model_dir), Path(target) / "logs" / log_dir_of(model_dir).name)
    record = json.loads((model_copy / "run.json").read_text())
    record["log_dir"] = str(log_copy)
    if edit:
        edit(record)
    (model_copy / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    return model_copy


def resume(backend, model_dir, *flags, preexec_fn=None):
    return run_python(backend, [TRAIN, "--backend", backend, "--resume", model_dir, *flags], preexec_fn=preexec_fn)


def partial_files(folder):
    """Files or folders a failed write left: `*.partial` (JAX), `*_temp*` (TensorFlow's checkpoint staging)."""
    return [p for p in Path(folder).rglob("*") if ".partial" in p.name or "_temp" in p.name]


def script_main_call(register):
    """A `python -c` program: selects the backend (--backend of its argv), runs `register`, then the training
    command's main on its argv, exiting with its status."""
    return ("import sys\n"
            "import cari_mtl.commands  # picks the Keras backend from --backend before Keras is imported\n"
            f"{register}\n"
            "from cari_mtl.commands import train\n"
            "sys.exit(train.main(sys.argv[1:]))\n")


# --- fixtures -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["tensorflow", pytest.param("jax", marks=requires_jax)])
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("guards_data") / "data", identities=NROF_IDENTITIES,
                            photos_per_id=3, caricatures_per_id=3, image_size=96)


@pytest.fixture(scope="module")
def finished_run(backend, dataset, tmp_path_factory):
    """The model directory of a finished run (2 epochs of 2 steps) under `backend`; only read by the tests."""
    base = tmp_path_factory.mktemp(f"finished_{backend}")
    succeeded(run_python(backend, [TRAIN, *train_flags(backend, dataset, base)]))
    return only_run(base / "models")


# --- 1. the model card --------------------------------------------------------------------------------------

def test_model_card_is_written_and_verify_takes_its_threshold(backend, finished_run, dataset):
    for name in ("epoch_0002", "best_model_verifexpr"):
        assert (finished_run / name / CARD_JSON).is_file(), f"{name} holds no {CARD_JSON}"
    card = read_model_card(finished_run / "epoch_0002")
    assert card["threshold"]["value"] is not None and card["training"]["epoch"] == 2

    image_a = dataset.data_dir / "Real" / "Ada" / "Ada_r_1.jpg"
    image_b = dataset.data_dir / "Caricature" / "Ada" / "Ada_c_1.jpg"
    backend_flag = ["--backend", "jax"] if backend == "jax" else []  # TensorFlow: the default backend
    result = succeeded(run_python(backend, ["-m", "cari_mtl", "verify", image_a, image_b, "--model_dir",
                                            finished_run / "epoch_0002", *backend_flag]))
    lines = result.stdout.strip().splitlines()
    assert lines[-1] in ("same: yes", "same: no"), lines
    threshold = [line for line in lines if line.startswith("threshold ")]
    assert len(threshold) == 1 and "model card" in threshold[0], lines
    assert float(threshold[0].split()[1]) == pytest.approx(card["threshold"]["value"], abs=1e-4)


# --- 2. a resume whose configuration differs from the checkpoint's ------------------------------------------

def test_resume_refuses_an_edited_run_json_and_leaves_it_unchanged(backend, finished_run, tmp_path):
    def edit(record):
        assert record["config"]["network"]["image_size"] == 80
        record["config"]["network"]["image_size"] = 96

    model_dir = copy_run(finished_run, tmp_path, edit)
    run_json = (model_dir / "run.json").read_bytes()
    checkpoints = checksums(model_dir / "checkpoints")
    result = resume(backend, model_dir, "--max_nrof_epochs", "3")
    one_error_line(result, f"--resume {model_dir}", "image_size 80 → 96", "not damaged")
    assert (model_dir / "run.json").read_bytes() == run_json, "the refused resume changed run.json"
    assert checksums(model_dir / "checkpoints") == checkpoints
    assert not (model_dir / "epoch_0003").exists()


def test_resume_refuses_a_class_added_to_the_data_and_leaves_run_json_unchanged(backend, finished_run, dataset,
                                                                                  tmp_path):
    # CaVI's classes are the identities of the test pairs: a 6th identity gets images and a pair, in a copy
    # of the data (four lines first, so that every 4th line, the test split of --downsample 4, adds its pair)
    data_root = shutil.copytree(dataset.data_dir.parent, tmp_path / "data")
    data_dir = data_root / dataset.data_dir.name
    for kind, letter in (("Real", "r"), ("Caricature", "c")):
        (data_dir / kind / "Zora").mkdir()
        for index in (1, 2):
            shutil.copyfile(data_dir / kind / "Ada" / f"Ada_{letter}_{index}.jpg",
                            data_dir / kind / "Zora" / f"Zora_{letter}_{index}.jpg")
    pairs_file = data_root / dataset.pairs_file.relative_to(dataset.data_dir.parent)
    pair = "zora Caricature/Zora\\Zora_c_1.jpg zora Real/Zora\\Zora_r_1.jpg 1\n"
    pairs_file.write_text(4 * pair + pairs_file.read_text())

    def edit(record):
        record["config"]["data"]["data_dir"] = str(data_dir)
        record["config"]["data"]["test_pairs"] = str(pairs_file)

    model_dir = copy_run(finished_run, tmp_path / "run", edit)
    run_json = (model_dir / "run.json").read_bytes()
    checkpoints = checksums(model_dir / "checkpoints")
    result = resume(backend, model_dir, "--max_nrof_epochs", "3")
    one_error_line(result, f"--resume {model_dir}", f"nrof_classes {NROF_IDENTITIES} → {NROF_IDENTITIES + 1}",
                   "not damaged")
    assert (model_dir / "run.json").read_bytes() == run_json, "the refused resume changed run.json"
    assert checksums(model_dir / "checkpoints") == checkpoints


# --- 3. a checkpoint save that hits a file-size limit -------------------------------------------------------

def file_size_limit(limit):
    """preexec_fn: RLIMIT_FSIZE `limit`, SIGXFSZ ignored (so that the write fails with EFBIG)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk_during_a_checkpoint_save_then_resume_continues_exactly(backend, finished_run, tmp_path):
    def save_every_step(record):
        record["config"]["loop"]["save_every_n_steps"] = 1

    model_dir = copy_run(finished_run, tmp_path / "limited", save_every_step)
    reference_dir = copy_run(finished_run, tmp_path / "reference", save_every_step)
    checkpoint_dir = model_dir / "checkpoints"
    checkpoint_size = max(p.stat().st_size for p in checkpoint_dir.iterdir() if p.name != "checkpoint")
    index_before = (checkpoint_dir / "checkpoint").read_bytes()

    # the run is extended by one epoch; its first save (step 5) is more than the limit allows
    result = resume(backend, model_dir, "--max_nrof_epochs", "3", preexec_fn=file_size_limit(checkpoint_size // 2))
    line = one_error_line(result, "cannot write", f"the last complete checkpoint is {checkpoint_dir}",
                          f"--resume {model_dir}")
    named = Path(re.search(r"the last complete checkpoint is (\S+)", line).group(1).rstrip(":;,"))
    assert re.fullmatch(r"\D*-4(\.npz)?", named.name) and list(checkpoint_dir.glob(named.name + "*")), line
    assert (checkpoint_dir / "checkpoint").read_bytes() == index_before
    assert partial_files(model_dir) == []

    succeeded(resume(backend, model_dir, "--max_nrof_epochs", "3"))
    succeeded(resume(backend, reference_dir, "--max_nrof_epochs", "3"))
    rows = data_rows(log_dir_of(model_dir) / "loss.txt")
    assert len(rows) == 3 * EPOCH_SIZE  # steps 1-4 before, 5-6 after the failed save, each once
    assert rows[:2 * EPOCH_SIZE] == data_rows(log_dir_of(finished_run) / "loss.txt")
    assert rows == data_rows(log_dir_of(reference_dir) / "loss.txt")
    assert (model_dir / "epoch_0003").is_dir()


# --- 4. SIGINT and the printed command that continues the run -----------------------------------------------

def test_sigint_prints_the_command_that_continues_the_run(backend, dataset, tmp_path):
    flags = [*train_flags(backend, dataset, tmp_path), "--save_every_n_steps", "1"]
    with open(tmp_path / "stderr.txt", "w") as stderr:
        process = subprocess.Popen([sys.executable, TRAIN, *map(str, flags)], cwd=ROOT, env=environment(backend),
                                   stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and process.poll() is None:
            if list((tmp_path / "models").glob("*/checkpoints/checkpoint")):
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.02)
        status = process.wait(timeout=TIMEOUT)
    err = (tmp_path / "stderr.txt").read_text()
    assert status == 130, err[-3000:]
    model_dir = only_run(tmp_path / "models")
    assert not (model_dir / "epoch_0002").exists()
    continue_lines = [line for line in err.splitlines() if line.startswith("continue with: ")]
    assert len(continue_lines) == 1, err[-3000:]
    command = continue_lines[0].removeprefix("continue with: ")
    assert command.startswith(f"python train/train.py --resume {model_dir}"), command
    if backend == "jax":
        assert "--backend jax" in command, command

    words = shlex.split(command)
    assert words[0] == "python"
    continued = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, env=environment(backend),
                               capture_output=True, text=True, timeout=TIMEOUT)
    succeeded(continued)
    assert (model_dir / "epoch_0002").is_dir()
    assert len(data_rows(log_dir_of(model_dir) / "loss.txt")) == EPOCHS * EPOCH_SIZE


# --- 5. a non-finite loss -----------------------------------------------------------------------------------

def test_non_finite_loss_stops_with_one_line_naming_the_checkpoint_to_continue_from(backend, dataset, tmp_path):
    flags = [*train_flags(backend, dataset, tmp_path), "--learning_rate", "1e30", "--save_every_n_steps", "1"]
    result = run_python(backend, [TRAIN, *flags])
    model_dir = only_run(tmp_path / "models")
    line = one_error_line(result, "training stopped at step 2", "non-finite loss (", "nan", "nothing was saved after",
                          f"the last good checkpoint is {model_dir / 'checkpoints'}", f"--resume {model_dir}",
                          "lower --learning_rate")
    named = Path(re.search(r"the last good checkpoint is (\S+)", line).group(1))
    assert re.fullmatch(r"\D*-1(\.npz)?", named.name) and list(named.parent.glob(named.name + "*")), line
    assert not (model_dir / "epoch_0001").exists()
    assert [p.name for p in named.parent.iterdir() if re.search(r"-2(\.|$)", p.name)] == []  # nothing saved after
    assert ("--backend jax" in line) == (backend == "jax"), line  # the command continues on the run's backend


# --- 6. a dead head -----------------------------------------------------------------------------------------

PATIENCE = 20  # consecutive dead steps after which the dead-head guard warns
WARNINGS_FILE = "warnings.txt"
DEAD_HEAD_SCRIPT = script_main_call(
    "import numpy as np\n"
    "from cari_mtl.model.model_dir import ModelConfig, save_model_dir\n"
    "target, model_def = sys.argv.pop(1), sys.argv.pop(1)\n"
    f"config = ModelConfig(80, {NROF_IDENTITIES}, model_def=model_def)\n"
    "model = config.build()\n"
    "head = model.get_layer('head_cari')  # every caricature logit far below 0: the ReLU head is dead\n"
    "head.bias.assign(np.full(tuple(head.bias.shape), -1e4, 'float32'))\n"
    "save_model_dir(model, target, config)")


def test_a_dead_head_is_reported_once_on_stderr_and_in_warnings_txt(backend, dataset, tmp_path):
    pretrained = tmp_path / "dead_cari_head"
    flags = [*train_flags(backend, dataset, tmp_path, epochs=1, epoch_size=PATIENCE),
             "--pretrained_model", pretrained, "--logits_relu", "on"]
    result = succeeded(run_python(backend, ["-c", DEAD_HEAD_SCRIPT, pretrained, SMALL_NETWORK, *flags]))
    warnings = [line for line in stderr_lines(result) if "dead head:" in line]
    assert len(warnings) == 1, stderr_lines(result)[-20:]
    assert f"warning: dead head: caricature (Logits_cari) at step {PATIENCE}:" in warnings[0]  # after a progress bar
    assert "--logits_relu off" in warnings[0]
    log_dir = log_dir_of(only_run(tmp_path / "models"))
    text = (log_dir / WARNINGS_FILE).read_text()
    assert text.count("dead head: caricature") == 1 and "dead head: photo" not in text, text


# --- 7. a dataset registered by the caller ------------------------------------------------------------------

TOYSET_SCRIPT = script_main_call(
    "from cari_mtl.training import datasets\n"
    "datasets.register(datasets.Dataset('toyset', datasets.read_cavi, 'cavi', 1.0))")


def test_a_registered_dataset_trains(backend, dataset, tmp_path):
    flags = [*train_flags(backend, dataset, tmp_path, epochs=1), "--dataset", "toyset"]
    succeeded(run_python(backend, ["-c", TOYSET_SCRIPT, *flags]))
    model_dir = only_run(tmp_path / "models")
    assert json.loads((model_dir / "run.json").read_text())["config"]["data"]["dataset"] == "toyset"
    assert len(data_rows(log_dir_of(model_dir) / "loss.txt")) == EPOCH_SIZE
    assert (model_dir / "epoch_0001").is_dir()


# --- 8. a task weighting registered by the caller -----------------------------------------------------------

TOY_WEIGHTING = '''\
from keras import ops
from cari_mtl.training.weighting import Weighting

class Halved(Weighting):
    name = "halved"
    def task_weights(self, lossweights, state, feature_gram=None):
        return ops.convert_to_tensor([0.5, 0.5, 0.5], "float32")
'''

HALVED_SCRIPT = script_main_call(
    "from cari_mtl.training.weighting import WeightingMethod, register\n"
    "register(WeightingMethod('halved', 'toy_weighting:Halved', ()))")


def weight_columns(log_dir):
    """{column name: [values per step]} of the task-weight columns of the step logs (their headers say which)."""
    columns = {}
    for name in ("loss.txt", "percentage_full_loss.txt"):
        path = Path(log_dir) / name
        if not path.is_file():
            continue
        header = [column.strip() for column in path.read_text().splitlines()[0].split(",")]
        rows = [row.split() for row in data_rows(path)]
        for index, column in enumerate(header):
            if "weight" in column and column not in columns:
                columns[column] = [float(row[index]) for row in rows]
    return columns


def test_a_registered_weighting_trains_with_its_weights(backend, dataset, tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy_weighting.py").write_text(TOY_WEIGHTING)
    flags = [*train_flags(backend, dataset, tmp_path, epochs=1), "--task_weighting", "halved"]
    succeeded(run_python(backend, ["-c", HALVED_SCRIPT, *flags], python_paths=[tmp_path / "toy"]))
    log_dir = log_dir_of(only_run(tmp_path / "models"))
    assert len(data_rows(log_dir / "loss.txt")) == EPOCH_SIZE
    columns = weight_columns(log_dir)
    assert len(columns) == 3, columns
    for values in columns.values():
        assert values == pytest.approx([0.5] * EPOCH_SIZE), columns


# --- 9. the library API -------------------------------------------------------------------------------------

LIBRARY_SCRIPT = '''\
import sys
import cari_mtl
from cari_mtl.training.config import DataConfig, EpochEvaluationConfig, LoopConfig, NetworkConfig, TrainingConfig

backend, data_dir, test_pairs, model_def, base = sys.argv[1:]
config = TrainingConfig(
    backend=backend,
    data=DataConfig(data_dir=data_dir, test_pairs=test_pairs, downsample=4, batch_size=4),
    network=NetworkConfig(model_def=model_def, image_size=80),
    loop=LoopConfig(max_nrof_epochs=1, epoch_size=2, learning_rate=0.01, learning_rate_schedule_file=None),
    evaluation=EpochEvaluationConfig(batch_size=8, nrof_folds=2),
    logs_base_dir=base + "/logs", models_base_dir=base + "/models")
result = cari_mtl.train(config, progress=False)
print("returned:", result)
'''


def test_library_api_trains_under_the_configs_backend(backend, dataset, tmp_path):
    result = succeeded(run_python(backend, ["-c", LIBRARY_SCRIPT, backend, dataset.data_dir, dataset.pairs_file,
                                            SMALL_NETWORK, tmp_path]))
    assert "returned:" in result.stdout
    model_dir = only_run(tmp_path / "models")
    assert json.loads((model_dir / "run.json").read_text())["config"]["backend"] == backend
    assert (model_dir / "epoch_0001").is_dir()

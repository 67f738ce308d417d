"""The record of a run in its model directory: run.json (log directory, TrainingConfig, the flags for
display) and where its training checkpoints go. Read by --resume; free of TensorFlow."""

import json
from pathlib import Path

from cari_mtl.runtime.output_dirs import new_log_dir, require_writable_dir

RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoints"


def write_run_file(model_dir, log_dir, settings):
    (Path(model_dir) / RUN_FILE).write_text(json.dumps({"log_dir": str(log_dir), **settings}, indent=2) + "\n")


def read_run_file(model_dir):
    path = Path(model_dir) / RUN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --resume must name the model directory of a run "
                                f"(<models_base_dir>/<timestamp>/)")
    return json.loads(path.read_text())


def newest_run(models_base_dir):
    """The newest run under `models_base_dir` with a training checkpoint (what --resume latest picks), or None."""
    runs = sorted(p.parent.parent for p in Path(models_base_dir).expanduser().glob(f"*/{CHECKPOINT_DIR}/checkpoint"))
    return runs[-1] if runs else None


def claim_run_dirs(config, run_settings, resume_dir=None):
    """(model_dir, log_dir) of a run: those of `resume_dir`, or new ones under the config's base folders
    with a run.json holding the config and `run_settings`."""
    if resume_dir is not None:
        return resume_dir, Path(read_run_file(resume_dir)["log_dir"])
    require_writable_dir(config.logs_base_dir, "--logs_base_dir")
    require_writable_dir(config.models_base_dir, "--models_base_dir")
    log_dir = new_log_dir(config.logs_base_dir)
    model_dir = Path(config.models_base_dir).expanduser() / log_dir.name
    model_dir.mkdir(parents=True, exist_ok=True)
    write_run_file(model_dir, log_dir, {"config": config.to_dict(), **run_settings})
    return model_dir, log_dir

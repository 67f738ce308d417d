"""The record of a run in its model directory: run.json (absolute log directory, TrainingConfig, the flags
for display) and where its training checkpoints go; the run's folders, claimed without races. Read by
--resume; free of TensorFlow.

Two trainings started in the same second share a timestamp; each claims its folders with `os.mkdir`
(no `exist_ok`) in both base folders, so a clash in either picks the next free name
(`<stamp>-1`, `<stamp>-2`, ...) instead of sharing a model directory.
"""

import json
import os
import sys
from datetime import datetime
from pathlib import Path

from cari_mtl.runtime import atomic_files
from cari_mtl.runtime.output_dirs import require_writable_dir

RUN_FILE = "run.json"
CHECKPOINT_DIR = "checkpoints"
MAX_ATTEMPTS = 1000


def write_run_file(model_dir, log_dir, settings):
    atomic_files.write_json(Path(model_dir) / RUN_FILE, {"log_dir": str(Path(log_dir).resolve()), **settings})


def read_run_file(model_dir):
    """The run.json of `model_dir` as a dict; a missing, unreadable or incomplete file is one error naming it
    (FileNotFoundError when absent, ValueError otherwise)."""
    path = Path(model_dir) / RUN_FILE
    if Path(model_dir).is_file() or not Path(model_dir).exists():
        raise FileNotFoundError(f"--resume {model_dir}: not a folder; name the model directory of a run "
                                f"(<models_base_dir>/<timestamp>/)")
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: --resume must name the model directory of a run "
                                f"(<models_base_dir>/<timestamp>/)")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}): restore it from a backup, or start a new run "
                         f"without --resume") from None
    missing = _missing_keys(record)
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)} (written by another version, or edited): it must hold "
                         f"\"log_dir\" and \"config\" (older versions: \"argv\", the training flags); start a new "
                         f"run without --resume")
    if "config" not in record and (not isinstance(record["argv"], list)
                                   or not all(isinstance(item, str) for item in record["argv"])):
        raise ValueError(f"{path}: \"argv\" must be a list of strings (the training flags)")
    return record


def _missing_keys(record):
    """What a run.json lacks: log_dir, and its config (or, before the config was stored, argv)."""
    if not isinstance(record, dict):
        return ["all"]
    missing = [] if "log_dir" in record else ["log_dir"]
    return missing + ([] if {"config", "argv"} & set(record) else ["argv"])


def newest_run(models_base_dir):
    """The newest run under `models_base_dir` with a training checkpoint (what --resume latest picks), or None."""
    runs = sorted(p.parent.parent for p in Path(models_base_dir).expanduser().glob(f"*/{CHECKPOINT_DIR}/checkpoint"))
    return runs[-1] if runs else None


def run_stamp():
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def claim_folders(logs_base_dir, models_base_dir, stamp=None):
    """(log_dir, model_dir), both new, with the same name, both absolute; neither existed before."""
    stamp = stamp or run_stamp()
    logs_base = Path(logs_base_dir).expanduser().resolve()
    models_base = Path(models_base_dir).expanduser().resolve()
    logs_base.mkdir(parents=True, exist_ok=True)
    models_base.mkdir(parents=True, exist_ok=True)
    for attempt in range(MAX_ATTEMPTS):
        name = stamp if attempt == 0 else f"{stamp}-{attempt}"
        log_dir, model_dir = logs_base / name, models_base / name
        try:
            os.mkdir(log_dir)
        except FileExistsError:
            continue
        try:
            os.mkdir(model_dir)
        except FileExistsError:
            os.rmdir(log_dir)
            continue
        return log_dir, model_dir
    raise FileExistsError(f"no free run folder named {stamp}[-N] under {logs_base} and {models_base}: "
                          f"remove old runs or choose other --logs_base_dir / --models_base_dir")


def resume_log_dir(record):
    """The log folder of a resumed run (absolute since issue 20; an older relative one is read against the
    current folder, as before). A deleted log folder is made again, with a warning that its rows are gone."""
    log_dir = Path(record["log_dir"]).expanduser().resolve()
    if not log_dir.is_dir():
        log_dir.mkdir(parents=True)
        print(f"warning: the log folder {log_dir} of this run was missing: made it again; the loss rows and "
              f"metrics of the steps before the checkpoint are gone, the resumed run logs from there on",
              file=sys.stderr)
    return log_dir


def claim_run_dirs(config, run_settings, resume_dir=None):
    """(model_dir, log_dir) of a run: those of `resume_dir`, or new ones under the config's base folders
    with a run.json holding the config and `run_settings`."""
    if resume_dir is not None:
        return resume_dir, resume_log_dir(read_run_file(resume_dir))
    require_writable_dir(config.logs_base_dir, "--logs_base_dir")
    require_writable_dir(config.models_base_dir, "--models_base_dir")
    log_dir, model_dir = claim_folders(config.logs_base_dir, config.models_base_dir)
    write_run_file(model_dir, log_dir, {"config": config.to_dict(), **run_settings})
    return model_dir, log_dir

"""The folders of a training run: claimed without races, recorded as absolute paths, found again on resume.

Two trainings started in the same second share a timestamp; each claims its folder with `os.mkdir`
(no `exist_ok`) in both base folders, so a clash in either picks the next free name
(`<stamp>-1`, `<stamp>-2`, ...) instead of sharing a model directory.
"""

import json
import os
import sys
from datetime import datetime
from pathlib import Path

RUN_FILE = "run.json"
MAX_ATTEMPTS = 1000


def run_stamp():
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def claim_run_dirs(logs_base_dir, models_base_dir, stamp=None):
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


def read_run_record(model_dir):
    """The run.json of `model_dir` as a dict; a missing, unreadable or incomplete file is one ValueError
    naming it (FileNotFoundError when absent)."""
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
    missing = [key for key in ("log_dir", "argv") if key not in record] if isinstance(record, dict) else ["all"]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)} (written by another version, or edited): it must hold "
                         f"\"log_dir\" and \"argv\" (the training flags); start a new run without --resume")
    if not isinstance(record["argv"], list) or not all(isinstance(item, str) for item in record["argv"]):
        raise ValueError(f"{path}: \"argv\" must be a list of strings (the training flags)")
    return record


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

"""Output folders: checked for writability before the work starts, and the timestamped run folders."""

import os
import tempfile
from datetime import datetime
from pathlib import Path


class OutputDirError(ValueError):
    """An output folder that cannot be created or written; the message names it and the flag."""


def require_writable_dir(path, flag):
    """Creates `path` (and its parents) if needed and checks a file can be written in it."""
    directory = Path(path).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputDirError(f"cannot write to {directory} ({reason}): choose another {flag} or fix the "
                             f"permissions of the folder") from None
    return directory


def check_writable_dir(path, flag):
    """OutputDirError when `path` could not be made or written, found without making anything: its nearest
    existing ancestor must be a writable folder (a run checks its output folders before it reads its data,
    and makes them only after)."""
    directory = Path(path).expanduser().absolute()
    existing = next(parent for parent in (directory, *directory.parents) if parent.exists())
    reason = None
    if not existing.is_dir():
        reason = "Not a directory"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = "Permission denied"
    if reason:
        raise OutputDirError(f"cannot write to {directory} ({reason}): choose another {flag} or fix the "
                             f"permissions of the folder")
    return directory


def new_log_dir(base):
    """A fresh `<base>/<YYYYmmdd-HHMMSS>` directory (suffixed when two runs start in the same second)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(base).expanduser()
    for attempt in range(100):
        candidate = base / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a new log directory under {base}")

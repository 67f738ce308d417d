"""Output folders are checked for writability before the work starts, not after it is done."""

import tempfile
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

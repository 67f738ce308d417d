"""Result files written whole or not at all: a temporary file in the same folder, then os.replace.

A full disk or a file-size limit (`ulimit -f`: Python ignores SIGXFSZ, so the write fails with EFBIG)
part-way through leaves the previous file (or none), never a truncated one that reads as complete;
the error names the path and what was kept.
"""

import errno
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


class OutputWriteError(ValueError):
    """A result file that could not be written; the message names it and what is left on disk."""


def write_failure(path, error, kept=""):
    """OutputWriteError for `error` (an OSError) while writing `path`; `kept` says what is still there."""
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        reason += " (the disk is full or a file-size limit was reached)"
    previous = "the previous version is unchanged" if Path(path).exists() else "no partial file was left"
    return OutputWriteError(f"cannot write {path}: {reason}; {previous}{'; ' + kept if kept else ''}")


@contextmanager
def atomic_path(path, kept=""):
    """Yields a temporary path beside `path`; on success it replaces `path`, on any error it is removed.

    An OSError becomes an OutputWriteError naming `path` (and `kept`, e.g. which other results exist)."""
    path = Path(path)
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}",
                                                 dir=path.parent)
        os.close(descriptor)
        yield Path(temporary)
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise write_failure(path, error, kept) from None
    except BaseException:
        _remove(temporary)
        raise


def write_bytes(path, data, kept=""):
    with atomic_path(path, kept) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def write_text(path, text, kept=""):
    return write_bytes(path, text.encode("utf-8"), kept)


def write_json(path, document, kept=""):
    return write_text(path, json.dumps(document, indent=2) + "\n", kept)


def save_npz(path, kept="", **arrays):
    """np.savez of `arrays` to exactly `path` (no `.npz` appended), atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_bytes(path, buffer.getvalue(), kept)


def save_npy(path, array, kept=""):
    """np.save of one array to exactly `path`, atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    return write_bytes(path, buffer.getvalue(), kept)


def _remove(temporary):
    if temporary is None:
        return
    try:
        os.unlink(temporary)
    except FileNotFoundError:
        pass

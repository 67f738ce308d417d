"""A training that cannot write (full disk, `ulimit -f`) stops with one line: what failed, the last complete
checkpoint and the command that continues exactly from it.

TensorFlow writes a checkpoint into `ckpt-N_temp/` and renames it when complete, so a failed save
leaves the previous checkpoint intact; the temporary folder is removed here.
"""

import errno
import re
from contextlib import contextmanager
from pathlib import Path

from cari_mtl.runtime.atomic_files import OutputWriteError
from cari_mtl.training.resume import remove_partial_saves

FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def training_write_failed(what, error, model_dir, latest_checkpoint):
    """OutputWriteError naming what could not be written and how to continue."""
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]", "", str(getattr(error, "message", None) or error))
    lines = text.strip().splitlines()
    reason = lines[-1].rsplit("; ", 1)[-1] if lines else type(error).__name__  # TensorFlow: "<temp file>; reason"
    if isinstance(error, OSError) and error.errno in FULL_DISK_ERRNOS or "too large" in reason or "space" in reason:
        reason += " (the disk is full or a file-size limit was reached)"
    if latest_checkpoint:
        kept = (f"the last complete checkpoint is {latest_checkpoint}: free space, then continue exactly with "
                f"--resume {model_dir}")
    else:
        kept = "no checkpoint of this run was completed: free space and start the run again"
    return OutputWriteError(f"cannot write {what}: {reason}; {kept}")


@contextmanager
def checkpoint_save_errors(manager, model_dir):
    """Turns a failed CheckpointManager save into training_write_failed, removing the partial `ckpt-N_temp`."""
    import tensorflow as tf  # the TensorFlow backend's checkpoints: not imported by the JAX path

    try:
        yield
    except (tf.errors.OpError, OSError) as error:
        remove_partial_saves(manager.directory)
        raise training_write_failed(f"a checkpoint in {manager.directory}", error, model_dir,
                                    manager.latest_checkpoint) from None


@contextmanager
def training_write_errors(manager, model_dir):
    """Any other file the training writes (logs, epoch model directories) that fails with an OSError."""
    try:
        yield
    except OSError as error:
        what = error.filename or f"a file under {Path(model_dir)}"
        raise training_write_failed(what, error, model_dir, manager.latest_checkpoint) from None

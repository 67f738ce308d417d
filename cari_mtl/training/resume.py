"""Resuming a run: the checkpoint to continue from (read, or refused with the file named).

A resume that cannot read its checkpoint must stop: restarting at step 0 would append a second
copy of the run to its logs. Folders `ckpt-N_temp*` left by a kill during a save are removed.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from cari_mtl.model.errors import CheckpointError

CHECKPOINT_INDEX = "checkpoint"
COUNTERS = ("global_step", "epoch_done", "batch_done")


@dataclass
class ResumePoint:
    """The newest checkpoint of a run and where it stands: global step, epochs done, batches done
    in the current epoch."""
    prefix: str
    global_step: int
    epoch_done: int
    batch_done: int

    def iterations(self, epoch_size):
        """Iterations trained up to the checkpoint (one row each in loss.txt)."""
        return self.epoch_done * epoch_size + self.batch_done


def remove_partial_saves(checkpoint_dir):
    """Deletes the temporary folders of a checkpoint save that was interrupted."""
    for partial in Path(checkpoint_dir).glob("*_temp*"):
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)


def find_resume_point(checkpoint_dir):
    """ResumePoint of the newest checkpoint in `checkpoint_dir`; CheckpointError when there is none
    or it cannot be read."""
    import tensorflow as tf

    checkpoint_dir = Path(checkpoint_dir)
    remove_partial_saves(checkpoint_dir)
    index = checkpoint_dir / CHECKPOINT_INDEX
    if not index.is_file():
        raise CheckpointError(f"{index} not found: this run wrote no training checkpoint, so --resume cannot "
                              f"continue it; start a new run without --resume")
    try:
        prefix = tf.train.latest_checkpoint(str(checkpoint_dir))
    except (tf.errors.OpError, ValueError) as error:
        raise CheckpointError(f"{index} cannot be read ({_first_line(error)}): write the line "
                              f"model_checkpoint_path: \"ckpt-N\" naming a ckpt-N.index of that folder") from None
    if prefix is None or not Path(f"{prefix}.index").is_file():
        raise CheckpointError(f"{index} names no existing checkpoint: write the line model_checkpoint_path: "
                              f"\"ckpt-N\" naming a ckpt-N.index of {checkpoint_dir}")
    try:
        reader = tf.train.load_checkpoint(prefix)
        values = [int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE")) for name in COUNTERS]
    except (tf.errors.OpError, ValueError, IndexError) as error:
        raise damaged(prefix, error) from None
    return ResumePoint(prefix, *values)


def restore(checkpoint, prefix):
    """Restores `prefix` into `checkpoint` (tf.train.Checkpoint); a damaged file is a CheckpointError."""
    import tensorflow as tf

    try:
        checkpoint.restore(prefix).assert_existing_objects_matched()
    except (tf.errors.OpError, IndexError, ValueError, AssertionError) as error:
        raise damaged(prefix, error) from None


def damaged(prefix, error):
    """The error for a checkpoint that failed to restore; one that reads but does not fit is not called damaged."""
    import tensorflow as tf

    if isinstance(error, (ValueError, AssertionError)) and not isinstance(error, tf.errors.OpError):
        return CheckpointError(f"checkpoint {prefix} does not fit the network this run builds now "
                               f"({_first_line(error)}): the checkpoint is not damaged; the data (number of "
                               f"identities) or the run.json changed since it was written: put them back as they "
                               f"were, or start a new run without --resume")
    return CheckpointError(f"checkpoint {prefix} cannot be read ({_first_line(error)}): the file is damaged; "
                           f"delete {Path(prefix).name}.* and name the previous checkpoint in "
                           f"{Path(prefix).parent / CHECKPOINT_INDEX}, or start a new run")


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

"""What the training command prints when a run stops early: the facts the library's exception carries,
and the command line that continues the run."""

import json

from cari_mtl.runtime.backend import resume_flags
from cari_mtl.training.loop.interrupt import TrainingInterrupted

RESUME_COMMAND = "python train/train.py"


def message(error, run_dir, models_base_dir, tf_config):
    """The line for a lost-worker `error`, seen by this task (TF_CONFIG `tf_config`)."""
    from cari_mtl.training.run.worker_failure import checkpoint_line, describe, lost_peers, own_task, this_task

    config = json.loads(tf_config or "{}")
    peers = lost_peers(str(getattr(error, "message", error)), own_task(config))
    lost = ", ".join(describe(t, i, config.get("cluster", {})) for t, i in peers) or "another worker"
    checkpoint = checkpoint_line(run_dir, models_base_dir)
    if checkpoint is None:
        advice = "no checkpoint yet: start the run again on every node"
    else:
        advice = (f"last checkpoint {checkpoint}; continue by running on every node, with its TF_CONFIG: "
                  f"{RESUME_COMMAND} --resume latest --models_base_dir {models_base_dir}")
    return (f"error: {this_task(tf_config)} of the multi-worker run stopped: lost {lost} "
            f"({type(error).__name__}); {advice}")


def stop_message(stopped):
    """The lines for a TrainingInterrupted or a WorkerLost."""
    if isinstance(stopped, TrainingInterrupted):
        return f"{stopped}\ncontinue with: {RESUME_COMMAND} {resume_flags(stopped.model_dir)}"
    return message(stopped.error, stopped.run_dir, stopped.models_base_dir, stopped.tf_config)

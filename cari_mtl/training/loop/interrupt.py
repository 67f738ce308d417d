"""SIGINT / SIGTERM during training: finish the current step, save a checkpoint, exit 130 / 143.

The first signal only records a stop request (the loop checks it between steps); the previous
handlers are put back at once, so a second Ctrl-C stops immediately as before.
"""

import signal
import sys
import threading

from cari_mtl.runtime.backend import resume_flags

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Raised by the training loop after it saved a checkpoint on a stop request."""

    def __init__(self, signum, step, checkpoint, model_dir):
        super().__init__(f"stopped by {signal.Signals(signum).name} after step {step}; checkpoint: {checkpoint}; "
                         f"the run continues with {resume_flags(model_dir)}")
        self.model_dir = model_dir
        self.exit_code = 128 + signum


class StopRequest:
    """Context manager: `signum` is the first SIGINT/SIGTERM received inside it, else None.

    Handlers can only be installed in the main thread; elsewhere signals keep their behaviour.
    """

    def __init__(self):
        self.signum = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}
        return self

    def __exit__(self, *exc):
        self._restore()
        return False

    def _handle(self, signum, frame):
        self.signum = signum
        self._restore()
        print(f"\n{signal.Signals(signum).name}: stopping after this step and saving a checkpoint "
              f"(send it again to stop at once)", file=sys.stderr)

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


class WorkerLost(Exception):
    """Raised (by cari_mtl.training.run.worker_failure) in place of TensorFlow's `error` when a multi-worker run
    lost a worker; it carries what the message needs: the run's model directory (or None), --models_base_dir
    and this task's TF_CONFIG. Defined here, beside TrainingInterrupted, so the command catches both without
    loading TensorFlow."""
    exit_code = 75  # EX_TEMPFAIL: the run can be continued

    def __init__(self, error, run_dir, models_base_dir, tf_config):
        super().__init__(f"lost a worker of the multi-worker run ({type(error).__name__})")
        self.error, self.run_dir, self.models_base_dir, self.tf_config = error, run_dir, models_base_dir, tf_config

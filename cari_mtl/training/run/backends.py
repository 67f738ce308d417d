"""What a run does differently per backend, in one place: devices and distribution, the step class,
the checkpoints, TensorBoard, and the features one backend lacks (refused in one line each).

    tensorflow   tf.distribute (none, mirrored, multiworker with its lost-worker handling), XLA by
                 --xla, mixed_float16 with loss scaling, a TF1 checkpoint's optimizer state restored
    jax          jax.jit, data parallel over the local devices (--distribute mirrored), .npz
                 checkpoints; no TensorBoard events (they need TensorFlow); --distribute multiworker
                 and --mixed_precision float16 are TensorFlow's
"""

import contextlib

from cari_mtl.training.loop.checkpoints import NpzCheckpoints, TensorFlowCheckpoints


class TensorFlowRun:
    name = "tensorflow"
    checkpoints = TensorFlowCheckpoints
    tensorboard = True

    def __init__(self, config):
        from cari_mtl.runtime import distribute
        from cari_mtl.runtime.speed import use_xla
        from cari_mtl.training.run.worker_failure import LostWorkers, started_within

        self.config = config
        with LostWorkers(config.distribute, config.collective_timeout, config.models_base_dir), \
                started_within(config.distribute, config.collective_timeout):
            self.distribution = distribute.make_distribution(config.distribute, config.collective_timeout)
        distribute.check_batch_size(config.data.batch_size, self.distribution)
        self.chief = distribute.is_chief(self.distribution)
        self.replicas = self.distribution.num_replicas_in_sync
        xla = config.speed.xla
        self.jit_compile = use_xla(xla) and (config.distribute == "none" or xla == "on")
        self.xla = "on" if self.jit_compile else "off"

    def lost_workers(self, run_dir):
        """Turns a lost worker of a multi-worker run into WorkerLost (a no-op otherwise)."""
        from cari_mtl.training.run.worker_failure import LostWorkers

        return LostWorkers(self.config.distribute, self.config.collective_timeout, self.config.models_base_dir,
                           run_dir)

    def scope(self):
        return self.distribution.scope()

    def make_step(self, model, weighting, step, **options):
        from cari_mtl.training.step.tensorflow import TrainStep

        return TrainStep.from_config(model, weighting, step, distribution=self.distribution,
                                     jit_compile=self.jit_compile, **options)

    def restore_pretrained_state(self, step, network):
        """A TF1 --pretrained_model's optimizer slots, moving averages (and centers, global step), as the
        original's Savers restore them."""
        from cari_mtl.model.checkpoints import find_checkpoint_prefix
        from cari_mtl.model.model_dir import is_model_dir
        from cari_mtl.training.step.optimizer_state import restore_optimizer_state

        pretrained = network.pretrained_model
        if pretrained and not is_model_dir(pretrained) and network.restore_optimizer_state:
            print(restore_optimizer_state(step, find_checkpoint_prefix(pretrained), step.settings.optimizer).format())


class JaxRun:
    name = "jax"
    checkpoints = NpzCheckpoints
    tensorboard = False
    chief = True
    xla = "on (jax.jit)"

    def __init__(self, config):
        import jax

        if config.distribute == "multiworker":
            raise ValueError("--distribute multiworker needs the TensorFlow backend (tf.distribute): run it with "
                             "--backend tensorflow; under JAX --distribute mirrored uses the devices of one machine")
        self.config = config
        self.devices = jax.local_devices() if config.distribute == "mirrored" else None
        self.replicas = len(self.devices) if self.devices else 1
        print("TensorBoard events: not written under --backend jax (they need TensorFlow); loss.txt, "
              "percentage_full_loss.txt and metrics.jsonl are")

    def lost_workers(self, run_dir):
        return contextlib.nullcontext()

    def scope(self):
        return contextlib.nullcontext()

    def make_step(self, model, weighting, step, **options):
        from cari_mtl.training.step.jax import JaxTrainStep

        return JaxTrainStep.from_config(model, weighting, step, devices=self.devices, **options)

    def restore_pretrained_state(self, step, network):
        """Weights only: a TF1 checkpoint's optimizer state needs TensorFlow to read."""


def run_backend(config):
    """The per-backend part of a run of `config` (its backend resolved)."""
    return JaxRun(config) if config.backend == "jax" else TensorFlowRun(config)

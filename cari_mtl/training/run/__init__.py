"""A training run from its TrainingConfig, one for both backends: directories, data, network, step, loop.

    session        the run (`run_training`)
    backends       what differs per backend: distribution, step class, checkpoints
    run_file       run.json and the run's folders;  run_card  the model card
    model_setup    the network;  training_data  the split and the input pipeline
    worker_failure a lost worker of a TensorFlow multi-worker run
"""


def train(config, progress=True):
    """Trains a new run of the TrainingConfig `config` (`cari_mtl.train`) on its backend (`config.backend`;
    None: KERAS_BACKEND or TensorFlow); returns (model_dir, log_dir, the last epoch's metrics dict or None).
    Its run.json holds the config, so the training command's --resume continues it."""
    from cari_mtl.runtime.backend import select_backend

    select_backend(config.backend)
    from cari_mtl.training.run.session import run_training

    return run_training(config, progress=progress)

"""The training loop, one for both backends: epochs, logs, evaluation, model directories, checkpoints, guards."""

"""The network: loading its definition, the native model directory, TF1 checkpoints and their conversion."""

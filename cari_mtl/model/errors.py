"""The error of an unusable checkpoint or model, importable without TensorFlow (the command layer catches it)."""


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and the fix."""

"""The model layer's error type, apart from the TensorFlow code that raises it (the command layer catches
it without loading TensorFlow)."""


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and the fix."""

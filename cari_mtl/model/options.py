"""How a model was trained and must be used: its input standardisation and head ReLU.

Both are stored in a model directory's config.json. A command that reads a model directory uses the
stored value unless its flag is given (None when not); a new model or a TF1 checkpoint gets the
original's behaviour (prewhiten, ReLU on) unless the flag says otherwise. PORTING D13 and N3.
"""

LOGITS_RELU_CHOICES = {"on": True, "off": False}


def chosen_standardization(flag, stored=None):
    """The flag when given, else the stored value, else the original's prewhiten."""
    return flag or stored or "prewhiten"


def chosen_logits_relu(flag, stored=None):
    """True/False from an on/off flag when given, else the stored value, else the original's ReLU."""
    if flag is not None:
        return LOGITS_RELU_CHOICES[flag]
    return True if stored is None else bool(stored)


HEADS = ("softmax", "cosface", "arcface")  # margin heads beyond the original: PORTING X1

"""Flags that describe how a model was trained and must be used: its input standardisation and head ReLU.

Both are stored in a model directory's config.json. A command that reads a model directory uses the
stored value unless the flag is given (defaults None); a new model or a TF1 checkpoint gets the
original's behaviour (prewhiten, ReLU on) unless the flag says otherwise. PORTING D13 and N3.
"""

from cari_mtl.images.eval_loader import STANDARDIZATIONS

LOGITS_RELU_CHOICES = {"on": True, "off": False}


def add_image_standardization_flag(parser):
    parser.add_argument("--image_standardization", choices=STANDARDIZATIONS, default=None,
                        help="prewhiten: (x - mean) / std per image, the original's; fixed: (x - 127.5) / 128, "
                             "what FaceNet's 2018 checkpoints (VGGFace2 20180402-114759, CASIA-WebFace "
                             "20180408-102900) were trained with. Default: the model directory's stored value, "
                             "else prewhiten")
    return parser


def add_logits_relu_flag(parser):
    parser.add_argument("--logits_relu", choices=sorted(LOGITS_RELU_CHOICES), default=None,
                        help="on: ReLU after the photo and caricature logits (Logits, Logits_cari), the original's "
                             "quirk; off: linear logits like Logits_verif. From scratch with a high learning rate "
                             "the ReLU can kill both heads (every logit 0). Default: the model directory's stored "
                             "value, else on")
    return parser


def chosen_standardization(flag, stored=None):
    """The flag when given, else the stored value, else the original's prewhiten."""
    return flag or stored or "prewhiten"


def chosen_logits_relu(flag, stored=None):
    """True/False from an on/off flag when given, else the stored value, else the original's ReLU."""
    if flag is not None:
        return LOGITS_RELU_CHOICES[flag]
    return True if stored is None else bool(stored)

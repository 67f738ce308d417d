"""Flags shared by several commands, each defined once: speed, distribution, model options, evaluation.

The training command and the evaluation commands add the same groups, so a flag has one meaning,
one default and one help text wherever it appears.
"""

from cari_mtl.images.options import STANDARDIZATIONS
from cari_mtl.model.options import LOGITS_RELU_CHOICES
from cari_mtl.runtime.backend import BACKEND_HELP, BACKENDS, DEFAULT_BACKEND
from cari_mtl.runtime.options import (
    DEFAULT_COLLECTIVE_TIMEOUT,
    DISTRIBUTE_CHOICES,
    MIXED_PRECISION_CHOICES,
    XLA_CHOICES,
)

EVALUATE_MODES = {"Euclidian": "euclidean", "euclidean": "euclidean", "similarity": "similarity"}


def add_backend_flag(parser):
    """--backend (cari_mtl.runtime.backend; read from the command line before Keras is imported)."""
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help=f"{BACKEND_HELP} (default {DEFAULT_BACKEND})")
    return parser


def add_speed_flags(parser):
    """--backend, --xla and --mixed_precision (cari_mtl.runtime.backend, cari_mtl.runtime.speed)."""
    add_backend_flag(parser)
    parser.add_argument("--xla", nargs="?", const="on", default="auto", choices=XLA_CHOICES,
                        help="compile the step with XLA (jit_compile); `--xla` alone means on. auto: on when "
                             "a GPU is visible, off on a CPU (default auto)")
    parser.add_argument("--mixed_precision", default="auto", choices=MIXED_PRECISION_CHOICES,
                        help="layer computations in 16 bits, variables, heads, losses and softmax in float32. "
                             "bfloat16; float16 (with dynamic loss scaling when training); off (float32). "
                             "auto: bfloat16 on a GPU with compute capability >= 8, float16 on 7.x, off on "
                             "older GPUs and on a CPU (default auto)")
    return parser


def add_collective_timeout_flag(parser):
    parser.add_argument("--collective_timeout", type=float, default=DEFAULT_COLLECTIVE_TIMEOUT,
                        help="--distribute multiworker: seconds the workers wait for one that stopped "
                             "(crashed, killed, unreachable) before every other worker stops with a message "
                             "naming the last checkpoint; also the longest wait for all workers to start "
                             f"(default {DEFAULT_COLLECTIVE_TIMEOUT:g})")
    return parser


def add_distribute_flag(parser):
    """--distribute (cari_mtl.runtime.distribute)."""
    parser.add_argument("--distribute", choices=DISTRIBUTE_CHOICES, default="none",
                        help="none: one device; mirrored: every local GPU (tf.distribute.MirroredStrategy); "
                             "multiworker: every GPU of the machines listed in TF_CONFIG "
                             "(MultiWorkerMirroredStrategy). --batch_size is the global batch, split evenly "
                             "across the replicas (default none)")
    return parser


def add_image_standardization_flag(parser):
    """--image_standardization; default None: the model directory's stored value (PORTING D13)."""
    parser.add_argument("--image_standardization", choices=STANDARDIZATIONS, default=None,
                        help="prewhiten: (x - mean) / std per image, the original's; fixed: (x - 127.5) / 128, "
                             "what FaceNet's 2018 checkpoints (VGGFace2 20180402-114759, CASIA-WebFace "
                             "20180408-102900) were trained with. Default: the model directory's stored value, "
                             "else prewhiten")
    return parser


def add_logits_relu_flag(parser):
    """--logits_relu on|off; default None: the model directory's stored value (PORTING N3)."""
    parser.add_argument("--logits_relu", choices=sorted(LOGITS_RELU_CHOICES), default=None,
                        help="on: ReLU after the photo and caricature logits (Logits, Logits_cari), the original's "
                             "quirk; off: linear logits like Logits_verif. From scratch with a high learning rate "
                             "the ReLU can kill both heads (every logit 0). Default: the model directory's stored "
                             "value, else on")
    return parser


def add_model_source_flags(parser):
    """--model_dir and what a TF1 checkpoint there needs: --image_size, --nrof_classes, --image_standardization."""
    parser.add_argument("--model_dir", required=True,
                        help="native model directory or TF1 checkpoint directory (converted on the fly)")
    parser.add_argument("--image_size", type=int, default=160,
                        help="input size when --model_dir is a TF1 checkpoint (default 160; a model "
                             "directory has its own)")
    parser.add_argument("--nrof_classes", type=int, default=None,
                        help="classes when --model_dir is a TF1 checkpoint without logits layers")
    add_image_standardization_flag(parser)
    return parser


def add_forward_batch_flag(parser):
    """--lfw_batch_size: images per forward pass of the evaluation (the original's name)."""
    parser.add_argument("--lfw_batch_size", type=int, default=100,
                        help="images per forward batch of the evaluation (default 100)")
    return parser


def add_verification_flags(parser):
    """--lfw_nrof_folds, --far and --evaluate_mode of the verification protocol (PORTING E3)."""
    parser.add_argument("--lfw_nrof_folds", type=int, default=10,
                        help="number of folds: of the verification pairs; of the protocol files k = 1..n for "
                             "identification (default 10)")
    parser.add_argument("--far", type=float, default=0.01,
                        help="false accept rate at which VAL is reported (default 0.01)")
    parser.add_argument("--evaluate_mode", default="Euclidian", choices=sorted(EVALUATE_MODES),
                        help="Euclidian/euclidean: squared L2 distance; similarity: PCA(128) then cosine "
                             "distance (verification only; default Euclidian)")
    return parser


def add_legacy_val_flag(parser):
    """--legacy_val of the verification (PORTING E1, E2)."""
    parser.add_argument("--legacy_val", action="store_true",
                        help="VAL as the original computes it: on the training folds (its bug), with the "
                             "threshold its numpy 1.16 sort picked among equal FAR values; default: on the "
                             "test fold, threshold in threshold order")
    return parser


def add_overwrite_flag(parser):
    """--overwrite: the one way to let a command replace an existing output (file or non-empty folder)."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output if it already exists (default: refuse an existing file or "
                             "non-empty folder, so that nothing is lost by mistake)")
    return parser

"""TF1 checkpoints (slim variable names) → the Keras network (PORTING N1, N8-N12, N16).

A Keras variable maps to a TF1 variable by name alone: layer `A.B.C` holds the variables of
scope `A/B/C`, and Keras's `kernel`/`bias` are slim's `weights`/`biases` (same layouts).
Which variables are taken depends on what the checkpoint is, as in the original:

- `cari`: a full model of this project (has `InceptionResnetV1_cari/`): everything.
- `expression`: trunk + photo branch (has `InceptionResnetV1_expression/`): those two scopes.
- `facenet`: a FaceNet-style model: every `InceptionResnetV1/` variable that exists by name
  (a full-depth model also has deeper repeats and a Bottleneck, left unused), then the photo
  branch is initialised by copying branch 1's `Repeat_2/block8_1` and `Block8`.

Optimizer slots, moving averages and counters are not loaded into the model; the training command
restores the optimizer slots separately (cari_mtl.training.step.optimizer_state), and the report counts them.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf

from cari_mtl.model.errors import CheckpointError  # noqa: F401 (raised here, imported from here by callers)

TRUNK = "InceptionResnetV1/"
PHOTO = "InceptionResnetV1_expression/"
CARI = "InceptionResnetV1_cari/"
VERIF_LOGITS_BIASES = "Logits_verif/biases"

KERAS_TO_SLIM = {
    "kernel": "weights",
    "bias": "biases",
    "beta": "beta",
    "moving_mean": "moving_mean",
    "moving_variance": "moving_variance",
}
# Branch-1 scopes copied into a branch that the checkpoint lacks (branch scope → trunk scope).
BRANCH_SOURCES = {"Repeat/block8_1/": "Repeat_2/block8_1/", "Block8/": "Block8/"}

_AUXILIARY = re.compile(
    r"(/(RMSProp|RMSProp_1|Momentum|Adam|Adam_1|Adagrad|Adadelta|Adadelta_1)$)"
    r"|ExponentialMovingAverage|/avg$|^global_step$|^Variable(_\d+)?$|^beta[12]_power"
)
_STEP = re.compile(r"-(\d+)\.index$")
_SLOT = re.compile(r"/(RMSProp|Momentum|Adam|Adagrad|Adadelta)(_1)?$")


@dataclass
class ConversionReport:
    checkpoint: str
    kind: str
    loaded: list = field(default_factory=list)
    copied: list = field(default_factory=list)
    unused: list = field(default_factory=list)
    skipped_auxiliary: int = 0
    left_initialised: list = field(default_factory=list)
    optimizer_slots: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def format(self):
        lines = [
            f"checkpoint: {self.checkpoint} ({self.kind} model)",
            f"loaded: {len(self.loaded)} variables",
            f"copied: {len(self.copied)} variables",
        ]
        lines += [f"  {source} -> {target}" for source, target in self.copied]
        lines.append(f"skipped (optimizer slots, moving averages, counters): {self.skipped_auxiliary}")
        for optimizer, count in sorted(self.optimizer_slots.items()):
            lines.append(f"  {count} {optimizer} optimizer slots: restored by train --pretrained_model with "
                         f"--optimizer {optimizer} (unless --no_restore_optimizer_state); a model directory "
                         f"holds weights only")
        lines += [f"note: {note}" for note in self.notes]
        lines.append(f"unused checkpoint variables: {len(self.unused)}")
        lines += [f"  {name}" for name in self.unused]
        lines.append(f"left initialised: {len(self.left_initialised)}")
        lines += [f"  {name}" for name in self.left_initialised]
        return "\n".join(lines)


def find_checkpoint_prefix(path):
    """The checkpoint prefix for a directory (newest `*.ckpt-N`) or an explicit prefix."""
    path = Path(path).expanduser()
    if Path(f"{path}.index").is_file():
        return str(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist: pass a TF1 checkpoint directory or prefix")
    if not path.is_dir():
        raise CheckpointError(f"{path} is neither a directory nor a checkpoint prefix (no {path.name}.index)")
    steps = []
    for index_file in path.glob("*.index"):
        match = _STEP.search(index_file.name)
        steps.append((int(match.group(1)) if match else -1, str(index_file)[: -len(".index")]))
    if not steps:
        raise CheckpointError(
            f"{path} holds no TF1 checkpoint (expected model-*.ckpt-N.index and .data-* files)"
        )
    return max(steps)[1]


class CheckpointVariables:
    """Lazy reader of one checkpoint; read errors become CheckpointError naming the file."""

    def __init__(self, prefix):
        self.prefix = prefix
        try:
            self._reader = tf.train.load_checkpoint(prefix)
        except (tf.errors.OpError, ValueError) as error:
            raise CheckpointError(f"cannot open checkpoint {prefix}: {_first_line(error)}") from None
        self.shapes = self._reader.get_variable_to_shape_map()

    def __contains__(self, name):
        return name in self.shapes

    def read(self, name):
        try:
            return self._reader.get_tensor(name)
        except (tf.errors.OpError, ValueError, IndexError) as error:
            raise CheckpointError(
                f"cannot read {name} from {self.prefix} ({_first_line(error)}): the .data file is "
                f"truncated or corrupt; copy the checkpoint again"
            ) from None

    def model_names(self):
        return sorted(name for name in self.shapes if not _AUXILIARY.search(name))

    def kind(self):
        names = self.model_names()
        if any(name.startswith(CARI) for name in names):
            return "cari"
        if any(name.startswith(PHOTO) for name in names):
            return "expression"
        return "facenet"

    def nrof_classes(self):
        """K of the verification head, or None when the checkpoint has no such layer."""
        shape = self.shapes.get(VERIF_LOGITS_BIASES)
        return int(shape[0]) if shape else None


def restores_heads(kind):
    """Only a full model of this project restores the logits layers (the original's Saver cases)."""
    return kind == "cari"


def keras_variables_by_slim_name(model):
    """{TF1 name: Keras variable} for every weight of the model."""
    mapping = {}
    for layer in model.layers:
        scope = layer.name.replace(".", "/")
        for variable in layer.weights:
            short = variable.path.rsplit("/", 1)[-1]
            mapping[f"{scope}/{KERAS_TO_SLIM.get(short, short)}"] = variable
    return mapping


def load_tf1_checkpoint(model, path, init_cari_from_verif=False):
    """Fills `model` from a TF1 checkpoint directory or prefix; returns a ConversionReport."""
    checkpoint = CheckpointVariables(find_checkpoint_prefix(path))
    kind = checkpoint.kind()
    report = ConversionReport(checkpoint.prefix, kind)
    report.skipped_auxiliary = len(checkpoint.shapes) - len(checkpoint.model_names())
    for name in checkpoint.shapes:
        slot = _SLOT.search(name)
        if slot:
            report.optimizer_slots[slot.group(1)] = report.optimizer_slots.get(slot.group(1), 0) + 1
    targets = keras_variables_by_slim_name(model)
    wanted = _restorable(kind)

    for name in checkpoint.model_names():
        if name in targets and wanted(name):
            _assign(targets[name], checkpoint.read(name), name, checkpoint.prefix)
            report.loaded.append(name)
        else:
            report.unused.append(name)

    copy_into = []
    if kind == "facenet":
        copy_into.append(PHOTO)
    if init_cari_from_verif:
        copy_into.append(CARI)
    filled = set(report.loaded)
    for branch in copy_into:
        for target_name, variable in targets.items():
            source_name = branch_source(target_name, branch)
            if source_name and source_name in filled:
                variable.assign(targets[source_name].numpy())
                report.copied.append((source_name, target_name))
                filled.add(target_name)
    report.left_initialised = sorted(set(targets) - filled)
    stored_classes = checkpoint.nrof_classes()
    model_classes = int(targets[VERIF_LOGITS_BIASES].shape[0])
    if not restores_heads(kind) and stored_classes not in (None, model_classes):
        report.notes.append(f"the checkpoint's logits layers have {stored_classes} classes, the model "
                            f"{model_classes}: skipped (the {kind} case never restores them, as the original)")
    return report


def _restorable(kind):
    if kind == "cari":
        return lambda name: True
    if kind == "expression":
        return lambda name: name.startswith((TRUNK, PHOTO))
    return lambda name: name.startswith(TRUNK)


def branch_source(target_name, branch):
    """Branch-1 variable whose values initialise `target_name` of `branch`, if any."""
    if not target_name.startswith(branch):
        return None
    rest = target_name[len(branch):]
    for branch_part, trunk_part in BRANCH_SOURCES.items():
        if rest.startswith(branch_part):
            return TRUNK + trunk_part + rest[len(branch_part):]
    return None


def _assign(variable, value, name, prefix):
    if tuple(variable.shape) != tuple(value.shape):
        raise CheckpointError(
            f"shape mismatch for {name}: checkpoint {prefix} has {list(value.shape)}, the model "
            f"expects {list(variable.shape)} (check --image_size and --nrof_classes)"
        )
    variable.assign(value.astype(variable.dtype))


def _first_line(error):
    message = getattr(error, "message", None) or str(error)
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__

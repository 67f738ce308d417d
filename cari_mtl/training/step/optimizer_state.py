"""The training state a TF1 checkpoint hands to the TrainStep besides the weights (PORTING N8, N15, T23).

The original's Savers restore, with the model, every global variable they cover: optimizer slots,
the `ExponentialMovingAverage` shadows and, for a full model, the center table. Which variables get
state from the checkpoint depends on its kind, as the original's three restore cases decide:

- `cari` (a Saver over every global variable): every slot and shadow, `centerloss/centers`, the
  global step;
- `expression` (every `InceptionResnetV1_expression/` variable, the global step `Variable`; the
  trunk's slots and shadows are filtered out by name): the photo branch's slots and shadows;
- `facenet` (every `InceptionResnetV1/` variable, then the substring copy loop from branch 1 into
  the photo branch): the trunk's slots and shadows, and the photo branch's from the branch-1
  variables its weights are copied from (`Repeat_2/block8_1`, `Block8`), slots and shadows included,
  because the loop's substring test also matches `<name>/RMSProp`, `/RMSProp_1` and
  `/ExponentialMovingAverage`.

A slot is taken only when the checkpoint was trained with the same optimizer (TF1 slot names say which).
"""

from dataclasses import dataclass

from cari_mtl.model.checkpoints import PHOTO, TRUNK, CheckpointVariables, branch_source, keras_variables_by_slim_name

# TF1 slot suffix → the Keras optimizer attribute holding that slot, per --optimizer. Adam is absent:
# TF1 keeps its bias correction in beta1_power/beta2_power, Keras in the shared iteration count.
SLOTS = {
    "RMSProp": (("RMSProp", "_velocities"), ("RMSProp_1", "_momentums")),
    "Momentum": (("Momentum", "momentums"),),
    "Adagrad": (("Adagrad", "_accumulators"),),
    "Adadelta": (("Adadelta", "_accumulated_grads"), ("Adadelta_1", "_accumulated_delta_vars")),
}
SHADOW = "ExponentialMovingAverage"
CENTERS = "centerloss/centers"
STEP_NAMES = ("global_step", "Variable")


@dataclass
class OptimizerStateReport:
    optimizer: str
    slots_restored: int = 0
    slots_copied: int = 0
    shadows_restored: int = 0
    shadows_copied: int = 0
    centers_restored: bool = False
    global_step: int = None

    def format(self):
        line = f"optimizer state: {self.slots_restored} {self.optimizer} slots restored"
        if self.slots_copied:
            line += f" ({self.slots_copied} of them branch 1's, copied into the photo branch)"
        line += f", {self.shadows_restored} moving averages restored"
        if self.shadows_copied:
            line += f" ({self.shadows_copied} copied into the photo branch)"
        if self.centers_restored:
            line += ", center table restored"
        if self.global_step is not None:
            line += f", global step {self.global_step}"
        return line


def state_source(kind):
    """name -> the checkpoint variable whose slots and moving average the original gives that
    variable, or None when its Savers leave them at their initial values."""
    if kind == "cari":
        return lambda name: name
    if kind == "expression":
        return lambda name: name if name.startswith(PHOTO) else None
    return lambda name: name if name.startswith(TRUNK) else branch_source(name, PHOTO)


def restore_optimizer_state(step, prefix, optimizer_name):
    """Fills `step`'s optimizer slots, moving averages, center table and global step from the
    checkpoint `prefix` as the original's Savers would; returns a report."""
    checkpoint = CheckpointVariables(prefix)
    kind = checkpoint.kind()
    report = OptimizerStateReport(optimizer_name)
    source_of = state_source(kind)
    names = {id(variable): name for name, variable in keras_variables_by_slim_name(step.model).items()}

    def read(variable, suffix):
        """The checkpoint value for `variable`'s state `suffix`, and whether it is another variable's."""
        owner = names[id(variable)]
        source = source_of(owner)
        name = f"{source}/{suffix}"
        if source is None or name not in checkpoint:
            return None, False
        return checkpoint.read(name), source != owner

    for group in step.groups:
        optimizer = step.optimizers[group.name]
        for suffix, attribute in SLOTS.get(optimizer_name, ()):
            slots = getattr(optimizer, attribute)
            for variable in step.group_variables(group):
                value, copied = read(variable, suffix)
                if value is not None:
                    slots[optimizer._get_variable_index(variable)].assign(value)
                    report.slots_restored += 1
                    report.slots_copied += copied
    for variable, shadow in zip(step.ema_sources, step.ema_shadows):
        value, copied = read(variable, SHADOW)
        if value is not None:
            shadow.assign(value)
            report.shadows_restored += 1
            report.shadows_copied += copied
    if kind == "cari" and CENTERS in checkpoint and tuple(checkpoint.shapes[CENTERS]) == tuple(step.centers.shape):
        step.centers.assign(checkpoint.read(CENTERS))
        report.centers_restored = True
    if kind in ("cari", "expression"):
        for name in STEP_NAMES:
            if name in checkpoint and not checkpoint.shapes[name]:
                report.global_step = int(checkpoint.read(name))
                step.global_step.assign(report.global_step)
                break
    return report

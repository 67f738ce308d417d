"""Optimizer slots and the global step of a TF1 checkpoint → the TrainStep's optimizers (PORTING N15).

The original restores, with the model, the optimizer slots its Savers cover: every slot in the
full-model case (a Saver over all global variables), the photo branch's slots and the global step
(`Variable`) in the photo-branch case, the trunk's slots in the FaceNet case. A slot is taken only
when the checkpoint was trained with the same optimizer (TF1 slot names say which).
"""

from dataclasses import dataclass

from cari_mtl.model.checkpoints import PHOTO, TRUNK, CheckpointVariables, keras_variables_by_slim_name

# TF1 slot suffix → the Keras optimizer attribute holding that slot, per --optimizer. Adam is absent:
# TF1 keeps its bias correction in beta1_power/beta2_power, Keras in the shared iteration count.
SLOTS = {
    "RMSProp": (("RMSProp", "_velocities"), ("RMSProp_1", "_momentums")),
    "Momentum": (("Momentum", "momentums"),),
    "Adagrad": (("Adagrad", "_accumulators"),),
    "Adadelta": (("Adadelta", "_accumulated_grads"), ("Adadelta_1", "_accumulated_delta_vars")),
}
STEP_NAMES = ("global_step", "Variable")


@dataclass
class OptimizerStateReport:
    optimizer: str
    slots_restored: int = 0
    global_step: int = None

    def format(self):
        line = f"optimizer state: {self.slots_restored} {self.optimizer} slots restored"
        if self.global_step is not None:
            line += f", global step {self.global_step}"
        return line


def slot_owners(kind):
    """Which variables' slots the original's Savers restore for a checkpoint kind."""
    if kind == "cari":
        return lambda name: True
    if kind == "expression":
        return lambda name: name.startswith(PHOTO)
    return lambda name: name.startswith(TRUNK)


def restore_optimizer_state(step, prefix, optimizer_name):
    """Fills `step`'s optimizer slots (and global step) from the checkpoint `prefix`; returns a report."""
    checkpoint = CheckpointVariables(prefix)
    kind = checkpoint.kind()
    report = OptimizerStateReport(optimizer_name)
    owners = slot_owners(kind)
    names = {id(variable): name for name, variable in keras_variables_by_slim_name(step.model).items()}
    for group in step.groups:
        optimizer = step.optimizers[group.name]
        for suffix, attribute in SLOTS.get(optimizer_name, ()):
            slots = getattr(optimizer, attribute)
            for variable in group.variables:
                owner = names[id(variable)]
                slot_name = f"{owner}/{suffix}"
                if owners(owner) and slot_name in checkpoint:
                    slots[optimizer._get_variable_index(variable)].assign(checkpoint.read(slot_name))
                    report.slots_restored += 1
    if kind in ("cari", "expression"):
        for name in STEP_NAMES:
            if name in checkpoint and not checkpoint.shapes[name]:
                report.global_step = int(checkpoint.read(name))
                step.global_step.assign(report.global_step)
                break
    return report

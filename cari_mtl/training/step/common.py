"""What both backends' steps share besides the formulas: their settings and the logs they return."""

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

from keras import ops

from cari_mtl.training.step import formulas
from cari_mtl.training.tasks import NROF_TASKS

LOGGED_COUNTS = ("positive_logits_photo", "positive_logits_cari")


@dataclass(frozen=True)
class StepSettings:
    """The hyper-parameters of a step.

    optimizer: one of OPTIMIZERS, with TF1 hyper-parameters, for every variable group.
    center_loss_factor, center_loss_alfa: beta of the center loss and the center update rate.
    lossweights_lr_factor: learning-rate factor of the weights head's optimizer (dynamic).
    moving_average_decay: decay of the moving averages of the trained variables.
    legacy_global_step: count the global step as the original (+1 per optimizer and iteration).
    loss_terms_fn: the per-task loss terms (formulas.task_loss_terms, bound to margin heads or label
        smoothing by formulas.task_loss_terms_fn; tests replace it).
    optimizer_options: keyword arguments of make_optimizer (AdamW's weight decay).
    learning_rate_schedule: a keras LearningRateSchedule evaluated at each iteration (its count: the
        global step / steps_per_iteration), in place of the rate passed per call (PORTING X3).
    """
    optimizer: str = "RMSProp"
    center_loss_factor: float = 0.0
    center_loss_alfa: float = 0.95
    lossweights_lr_factor: float = 1.0
    moving_average_decay: float = 0.9999
    legacy_global_step: bool = False
    loss_terms_fn: Callable = formulas.task_loss_terms
    optimizer_options: dict = field(default_factory=dict)
    learning_rate_schedule: object = None

    def __post_init__(self):
        for name in ("center_loss_factor", "center_loss_alfa", "lossweights_lr_factor", "moving_average_decay"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "optimizer_options", dict(self.optimizer_options or {}))

    @classmethod
    def of(cls, step, **options):
        """The settings of a StepConfig (its defaults resolved) and the options of step.options."""
        return cls(step.optimizer, step.center_loss_factor, step.center_loss_alfa, step.lossweights_lr_factor,
                   step.moving_average_decay, step.legacy_global_step, **options)

    def arguments(self):
        """The settings as the steps' keyword arguments."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}

    def rate_at(self, learning_rate, iteration):
        """The learning rate of an iteration: the schedule's, when there is one, else the rate passed."""
        if self.learning_rate_schedule is None:
            return learning_rate
        return ops.cast(self.learning_rate_schedule(iteration), "float32")


def lossweights_mean(terms):
    """The global batch mean [3] of Ψ's per-image output, from its summed terms."""
    return terms["lossweights_sum"] / terms["rows"]


def logs_of(values, learning_rate, global_step):
    """Every logged scalar of an iteration from its (global) values: L, L1-L4, CE1-CE3, w1-w3, center1,
    grad_norm_<group>, the heads' training accuracies, the counts of positive logits, the rate and step."""
    logs = {f"grad_norm_{name}": norm for name, norm in values["norms"].items()}
    for index in range(NROF_TASKS):
        logs[f"L{index + 1}"] = values["task_losses"][index]
        logs[f"CE{index + 1}"] = values["cross_entropies"][index]
        logs[f"w{index + 1}"] = values["task_weights"][index]
    logs.update(center1=values["center1"], L=values["L"], L4=values["L4"], learning_rate=learning_rate,
                global_step=global_step, **{name: formulas.safe_mean(*values[name]) for name in formulas.ACCURACIES},
                **{name: values[name] for name in LOGGED_COUNTS})
    return logs

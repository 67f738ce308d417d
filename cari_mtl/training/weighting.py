"""Task-weighting strategies: which weights multiply L1..L3 and which variables learn from what.

    dynamic (proposed)  w from the weights head Ψ; Θ (everything else) trained on L by one
                        optimizer, Ψ trained on L4 = sum w_i / (L_i + sigma) by a second one.
    naive (Yin & Liu)   w from Ψ; one optimizer trains Θ and Ψ together on L, which pushes the
                        weight of the hardest task down (the `*_navie.py` / `*naivedynamic*` scripts).
    static              w fixed from --static_weights; Ψ is not trained. One weight 1 and the
                        others 0 gives the paper's single-task baselines.

A strategy answers three questions for the train step: the task weights [3] of a batch, the
variable groups (each with its own optimizer), and the loss each group minimises.
"""

from dataclasses import dataclass

import tensorflow as tf

from cari_mtl.training import losses

WEIGHTS_HEAD = "Logits_lossweights"  # the only layer of Ψ


@dataclass(frozen=True)
class Group:
    """Variables updated by one optimizer from one objective ('L' or 'L4')."""
    name: str
    objective: str
    variables: tuple


def split_variables(model):
    """(Θ, Ψ): the trainable variables outside / inside the weights head layer."""
    psi_ids = {id(v) for v in model.get_layer(WEIGHTS_HEAD).trainable_variables}
    theta = tuple(v for v in model.trainable_variables if id(v) not in psi_ids)
    psi = tuple(v for v in model.trainable_variables if id(v) in psi_ids)
    return theta, psi


class Dynamic:
    """The proposed method: two optimizers, Θ on L, Ψ on L4."""
    name = "dynamic"

    def __init__(self, loss_weight_base=(0.0, 0.0, 0.0)):
        self.loss_weight_base = tuple(loss_weight_base)

    def lossweights_variant(self, dataset):
        return dataset

    def task_weights(self, lossweights):
        return losses.batch_task_weights(lossweights, self.loss_weight_base)

    def groups(self, model):
        theta, psi = split_variables(model)
        return (Group("theta", "L", theta), Group("psi", "L4", psi))


class Naive(Dynamic):
    """Yin & Liu's dynamic weights: everything, Ψ included, on L with one optimizer."""
    name = "naive"

    def lossweights_variant(self, dataset):
        return "naive"

    def groups(self, model):
        theta, psi = split_variables(model)
        return (Group("theta", "L", theta + psi),)


class Static:
    """Fixed weights (w1, w2, w3); Ψ stays untouched."""
    name = "static"

    def __init__(self, static_weights):
        if len(static_weights) != losses.NROF_TASKS:
            raise ValueError(f"--static_weights needs 3 comma-separated numbers, got {static_weights!r}")
        self.static_weights = tuple(float(w) for w in static_weights)

    def lossweights_variant(self, dataset):
        return dataset

    def task_weights(self, lossweights):
        return tf.constant(self.static_weights, tf.float32)

    def groups(self, model):
        theta, _ = split_variables(model)
        return (Group("theta", "L", theta),)


STRATEGIES = ("dynamic", "naive", "static")


def make_strategy(name, loss_weight_base=(0.0, 0.0, 0.0), static_weights=(1.0, 1.0, 1.0)):
    """The strategy for `--task_weighting`."""
    if name == "dynamic":
        return Dynamic(loss_weight_base)
    if name == "naive":
        return Naive(loss_weight_base)
    if name == "static":
        return Static(static_weights)
    raise ValueError(f"unknown --task_weighting {name!r}; choose one of {', '.join(STRATEGIES)}")


def objectives(task_weights, task_losses):
    """{'L': total loss, 'L4': weights loss} from w [3] and L [3]."""
    return {"L": losses.total_loss(task_weights, task_losses),
            "L4": losses.weights_loss(task_weights, task_losses)}

"""Task weightings: which weights multiply L1..L3 and which variables learn from what.

    dynamic (proposed)  w from the weights head Ψ; Θ (everything else) trained on L by one
                        optimizer, Ψ trained on L4 = sum w_i / (L_i + sigma) by a second one.
    naive (Yin & Liu)   w from Ψ; one optimizer trains Θ and Ψ together on L, which pushes the
                        weight of the hardest task down (the `*_navie.py` / `*naivedynamic*` scripts).
    static              w fixed from --static_weights; Ψ is not trained. One weight 1 and the
                        others 0 gives the paper's single-task baselines.

A weighting answers three questions for the train step: the task weights [3] of a batch, the
variable groups (each with its own optimizer), and the loss each group minimises. The methods of
the multi-task literature (cari_mtl.training.task_weighting) also use the hooks of `Weighting`:
their own variables, the per-step context (tape, task losses, outputs), gradients per group and
an update after the step.
"""

from dataclasses import dataclass, field

import tensorflow as tf

from cari_mtl.training import losses

WEIGHTS_HEAD = "Logits_lossweights"  # the only layer of Ψ
SHARED_FEATURES = "shared_features"  # the trunk's output (Mixed_7a), which every branch and Ψ read
HEAD_INPUT = "Logits_lossweights_input"  # the layer flattening the trunk's output for Ψ


@dataclass(frozen=True)
class Group:
    """Variables updated by one optimizer from one objective ('L' or 'L4')."""
    name: str
    objective: str
    variables: tuple


@dataclass
class StepContext:
    """What one replica's iteration knows when the weighting is asked for its weights: the (persistent)
    tape, the global task losses [3] and each of them as a scalar recorded by the tape (for
    gradients taken after the forward pass), the network's outputs and the model. Weightings may
    stash values in `extra` for `after_step`."""
    tape: object
    task_losses: object
    each_task_loss: list
    outputs: dict
    model: object
    extra: dict = field(default_factory=dict)


class Weighting:
    """Defaults of every hook: no variables of its own, L = sum w_i L_i and L4, plain gradients."""
    name = "weighting"
    supports_distribution = True
    needs_shared_features = False
    trace_key = None  # a value the compiled step is traced per (the stage of `staged`)

    def lossweights_variant(self, dataset):
        return dataset

    def build(self, model):
        """Creates the weighting's own variables (called under the distribution scope)."""

    def checkpoint_objects(self):
        return {}

    def lossweights(self, outputs):
        """The per-image weights head output the task weights are the batch mean of."""
        return outputs["lossweights"]

    def task_weights(self, lossweights, context):
        raise NotImplementedError

    def objectives(self, task_weights, task_losses):
        return objectives(task_weights, task_losses)

    def group_gradients(self, tape, group, targets, context):
        """Gradients of the group's objective for its variables (None where a variable has none)."""
        return tape.gradient(targets[group.objective], list(group.variables))

    def start_epoch(self, epoch):
        """Called by the trainer before each epoch (1-based), outside the compiled step."""

    @tf.autograph.experimental.do_not_convert  # nothing to convert (AutoGraph warns on a body-less method)
    def after_step(self, context):
        """State updates once the step's variables were updated (loss histories, learned weights)."""


def split_variables(model):
    """(Θ, Ψ): the trainable variables outside / inside the weights head layer."""
    psi_ids = {id(v) for v in model.get_layer(WEIGHTS_HEAD).trainable_variables}
    theta = tuple(v for v in model.trainable_variables if id(v) not in psi_ids)
    psi = tuple(v for v in model.trainable_variables if id(v) in psi_ids)
    return theta, psi


class Dynamic(Weighting):
    """The proposed method: two optimizers, Θ on L, Ψ on L4.

    detach_weights_input: Ψ sees the trunk features through a stop-gradient, so L's gradient no
    longer reaches the trunk through w and only L4 moves the weights (what the paper's README
    describes; the original lets L's gradient through, PORTING T5).
    """
    name = "dynamic"

    def __init__(self, loss_weight_base=(0.0, 0.0, 0.0), detach_weights_input=False):
        self.loss_weight_base = tuple(loss_weight_base)
        self.detach_weights_input = detach_weights_input
        self.needs_shared_features = detach_weights_input

    def lossweights(self, outputs):
        if not self.detach_weights_input:
            return outputs["lossweights"]
        return weights_head(self.model, tf.stop_gradient(outputs[SHARED_FEATURES]))

    def build(self, model):
        self.model = model

    def task_weights(self, lossweights, context=None):
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


class Static(Weighting):
    """Fixed weights (w1, w2, w3); Ψ stays untouched."""
    name = "static"

    def __init__(self, static_weights):
        if len(static_weights) != losses.NROF_TASKS:
            raise ValueError(f"--static_weights needs 3 comma-separated numbers, got {static_weights!r}")
        self.static_weights = tuple(float(w) for w in static_weights)

    def task_weights(self, lossweights, context=None):
        return tf.constant(self.static_weights, tf.float32)

    def groups(self, model):
        theta, _ = split_variables(model)
        return (Group("theta", "L", theta),)


def weights_head(model, shared_features):
    """Ψ applied to given trunk features: the layers of the network's weights head, from its flatten on."""
    x = model.get_layer(HEAD_INPUT)(shared_features)
    if any(layer.name == "norm_lossweights_input" for layer in model.layers):
        x = model.get_layer("norm_lossweights_input")(x)
    x = model.get_layer(WEIGHTS_HEAD)(x)
    x = model.get_layer("norm_lossweights")(x)
    return model.get_layer("softmax_lossweights")(x)


def with_shared_features(model):
    """A view of `model` (same layers and variables) that also returns the trunk's output."""
    import keras

    return keras.Model(model.input, {**model.output, SHARED_FEATURES: model.get_layer(HEAD_INPUT).input})


def objectives(task_weights, task_losses):
    """{'L': total loss, 'L4': weights loss} from w [3] and L [3]."""
    return {"L": losses.total_loss(task_weights, task_losses),
            "L4": losses.weights_loss(task_weights, task_losses)}

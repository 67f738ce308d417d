"""The interface of a task weighting, one class per method for both backends.

A weighting answers, for the train step: the task weights [3] of a batch, the variable groups
(each with its own optimizer and objective), and, for the methods of the literature, what it keeps
between steps. It is written once, functionally, in `keras.ops`: its state is a dict of arrays that
the step holds (tf.Variables under TensorFlow, entries of the jitted state under JAX) and passes in;
`after_step` returns the next state instead of assigning it. What is backend-specific (a tape or a
vjp, summing replicas) stays in the steps, which supply it through two hooks:

    extras(task_gradient, state)   `task_gradient(task, indices)`: the global-batch gradients of task
                                   loss `task` for model.trainable_variables[indices]
    task_weights(..., feature_gram)  the Gram matrix [3, 3] of the task losses' gradients with respect
                                   to the trunk's output, when `needs_feature_gradients`

`state()["params"]` are the method's own trained parameters (Kendall's log-variances): a group names
them in `params`, and its optimizer updates them with the network's variables.
"""

from dataclasses import dataclass

from keras import ops

from cari_mtl.training.step.formulas import objectives
from cari_mtl.training.tasks import HEAD_INPUT, WEIGHTS_HEAD


@dataclass(frozen=True)
class Group:
    """One optimizer's share: model.trainable_variables[indices] and the weighting's params named in
    `params`, updated from the objective `objective` ('L' or 'L4')."""
    name: str
    objective: str
    indices: tuple
    params: tuple = ()


class Weighting:
    """Defaults of every hook: no state, Θ (everything but Ψ) on L = sum w_i L_i, plain gradients."""
    name = "weighting"
    trace_key = None  # a value the compiled step is traced per (the stage of `staged`)
    needs_feature_gradients = False  # the step supplies `feature_gram` (MGDA)
    detach_weights_input = False  # the step feeds Ψ the trunk's output behind a stop-gradient
    supports_distribution = True

    def lossweights_variant(self, dataset_variant):
        """The form of the weights head for a dataset whose own form is `dataset_variant`."""
        return dataset_variant

    def groups(self, model):
        """The variable groups, found on `model` (called once, before `state`)."""
        theta, _ = split_indices(model)
        return (Group("theta", "L", theta),)

    def state(self):
        """Initial values of what the method keeps between steps; "params": its trained parameters."""
        return {"params": {}}

    def start_epoch(self, epoch):
        """Called by the trainer before each epoch (1-based), outside the compiled step."""

    def task_weights(self, lossweights, state, feature_gram=None):
        """The weights [3]; `lossweights` [3]: the global batch mean of Ψ's per-image output."""
        raise NotImplementedError

    def objectives(self, task_weights, task_losses, state):
        return objectives(task_weights, task_losses)

    def extras(self, task_gradient, state):
        """Values the method needs from per-task gradients, for `group_gradients` and `after_step`."""
        return {}

    def group_gradients(self, group, gradients, extras):
        """The group's global-batch gradients (None: that variable is not updated this step)."""
        return gradients

    def after_step(self, state, task_losses, extras):
        """The state after the step (its params already updated by the optimizers)."""
        return state


def split_indices(model):
    """(Θ, Ψ): indices into model.trainable_variables outside / inside the weights head layer."""
    psi_ids = {id(v) for v in model.get_layer(WEIGHTS_HEAD).trainable_variables}
    variables = model.trainable_variables
    return (tuple(i for i, v in enumerate(variables) if id(v) not in psi_ids),
            tuple(i for i, v in enumerate(variables) if id(v) in psi_ids))


def trunk_indices(model):
    """Indices of the shared trunk's variables: everything upstream of the features Ψ reads."""
    import keras

    trunk = {id(v) for v in keras.Model(model.input, model.get_layer(HEAD_INPUT).input).trainable_variables}
    return tuple(i for i, v in enumerate(model.trainable_variables) if id(v) in trunk)


def constant_weights(values):
    """A float32 [3] tensor of fixed task weights."""
    return ops.convert_to_tensor(values, "float32")

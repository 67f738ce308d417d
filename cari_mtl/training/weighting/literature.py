"""Task-weighting methods of the multi-task literature (docs/TASK_WEIGHTING.md), for both backends.

    uncertainty  Kendall, Gal, Cipolla (CVPR 2018): learned log-variances s, L = sum exp(-s_i) L_i + s_i
    dwa          Liu, Johns, Davison (CVPR 2019): w = 3 softmax(r / T), r_i = ratio of the task's mean loss
                 over the last two windows of steps (w = 1 for the first two windows)
    gradnorm     Chen et al. (ICML 2018): w learned so that ||d(w_i L_i)/dW|| at the last shared layer W
                 follows mean(G) r_i^alpha; renormalised to sum 3 after every update
    pcgrad       Yu et al. (NeurIPS 2020): the trunk's per-task gradients are projected off each other
                 when they conflict, visiting the others in each of the six orders in turn, then summed; w = 1
    mgda         Sener & Koltun (NeurIPS 2018), MGDA-UB: w = the min-norm convex combination of the task
                 gradients with respect to the trunk's output (exact for 3 tasks)
    staged       the alternating schedule of TFN (task-oriented feature-fused network, IEEE TIP): a joint
                 stage (w = 1), then one stage per task in which only that task's branch (and the trunk
                 for the verification task) learns from that task's loss; stage lengths in epochs, repeated

Every value is a global-batch value under --distribute (the steps supply summed gradients and Gram
matrices). The weights head Ψ is not trained by any of them (as `static`). The logged w1..w3 are each
method's (effective) task weights.
"""

import numpy as np
from keras import ops

from cari_mtl.training.config_checks import check_staged_epochs
from cari_mtl.training.step.formulas import objectives
from cari_mtl.training.tasks import BRANCHES, NROF_TASKS
from cari_mtl.training.weighting import formulas
from cari_mtl.training.weighting.base import Group, Weighting, constant_weights, split_indices, trunk_indices


def zeros():
    return np.zeros([NROF_TASKS], np.float32)


class Uncertainty(Weighting):
    """Learned log-variances s (trained by Θ's optimizer): L = sum exp(-s_i) L_i + s_i, w = exp(-s)."""
    name = "uncertainty"

    def state(self):
        return {"params": {"log_variances": zeros()}}

    def groups(self, model):
        theta, _ = split_indices(model)
        return (Group("theta", "L", theta, params=("log_variances",)),)

    def task_weights(self, lossweights, state, feature_gram=None):
        return ops.exp(-state["params"]["log_variances"])

    def objectives(self, task_weights, task_losses, state):
        return {"L": formulas.uncertainty_objective(task_losses, state["params"]["log_variances"]),
                "L4": objectives(task_weights, task_losses)["L4"]}


class DynamicWeightAverage(Weighting):
    """w = 3 softmax(r / T) from the mean task losses of the last two windows of steps."""
    name = "dwa"

    def __init__(self, dwa_temperature=2.0, dwa_window=1000):
        self.temperature = float(dwa_temperature)
        self.window = int(dwa_window)

    def state(self):
        return {"params": {}, "window_sum": zeros(), "window_steps": np.int32(0), "previous": zeros(),
                "before_previous": zeros(), "windows_done": np.int32(0)}

    def task_weights(self, lossweights, state, feature_gram=None):
        return formulas.dwa_weights(state["previous"], state["before_previous"], state["windows_done"],
                                    self.temperature)

    def after_step(self, state, task_losses, extras):
        return {**state, **formulas.dwa_after_step(state, task_losses, self.window)}


class GradNorm(Weighting):
    """Weights learned so that ||d(w_i L_i)/dW|| at the last shared kernel W follows mean(G) r_i^alpha."""
    name = "gradnorm"

    def __init__(self, gradnorm_alpha=1.5, gradnorm_lr=0.025):
        self.alpha = float(gradnorm_alpha)
        self.learning_rate = float(gradnorm_lr)

    def state(self):
        return {"params": {}, "weights": np.ones([NROF_TASKS], np.float32), "initial_losses": zeros()}

    def groups(self, model):
        variables = model.trainable_variables
        self.shared_kernel = [i for i in trunk_indices(model) if len(variables[i].shape) > 1][-1]
        return super().groups(model)

    def task_weights(self, lossweights, state, feature_gram=None):
        return state["weights"]

    def extras(self, task_gradient, state):
        return {"norms": ops.stack([ops.norm(ops.reshape(task_gradient(task, [self.shared_kernel])[0], [-1]))
                                    for task in range(NROF_TASKS)])}

    def after_step(self, state, task_losses, extras):
        started = ops.any(state["initial_losses"] > 0)
        initial = ops.where(started, state["initial_losses"], task_losses)
        weights = formulas.gradnorm_update(state["weights"], extras["norms"], task_losses, initial,
                                           self.alpha, self.learning_rate)
        return {**state, "weights": weights, "initial_losses": initial}


class PCGrad(Weighting):
    """The trunk's per-task gradients projected off each other where they conflict, then summed; the
    visiting order follows the step count (formulas.pcgrad_order)."""
    name = "pcgrad"

    def state(self):
        return {"params": {}, "steps": np.int32(0)}

    def groups(self, model):
        self.shared = trunk_indices(model)
        self.shapes = [tuple(model.trainable_variables[i].shape) for i in self.shared]
        return super().groups(model)

    def task_weights(self, lossweights, state, feature_gram=None):
        return constant_weights([1.0] * NROF_TASKS)

    def extras(self, task_gradient, state):
        per_task = ops.stack([ops.concatenate([ops.reshape(g, [-1]) for g in task_gradient(task, self.shared)])
                              for task in range(NROF_TASKS)])
        return {"combined": formulas.pcgrad(per_task, formulas.pcgrad_order(state["steps"]))}

    def group_gradients(self, group, gradients, extras):
        gradients, offset = list(gradients), 0
        position = {index: p for p, index in enumerate(group.indices)}
        for index, shape in zip(self.shared, self.shapes):
            size = int(np.prod(shape))
            gradients[position[index]] = ops.reshape(extras["combined"][offset:offset + size], shape)
            offset += size
        return gradients

    def after_step(self, state, task_losses, extras):
        return {**state, "steps": state["steps"] + 1}


class MGDA(Weighting):
    """w = the min-norm convex combination of the task losses' gradients with respect to the trunk's output
    (formulas.min_norm_weights_from_gram, in float64 where the backend has it)."""
    name = "mgda"
    needs_feature_gradients = True

    def task_weights(self, lossweights, state, feature_gram=None):
        return ops.stop_gradient(formulas.min_norm_weights_from_gram(feature_gram, formulas.widest_float()))


class Staged(Weighting):
    """A joint stage (w = 1), then one stage per task in which only that task's branch (and the trunk for
    the verification task) learns from that task's loss; stage lengths in epochs, repeated."""
    name = "staged"

    def __init__(self, staged_epochs=(1, 1, 1, 1)):
        self.epochs = check_staged_epochs(staged_epochs)
        self.trace_key = 0  # the stage: 0 joint, 1 + task index

    def groups(self, model):
        import keras

        trunk = set(trunk_indices(model))
        index_of = {id(v): i for i, v in enumerate(model.trainable_variables)}
        own = [{index_of[id(v)] for v in keras.Model(model.input, [model.output[k] for k in keys])
                .trainable_variables} - trunk for keys in BRANCHES]
        self.trained = [None, trunk | own[0], own[1], own[2]]  # per stage; None: everything
        return super().groups(model)

    def start_epoch(self, epoch):
        self.trace_key = formulas.stage_of_epoch(self.epochs, epoch)

    def task_weights(self, lossweights, state, feature_gram=None):
        if self.trace_key == 0:
            return constant_weights([1.0] * NROF_TASKS)
        return constant_weights(np.eye(NROF_TASKS)[self.trace_key - 1])

    def group_gradients(self, group, gradients, extras):
        trained = self.trained[self.trace_key]
        if trained is None:
            return gradients
        return [g if i in trained else None for g, i in zip(gradients, group.indices)]

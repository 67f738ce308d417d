"""Task-weighting methods of the multi-task literature as train-step weightings (docs/TASK_WEIGHTING.md).

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

Every value is a global-batch value under --distribute: gradients, Gram matrices and norms are
summed over the replicas before any non-linear step. The weights head Ψ is not trained by any of
them (as `static`). The logged w1..w3 are each method's (effective) task weights.
"""

import keras
import tensorflow as tf

from cari_mtl.runtime import distribute
from cari_mtl.training import losses, mtl_methods, weighting_math
from cari_mtl.training.config_checks import check_staged_epochs
from cari_mtl.training.weighting import HEAD_INPUT, SHARED_FEATURES, Group, Weighting, split_variables


def trunk_variables(model):
    """The shared trunk's trainable variables: everything upstream of the features Ψ reads."""
    return keras.Model(model.input, model.get_layer(HEAD_INPUT).input).trainable_variables


def replicas():
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


class EqualWeightsBase(Weighting):
    """Θ on L with one optimizer; Ψ untouched."""

    def groups(self, model):
        theta, _ = split_variables(model)
        return (Group("theta", "L", theta),)


class Uncertainty(EqualWeightsBase):
    name = "uncertainty"

    def build(self, model):
        # A Keras variable, like the network's: the optimizers update it the same way on every replica.
        self.log_variances = keras.Variable(tf.zeros([losses.NROF_TASKS]), name="uncertainty_log_variances")

    def checkpoint_objects(self):
        return {"log_variances": self.log_variances}

    def groups(self, model):
        theta, _ = split_variables(model)
        return (Group("theta", "L", theta + (self.log_variances,)),)

    def task_weights(self, lossweights, context=None):
        return tf.exp(-tf.convert_to_tensor(self.log_variances))

    def objectives(self, task_weights, task_losses):
        return {"L": mtl_methods.uncertainty_objective(task_losses, self.log_variances),
                "L4": losses.weights_loss(task_weights, task_losses)}

    def group_gradients(self, tape, group, targets, context):
        # s_i enters the objective through global values on every replica: its gradient, summed over
        # the replicas by the step, must count once.
        gradients = tape.gradient(targets[group.objective], list(group.variables))
        return gradients[:-1] + [gradients[-1] / replicas()]


class DynamicWeightAverage(EqualWeightsBase):
    name = "dwa"

    def __init__(self, dwa_temperature=2.0, dwa_window=1000):
        self.temperature = float(dwa_temperature)
        self.window = int(dwa_window)

    def build(self, model):
        zeros = tf.zeros([losses.NROF_TASKS])
        self.window_sum = tf.Variable(zeros, trainable=False, name="dwa_window_sum")
        self.window_steps = tf.Variable(0, trainable=False, name="dwa_window_steps")
        self.previous = tf.Variable(zeros, trainable=False, name="dwa_previous")
        self.before_previous = tf.Variable(zeros, trainable=False, name="dwa_before_previous")
        self.windows_done = tf.Variable(0, trainable=False, name="dwa_windows_done")

    def checkpoint_objects(self):
        return {"window_sum": self.window_sum, "window_steps": self.window_steps, "previous": self.previous,
                "before_previous": self.before_previous, "windows_done": self.windows_done}

    def task_weights(self, lossweights, context=None):
        weights = mtl_methods.dwa_weights(tf.convert_to_tensor(self.previous),
                                          tf.maximum(tf.convert_to_tensor(self.before_previous), 1e-12),
                                          self.temperature)
        return tf.where(self.windows_done >= 2, weights, tf.ones_like(weights))

    def after_step(self, context):
        self.window_sum.assign_add(context.task_losses)
        self.window_steps.assign_add(1)
        closing = self.window_steps >= self.window
        mean = self.window_sum / tf.cast(tf.maximum(self.window_steps, 1), tf.float32)
        self.before_previous.assign(tf.where(closing, self.previous, self.before_previous))
        self.previous.assign(tf.where(closing, mean, self.previous))
        self.windows_done.assign_add(tf.cast(closing, tf.int32))
        self.window_sum.assign(tf.where(closing, tf.zeros_like(self.window_sum), self.window_sum))
        self.window_steps.assign(tf.where(closing, 0, self.window_steps))


class GradNorm(EqualWeightsBase):
    name = "gradnorm"

    def __init__(self, gradnorm_alpha=1.5, gradnorm_lr=0.025):
        self.alpha = float(gradnorm_alpha)
        self.learning_rate = float(gradnorm_lr)

    def build(self, model):
        self.shared_kernel = [v for v in trunk_variables(model) if len(v.shape) > 1][-1]
        self.weights = tf.Variable(tf.ones([losses.NROF_TASKS]), trainable=False, name="gradnorm_weights")
        self.initial_losses = tf.Variable(tf.zeros([losses.NROF_TASKS]), trainable=False, name="gradnorm_initial")

    def checkpoint_objects(self):
        return {"weights": self.weights, "initial_losses": self.initial_losses}

    def task_weights(self, lossweights, context):
        gradients = [context.tape.gradient(context.each_task_loss[task], self.shared_kernel)
                     for task in range(losses.NROF_TASKS)]
        gradients = distribute.replica_sum([tf.zeros_like(self.shared_kernel) if g is None else g for g in gradients])
        context.extra["norms"] = tf.stack([tf.norm(g) for g in gradients])
        return tf.convert_to_tensor(self.weights)

    def after_step(self, context):
        started = tf.reduce_any(self.initial_losses > 0)
        initial = tf.where(started, tf.convert_to_tensor(self.initial_losses), context.task_losses)
        self.initial_losses.assign(initial)
        weights = tf.convert_to_tensor(self.weights)
        with tf.GradientTape() as tape:
            tape.watch(weights)
            loss = mtl_methods.gradnorm_loss(weights * context.extra["norms"], context.task_losses, initial,
                                             self.alpha)
        updated = tf.maximum(weights - self.learning_rate * tape.gradient(loss, weights), 0.0)
        self.weights.assign(losses.NROF_TASKS * updated / tf.reduce_sum(updated))


class PCGrad(EqualWeightsBase):
    name = "pcgrad"

    def build(self, model):
        self.shared_ids = {id(v) for v in trunk_variables(model)}
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="pcgrad_steps")

    def checkpoint_objects(self):
        return {"steps": self.steps}

    def task_weights(self, lossweights, context=None):
        return tf.ones([losses.NROF_TASKS])

    def group_gradients(self, tape, group, targets, context):
        variables = list(group.variables)
        summed = tape.gradient(targets[group.objective], variables)
        shared = [index for index, v in enumerate(variables) if id(v) in self.shared_ids and summed[index] is not None]
        per_task = []
        for task in range(losses.NROF_TASKS):
            grads = tape.gradient(context.each_task_loss[task], [variables[i] for i in shared])
            per_task.append(tf.concat([tf.reshape(tf.zeros_like(variables[i]) if g is None else g, [-1])
                                       for i, g in zip(shared, grads)], axis=0))
        per_task = distribute.replica_sum(tf.stack(per_task))
        combined = weighting_math.pcgrad(per_task, weighting_math.pcgrad_order(self.steps))
        combined = combined / replicas()  # the step sums the replicas again
        offset = 0
        for index in shared:
            size = int(tf.size(variables[index]))
            summed[index] = tf.reshape(combined[offset:offset + size], variables[index].shape)
            offset += size
        return summed

    def after_step(self, context):
        self.steps.assign_add(1)


class MGDA(EqualWeightsBase):
    name = "mgda"
    needs_shared_features = True

    def task_weights(self, lossweights, context):
        features = context.outputs[SHARED_FEATURES]
        rows = []
        for task in range(losses.NROF_TASKS):
            gradient = context.tape.gradient(context.each_task_loss[task], features)
            rows.append(tf.reshape(tf.zeros_like(features) if gradient is None else gradient, [-1]))
        rows = tf.stack(rows)
        gram = distribute.replica_sum(tf.matmul(rows, rows, transpose_b=True))
        return tf.stop_gradient(weighting_math.min_norm_weights_from_gram(gram))


TASK_OUTPUTS = (("embeddings", "logits_verif"), ("embeddings_visual", "logits_visual"),
                ("embeddings_cari", "logits_cari"))


class Staged(EqualWeightsBase):
    name = "staged"

    def __init__(self, staged_epochs=(1, 1, 1, 1)):
        self.epochs = check_staged_epochs(staged_epochs)
        self.trace_key = 0  # the stage: 0 joint, 1 + task index

    def build(self, model):
        trunk = {id(v) for v in trunk_variables(model)}
        own = [{id(v) for v in keras.Model(model.input, [model.output[k] for k in keys]).trainable_variables} - trunk
               for keys in TASK_OUTPUTS]
        self.trained = [None, trunk | own[0], own[1], own[2]]  # per stage; None: everything

    def start_epoch(self, epoch):
        self.trace_key = weighting_math.stage_of_epoch(self.epochs, epoch)

    def task_weights(self, lossweights, context=None):
        if self.trace_key == 0:
            return tf.ones([losses.NROF_TASKS])
        return tf.one_hot(self.trace_key - 1, losses.NROF_TASKS)

    def group_gradients(self, tape, group, targets, context):
        gradients = tape.gradient(targets[group.objective], list(group.variables))
        trained = self.trained[self.trace_key]
        if trained is None:
            return gradients
        return [gradient if id(variable) in trained else None for gradient, variable in zip(gradients, group.variables)]


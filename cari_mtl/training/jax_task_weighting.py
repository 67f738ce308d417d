"""The task-weighting methods of the literature under the JAX backend, with the semantics of their
TensorFlow versions (cari_mtl.training.task_weighting, docs/TASK_WEIGHTING.md): uncertainty, dwa,
staged, gradnorm, pcgrad, mgda. Each is a JaxWeighting whose own arrays (log-variances, loss histories, learned
weights) live in the jitted step's state, so the .npz checkpoints hold them and a resume is exact;
the stage of `staged` follows the epoch, as under TensorFlow. `make_jax_weighting` builds any
method of the registry (cari_mtl.training.weighting_methods) for a JAX run."""

import jax
import jax.numpy as jnp
import keras

from cari_mtl.training import step_math, weighting_math, weighting_methods
from cari_mtl.training.config import StepConfig
from cari_mtl.training.config_checks import check_staged_epochs
from cari_mtl.training.jax_split import FEATURE_GRADIENTS
from cari_mtl.training.jax_step import JAX_WEIGHTINGS, JaxGroup, JaxWeighting

NROF_TASKS = 3
TASK_OUTPUTS = (("embeddings", "logits_verif"), ("embeddings_visual", "logits_visual"),
                ("embeddings_cari", "logits_cari"))


def trunk_ids(model):
    """ids of the shared trunk's trainable variables: everything upstream of the features Ψ reads."""
    return [id(v) for v in keras.Model(model.input, model.get_layer(step_math.HEAD_INPUT).input).trainable_variables]


class EqualWeightsBase(JaxWeighting):
    """Θ on L with one optimizer; Ψ untouched."""

    def __init__(self):
        self.name = type(self).name

    def groups(self, model):
        psi_ids = {id(v) for v in model.get_layer(step_math.WEIGHTS_HEAD).trainable_variables}
        theta = tuple(i for i, v in enumerate(model.trainable_variables) if id(v) not in psi_ids)
        return (JaxGroup("theta", "L", theta, tuple(model.trainable_variables[i] for i in theta)),)


class Uncertainty(EqualWeightsBase):
    """Learned log-variances s (a parameter of Θ's optimizer): L = sum exp(-s_i) L_i + s_i, w = exp(-s)."""
    name = "uncertainty"

    def state(self):
        return {"params": [jnp.zeros([NROF_TASKS], jnp.float32)]}

    def groups(self, model):
        (theta,) = super().groups(model)
        # A Keras variable only so that the optimizer builds its slots for it; its value is the state's.
        self.log_variances = keras.Variable(jnp.zeros([NROF_TASKS]), name="uncertainty_log_variances")
        return (JaxGroup("theta", "L", theta.indices, theta.variables + (self.log_variances,), params=(0,)),)

    def task_weights(self, outputs, state):
        return jnp.exp(-state["params"][0])

    def objectives(self, task_weights, task_losses, state):
        return {"L": weighting_math.uncertainty_objective(task_losses, state["params"][0]),
                "L4": step_math.objectives(task_weights, task_losses)["L4"]}


class DynamicWeightAverage(EqualWeightsBase):
    """w = 3 softmax(r / T) from the mean task losses of the last two windows of steps."""
    name = "dwa"

    def __init__(self, dwa_temperature=2.0, dwa_window=1000):
        super().__init__()
        self.temperature = float(dwa_temperature)
        self.window = int(dwa_window)

    def state(self):
        def zeros():  # one buffer each: the compiled step donates its state
            return jnp.zeros([NROF_TASKS], jnp.float32)

        return {"params": [], "window_sum": zeros(), "window_steps": jnp.asarray(0, jnp.int32), "previous": zeros(),
                "before_previous": zeros(), "windows_done": jnp.asarray(0, jnp.int32)}

    def task_weights(self, outputs, state):
        return weighting_math.dwa_weights(state["previous"], state["before_previous"], state["windows_done"],
                                          self.temperature)

    def after_step(self, state, task_losses, extras):
        history = weighting_math.dwa_after_step(state, task_losses, self.window)
        return {**state, **history}


class Staged(EqualWeightsBase):
    """A joint stage (w = 1), then one stage per task in which only that task's branch (and the trunk for
    the verification task) learns from that task's loss; stage lengths in epochs, repeated."""
    name = "staged"

    def __init__(self, staged_epochs=(1, 1, 1, 1)):
        super().__init__()
        self.epochs = check_staged_epochs(staged_epochs)
        self.trace_key = 0  # the stage: 0 joint, 1 + task index

    def groups(self, model):
        trunk = set(trunk_ids(model))
        own = [{id(v) for v in keras.Model(model.input, [model.output[k] for k in keys]).trainable_variables} - trunk
               for keys in TASK_OUTPUTS]
        self.trained = [None, trunk | own[0], own[1], own[2]]  # per stage; None: everything
        return super().groups(model)

    def start_epoch(self, epoch):
        self.trace_key = weighting_math.stage_of_epoch(self.epochs, epoch)

    def task_weights(self, outputs, state):
        if self.trace_key == 0:
            return jnp.ones([NROF_TASKS], jnp.float32)
        return jnp.eye(NROF_TASKS, dtype=jnp.float32)[self.trace_key - 1]

    def group_gradients(self, group, gradients, task_gradient, extras):
        trained = self.trained[self.trace_key]
        if trained is None:
            return gradients
        return [g if id(v) in trained else None for g, v in zip(gradients, group.variables)]


class GradNorm(EqualWeightsBase):
    """Weights learned so that ||d(w_i L_i)/dW|| at the last shared kernel W follows mean(G) r_i^alpha."""
    name = "gradnorm"

    def __init__(self, gradnorm_alpha=1.5, gradnorm_lr=0.025):
        super().__init__()
        self.alpha = float(gradnorm_alpha)
        self.learning_rate = float(gradnorm_lr)

    def state(self):
        return {"params": [], "weights": jnp.ones([NROF_TASKS], jnp.float32),
                "initial_losses": jnp.zeros([NROF_TASKS], jnp.float32)}

    def groups(self, model):
        trunk = set(trunk_ids(model))
        self.shared_kernel = [i for i, v in enumerate(model.trainable_variables)
                              if id(v) in trunk and len(v.shape) > 1][-1]
        return super().groups(model)

    def task_weights(self, outputs, state):
        return state["weights"]

    def extras(self, task_gradient, state):
        return {"norms": jnp.stack([jnp.linalg.norm(task_gradient(task)[0][self.shared_kernel])
                                    for task in range(NROF_TASKS)])}

    def after_step(self, state, task_losses, extras):
        started = jnp.any(state["initial_losses"] > 0)
        initial = jnp.where(started, state["initial_losses"], task_losses)
        weights = weighting_math.gradnorm_update(state["weights"], extras["norms"], task_losses, initial,
                                                 self.alpha, self.learning_rate)
        return {**state, "weights": weights, "initial_losses": initial}


class PCGrad(EqualWeightsBase):
    """The trunk's per-task gradients projected off each other where they conflict, then summed; the
    visiting order is the step count's (weighting_math.pcgrad_order), as under TensorFlow."""
    name = "pcgrad"

    def state(self):
        return {"params": [], "steps": jnp.asarray(0, jnp.int32)}

    def groups(self, model):
        trunk = set(trunk_ids(model))
        self.shared = [i for i, v in enumerate(model.trainable_variables) if id(v) in trunk]
        return super().groups(model)

    def task_weights(self, outputs, state):
        return jnp.ones([NROF_TASKS], jnp.float32)

    def extras(self, task_gradient, state):
        per_task = jnp.stack([jnp.concatenate([jnp.ravel(task_gradient(task)[0][i]) for i in self.shared])
                              for task in range(NROF_TASKS)])
        return {"combined": weighting_math.pcgrad(per_task, weighting_math.pcgrad_order(state["steps"]))}

    def group_gradients(self, group, gradients, task_gradient, extras):
        gradients, offset = list(gradients), 0
        for position, index in enumerate(group.indices):
            if index in self.shared:
                size = gradients[position].size
                gradients[position] = extras["combined"][offset:offset + size].reshape(gradients[position].shape)
                offset += size
        return gradients

    def after_step(self, state, task_losses, extras):
        return {**state, "steps": state["steps"] + 1}


class MGDA(EqualWeightsBase):
    """w = the min-norm convex combination of the task losses' gradients with respect to the trunk's
    output (weighting_math.min_norm_weights_from_gram; in float32 unless JAX runs with x64)."""
    name = "mgda"
    needs_feature_gradients = True

    def task_weights(self, outputs, state):
        rows = outputs[FEATURE_GRADIENTS]
        dtype = "float64" if jax.config.jax_enable_x64 else "float32"
        return jax.lax.stop_gradient(weighting_math.min_norm_weights_from_gram(rows @ rows.T, dtype))


METHODS = {kind.name: kind for kind in (Uncertainty, DynamicWeightAverage, Staged, GradNorm, PCGrad, MGDA)}
NAMES = JAX_WEIGHTINGS + tuple(METHODS)


def make_jax_weighting(name, **options):
    """The JAX weighting `name` with the options it takes from `options` (the others are ignored; one not
    given takes the StepConfig default); ValueError in one line for an unknown name."""
    if name not in NAMES:
        raise ValueError(f"unknown --task_weighting {name!r}; choose one of {', '.join(NAMES)}")
    given = {**weighting_methods.step_options(StepConfig()), **options}
    taken = {key: given[key] for key in weighting_methods.METHODS[name].options if given.get(key) is not None}
    return METHODS[name](**taken) if name in METHODS else JaxWeighting(name, **taken)

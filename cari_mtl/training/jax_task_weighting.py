"""The task-weighting methods of the literature under the JAX backend, with the semantics of their
TensorFlow versions (cari_mtl.training.task_weighting, docs/TASK_WEIGHTING.md): uncertainty, dwa.
Each is a JaxWeighting whose own arrays (log-variances, loss histories) live in the jitted step's
state, so the .npz checkpoints hold them and a resume is exact. `make_jax_weighting` builds any
method a JAX run can train, and refuses the others in one line."""

import jax.numpy as jnp
import keras

from cari_mtl.training import step_math, weighting_math, weighting_methods
from cari_mtl.training.config import StepConfig
from cari_mtl.training.jax_step import JAX_WEIGHTINGS, JaxGroup, JaxWeighting

NROF_TASKS = 3


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


METHODS = {kind.name: kind for kind in (Uncertainty, DynamicWeightAverage)}
NAMES = JAX_WEIGHTINGS + tuple(METHODS)


def make_jax_weighting(name, **options):
    """The JAX weighting `name` with the options it takes from `options` (the others are ignored; one not
    given takes the StepConfig default); ValueError in one line for a method JAX does not train."""
    if name not in NAMES:
        raise ValueError(f"--task_weighting {name} needs the TensorFlow backend: run it with --backend tensorflow "
                         f"(under --backend jax: {', '.join(NAMES)})")
    given = {**weighting_methods.step_options(StepConfig()), **options}
    taken = {key: given[key] for key in weighting_methods.METHODS[name].options if given.get(key) is not None}
    return METHODS[name](**taken) if name in METHODS else JaxWeighting(name, **taken)

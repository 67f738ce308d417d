"""One training iteration under the JAX backend: the math of step_math, gradients by JAX.

The thin backend-specific part of the step (docs/ARCHITECTURE.md, "Backends"): the network runs as
`model.stateless_call` inside one `jax.jit`, the training state is an explicit pytree (variables,
both optimizers' slots, shared centers, moving averages, global step) and each group's gradient is a
pullback of one `jax.vjp` of the forward pass (Θ pulls back L, Ψ pulls back L4; XLA drops what a
group does not use). The optimizers are the same Keras objects as the TensorFlow step's
(cari_mtl.training.optimizers, TF1 numerics), applied with `stateless_apply`. The weightings are
dynamic, naive and static (JaxWeighting) and the literature's methods of
cari_mtl.training.jax_task_weighting, whose own state (learned parameters, loss histories) is part
of the step's state and whose hooks are those of JaxWeighting.

Data parallel (`devices`): the batch is split along its first axis over a one-axis mesh of the
devices and the state is replicated; the jitted step is still the global-batch program (XLA's
partitioner inserts the all-reduces), so every mean, the task weights, the batch-norm statistics
and the center update are those of the global batch, as on one device.
"""

import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import keras
import numpy as np

from cari_mtl.training import step_math
from cari_mtl.training.jax_split import FEATURE_GRADIENTS, SplitNetwork, feature_task_gradients
from cari_mtl.training.optimizers import CLIP_NORM, make_optimizer

JAX_WEIGHTINGS = ("dynamic", "naive", "static")


@dataclass(frozen=True)
class JaxGroup:
    """Variables (indices into model.trainable_variables, then into the weighting's own parameters)
    updated by one optimizer from one objective."""
    name: str
    objective: str
    indices: tuple
    variables: tuple
    params: tuple = ()


class HostValue:
    """A host-side counter with the bits of tf.Variable the trainer uses (numpy, assign, assign_add)."""

    def __init__(self, value):
        self.value = np.asarray(value)

    def numpy(self):
        return self.value

    def assign(self, value):
        self.value = np.asarray(value, dtype=self.value.dtype)

    def assign_add(self, value):
        self.value = self.value + value


class JaxWeighting:
    """The task weights of dynamic / naive / static, and which variables each optimizer trains.

    Also the hooks (with their defaults) of the methods of cari_mtl.training.jax_task_weighting:
    `state` (the method's arrays in the step's state; its "params" are trained by a group),
    `objectives`, `extras` and `group_gradients` (with per-task gradients), `after_step`, and
    `trace_key` (a value the step is compiled per, as the TensorFlow step's). With `needs_feature_gradients`
    the outputs `task_weights` reads hold FEATURE_GRADIENTS: each task loss's gradient with respect to
    the trunk's output. With `detach_weights_input` (dynamic) Ψ reads the trunk's output through a
    stop-gradient."""
    trace_key = None
    needs_feature_gradients = False
    detach_weights_input = False

    def __init__(self, name, loss_weight_base=(0.0, 0.0, 0.0), static_weights=(1.0, 1.0, 1.0),
                 detach_weights_input=False):
        if name not in JAX_WEIGHTINGS:
            raise ValueError(f"JaxWeighting is {', '.join(JAX_WEIGHTINGS)}, not {name!r} (the literature's methods: "
                             f"cari_mtl.training.jax_task_weighting)")
        self.name = name
        self.detach_weights_input = bool(detach_weights_input)
        self.loss_weight_base = np.asarray(loss_weight_base, np.float32)
        self.static_weights = np.asarray(static_weights, np.float32)

    def start_epoch(self, epoch):
        """Nothing to do per epoch (the trainer's hook)."""

    def state(self):
        return {"params": []}

    def task_weights(self, outputs, state):
        if self.name == "static":
            return jnp.asarray(self.static_weights)
        return jnp.mean(outputs["lossweights"], axis=0) + self.loss_weight_base

    def groups(self, model):
        psi_ids = {id(v) for v in model.get_layer(step_math.WEIGHTS_HEAD).trainable_variables}
        theta = tuple(i for i, v in enumerate(model.trainable_variables) if id(v) not in psi_ids)
        psi = tuple(i for i, v in enumerate(model.trainable_variables) if id(v) in psi_ids)
        variables = model.trainable_variables
        if self.name == "dynamic":
            specs = (("theta", "L", theta), ("psi", "L4", psi))
        elif self.name == "naive":
            specs = (("theta", "L", theta + psi),)
        else:
            specs = (("theta", "L", theta),)
        return tuple(JaxGroup(name, objective, indices, tuple(variables[i] for i in indices))
                     for name, objective, indices in specs)

    def objectives(self, task_weights, task_losses, state):
        return step_math.objectives(task_weights, task_losses)

    def extras(self, task_gradient, state):
        """Values the method needs from per-task gradients (`task_gradient(i)`: dL_i/d(variables, params))."""
        return {}

    def group_gradients(self, group, gradients, task_gradient, extras):
        """The group's gradients (None: the variable is not updated this step); `extras`: those of `extras`."""
        return gradients

    def after_step(self, state, task_losses, extras):
        """The method's state after the step (its params already updated)."""
        return state


class JaxTrainStep:
    """Owns the training state of `model` under JAX; same arguments and logs as training.train_step.TrainStep."""

    @classmethod
    def from_config(cls, model, weighting, step, devices=None, **options):
        """The step of a StepConfig `step`; `options`: those of step_options.modern_step_options."""
        return cls(model, weighting, step.optimizer, step.center_loss_factor, step.center_loss_alfa,
                   step.lossweights_lr_factor, step.moving_average_decay, step.legacy_global_step,
                   devices=devices, **options)

    def __init__(self, model, weighting, optimizer="RMSProp", center_loss_factor=0.0, center_loss_alfa=0.95,
                 lossweights_lr_factor=1.0, moving_average_decay=0.9999, legacy_global_step=False, devices=None,
                 cross_entropy_fns=None, optimizer_options=None, learning_rate_schedule=None):
        """`cross_entropy_fns`, `optimizer_options`, `learning_rate_schedule`: the options beyond the
        original (PORTING X1-X4), as the TensorFlow step's; the schedule is evaluated inside the
        compiled step at the iteration count (global step / steps_per_iteration)."""
        if keras.config.dtype_policy().name == "mixed_float16":
            raise ValueError("--mixed_precision float16 needs the TensorFlow backend (loss scaling); under "
                             "--backend jax use bfloat16 or off")
        self.model = model
        self.weighting = weighting
        self.loss_scale = None
        self.groups = weighting.groups(model)
        needs_split = weighting.needs_feature_gradients or weighting.detach_weights_input
        self.split = SplitNetwork(model) if needs_split else None
        self.steps_per_iteration = len(self.groups) if legacy_global_step else 1
        self.center_loss_factor = float(center_loss_factor)
        self.center_loss_alfa = float(center_loss_alfa)
        self.lossweights_lr_factor = float(lossweights_lr_factor)
        self.moving_average_decay = float(moving_average_decay)
        self.cross_entropy_fns = cross_entropy_fns
        self.learning_rate_schedule = learning_rate_schedule
        self.optimizers = {}
        for group in self.groups:
            self.optimizers[group.name] = make_optimizer(optimizer, name_suffix=f"_{group.name}",
                                                         **(optimizer_options or {}))
            self.optimizers[group.name].build(list(group.variables))
        self.global_step = HostValue(np.int64(0))
        nrof_classes = model.output["logits_verif"].shape[-1]
        embedding_size = model.output["embeddings"].shape[-1]
        self.state = {  # copies: the compiled step donates its state, the Keras variables keep theirs
            "trainable": [jnp.array(v.value) for v in model.trainable_variables],
            "non_trainable": [jnp.array(v.value) for v in model.non_trainable_variables],
            "optimizers": {name: [jnp.array(v.value) for v in opt.variables] for name, opt in self.optimizers.items()},
            "centers": jnp.zeros((nrof_classes, embedding_size), jnp.float32),
            "ema": [jnp.array(model.trainable_variables[i].value) for g in self.groups for i in g.indices],
            "global_step": jnp.asarray(0, jnp.int32),
            "weighting": weighting.state(),
        }
        self.state["ema"] += [jnp.array(self.state["weighting"]["params"][i]) for g in self.groups for i in g.params]
        self.batch_sharding = self.state_sharding = None
        if devices is not None and len(devices) > 1:
            mesh = jax.sharding.Mesh(np.asarray(devices), ("data",))
            self.batch_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
            self.state_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
            self.set_state(self.state)
        self._compiled = jax.jit(self._iteration, donate_argnums=0, static_argnames="trace_key")

    def __call__(self, images, labels, is_cari, learning_rate):
        """One iteration on a batch; returns {name: scalar} (the logs of TrainStep)."""
        logs = self.dispatch(images, labels, is_cari, learning_rate)
        self.global_step.assign(int(logs["global_step"]))
        return logs

    def dispatch(self, images, labels, is_cari, learning_rate):
        """Starts one iteration and returns its logs as device arrays, without waiting for them
        (global_step is not updated: benchmarks queue several iterations)."""
        batch = (jnp.asarray(images, jnp.float32), jnp.asarray(labels, jnp.int32), jnp.asarray(is_cari, jnp.int32))
        if self.batch_sharding is not None:
            if batch[0].shape[0] % len(self.batch_sharding.mesh.devices):
                raise ValueError(f"--batch_size {batch[0].shape[0]} must be a multiple of the "
                                 f"{len(self.batch_sharding.mesh.devices)} devices")
            batch = jax.device_put(batch, self.batch_sharding)
        self.state, logs = self._compiled(self.state, *batch, jnp.asarray(learning_rate, jnp.float32),
                                          trace_key=self.weighting.trace_key)
        return logs

    def lowered(self, images, labels, is_cari, learning_rate=0.01, platform=None):
        """The iteration lowered for these argument shapes (jax.stages.Lowered, for its cost analysis),
        for `platform` ('cpu', ...; default the one it runs on)."""
        traced = self._compiled.trace(self.state, images, labels, is_cari, jnp.asarray(learning_rate, jnp.float32),
                                      trace_key=self.weighting.trace_key)
        return traced.lower(lowering_platforms=(platform,)) if platform else traced.lower()

    def set_state(self, state):
        """Replaces the training state (a restored checkpoint), replicated over the devices when data parallel."""
        self.state = jax.device_put(state, self.state_sharding) if self.state_sharding is not None else state

    def sync_model(self):
        """Writes the state's variables into the Keras model (before saving or evaluating it)."""
        for variable, value in zip(self.model.trainable_variables, self.state["trainable"]):
            variable.assign(value)
        for variable, value in zip(self.model.non_trainable_variables, self.state["non_trainable"]):
            variable.assign(value)

    def _iteration(self, state, images, labels, is_cari, learning_rate, trace_key=None):
        centers = state["centers"]
        if self.learning_rate_schedule is not None:
            learning_rate = jnp.asarray(self.learning_rate_schedule(state["global_step"] // self.steps_per_iteration),
                                        jnp.float32)

        def losses_of(outputs):
            outputs = {name: value.astype(jnp.float32) for name, value in outputs.items()}
            return outputs, step_math.task_losses(outputs, labels, is_cari, centers, self.center_loss_factor,
                                                  self.cross_entropy_fns)

        def forward(trainable, params):
            if self.split is None:
                outputs, non_trainable = self.model.stateless_call(trainable, state["non_trainable"], images,
                                                                   training=True)
            else:
                outputs, non_trainable, features, heads = self.split(trainable, state["non_trainable"], images)
                if self.weighting.detach_weights_input:
                    outputs["lossweights"] = self.split.heads_outputs(trainable, state["non_trainable"],
                                                                      jax.lax.stop_gradient(features))["lossweights"]
            outputs, (task_losses, cross_entropies, center1) = losses_of(outputs)
            if self.weighting.needs_feature_gradients:
                outputs[FEATURE_GRADIENTS] = feature_task_gradients(heads, features,
                                                                     lambda heads_out: losses_of(heads_out)[1][0])
            weighting_state = {**state["weighting"], "params": params}
            task_weights = self.weighting.task_weights(outputs, weighting_state)
            objectives = self.weighting.objectives(task_weights, task_losses, weighting_state)
            return ({**objectives, "tasks": task_losses},
                    (outputs, non_trainable, task_losses, cross_entropies, center1, task_weights))

        values, pullback, aux = jax.vjp(forward, state["trainable"], state["weighting"]["params"], has_aux=True)
        outputs, non_trainable, task_losses, cross_entropies, center1, task_weights = aux
        objectives = {name: value for name, value in values.items() if name != "tasks"}

        def gradient_of(seed):
            return pullback({name: seed.get(name, jnp.zeros_like(value)) for name, value in values.items()})

        def task_gradient(task):
            return gradient_of({"tasks": jax.nn.one_hot(task, len(task_losses), dtype=task_losses.dtype)})

        extras = self.weighting.extras(task_gradient, state["weighting"])
        trainable, params = list(state["trainable"]), list(state["weighting"]["params"])
        new_optimizers, logs = {}, {}
        for group in self.groups:
            gradients, param_gradients = gradient_of({group.objective: jnp.ones_like(values[group.objective])})
            gradients = self.weighting.group_gradients(
                group, [gradients[i] for i in group.indices] + [param_gradients[i] for i in group.params],
                task_gradient, extras)
            kept, norm = step_math.clip_by_global_norm([g for g in gradients if g is not None], CLIP_NORM)
            logs[f"grad_norm_{group.name}"] = norm
            kept = iter(kept)
            gradients = [None if g is None else next(kept) for g in gradients]
            new_optimizers[group.name], updated = self._apply(
                group, state["optimizers"][group.name], gradients,
                [trainable[i] for i in group.indices] + [params[i] for i in group.params], learning_rate)
            for index, value in zip(group.indices, updated):
                trainable[index] = value
            for index, value in zip(group.params, updated[len(group.indices):]):
                params[index] = value
        new_centers = step_math.updated_centers(centers, outputs["embeddings"], labels, self.center_loss_alfa)
        decay = step_math.moving_average_decay(self.moving_average_decay, state["global_step"])
        sources = [trainable[i] for group in self.groups for i in group.indices]
        sources += [params[i] for group in self.groups for i in group.params]
        ema = [shadow - (1.0 - decay) * (shadow - value) for shadow, value in zip(state["ema"], sources)]
        global_step = state["global_step"] + self.steps_per_iteration
        for index in range(3):
            logs[f"L{index + 1}"] = task_losses[index]
            logs[f"CE{index + 1}"] = cross_entropies[index]
            logs[f"w{index + 1}"] = task_weights[index]
        logs.update(center1=center1, L=objectives["L"], L4=objectives["L4"], learning_rate=learning_rate,
                    global_step=global_step, **step_math.train_accuracies(outputs, labels, is_cari),
                    **step_math.positive_logits(outputs))
        weighting_state = self.weighting.after_step({**state["weighting"], "params": params}, task_losses, extras)
        new_state = {"trainable": trainable, "non_trainable": non_trainable, "optimizers": new_optimizers,
                     "centers": new_centers, "ema": ema, "global_step": global_step, "weighting": weighting_state}
        return new_state, logs

    def _apply(self, group, optimizer_values, gradients, variables, learning_rate):
        """(optimizer values, updated variables) of one group's Keras optimizer, this epoch's rate set."""
        optimizer = self.optimizers[group.name]
        factor = self.lossweights_lr_factor if group.name == "psi" else 1.0
        values = [learning_rate * factor if variable is optimizer._learning_rate else value
                  for variable, value in zip(optimizer.variables, optimizer_values)]
        with warnings.catch_warnings():  # a variable without gradient (None) is left as it is, on purpose
            warnings.filterwarnings("ignore", "Gradients do not exist")
            updated, values = optimizer.stateless_apply(values, gradients, variables)
        return values, updated

"""One training iteration under JAX: the math of step.formulas and of the weighting, gradients by
`jax.vjp`, state in a pytree, compiled by `jax.jit`.

The network runs as `model.stateless_call` inside one `jax.jit`; the training state is an explicit
pytree (variables, the optimizers' slots, shared centers, moving averages, global step, the weighting's
state) and each group's gradient is a pullback of one `jax.vjp` of the forward pass (Θ pulls back L,
Ψ pulls back L4; XLA drops what a group does not use). The optimizers are the same Keras objects as
the TensorFlow step's (step.optimizers, TF1 numerics), applied with `stateless_apply`.

A weighting that needs the task losses' gradients with respect to the trunk's output (MGDA) or Ψ
behind a stop-gradient (dynamic --detach_weights_input) gets the network cut at that output
(SplitNetwork): trunk and heads run as two stateless calls, so that the heads can be differentiated or
fed alone.

Data parallel (`devices`): the batch is split along its first axis over a one-axis mesh of the
devices and the state is replicated; the jitted step is still the global-batch program (XLA's
partitioner inserts the all-reduces), so every mean, the task weights, the batch-norm statistics
and the center update are those of the global batch, as on one device.
"""

import warnings

import jax
import jax.numpy as jnp
import keras
import numpy as np

from cari_mtl.training.step import formulas
from cari_mtl.training.step.common import StepSettings, logs_of, lossweights_mean
from cari_mtl.training.step.optimizers import make_optimizer
from cari_mtl.training.tasks import HEAD_INPUT


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


class JaxTrainStep:
    """Owns the training state of `model` under JAX; same arguments (step.common.StepSettings) and logs as
    step.tensorflow.TrainStep; `devices`: data parallel over these devices."""

    @classmethod
    def from_config(cls, model, weighting, step, devices=None, **options):
        """The step of a StepConfig `step`; `options`: those of step.options.modern_step_options."""
        return cls(model, weighting, **StepSettings.of(step, **options).arguments(), devices=devices)

    def __init__(self, model, weighting, optimizer="RMSProp", devices=None, **settings):
        if keras.config.dtype_policy().name == "mixed_float16":
            raise ValueError("--mixed_precision float16 needs the TensorFlow backend (loss scaling); under "
                             "--backend jax use bfloat16 or off")
        self.model = model
        self.weighting = weighting
        self.settings = StepSettings(optimizer=optimizer, **settings)
        self.loss_scale = None
        self.groups = weighting.groups(model)
        needs_split = weighting.needs_feature_gradients or weighting.detach_weights_input
        self.split = SplitNetwork(model) if needs_split else None
        self.steps_per_iteration = len(self.groups) if self.settings.legacy_global_step else 1
        initial = weighting.state()
        # Keras variables only so that the optimizers build their slots for them; their values are the state's.
        param_variables = {name: keras.Variable(value, name=f"{weighting.name}_{name}")
                           for name, value in initial["params"].items()}
        self.optimizers = {}
        for group in self.groups:
            self.optimizers[group.name] = make_optimizer(optimizer, name_suffix=f"_{group.name}",
                                                         **self.settings.optimizer_options)
            self.optimizers[group.name].build([model.trainable_variables[i] for i in group.indices] +
                                              [param_variables[name] for name in group.params])
        self.global_step = HostValue(np.int64(0))
        nrof_classes = model.output["logits_verif"].shape[-1]
        embedding_size = model.output["embeddings"].shape[-1]
        weighting_state = jax.tree_util.tree_map(jnp.array, initial)
        self.state = {  # copies: the compiled step donates its state, the Keras variables keep theirs
            "trainable": [jnp.array(v.value) for v in model.trainable_variables],
            "non_trainable": [jnp.array(v.value) for v in model.non_trainable_variables],
            "optimizers": {name: [jnp.array(v.value) for v in opt.variables] for name, opt in self.optimizers.items()},
            "centers": jnp.zeros((nrof_classes, embedding_size), jnp.float32),
            "ema": [jnp.array(value) for value in self._group_values([v.value for v in model.trainable_variables],
                                                                      weighting_state["params"])],
            "global_step": jnp.asarray(0, jnp.int32),
            "weighting": weighting_state,
        }
        self.batch_sharding = self.state_sharding = None
        if devices is not None and len(devices) > 1:
            mesh = jax.sharding.Mesh(np.asarray(devices), ("data",))
            self.batch_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
            self.state_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
            self.set_state(self.state)
        self._compiled = jax.jit(self._iteration, donate_argnums=0, static_argnames="trace_key")

    def _group_values(self, trainable, params):
        """Every group's values in group order: its network variables by index, then its params."""
        values = []
        for group in self.groups:
            values += [trainable[i] for i in group.indices]
            values += [params[name] for name in group.params]
        return values

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
        settings, weighting = self.settings, self.weighting
        centers = state["centers"]
        learning_rate = settings.rate_at(learning_rate, state["global_step"] // self.steps_per_iteration)

        def terms_of(outputs):
            outputs = {name: value.astype(jnp.float32) for name, value in outputs.items()}
            return outputs, settings.loss_terms_fn(outputs, labels, is_cari, centers, settings.center_loss_factor)

        def forward(trainable, params):
            feature_gram = None
            if self.split is None:
                outputs, non_trainable = self.model.stateless_call(trainable, state["non_trainable"], images,
                                                                   training=True)
            else:
                outputs, non_trainable, features, heads = self.split(trainable, state["non_trainable"], images)
                if weighting.detach_weights_input:
                    outputs["lossweights"] = self.split.heads_outputs(trainable, state["non_trainable"],
                                                                      jax.lax.stop_gradient(features))["lossweights"]
                if weighting.needs_feature_gradients:
                    rows = feature_task_gradients(
                        heads, features, lambda out: formulas.reduce_task_losses(terms_of(out)[1])[0])
                    feature_gram = rows @ rows.T
            outputs, terms = terms_of(outputs)
            terms["lossweights_sum"] = jnp.sum(outputs["lossweights"], axis=0)
            terms["rows"] = jnp.asarray(labels.shape[0], jnp.float32)
            task_losses, cross_entropies, center1 = formulas.reduce_task_losses(terms)
            weighting_state = {**state["weighting"], "params": params}
            task_weights = weighting.task_weights(lossweights_mean(terms), weighting_state, feature_gram)
            objectives = weighting.objectives(task_weights, task_losses, weighting_state)
            return ({**objectives, "tasks": task_losses},
                    (outputs, non_trainable, task_losses, cross_entropies, center1, task_weights))

        values, pullback, aux = jax.vjp(forward, state["trainable"], state["weighting"]["params"], has_aux=True)
        outputs, non_trainable, task_losses, cross_entropies, center1, task_weights = aux
        objectives = {name: value for name, value in values.items() if name != "tasks"}

        def gradient_of(seed):
            return pullback({name: seed.get(name, jnp.zeros_like(value)) for name, value in values.items()})

        def task_gradient(task, indices):
            gradients = gradient_of({"tasks": jax.nn.one_hot(task, len(task_losses), dtype=task_losses.dtype)})[0]
            return [gradients[i] for i in indices]

        extras = weighting.extras(task_gradient, state["weighting"])
        trainable, params = list(state["trainable"]), dict(state["weighting"]["params"])
        new_optimizers, norms = {}, {}
        for group in self.groups:
            gradients, param_gradients = gradient_of({group.objective: jnp.ones_like(values[group.objective])})
            gradients = weighting.group_gradients(
                group, [gradients[i] for i in group.indices] + [param_gradients[name] for name in group.params],
                extras)
            kept, norms[group.name] = formulas.clip_by_global_norm([g for g in gradients if g is not None])
            kept = iter(kept)
            gradients = [None if g is None else next(kept) for g in gradients]
            new_optimizers[group.name], updated = self._apply(
                group, state["optimizers"][group.name], gradients,
                [trainable[i] for i in group.indices] + [params[name] for name in group.params], learning_rate)
            for index, value in zip(group.indices, updated):
                trainable[index] = value
            for name, value in zip(group.params, updated[len(group.indices):]):
                params[name] = value
        sums, counts = formulas.center_update_terms(outputs["embeddings"], labels, centers)
        new_centers = formulas.updated_centers(centers, sums, counts, settings.center_loss_alfa)
        decay = formulas.moving_average_decay(settings.moving_average_decay, state["global_step"])
        ema = [formulas.moving_average(shadow, value, decay)
               for shadow, value in zip(state["ema"], self._group_values(trainable, params))]
        global_step = state["global_step"] + self.steps_per_iteration
        logs = logs_of({"task_losses": task_losses, "cross_entropies": cross_entropies, "center1": center1,
                        "task_weights": task_weights, "norms": norms, **objectives,
                        **formulas.accuracy_terms(outputs, labels, is_cari), **formulas.positive_logits(outputs)},
                       learning_rate, global_step)
        weighting_state = weighting.after_step({**state["weighting"], "params": params}, task_losses, extras)
        new_state = {"trainable": trainable, "non_trainable": non_trainable, "optimizers": new_optimizers,
                     "centers": new_centers, "ema": ema, "global_step": global_step, "weighting": weighting_state}
        return new_state, logs

    def _apply(self, group, optimizer_values, gradients, variables, learning_rate):
        """(optimizer values, updated variables) of one group's Keras optimizer, this epoch's rate set."""
        optimizer = self.optimizers[group.name]
        factor = self.settings.lossweights_lr_factor if group.name == "psi" else 1.0
        values = [learning_rate * factor if variable is optimizer._learning_rate else value
                  for variable, value in zip(optimizer.variables, optimizer_values)]
        with warnings.catch_warnings():  # a variable without gradient (None) is left as it is, on purpose
            warnings.filterwarnings("ignore", "Gradients do not exist")
            updated, values = optimizer.stateless_apply(values, gradients, variables)
        return values, updated


class SplitNetwork:
    """`model` as trunk (images -> the features every branch and Ψ read) and heads (features -> outputs).

    Both halves are Keras models over the network's own layers (a functional model cut at an
    intermediate tensor), so they share its variables: the step's state stays the full model's lists,
    and each half reads and writes its own entries of them.
    """

    def __init__(self, model):
        features = model.get_layer(HEAD_INPUT).input
        self.trunk = keras.Model(model.input, features)
        self.heads = keras.Model(features, model.output)
        trainable = {id(v): i for i, v in enumerate(model.trainable_variables)}
        non_trainable = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
        self.indices = {
            half: ([trainable[id(v)] for v in part.trainable_variables],
                   [non_trainable[id(v)] for v in part.non_trainable_variables])
            for half, part in (("trunk", self.trunk), ("heads", self.heads))}

    def _run(self, half, trainable, non_trainable, inputs):
        trainable_indices, non_trainable_indices = self.indices[half]
        part = self.trunk if half == "trunk" else self.heads
        return part.stateless_call([trainable[i] for i in trainable_indices],
                                   [non_trainable[i] for i in non_trainable_indices], inputs, training=True)

    def heads_outputs(self, trainable, non_trainable, features):
        """The heads' outputs for `features` (the non-trainable values they would write are dropped)."""
        return self._run("heads", trainable, non_trainable, features)[0]

    def __call__(self, trainable, non_trainable, images):
        """(outputs, the model's non-trainable values after the call, features, heads: features -> outputs)."""
        features, trunk_state = self._run("trunk", trainable, non_trainable, images)
        outputs, heads_state = self._run("heads", trainable, non_trainable, features)
        updated = list(non_trainable)
        for half, values in (("trunk", trunk_state), ("heads", heads_state)):
            for index, value in zip(self.indices[half][1], values):
                updated[index] = value
        frozen = [jax.lax.stop_gradient(value) for value in trainable]

        def heads(inputs):
            return self.heads_outputs(frozen, non_trainable, inputs)

        return outputs, updated, features, heads


def feature_task_gradients(heads, features, task_losses_of):
    """[3, N] rows: the gradient of each task loss with respect to the (flattened) features, the heads'
    variables held constant; `task_losses_of(outputs)` gives the three task losses."""
    losses, pullback = jax.vjp(lambda inputs: task_losses_of(heads(inputs)), jax.lax.stop_gradient(features))
    return jnp.stack([jnp.ravel(pullback(jax.nn.one_hot(task, losses.shape[0], dtype=losses.dtype))[0])
                      for task in range(losses.shape[0])])

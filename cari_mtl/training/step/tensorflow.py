"""One training iteration under TensorFlow: the math of step.formulas and of the weighting, gradients
by a tape, state in tf.Variables, compiled by tf.function, replicas summed by tf.distribute.

What one iteration of the original's `sess.run([... train_op_mainstem, train_op_weights ...])`
does, as one `tf.function`:
1. forward pass in training mode (BN batch statistics and moving-statistics updates, dropout);
2. L1..L3 from the shared centers, the task weights w [3] from the task weighting, L and L4;
3. per variable group (of the task weighting): gradients of its objective, clipped by global norm 5.0, applied
   by that group's optimizer (Ψ's learning rate x `lossweights_lr_factor`);
4. the shared centers move toward the branch-1 embeddings of the batch (`center_loss_alfa`);
5. the moving averages of the trained variables, with num_updates = the global step;
6. the global step advances by `steps_per_iteration` (1, or one per optimizer to reproduce the
   original's counting, see docs/PORTING.md).

With a tf.distribute strategy of N replicas the global batch is split N ways. Each replica keeps
sums and counts of its slice; they are summed over the replicas before any division, and the
gradients are summed before the weighting sees them and clipped once, so every mean, the task
weights, the center update and the clipping are those of the global batch (cari_mtl/runtime/distribute.py).
Under a mixed dtype policy the network's outputs are cast to float32 first: losses, softmax and
centers stay float32.
"""

import keras
import tensorflow as tf

from cari_mtl.runtime import distribute
from cari_mtl.runtime.speed import DynamicLossScale, needs_loss_scale
from cari_mtl.training.step import formulas
from cari_mtl.training.step.common import StepSettings, logs_of, lossweights_mean
from cari_mtl.training.step.optimizers import make_optimizer
from cari_mtl.training.tasks import HEAD_INPUT, SHARED_FEATURES, WEIGHTS_HEAD


class TrainStep:
    """Owns the training state (centers, optimizers, moving averages, global step, the weighting's state)
    of `model` (PORTING P1); arguments: those of step.common.StepSettings, and

        distribution: the tf.distribute strategy the model was built under (default: one device).
        jit_compile: compile the iteration with XLA (with several replicas, each replica's forward
            and backward pass).
    """

    @classmethod
    def from_config(cls, model, weighting, step, distribution=None, jit_compile=False, **options):
        """The step of a StepConfig `step`; `options`: those of step.options.modern_step_options."""
        return cls(model, weighting, **StepSettings.of(step, **options).arguments(), distribution=distribution,
                   jit_compile=jit_compile)

    def __init__(self, model, weighting, optimizer="RMSProp", distribution=None, jit_compile=False, **settings):
        self.model = model
        self.weighting = weighting
        self.settings = StepSettings(optimizer=optimizer, **settings)
        self.distribution = distribution or tf.distribute.get_strategy()
        self.replicas = self.distribution.num_replicas_in_sync
        if self.replicas > 1 and not weighting.supports_distribution:
            raise ValueError(f"--task_weighting {weighting.name} does not support --distribute yet: train it on one "
                             f"device (--distribute none)")
        self.groups = weighting.groups(model)
        needs_features = weighting.needs_feature_gradients or weighting.detach_weights_input
        self.forward = with_shared_features(model) if needs_features else model
        self.steps_per_iteration = len(self.groups) if self.settings.legacy_global_step else 1
        self.loss_scale = None
        nrof_classes = model.output["logits_verif"].shape[-1]
        embedding_size = model.output["embeddings"].shape[-1]
        with self.distribution.scope():
            initial = weighting.state()
            # The weighting's parameters are Keras variables, like the network's: the optimizers update them.
            self.params = {name: keras.Variable(value, name=f"{weighting.name}_{name}")
                           for name, value in initial["params"].items()}
            self.weighting_state = {key: tf.Variable(value, trainable=False, name=f"{weighting.name}_{key}")
                                    for key, value in initial.items() if key != "params"}
            self.centers = tf.Variable(tf.zeros([nrof_classes, embedding_size]), trainable=False, name="centers")
            self.optimizers = {}
            for group in self.groups:
                self.optimizers[group.name] = make_optimizer(optimizer, name_suffix=f"_{group.name}",
                                                             **self.settings.optimizer_options)
                self.optimizers[group.name].build(self.group_variables(group))
            self.ema_sources = [v for group in self.groups for v in self.group_variables(group)]
            self.ema_shadows = [tf.Variable(tf.convert_to_tensor(v), trainable=False, name=f"ema_{index}")
                                for index, v in enumerate(self.ema_sources)]
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            if needs_loss_scale(keras.config.dtype_policy().name):
                self.loss_scale = DynamicLossScale()
        distribute.synchronize_batch_norm(model, self.distribution)
        self._updated_variables = {}  # per group: the variables that have a gradient (found when tracing)
        if self.replicas == 1:
            self._compiled = tf.function(self._iteration, jit_compile=jit_compile, reduce_retracing=True)
        else:
            self._replica_fn = tf.function(self._replica_step, jit_compile=True) if jit_compile else self._replica_step
            self._compiled = tf.function(self._iteration, reduce_retracing=True)

    def group_variables(self, group):
        """The variables a group's optimizer updates: the network's (by index), then the weighting's params."""
        variables = self.model.trainable_variables
        return [variables[i] for i in group.indices] + [self.params[name] for name in group.params]

    def checkpoint_objects(self):
        """What a training checkpoint must hold to resume exactly."""
        objects = {"model": self.model, "centers": self.centers, "ema_shadows": self.ema_shadows,
                   "global_step": self.global_step,
                   **{f"optimizer_{name}": opt for name, opt in self.optimizers.items()},
                   # "strategy_": the key checkpoints were written under before the weighting was so named
                   **{f"strategy_{name}": value for name, value in {**self.params, **self.weighting_state}.items()}}
        if self.loss_scale is not None:
            objects["loss_scale"] = self.loss_scale.scale
        return objects

    def sync_model(self):
        """The Keras model holds the trained values already (the JAX step copies its state into it)."""

    def __call__(self, images, labels, is_cari, learning_rate):
        """Runs one iteration (forward, the updates, center update, moving averages) on a global batch.

        Args:
            images: [B, S, S, 3] float32, standardised; labels: [B] int; is_cari: [B] 0/1.
            learning_rate: this epoch's rate (float).
        Returns:
            {name: scalar tensor}: L, L1-L4, w1-w3, CE1-CE3, center1, accuracies, global_step (step.common.logs_of).
        """
        return self._compiled(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(labels, tf.int64),
                              tf.convert_to_tensor(is_cari, tf.int64), tf.constant(learning_rate, tf.float32),
                              trace_key=self.weighting.trace_key)

    def _iteration(self, images, labels, is_cari, learning_rate, trace_key=None):
        learning_rate = self.settings.rate_at(learning_rate, self.global_step // self.steps_per_iteration)
        with self.distribution.scope():
            for group in self.groups:
                factor = self.settings.lossweights_lr_factor if group.name == "psi" else 1.0
                self.optimizers[group.name].learning_rate.assign(learning_rate * factor)
        if self.replicas == 1:
            results = self._replica_step(images, labels, is_cari)
        else:
            batch = distribute.split_batch(self.distribution, images, labels, is_cari)
            results = self.distribution.run(self._replica_fn, args=batch, kwargs={"trace_key": trace_key})
            with self.distribution.scope():
                self._count_replica_updates(results)
        values = tf.nest.map_structure(self._first_replica, results)
        logs = logs_of(values, learning_rate, self.global_step.read_value())
        if self.loss_scale is not None:
            logs["loss_scale"] = self.loss_scale.scale.read_value()
        return logs

    def _replica_step(self, images, labels, is_cari, trace_key=None):
        """The iteration on one replica's slice; every loss, weight and update is a global-batch value.
        `trace_key` only makes the compiled step trace again when the weighting's key changes."""
        settings = self.settings
        with tf.GradientTape(persistent=True) as tape:
            outputs = {name: tf.cast(value, tf.float32) for name, value in self.forward(images, training=True).items()}
            lossweights = outputs["lossweights"]
            if self.weighting.detach_weights_input:
                lossweights = weights_head(self.model, tf.stop_gradient(outputs[SHARED_FEATURES]))
            local = settings.loss_terms_fn(outputs, labels, is_cari, self.centers, settings.center_loss_factor)
            local["lossweights_sum"] = tf.reduce_sum(lossweights, axis=0)
            local["rows"] = tf.cast(tf.shape(labels)[0], tf.float32)
            terms = distribute.with_global_value(local)
            task_losses, cross_entropies, center1 = formulas.reduce_task_losses(terms)
            each_task_loss = tf.unstack(task_losses)
            state = {"params": {name: tf.convert_to_tensor(v) for name, v in self.params.items()},
                     **{key: tf.convert_to_tensor(v) for key, v in self.weighting_state.items()}}
            feature_gram = None
            if self.weighting.needs_feature_gradients:
                feature_gram = self._feature_gram(tape, each_task_loss, outputs[SHARED_FEATURES])
            task_weights = self.weighting.task_weights(lossweights_mean(terms), state, feature_gram)
            objectives = self.weighting.objectives(task_weights, task_losses, state)
            targets = dict(objectives)
            if self.loss_scale is not None:
                targets["L"] = objectives["L"] * self.loss_scale.scale

        def task_gradient(task, indices):
            variables = self.model.trainable_variables
            gradients = tape.gradient(each_task_loss[task], [variables[i] for i in indices])
            return distribute.replica_sum([tf.zeros_like(variables[i]) if g is None else g
                                           for g, i in zip(gradients, indices)])

        extras = self.weighting.extras(task_gradient, state)
        norms, finite = {}, None
        for group in self.groups:
            gradients, norms[group.name], group_finite = self._group_gradients(tape, group, targets, extras)
            finite = group_finite if group_finite is not None else finite
            self._apply(group, gradients, group_finite)
        new_state = self.weighting.after_step(state, task_losses, extras)
        for key, variable in self.weighting_state.items():
            variable.assign(new_state[key])
        sums, counts = distribute.replica_sum(
            formulas.center_update_terms(outputs["embeddings"], labels, self.centers))
        self.centers.assign(formulas.updated_centers(self.centers, sums, counts, settings.center_loss_alfa))
        decay = formulas.moving_average_decay(settings.moving_average_decay, self.global_step)
        for shadow, variable in zip(self.ema_shadows, self.ema_sources):
            shadow.assign(formulas.moving_average(shadow, tf.convert_to_tensor(variable), decay))
        self.global_step.assign_add(self.steps_per_iteration)
        counted = distribute.replica_sum({**formulas.accuracy_terms(outputs, labels, is_cari),
                                          **formulas.positive_logits(outputs)})
        results = {"task_losses": task_losses, "cross_entropies": cross_entropies, "center1": center1,
                   "task_weights": task_weights, "norms": norms, **objectives, **counted}
        if finite is not None:
            results["finite"] = finite
        return results

    def _feature_gram(self, tape, each_task_loss, features):
        """The Gram matrix [3, 3] of the task losses' gradients with respect to the trunk's output."""
        rows = []
        for loss in each_task_loss:
            gradient = tape.gradient(loss, features)
            rows.append(tf.reshape(tf.zeros_like(features) if gradient is None else gradient, [-1]))
        rows = tf.stack(rows)
        return distribute.replica_sum(tf.matmul(rows, rows, transpose_b=True))

    def _group_gradients(self, tape, group, targets, extras):
        """(the group's clipped global gradients, their norm, finite flag under loss scaling or None).

        The weighting's params enter the objective through global values on every replica: their
        gradient, summed over the replicas, must count once. Under mixed_float16 only L's gradient
        passes through float16 layers (L4's reaches the float32 weights head only).
        """
        variables = self.group_variables(group)
        raw = tape.gradient(targets[group.objective], variables)
        raw = raw[:len(group.indices)] + [None if g is None else g / self.replicas for g in raw[len(group.indices):]]
        present = [i for i, g in enumerate(raw) if g is not None]
        summed = distribute.replica_sum([raw[i] for i in present])
        gradients = [None] * len(raw)
        for i, g in zip(present, summed):
            gradients[i] = g
        scaled = self.loss_scale is not None and group.objective == "L"
        if scaled:
            gradients = [None if g is None else g / self.loss_scale.scale for g in gradients]
        gradients = self.weighting.group_gradients(group, gradients, extras)
        self._updated_variables[group.name] = [v for g, v in zip(gradients, variables) if g is not None]
        kept = [g for g in gradients if g is not None]
        if kept:  # TensorFlow's own norm kernel (a sum of l2_loss): the numerics of tf.clip_by_global_norm
            kept, norm = formulas.clip_by_global_norm(kept, norm=tf.linalg.global_norm(kept))
        else:
            norm = tf.constant(0.0)
        return kept, norm, (tf.math.is_finite(norm) if scaled else None)

    def _apply(self, group, gradients, finite):
        """Updates the group's variables; under loss scaling a non-finite L gradient skips the update."""
        if not gradients:
            return
        optimizer = self.optimizers[group.name]
        variables = self._updated_variables[group.name]

        def apply():
            if self.replicas == 1:
                optimizer.apply_gradients(zip(gradients, variables))
                return
            # Keras would all-reduce the (already summed and clipped) gradients again: every replica
            # applies them to its own copies instead, which stay identical.
            for gradient, variable in zip(gradients, variables):
                optimizer.update_step(gradient, variable.value, optimizer.learning_rate)

        if finite is None:
            apply()
            return
        tf.cond(finite, apply, lambda: None)
        self.loss_scale.update(finite)

    def _count_replica_updates(self, results):
        """The optimizers' iteration counters, which `apply_gradients` advances on one device."""
        for group in self.groups:
            if not self._updated_variables[group.name]:
                continue
            applied = tf.constant(1, tf.int64)
            if "finite" in results and group.objective == "L":
                applied = tf.cast(self._first_replica(results["finite"]), tf.int64)
            self.optimizers[group.name].iterations.assign_add(applied)

    def _first_replica(self, value):
        """The value of replica 0 (every replica holds the same global-batch value)."""
        if self.replicas == 1:
            return value
        return self.distribution.experimental_local_results(value)[0]


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
    return keras.Model(model.input, {**model.output, SHARED_FEATURES: model.get_layer(HEAD_INPUT).input})

"""One compiled training iteration: forward, both updates, center update, moving averages.

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
Every logged scalar is returned in one dict of tensors.

With a tf.distribute strategy of N replicas the global batch is split N ways. Each replica keeps
sums and counts of its slice; they are summed over the replicas before any division, and the
summed gradients are clipped once, so every mean, the task weights, the center update and the
clipping are those of the global batch (see cari_mtl/runtime/distribute.py). Under a mixed dtype policy
the network's outputs are cast to float32 first: losses, softmax and centers stay float32.
"""

import keras
import tensorflow as tf

from cari_mtl.runtime import distribute
from cari_mtl.runtime.speed import DynamicLossScale, needs_loss_scale
from cari_mtl.training import losses
from cari_mtl.training.ema import MovingAverage
from cari_mtl.training.optimizers import CLIP_NORM, make_optimizer
from cari_mtl.training.weighting import StepContext, with_shared_features


class TrainStep:
    """Owns the training state (centers, optimizers, moving averages, global step) of `model` (PORTING P1).

    Args:
        model: the Keras network (outputs of `build_model`).
        weighting: the task weighting, any method of cari_mtl.training.weighting_methods (dynamic, naive,
            static and the six of cari_mtl.training.task_weighting); `from_config` takes a StepConfig.
        optimizer: one of OPTIMIZERS, with TF1 hyper-parameters, for every variable group.
        center_loss_factor, center_loss_alfa: beta of the center loss and the center update rate.
        lossweights_lr_factor: learning-rate factor of the weights head's optimizer (dynamic).
        moving_average_decay: decay of the moving averages of the trained variables.
        legacy_global_step: count the global step as the original (+1 per optimizer and iteration).
        loss_terms_fn: the per-task loss terms (tests replace it).
        distribution: the tf.distribute strategy the model was built under (default: one device).
        jit_compile: compile the iteration with XLA (with several replicas, each replica's forward
            and backward pass).
        optimizer_options: keyword arguments of make_optimizer (AdamW's weight decay).
        learning_rate_schedule: a keras LearningRateSchedule evaluated at each iteration (its count:
            the global step / steps_per_iteration), in place of the rate passed per call (PORTING X3).
    """

    @classmethod
    def from_config(cls, model, weighting, step, distribution=None, jit_compile=False, **options):
        """The step of a StepConfig `step` (its defaults resolved), with the task weighting made from it;
        `options`: the keyword arguments beyond the StepConfig (loss_terms_fn, optimizer_options, schedule)."""
        return cls(model, weighting, step.optimizer, step.center_loss_factor, step.center_loss_alfa,
                   step.lossweights_lr_factor, step.moving_average_decay, step.legacy_global_step,
                   distribution=distribution, jit_compile=jit_compile, **options)

    def __init__(self, model, weighting, optimizer="RMSProp", center_loss_factor=0.0, center_loss_alfa=0.95,
                 lossweights_lr_factor=1.0, moving_average_decay=0.9999, legacy_global_step=False,
                 loss_terms_fn=losses.task_loss_terms, distribution=None, jit_compile=False, optimizer_options=None,
                 learning_rate_schedule=None):
        self.model = model
        self.weighting = weighting
        self.distribution = distribution or tf.distribute.get_strategy()
        self.replicas = self.distribution.num_replicas_in_sync
        self.center_loss_factor = float(center_loss_factor)
        self.center_loss_alfa = float(center_loss_alfa)
        self.lossweights_lr_factor = float(lossweights_lr_factor)
        self.loss_terms_fn = loss_terms_fn
        self.learning_rate_schedule = learning_rate_schedule
        if self.replicas > 1 and not weighting.supports_distribution:
            raise ValueError(f"--task_weighting {weighting.name} does not support --distribute yet: train it on one "
                             f"device (--distribute none)")
        with self.distribution.scope():
            weighting.build(model)
        self.forward = with_shared_features(model) if weighting.needs_shared_features else model
        self.groups = weighting.groups(model)
        self.steps_per_iteration = len(self.groups) if legacy_global_step else 1
        nrof_classes = model.output["logits_verif"].shape[-1]
        embedding_size = model.output["embeddings"].shape[-1]
        with self.distribution.scope():
            self.centers = tf.Variable(tf.zeros([nrof_classes, embedding_size]), trainable=False, name="centers")
            self.optimizers = {}
            for group in self.groups:
                self.optimizers[group.name] = make_optimizer(optimizer, name_suffix=f"_{group.name}",
                                                             **(optimizer_options or {}))
                self.optimizers[group.name].build(list(group.variables))
            self.ema = MovingAverage([v for group in self.groups for v in group.variables], moving_average_decay)
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.loss_scale = DynamicLossScale() if needs_loss_scale(keras.config.dtype_policy().name) else None
        distribute.synchronize_batch_norm(model, self.distribution)
        self._updated_variables = {}  # per group: the variables that have a gradient (found when tracing)
        if self.replicas == 1:
            self._compiled = tf.function(self._iteration, jit_compile=jit_compile, reduce_retracing=True)
        else:
            self._replica_fn = tf.function(self._replica_step, jit_compile=True) if jit_compile else self._replica_step
            self._compiled = tf.function(self._iteration, reduce_retracing=True)

    def checkpoint_objects(self):
        """What a training checkpoint must hold to resume exactly."""
        objects = {"model": self.model, "centers": self.centers, "ema_shadows": self.ema.shadows,
                   "global_step": self.global_step,
                   **{f"optimizer_{name}": opt for name, opt in self.optimizers.items()},
                   # "strategy_": the key checkpoints were written under before the weighting was so named
                   **{f"strategy_{name}": value for name, value in self.weighting.checkpoint_objects().items()}}
        if self.loss_scale is not None:
            objects["loss_scale"] = self.loss_scale.scale
        return objects

    def __call__(self, images, labels, is_cari, learning_rate):
        """Runs one iteration (forward, both updates, center update, moving averages) on a global batch.

        Args:
            images: [B, S, S, 3] float32, standardised; labels: [B] int; is_cari: [B] 0/1.
            learning_rate: this epoch's rate (float).
        Returns:
            {name: scalar tensor}: L, L1-L4, w1-w3, CE1-CE3, center1, accuracies, global_step (see `_logs`).
        """
        return self._compiled(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(labels, tf.int64),
                              tf.convert_to_tensor(is_cari, tf.int64), tf.constant(learning_rate, tf.float32),
                              trace_key=self.weighting.trace_key)

    def _iteration(self, images, labels, is_cari, learning_rate, trace_key=None):
        if self.learning_rate_schedule is not None:
            learning_rate = tf.cast(self.learning_rate_schedule(self.global_step // self.steps_per_iteration),
                                    tf.float32)
        with self.distribution.scope():
            for group in self.groups:
                factor = self.lossweights_lr_factor if group.name == "psi" else 1.0
                self.optimizers[group.name].learning_rate.assign(learning_rate * factor)
        if self.replicas == 1:
            results = self._replica_step(images, labels, is_cari)
        else:
            batch = distribute.split_batch(self.distribution, images, labels, is_cari)
            results = self.distribution.run(self._replica_fn, args=batch, kwargs={"trace_key": trace_key})
            with self.distribution.scope():
                self._count_replica_updates(results)
        return self._logs(results, learning_rate)

    def _replica_step(self, images, labels, is_cari, trace_key=None):
        """The iteration on one replica's slice; every loss, weight and update is a global-batch value.
        `trace_key` only makes the compiled step trace again when the weighting's key changes."""
        with tf.GradientTape(persistent=True) as tape:
            outputs = {name: tf.cast(value, tf.float32) for name, value in self.forward(images, training=True).items()}
            local = self.loss_terms_fn(outputs, labels, is_cari, self.centers, self.center_loss_factor)
            local["lossweights_sum"] = tf.reduce_sum(self.weighting.lossweights(outputs), axis=0)
            local["rows"] = tf.cast(tf.shape(labels)[0], tf.float32)
            terms = distribute.with_global_value(local)
            task_losses, cross_entropies, center1 = losses.reduce_task_losses(terms)
            batch_mean_lossweights = (terms["lossweights_sum"] / terms["rows"])[None, :]
            context = StepContext(tape, task_losses, tf.unstack(task_losses), outputs, self.model)
            task_weights = self.weighting.task_weights(batch_mean_lossweights, context)
            objectives = self.weighting.objectives(task_weights, task_losses)
            targets = dict(objectives)
            if self.loss_scale is not None:
                targets["L"] = objectives["L"] * self.loss_scale.scale
        results = self._gradients(tape, targets, context)
        del tape
        for group in self.groups:
            self._apply(group, results["gradients"].pop(group.name), results.get("finite"))
        self.weighting.after_step(context)
        sums, counts = distribute.replica_sum(
            losses.center_update_terms(outputs["embeddings"], labels, self.centers, self.centers.shape[0]))
        self.centers.assign_sub(losses.center_delta(sums, counts, self.center_loss_alfa))
        self.ema.update(self.global_step)
        self.global_step.assign_add(self.steps_per_iteration)
        results["scalars"] = {"task_losses": task_losses, "cross_entropies": cross_entropies, "center1": center1,
                              "task_weights": task_weights, **objectives,
                              **_train_accuracies(outputs, labels, is_cari), **_positive_logits(outputs)}
        del results["gradients"]
        return results

    def _gradients(self, tape, targets, context):
        """{"gradients": {group: clipped summed gradients}, "norms": {group: global norm}[, "finite"]}.

        `targets`: the objectives, L multiplied by the loss scale under mixed_float16 (only L's
        gradient passes through float16 layers; L4's reaches the float32 weights head only).
        """
        scale = self.loss_scale.scale if self.loss_scale is not None else None
        gradients = {}
        for group in self.groups:
            grads = self.weighting.group_gradients(tape, group, targets, context)
            self._updated_variables[group.name] = [v for g, v in zip(grads, group.variables) if g is not None]
            gradients[group.name] = [g for g in grads if g is not None]
        gradients = distribute.replica_sum(gradients)
        results = {"gradients": {}, "norms": {}}
        for group in self.groups:
            grads = gradients[group.name]
            if scale is not None and group.objective == "L":
                grads = [g / scale for g in grads]
            if grads:
                grads, norm = tf.clip_by_global_norm(grads, CLIP_NORM)
            else:
                norm = tf.constant(0.0)
            results["gradients"][group.name] = grads
            results["norms"][group.name] = norm
            if scale is not None and group.objective == "L":
                results["finite"] = tf.math.is_finite(norm)
        return results

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

        if finite is None or group.objective != "L":
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

    def _logs(self, results, learning_rate):
        scalars = tf.nest.map_structure(self._first_replica, results["scalars"])
        logs = {f"grad_norm_{name}": self._first_replica(norm) for name, norm in results["norms"].items()}
        for index in range(3):
            logs[f"L{index + 1}"] = scalars["task_losses"][index]
            logs[f"CE{index + 1}"] = scalars["cross_entropies"][index]
            logs[f"w{index + 1}"] = scalars["task_weights"][index]
        logs.update(center1=scalars["center1"], L=scalars["L"], L4=scalars["L4"], learning_rate=learning_rate,
                    global_step=self.global_step.read_value(),
                    **{name: scalars[name] for name in ("acc_verif", "acc_photo", "acc_cari", "positive_logits_photo",
                                                        "positive_logits_cari")})
        if self.loss_scale is not None:
            logs["loss_scale"] = self.loss_scale.scale.read_value()
        return logs

    def _first_replica(self, value):
        """The value of replica 0 (every replica holds the same global-batch value)."""
        if self.replicas == 1:
            return value
        return self.distribution.experimental_local_results(value)[0]


def _positive_logits(outputs):
    """How many logits of the photo and caricature heads are > 0 in the global batch (0: a dead ReLU head)."""
    counts = {name: tf.reduce_sum(tf.cast(outputs[head] > 0, tf.float32))
              for name, head in (("positive_logits_photo", "logits_visual"), ("positive_logits_cari", "logits_cari"))}
    return distribute.replica_sum(counts)


def _train_accuracies(outputs, labels, is_cari):
    """Training-batch accuracies of the three heads on the images each one is trained on (global batch)."""
    is_cari = tf.cast(is_cari, tf.int64)
    masks = {"acc_verif": tf.ones_like(is_cari, tf.bool), "acc_photo": tf.equal(is_cari, 0),
             "acc_cari": tf.equal(is_cari, 1)}
    heads = {"acc_verif": "logits_verif", "acc_photo": "logits_visual", "acc_cari": "logits_cari"}
    sums = {}
    for name, mask in masks.items():
        correct = tf.cast(tf.equal(tf.argmax(outputs[heads[name]], axis=1), labels), tf.float32)
        sums[name] = losses.masked_sum(correct, mask)
    sums = distribute.replica_sum(sums)
    return {name: losses.safe_mean(total, count) for name, (total, count) in sums.items()}

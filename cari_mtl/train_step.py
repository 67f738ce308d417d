"""One compiled training iteration: forward, both updates, center update, moving averages.

What one iteration of the original's `sess.run([... train_op_mainstem, train_op_weights ...])`
does, as one `tf.function`:
1. forward pass in training mode (BN batch statistics and moving-statistics updates, dropout);
2. L1..L3 from the shared centers, the task weights w [3] from the strategy, L and L4;
3. per variable group (strategy): gradients of its objective, clipped by global norm 5.0, applied
   by that group's optimizer (Ψ's learning rate x `lossweights_lr_factor`);
4. the shared centers move toward the branch-1 embeddings of the batch (`center_loss_alfa`);
5. the moving averages of the trained variables, with num_updates = the global step;
6. the global step advances by `steps_per_iteration` (1, or one per optimizer to reproduce the
   original's counting, see docs/PORTING.md).
Every logged scalar is returned in one dict of tensors.
"""

import tensorflow as tf

from cari_mtl import losses, weighting
from cari_mtl.ema import MovingAverage
from cari_mtl.optimizers import CLIP_NORM, make_optimizer


class TrainStep:
    """Owns the training state (centers, optimizers, moving averages, global step) of `model`."""

    def __init__(self, model, strategy, optimizer="RMSProp", center_loss_factor=0.0, center_loss_alfa=0.95,
                 lossweights_lr_factor=1.0, moving_average_decay=0.9999, legacy_global_step=False,
                 loss_terms_fn=losses.task_loss_terms):
        self.model = model
        self.strategy = strategy
        self.center_loss_factor = float(center_loss_factor)
        self.center_loss_alfa = float(center_loss_alfa)
        self.lossweights_lr_factor = float(lossweights_lr_factor)
        self.loss_terms_fn = loss_terms_fn
        self.groups = strategy.groups(model)
        self.steps_per_iteration = len(self.groups) if legacy_global_step else 1
        nrof_classes = model.output["logits_verif"].shape[-1]
        embedding_size = model.output["embeddings"].shape[-1]
        self.centers = tf.Variable(tf.zeros([nrof_classes, embedding_size]), trainable=False, name="centers")
        self.optimizers = {}
        for group in self.groups:
            self.optimizers[group.name] = make_optimizer(optimizer, name_suffix=f"_{group.name}")
            self.optimizers[group.name].build(list(group.variables))
        self.ema = MovingAverage([v for group in self.groups for v in group.variables], moving_average_decay)
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self._compiled = tf.function(self._iteration, reduce_retracing=True)

    def checkpoint_objects(self):
        """What a training checkpoint must hold to resume exactly."""
        return {"model": self.model, "centers": self.centers, "ema_shadows": self.ema.shadows,
                "global_step": self.global_step,
                **{f"optimizer_{name}": opt for name, opt in self.optimizers.items()}}

    def __call__(self, images, labels, is_cari, learning_rate):
        """Runs one iteration; returns {name: scalar tensor} (see `_iteration`)."""
        return self._compiled(tf.convert_to_tensor(images, tf.float32), tf.convert_to_tensor(labels, tf.int64),
                              tf.convert_to_tensor(is_cari, tf.int64), tf.constant(learning_rate, tf.float32))

    def _iteration(self, images, labels, is_cari, learning_rate):
        with tf.GradientTape(persistent=True) as tape:
            outputs = self.model(images, training=True)
            terms = self.loss_terms_fn(outputs, labels, is_cari, self.centers, self.center_loss_factor)
            task_losses, cross_entropies, center1 = losses.reduce_task_losses(terms)
            task_weights = self.strategy.task_weights(outputs["lossweights"])
            objectives = weighting.objectives(task_weights, task_losses)
        logs = {}
        for group in self.groups:
            logs[f"grad_norm_{group.name}"] = self._apply(tape, objectives[group.objective], group, learning_rate)
        del tape
        sums, counts = losses.center_update_terms(outputs["embeddings"], labels, self.centers,
                                                  self.centers.shape[0])
        self.centers.assign_sub(losses.center_delta(sums, counts, self.center_loss_alfa))
        self.ema.update(self.global_step)
        self.global_step.assign_add(self.steps_per_iteration)
        for index in range(3):
            logs[f"L{index + 1}"] = task_losses[index]
            logs[f"CE{index + 1}"] = cross_entropies[index]
            logs[f"w{index + 1}"] = task_weights[index]
        logs.update(center1=center1, L=objectives["L"], L4=objectives["L4"], learning_rate=learning_rate,
                    global_step=self.global_step.read_value(), **_train_accuracies(outputs, labels, is_cari))
        return logs

    def _apply(self, tape, objective, group, learning_rate):
        variables = list(group.variables)
        gradients = tape.gradient(objective, variables)
        pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        if not pairs:
            return tf.constant(0.0)
        clipped, norm = tf.clip_by_global_norm([g for g, _ in pairs], CLIP_NORM)
        optimizer = self.optimizers[group.name]
        factor = self.lossweights_lr_factor if group.name == "psi" else 1.0
        optimizer.learning_rate.assign(learning_rate * factor)
        optimizer.apply_gradients(zip(clipped, [v for _, v in pairs]))
        return norm


def _train_accuracies(outputs, labels, is_cari):
    """Training-batch accuracies of the three heads on the images each one is trained on."""
    is_cari = tf.cast(is_cari, tf.int64)
    masks = {"acc_verif": tf.ones_like(is_cari, tf.bool), "acc_photo": tf.equal(is_cari, 0),
             "acc_cari": tf.equal(is_cari, 1)}
    heads = {"acc_verif": "logits_verif", "acc_photo": "logits_visual", "acc_cari": "logits_cari"}
    result = {}
    for name, mask in masks.items():
        correct = tf.cast(tf.equal(tf.argmax(outputs[heads[name]], axis=1), labels), tf.float32)
        result[name] = losses.safe_mean(*losses.masked_sum(correct, mask))
    return result

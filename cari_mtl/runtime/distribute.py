"""tf.distribute for the custom train step: strategies, batch splitting, global-batch sums.

The step is written once for N replicas (N = 1 without --distribute). Every quantity the original
computes over its one batch (masked means, task weights, center update, accuracies) is kept as a
sum (and a count) per replica, summed over the replicas, and divided once, so N replicas on a
global batch give what one device gives on the same batch.
"""

import json
import os
import tempfile

from cari_mtl.runtime import collective_timeout
from cari_mtl.runtime.options import DISTRIBUTE_CHOICES


def make_distribution(name, collective_timeout_seconds=collective_timeout.DEFAULT_SECONDS):
    """The tf.distribute strategy for --distribute (create it before any other TensorFlow work);
    `collective_timeout_seconds`: see cari_mtl.runtime.collective_timeout."""
    import tensorflow as tf

    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--distribute multiworker needs the TF_CONFIG environment variable on every machine "
                             "(cluster addresses and this machine's task), see the README")
        collective_timeout.configure(collective_timeout_seconds)
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown --distribute {name!r}; choose one of {', '.join(DISTRIBUTE_CHOICES)}")


def is_chief(distribution):
    """Whether this process writes the run's outputs: always, except on non-chief multi-worker tasks."""
    resolver = getattr(distribution, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_scratch_dir():
    """Where a non-chief worker writes the files every worker must write (checkpoints, logs)."""
    return tempfile.mkdtemp(prefix="cari_mtl_worker_")


def check_batch_size(batch_size, distribution):
    """Raises ValueError unless the global batch splits evenly across the replicas."""
    replicas = distribution.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(f"--batch_size {batch_size} does not split evenly across {replicas} replicas: "
                         f"use a multiple of {replicas}")


def split_batch(distribution, *tensors):
    """Per-replica slices [global / N] of global-batch tensors (each worker holds the same global batch)."""
    replicas = distribution.num_replicas_in_sync
    check_batch_size(int(tensors[0].shape[0]), distribution)
    size = int(tensors[0].shape[0]) // replicas

    def replica_slice(context):
        start = context.replica_id_in_sync_group * size
        return tuple(t[start:start + size] for t in tensors)

    return distribution.experimental_distribute_values_from_function(replica_slice)


def replica_sum(values):
    """Sums a structure of tensors over the replicas (inside strategy.run); identity on one replica."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return values
    return context.all_reduce(tf.distribute.ReduceOp.SUM, values)


def with_global_value(local):
    """A tensor whose value is the replica sum of `local` and whose gradient reaches this replica's
    part only: summing the replicas' gradients then gives the gradient of the global quantity."""
    import tensorflow as tf

    total = replica_sum(local)
    if total is local:
        return local
    return tf.nest.map_structure(lambda part, whole: part + tf.stop_gradient(whole - part), local, total)


def synchronize_batch_norm(model, distribution):
    """Batch statistics over the global batch, as on one device (only with more than one replica,
    so single-device numerics keep TensorFlow's own moments)."""
    import keras

    if distribution.num_replicas_in_sync == 1:
        return
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True

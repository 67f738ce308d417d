"""--collective_timeout (cari_mtl.commands.common_flags): how long the workers of a multi-worker run
wait for one that is gone.

MultiWorkerMirroredStrategy runs TensorFlow's coordination service on the first task of the
cluster: every worker sends it heartbeats, and when one stops for the heartbeat timeout the service
aborts the collectives of the others (UnavailableError, naming the silent task). The strategy sets
the service up itself only when nobody did, with TensorFlow's defaults (no limit on the wait for
the workers to register at start-up, a fixed heartbeat timeout), so it is configured here first,
with --collective_timeout for all three waits: registration, heartbeats and the shutdown barrier.
(Measured with TensorFlow 2.21: a worker whose peers never start still waits without limit inside
the strategy's constructor; cari_mtl.training.run.worker_failure bounds that wait with a watchdog.) A
worker that is alive but slow (tracing, evaluating, writing a checkpoint) keeps sending heartbeats,
so the timeout never cuts a slow step short.
"""

from cari_mtl.runtime.options import DEFAULT_COLLECTIVE_TIMEOUT

DEFAULT_SECONDS = DEFAULT_COLLECTIVE_TIMEOUT
COORDINATED_JOBS = ("chief", "worker")


def configure(timeout_seconds):
    """Sets up the coordination service with `timeout_seconds` (before the strategy is created)."""
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    cluster = tf.distribute.cluster_resolver.TFConfigClusterResolver().cluster_spec()
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster.num_tasks(job))
            for job in COORDINATED_JOBS if job in cluster.jobs]
    milliseconds = int(timeout_seconds * 1000)
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(cluster),
        coordinated_jobs=jobs, cluster_register_timeout_in_ms=milliseconds, heartbeat_timeout_in_ms=milliseconds,
        shutdown_barrier_timeout_in_ms=milliseconds)

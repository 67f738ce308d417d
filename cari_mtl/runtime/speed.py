"""Speed options shared by the training and evaluation commands: XLA and mixed precision.

Both default to `auto`: on where they pay off (a GPU), off on a CPU, where XLA compilation time
and bfloat16/float16 arithmetic gain nothing and the port must reproduce float32 numerics.

    auto mixed precision   GPU with compute capability >= 8 (Ampere, Hopper): mixed_bfloat16
                           GPU with compute capability 7.x (Volta, Turing): mixed_float16
                           older GPU or no GPU: float32
    auto XLA               on when a GPU is visible, off otherwise

Mixed precision keeps the variables in float32 (model directories and checkpoints do not change);
only the layer computations run in 16 bits. The heads, losses and softmax stay float32.
"""

import keras

from cari_mtl.runtime.options import MIXED_PRECISION_CHOICES, XLA_CHOICES, SpeedOptions  # noqa: F401 (re-exported)

POLICIES = {"off": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


def gpu_compute_capability():
    """(major, minor) of the first visible GPU, or None without a GPU (asked of the Keras backend)."""
    if keras.backend.backend() == "jax":
        import jax

        gpus = [device for device in jax.devices() if device.platform == "gpu"]
        if not gpus:
            return None
        return tuple(int(part) for part in str(getattr(gpus[0], "compute_capability", "0.0")).split(".")[:2])
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    return tuple(capability) if capability else (0, 0)


def mixed_precision_policy(choice):
    """The Keras dtype policy name for a --mixed_precision choice (auto resolved on this machine)."""
    if choice not in MIXED_PRECISION_CHOICES:
        raise ValueError(f"--mixed_precision must be one of {', '.join(MIXED_PRECISION_CHOICES)}, got {choice!r}")
    if choice != "auto":
        return POLICIES[choice]
    capability = gpu_compute_capability()
    if capability is None or capability < (7, 0):
        return "float32"
    return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"


def apply_mixed_precision(choice):
    """Sets the Keras global dtype policy; call before building the model. Returns the policy name."""
    policy = mixed_precision_policy(choice)
    keras.config.set_dtype_policy(policy)
    return policy


def use_xla(flag):
    """True when the step should be jit-compiled, for an --xla value (auto/on/off, or a bool)."""
    if isinstance(flag, bool):
        return flag
    if flag not in XLA_CHOICES:
        raise ValueError(f"--xla must be one of {', '.join(XLA_CHOICES)}, got {flag!r}")
    if flag == "auto":
        return gpu_compute_capability() is not None
    return flag == "on"


class DynamicLossScale:
    """Loss scaling for mixed_float16 (the rule of Keras's LossScaleOptimizer): gradients of
    `scale x loss` keep small float16 values from flushing to zero; a step whose gradients are
    not finite is skipped and halves the scale, 2000 finite steps in a row double it."""

    def __init__(self, initial_scale=2.0 ** 15, growth_interval=2000):
        import tensorflow as tf

        self.growth_interval = int(growth_interval)
        self.scale = tf.Variable(initial_scale, dtype=tf.float32, trainable=False, name="loss_scale")
        self.finite_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="loss_scale_finite_steps")

    def update(self, finite):
        """Adjusts the scale after a step whose unscaled gradients were `finite` (a bool scalar)."""
        import tensorflow as tf

        grow = tf.logical_and(finite, self.finite_steps + 1 >= self.growth_interval)
        self.scale.assign(tf.where(finite, tf.where(grow, self.scale * 2.0, self.scale),
                                   tf.maximum(self.scale / 2.0, 1.0)))
        self.finite_steps.assign(tf.where(tf.logical_and(finite, tf.logical_not(grow)),
                                          self.finite_steps + 1, tf.zeros_like(self.finite_steps)))


def needs_loss_scale(policy_name):
    """float16 needs loss scaling; bfloat16 has float32's exponent range and does not."""
    return policy_name == "mixed_float16"

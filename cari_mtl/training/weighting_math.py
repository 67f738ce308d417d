"""The arithmetic of the literature's task-weighting methods in backend-neutral `keras.ops`: what the
JAX step computes (cari_mtl.training.jax_task_weighting). The same formulas as the TensorFlow
functions of cari_mtl.training.mtl_methods, which the TensorFlow step keeps using;
tests/test_jax_equivalence.py checks that both steps give the same numbers."""

from keras import ops


def uncertainty_objective(task_losses, log_variances):
    """sum_i exp(-s_i) L_i + s_i (Kendall, Gal, Cipolla); its task weights are exp(-s_i)."""
    return ops.sum(ops.exp(-log_variances) * task_losses + log_variances)


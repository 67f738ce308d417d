"""The arithmetic of the multi-task weighting methods of the literature, as TensorFlow functions.

Each function is the formula of its paper and nothing else, so that the train step can call it
inside its compiled iteration and the tests can check it against numpy:

    uncertainty_objective   Kendall, Gal, Cipolla, CVPR 2018: L = sum_i exp(-s_i) L_i + s_i
    dwa_weights             Liu, Johns, Davison, CVPR 2019: w = T softmax(r / tau), r_i = L_i(t-1) / L_i(t-2)
    gradnorm_loss           Chen et al., ICML 2018: sum_i |G_i - mean(G) (L~_i / mean L~)^alpha|
    min_norm_weights        Sener & Koltun, NeurIPS 2018 (MGDA-UB): the min-norm point of the convex
                            hull of three gradients, solved exactly
"""

import tensorflow as tf


def uncertainty_objective(task_losses, log_variances):
    """sum_i exp(-s_i) L_i + s_i; its effective task weights are exp(-s_i)."""
    return tf.reduce_sum(tf.exp(-log_variances) * task_losses + log_variances)


def dwa_weights(previous, before_previous, temperature=2.0):
    """Dynamic Weight Average: K softmax(r / temperature) with r_i = L_i(t-1) / L_i(t-2).

    `previous` / `before_previous`: mean task losses of the last two epochs (or windows) [K].
    """
    ratios = previous / before_previous
    count = tf.cast(tf.size(ratios), ratios.dtype)
    return count * tf.nn.softmax(ratios / temperature)


def gradnorm_loss(gradient_norms, task_losses, initial_losses, alpha=1.5):
    """GradNorm's L_grad: sum_i |G_i - mean(G) r_i^alpha|, r_i = (L_i / L_i(0)) / mean_j (L_j / L_j(0)).

    `gradient_norms` G_i = ||d(w_i L_i)/dW|| at the last shared layer W, differentiable in w; the
    target mean(G) r_i^alpha is a constant, as in the paper.
    """
    ratios = task_losses / initial_losses
    relative = ratios / tf.reduce_mean(ratios)
    target = tf.stop_gradient(tf.reduce_mean(gradient_norms) * relative ** alpha)
    return tf.reduce_sum(tf.abs(gradient_norms - target))


def min_norm_weights(gradients):
    """The weights alpha (alpha >= 0, sum 1) minimising ||sum_i alpha_i g_i||^2 for three gradients [3, D]."""
    return min_norm_weights_from_gram(tf.matmul(gradients, gradients, transpose_b=True))


def min_norm_weights_from_gram(gram):
    """min_norm_weights from the Gram matrix [3, 3] of the gradients (summable over replicas).

    Exact: the interior KKT point when it is feasible, else the best point on the three edges
    (closed form for two gradients), which also covers the vertices. Solved in float64 on the Gram
    matrix scaled to a unit mean diagonal (the minimiser does not depend on the scale), so that small
    gradients do not fall under the pseudo-inverse's cut-off.
    """
    dtype = gram.dtype
    gram = tf.cast(gram, tf.float64)
    gram = gram / tf.maximum(tf.linalg.trace(gram) / 3.0, 1e-300)
    system = tf.concat([tf.concat([gram, tf.ones([3, 1], gram.dtype)], axis=1),
                        tf.constant([[1.0, 1.0, 1.0, 0.0]], gram.dtype)], axis=0)
    # The pseudo-inverse keeps collinear gradients (a singular system) from failing; its answer is
    # then checked like any other candidate.
    interior = tf.linalg.matvec(tf.linalg.pinv(system), tf.constant([0.0, 0.0, 0.0, 1.0], gram.dtype))[:3]
    feasible = tf.logical_and(tf.reduce_all(interior >= 0), tf.reduce_all(tf.math.is_finite(interior)))
    candidates = [(interior, feasible)]
    for first, second in ((0, 1), (0, 2), (1, 2)):
        spread = gram[first, first] + gram[second, second] - 2.0 * gram[first, second]
        t = tf.clip_by_value(tf.math.divide_no_nan(gram[second, second] - gram[first, second], spread), 0.0, 1.0)
        alpha = tf.tensor_scatter_nd_update(tf.zeros([3], gram.dtype), [[first], [second]], tf.stack([t, 1.0 - t]))
        candidates.append((alpha, tf.constant(True)))
    best, best_norm = candidates[1][0], tf.constant(float("inf"), gram.dtype)
    for alpha, valid in candidates:
        norm = tf.where(valid, tf.tensordot(alpha, tf.linalg.matvec(gram, alpha), 1),
                        tf.constant(float("inf"), gram.dtype))
        better = norm < best_norm
        best, best_norm = tf.where(better, alpha, best), tf.where(better, norm, best_norm)
    return tf.cast(best, dtype)

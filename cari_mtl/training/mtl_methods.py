"""The arithmetic of the multi-task weighting methods of the literature, as TensorFlow functions
(PCGrad's and MGDA's are keras.ops functions of cari_mtl.training.weighting_math, shared with JAX).

Each function is the formula of its paper and nothing else, so that the train step can call it
inside its compiled iteration and the tests can check it against numpy:

    uncertainty_objective   Kendall, Gal, Cipolla, CVPR 2018: L = sum_i exp(-s_i) L_i + s_i
    dwa_weights             Liu, Johns, Davison, CVPR 2019: w = T softmax(r / tau), r_i = L_i(t-1) / L_i(t-2)
    gradnorm_loss           Chen et al., ICML 2018: sum_i |G_i - mean(G) (L~_i / mean L~)^alpha|
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

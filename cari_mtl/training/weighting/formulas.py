"""The arithmetic of the literature's task-weighting methods, once for both backends in `keras.ops`
(cari_mtl.training.weighting.literature). Each function is the formula of its paper and nothing else,
so that a step can call it inside its compiled iteration and the tests can check it against numpy."""

import itertools

from keras import ops

PCGRAD_ORDERS = tuple(itertools.permutations(range(3)))  # PCGrad's visiting orders, one per step in turn


def uncertainty_objective(task_losses, log_variances):
    """sum_i exp(-s_i) L_i + s_i (Kendall, Gal, Cipolla); its task weights are exp(-s_i)."""
    return ops.sum(ops.exp(-log_variances) * task_losses + log_variances)


def dwa_weights(previous, before_previous, windows_done, temperature):
    """K softmax(r / T), r_i = mean loss of the last window / of the one before (Liu, Johns, Davison);
    1 until two windows are done."""
    ratios = previous / ops.maximum(before_previous, 1e-12)
    weights = ops.cast(ops.size(ratios), ratios.dtype) * ops.softmax(ratios / temperature)
    return ops.where(windows_done >= 2, weights, ops.ones_like(weights))


def dwa_after_step(history, task_losses, window):
    """The loss history after one step: the running window sum, and the two last windows' means."""
    window_sum = history["window_sum"] + task_losses
    window_steps = history["window_steps"] + 1
    closing = window_steps >= window
    mean = window_sum / ops.cast(ops.maximum(window_steps, 1), "float32")
    return {"window_sum": ops.where(closing, ops.zeros_like(window_sum), window_sum),
            "window_steps": ops.where(closing, ops.zeros_like(window_steps), window_steps),
            "previous": ops.where(closing, mean, history["previous"]),
            "before_previous": ops.where(closing, history["previous"], history["before_previous"]),
            "windows_done": history["windows_done"] + ops.cast(closing, "int32")}


def gradnorm_update(weights, gradient_norms, task_losses, initial_losses, alpha, learning_rate):
    """GradNorm's weights after one gradient step on L_grad = sum_i |w_i n_i - mean(w n) r_i^alpha|
    (target held constant, Chen et al.), clipped at 0 and renormalised to sum K.
    `gradient_norms` n_i: ||dL_i/dW|| at the last shared layer; r_i the relative inverse training rate."""
    norms = weights * gradient_norms
    ratios = task_losses / initial_losses
    target = ops.mean(norms) * (ratios / ops.mean(ratios)) ** alpha
    updated = ops.maximum(weights - learning_rate * ops.sign(norms - target) * gradient_norms, 0.0)
    return ops.cast(ops.size(weights), "float32") * updated / ops.sum(updated)


def pcgrad_order(steps):
    """The order [3] in which PCGrad's step number `steps` visits the other tasks: the six permutations
    in turn, so that each order is used equally often and both backends use the same one (PORTING T24)."""
    return ops.take(ops.convert_to_tensor(PCGRAD_ORDERS, "int32"), ops.cast(steps % len(PCGRAD_ORDERS), "int32"),
                    axis=0)


def pcgrad(task_gradients, order):
    """PCGrad (Yu et al.) on flat task gradients [K, D]: each g_i, visiting the other tasks in `order` [K]
    (a permutation), loses its component along g_j whenever g_i . g_j < 0; returns the sum [D]."""
    count = task_gradients.shape[0]
    projected = []
    for i in range(count):
        gradient = task_gradients[i]
        for position in range(count):
            j = order[position]
            other = ops.take(task_gradients, j, axis=0)
            dot = ops.sum(gradient * other)
            conflict = ops.logical_and(ops.not_equal(j, i), dot < 0)
            step = dot / ops.maximum(ops.sum(other * other), 1e-20) * other
            gradient = ops.where(conflict, gradient - step, gradient)
        projected.append(gradient)
    return sum(projected[1:], projected[0])


def widest_float():
    """float64 where the backend computes in it; JAX without x64 has float32 only."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


def min_norm_weights(gradients, dtype="float64"):
    """The weights alpha (alpha >= 0, sum 1) minimising ||sum_i alpha_i g_i||^2 for three gradients [3, D]
    (MGDA-UB, Sener & Koltun)."""
    return min_norm_weights_from_gram(ops.matmul(gradients, ops.transpose(gradients)), dtype)


def min_norm_weights_from_gram(gram, dtype="float64"):
    """min_norm_weights from the Gram matrix [3, 3] of the gradients (summable over replicas).

    Exact: the interior KKT point when it is feasible, else the best point on the three edges (closed
    form for two gradients), which also covers the vertices. Solved in `dtype` (float64 where the backend
    has it; JAX without x64 has float32) on the Gram matrix scaled to a unit mean diagonal (the minimiser
    does not depend on the scale), so that small gradients do not fall under the least-squares cut-off,
    which also keeps collinear gradients (a singular system) from failing: that answer is then checked
    like any other candidate.
    """
    result_dtype = gram.dtype
    gram = ops.cast(gram, dtype)
    gram = gram / ops.maximum(ops.trace(gram) / 3.0, 1e-30)
    system = ops.concatenate([ops.concatenate([gram, ops.ones((3, 1), dtype)], axis=1),
                              ops.convert_to_tensor([[1.0, 1.0, 1.0, 0.0]], dtype)], axis=0)
    interior = ops.lstsq(system, ops.convert_to_tensor([0.0, 0.0, 0.0, 1.0], dtype))[:3]
    feasible = ops.logical_and(ops.all(interior >= 0), ops.all(ops.isfinite(interior)))
    candidates = [(interior, feasible)]
    zero = ops.zeros((), dtype)
    for first, second in ((0, 1), (0, 2), (1, 2)):
        spread = gram[first, first] + gram[second, second] - 2.0 * gram[first, second]
        t = ops.clip(ops.divide_no_nan(gram[second, second] - gram[first, second], spread), 0.0, 1.0)
        alpha = ops.stack([t if k == first else 1.0 - t if k == second else zero for k in range(3)])
        candidates.append((alpha, True))
    best, best_norm = candidates[1][0], ops.convert_to_tensor(float("inf"), dtype)
    for alpha, valid in candidates:
        norm = ops.where(valid, ops.sum(alpha * ops.matmul(gram, alpha)), float("inf"))
        better = norm < best_norm
        best, best_norm = ops.where(better, alpha, best), ops.where(better, norm, best_norm)
    return ops.cast(best, result_dtype)


def stage_of_epoch(epochs, epoch):
    """staged: the stage (0 joint, 1-3 one task) that 1-based `epoch` falls in, the four stage lengths
    `epochs` repeated in that order."""
    position = (epoch - 1) % sum(epochs)
    stage = 0
    while position >= epochs[stage]:
        position -= epochs[stage]
        stage += 1
    return stage

"""The weightings of the paper and of its original scripts.

    dynamic (proposed)  w from the weights head Ψ; Θ (everything else) trained on L by one
                        optimizer, Ψ trained on L4 = sum w_i / (L_i + sigma) by a second one.
    naive (Yin & Liu)   w from Ψ; one optimizer trains Θ and Ψ together on L, which pushes the
                        weight of the hardest task down (the `*_navie.py` / `*naivedynamic*` scripts).
    static              w fixed from --static_weights; Ψ is not trained. One weight 1 and the
                        others 0 gives the paper's single-task baselines.
"""

from cari_mtl.training.tasks import NROF_TASKS
from cari_mtl.training.weighting.base import Group, Weighting, constant_weights, split_indices


class Dynamic(Weighting):
    """The proposed method: two optimizers, Θ on L, Ψ on L4.

    detach_weights_input: Ψ sees the trunk features through a stop-gradient, so L's gradient no
    longer reaches the trunk through w and only L4 moves the weights (what the paper's README
    describes; the original lets L's gradient through, PORTING T5).
    """
    name = "dynamic"

    def __init__(self, loss_weight_base=(0.0, 0.0, 0.0), detach_weights_input=False):
        self.loss_weight_base = tuple(float(b) for b in loss_weight_base)
        self.detach_weights_input = bool(detach_weights_input)

    def task_weights(self, lossweights, state, feature_gram=None):
        """w_i = batch mean of Ψ's softmax column i + base_i."""
        return lossweights + constant_weights(self.loss_weight_base)

    def groups(self, model):
        theta, psi = split_indices(model)
        return (Group("theta", "L", theta), Group("psi", "L4", psi))


class Naive(Dynamic):
    """Yin & Liu's dynamic weights: everything, Ψ included, on L with one optimizer."""
    name = "naive"

    def __init__(self, loss_weight_base=(0.0, 0.0, 0.0)):
        super().__init__(loss_weight_base)

    def lossweights_variant(self, dataset_variant):
        return "naive"

    def groups(self, model):
        theta, psi = split_indices(model)
        return (Group("theta", "L", theta + psi),)


class Static(Weighting):
    """Fixed weights (w1, w2, w3); Ψ stays untouched."""
    name = "static"

    def __init__(self, static_weights=(1.0, 1.0, 1.0)):
        if len(static_weights) != NROF_TASKS:
            raise ValueError(f"--static_weights needs 3 comma-separated numbers, got {static_weights!r}")
        self.static_weights = tuple(float(w) for w in static_weights)

    def task_weights(self, lossweights, state, feature_gram=None):
        return constant_weights(self.static_weights)

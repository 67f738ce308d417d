"""Task weightings: one class per method for both backends (base.Weighting), one registry.

    original     dynamic, naive, static: the paper's and its original scripts'
    literature   uncertainty, dwa, gradnorm, pcgrad, mgda, staged (docs/TASK_WEIGHTING.md)
    formulas     the methods' arithmetic in keras.ops
    registry     the --task_weighting names (register / make_weighting), free of Keras

`Weighting` and `Group` are imported on first use, so that the flags can list the methods without
loading Keras.
"""

from cari_mtl.training.weighting.registry import (  # noqa: F401
    WeightingMethod,
    make_weighting,
    names,
    register,
    step_options,
    weighting_of,
)


def __getattr__(name):
    if name in ("Weighting", "Group"):
        from cari_mtl.training.weighting import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

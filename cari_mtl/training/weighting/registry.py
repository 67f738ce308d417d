"""The task-weighting methods a run can use (--task_weighting), one registry entry each.

An entry names the method's class as "module:Class" (imported when a run makes it, so that the flags
and the configs do not load TensorFlow) and the options it takes: StepConfig / WeightingOptions
fields, passed to the class as keyword arguments of the same names. Adding a method is one module
with a `cari_mtl.training.weighting.Weighting` subclass and one `register(...)` line, and the
method runs under both backends
(docs/ARCHITECTURE.md, "Adding a task-weighting method").
"""

import dataclasses
import importlib
from dataclasses import dataclass

from cari_mtl.training.config import StepConfig


@dataclass(frozen=True)
class WeightingMethod:
    """name: the --task_weighting value; target: "module:Class"; options: the config fields it takes."""
    name: str
    target: str
    options: tuple = ()


METHODS = {}


def register(method):
    """Adds (or replaces) a method; returns it."""
    METHODS[method.name] = method
    return method


def names():
    return tuple(METHODS)


def make_weighting(name, **options):
    """The weighting `name` built with the options it takes from `options` (others are ignored); an
    option not given takes the StepConfig default, where that default is set."""
    if name not in METHODS:
        raise ValueError(f"unknown --task_weighting {name!r}; choose one of {', '.join(METHODS)}")
    method = METHODS[name]
    module, _, class_name = method.target.partition(":")
    kind = getattr(importlib.import_module(module), class_name)
    given = {**step_options(StepConfig()), **options}
    return kind(**{key: given[key] for key in method.options if given.get(key) is not None})


def step_options(step):
    """Every method option a StepConfig holds, by name."""
    return {"loss_weight_base": step.loss_weight_base, "static_weights": step.static_weights,
            **dataclasses.asdict(step.weighting_options)}


def weighting_of(step):
    """The weighting of a StepConfig (its task_weighting, with the options that method takes)."""
    return make_weighting(step.task_weighting, **step_options(step))


BASIC = "cari_mtl.training.weighting.original"
LITERATURE = "cari_mtl.training.weighting.literature"
for _method in (
        WeightingMethod("dynamic", f"{BASIC}:Dynamic", ("loss_weight_base", "detach_weights_input")),
        WeightingMethod("naive", f"{BASIC}:Naive", ("loss_weight_base",)),
        WeightingMethod("static", f"{BASIC}:Static", ("static_weights",)),
        WeightingMethod("uncertainty", f"{LITERATURE}:Uncertainty"),
        WeightingMethod("dwa", f"{LITERATURE}:DynamicWeightAverage", ("dwa_temperature", "dwa_window")),
        WeightingMethod("gradnorm", f"{LITERATURE}:GradNorm", ("gradnorm_alpha", "gradnorm_lr")),
        WeightingMethod("pcgrad", f"{LITERATURE}:PCGrad"),
        WeightingMethod("mgda", f"{LITERATURE}:MGDA"),
        WeightingMethod("staged", f"{LITERATURE}:Staged", ("staged_epochs",))):
    register(_method)

"""The train step's options beyond the original (PORTING X1-X4), read from a TrainingConfig once for
both backends: each head's loss, the optimizers' extra arguments, a per-step learning-rate schedule.
The defaults give the original's loss function, optimizers and per-epoch rates."""

from cari_mtl.model.model_dir import margin_head_options
from cari_mtl.training.step.formulas import task_loss_terms_fn
from cari_mtl.training.step.lr_schedules import step_schedule


def modern_step_options(config, model_config):
    """{'loss_terms_fn': the task losses with the heads' losses, 'optimizer_options': make_optimizer's
    keyword arguments, 'learning_rate_schedule': a keras LearningRateSchedule or None} of `config`."""
    loop = config.loop
    return {"loss_terms_fn": task_loss_terms_fn(model_config, config.step.label_smoothing),
            "optimizer_options": {"adamw_weight_decay": config.step.adamw_weight_decay},
            "learning_rate_schedule": step_schedule(loop.learning_rate_schedule, loop.learning_rate,
                                                    loop.max_nrof_epochs * loop.epoch_size, loop.warmup_steps)}


def heads_line(model_config):
    """The line the training commands print about margin heads; None for the original's heads."""
    if not margin_head_options(model_config):
        return None
    margin = model_config.margin if model_config.margin is not None else "default"
    return (f"heads: verification {model_config.verif_head}, identification {model_config.identity_heads}, "
            f"margin {margin}, scale {model_config.margin_scale}")

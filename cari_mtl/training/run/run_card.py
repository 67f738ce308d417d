"""The model card of a training run's model directories (cari_mtl.model.model_card): what the run's
configuration says once, and what each epoch adds (step, metrics, the evaluation's threshold)."""

from dataclasses import asdict

from cari_mtl.model.model_card import new_card


def run_card(config, model_config, class_names, command_line):
    """The part of the card shared by every epoch of a run (a TrainingConfig and the built ModelConfig)."""
    data, network, step = config.data, config.network, config.step
    return new_card(
        command_line=command_line,
        dataset={"name": data.dataset, "data_dir": data.data_dir, "test_pairs": data.test_pairs,
                 **({"downsample": data.downsample} if data.dataset == "cavi" else {"train_pairs": data.train_pairs}),
                 "seed": data.seed},
        identities={"count": model_config.nrof_classes, "names": [str(name) for name in class_names or []]},
        image_size=model_config.image_size,
        image_standardization=model_config.image_standardization,
        network={"model_def": model_config.model_def, "logits_relu": model_config.logits_relu,
                 "lossweights_variant": model_config.lossweights_variant,
                 "pretrained_model": network.pretrained_model, "keep_probability": network.keep_probability,
                 "weight_decay": network.weight_decay},
        task_weighting={"method": step.task_weighting, "loss_weight_base": list(step.loss_weight_base),
                        "static_weights": list(step.static_weights),
                        **{key: list(value) if isinstance(value, tuple) else value
                           for key, value in asdict(step.weighting_options).items()}},
    )


def epoch_card(base, epoch, step, metrics, nrof_pairs, nrof_folds):
    """`base` with the epoch, the step, that epoch's metrics and its verification threshold."""
    evaluation = {key: float(value) for key, value in metrics.items()}
    threshold = evaluation.get("verification_threshold")
    return {**base, "training": {"epoch": int(epoch), "step": int(step)}, "evaluation": evaluation,
            "threshold": {"value": threshold, "accuracy": evaluation.get("verification_accuracy"),
                          "source": f"per-epoch evaluation of epoch {epoch} ({nrof_pairs} test pairs, "
                                    f"{nrof_folds} folds, mean of the folds' best thresholds)"}}

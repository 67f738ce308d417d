"""Resume checks the configuration a checkpoint was written with against the run it is restored into.

Every training checkpoint holds `run_config`, a JSON string of what fixes the shapes and meaning of
its variables: image size, classes (from the data), network options, task-weighting method and the
optimizer with its variable groups. A resume whose data or edited run.json differs stops naming each
difference, before anything is restored; the checkpoint is fine and is never called damaged.
"""

import json
from pathlib import Path

import tensorflow as tf

from cari_mtl.model.checkpoints import CheckpointError

RUN_CONFIG = "run_config"
WHERE = {"nrof_classes": "the number of identities in --data_dir", "weighting": "--task_weighting",
         "optimizer": "--optimizer", "optimizer_groups": "--task_weighting (its variable groups)"}


def run_fingerprint(model_config, weighting, optimizer, optimizer_groups):
    """What must be equal between a checkpoint and the run that restores it."""
    return {"image_size": model_config.image_size, "nrof_classes": model_config.nrof_classes,
            "lossweights_variant": model_config.lossweights_variant, "model_def": Path(model_config.model_def).name,
            "image_standardization": model_config.image_standardization, "logits_relu": model_config.logits_relu,
            "weighting": weighting, "optimizer": optimizer, "optimizer_groups": sorted(optimizer_groups)}


def attach(checkpoint, fingerprint):
    """Adds the fingerprint to a tf.train.Checkpoint, so every save records it (again after a restore, which
    reads the stored one into it)."""
    text = json.dumps(fingerprint, sort_keys=True)
    if hasattr(checkpoint, RUN_CONFIG):
        getattr(checkpoint, RUN_CONFIG).assign(text)
    else:
        setattr(checkpoint, RUN_CONFIG, tf.Variable(text, trainable=False, dtype=tf.string))


def stored_fingerprint(prefix):
    """The fingerprint saved with checkpoint `prefix`, or None for a checkpoint written before issue 20."""
    reader = tf.train.load_checkpoint(prefix)
    key = f"{RUN_CONFIG}/.ATTRIBUTES/VARIABLE_VALUE"
    if not reader.has_tensor(key):
        return None
    return json.loads(reader.get_tensor(key).decode())


def check_resume(prefix, fingerprint, model_dir):
    """CheckpointError naming every setting in which `fingerprint` differs from the one stored at `prefix`."""
    stored = stored_fingerprint(prefix)
    if stored is None:
        return
    differences = [f"{key} {stored.get(key)!r} → {fingerprint[key]!r}"
                   + (f" ({WHERE[key]})" if key in WHERE else "")
                   for key in fingerprint if stored.get(key) != fingerprint[key]]
    if differences:
        raise CheckpointError(
            f"--resume {model_dir}: the checkpoint {Path(prefix).name} was written with another configuration "
            f"than the run now has: {'; '.join(differences)}. The checkpoint is not damaged: put the data and "
            f"{Path(model_dir) / 'run.json'} back as they were, or start a new run (--pretrained_model "
            f"{Path(model_dir)}/epoch_NNNN to start from its weights)")

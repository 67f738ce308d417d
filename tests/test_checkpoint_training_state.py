"""What a TF1 checkpoint hands to training besides the weights: optimizer slots, the global step,
and which class counts it accepts, per checkpoint kind, as the original's Savers decide."""

import numpy as np
import pytest
import tensorflow as tf

from cari_mtl.model.checkpoints import CheckpointError
from cari_mtl.model.loading import model_from_checkpoint
from cari_mtl.model.model_dir import ModelConfig
from cari_mtl.training.step.optimizer_state import restore_optimizer_state
from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry

IMAGE_SIZE = 80
TRUNK_WEIGHTS = "InceptionResnetV1/Conv2d_1a_3x3/weights"
PHOTO_BIASES = "InceptionResnetV1_expression/Block8/Conv2d_1x1/biases"
v1 = tf.compat.v1


def save_tf1_variables(directory, values):
    """A TF1 checkpoint holding exactly `values` ({TF1 name: array}) at step 1; returns its prefix."""
    graph = tf.Graph()
    with graph.as_default():
        for name, value in values.items():
            v1.get_variable(name, initializer=value)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return v1.train.Saver().save(session, str(directory / "model-x.ckpt"), global_step=1,
                                         write_meta_graph=False)


def slots_of(name, shape, ms, momentum):
    return {name: np.zeros(shape, np.float32), f"{name}/RMSProp": np.full(shape, ms, np.float32),
            f"{name}/RMSProp_1": np.full(shape, momentum, np.float32)}


@pytest.fixture(scope="module")
def step():
    model = ModelConfig(IMAGE_SIZE, 4).build()
    return TrainStep(model, registry.make_weighting("dynamic"), "RMSProp")


def slot_values(step, name):
    from cari_mtl.model.checkpoints import keras_variables_by_slim_name

    variable = keras_variables_by_slim_name(step.model)[name]
    optimizer = step.optimizers["theta"]
    index = optimizer._get_variable_index(variable)
    return optimizer._velocities[index].numpy(), optimizer._momentums[index].numpy()


def test_photo_branch_checkpoint_restores_its_slots_and_the_global_step_not_the_trunks(step, tmp_path):
    values = {**slots_of(TRUNK_WEIGHTS, (3, 3, 3, 32), 0.5, 0.25), **slots_of(PHOTO_BIASES, (1792,), 0.75, 0.125),
              "Variable": np.int64(777)}
    prefix = save_tf1_variables(tmp_path, values)

    report = restore_optimizer_state(step, prefix, "RMSProp")

    ms, momentum = slot_values(step, PHOTO_BIASES)
    assert (ms == 0.75).all() and (momentum == 0.125).all()
    ms, momentum = slot_values(step, TRUNK_WEIGHTS)  # the original's filter leaves the trunk's slots out
    assert (ms == 1.0).all() and (momentum == 0.0).all()
    assert report.slots_restored == 2 and report.global_step == 777 and int(step.global_step.numpy()) == 777


def test_facenet_checkpoint_restores_trunk_slots_of_the_same_optimizer_only(step, tmp_path):
    momentum_trained = tmp_path / "momentum"
    momentum_trained.mkdir()
    other = save_tf1_variables(momentum_trained, {TRUNK_WEIGHTS: np.zeros((3, 3, 3, 32), np.float32),
                                                  f"{TRUNK_WEIGHTS}/Momentum": np.ones((3, 3, 3, 32), np.float32)})
    assert restore_optimizer_state(step, other, "RMSProp").slots_restored == 0
    prefix = save_tf1_variables(tmp_path, slots_of(TRUNK_WEIGHTS, (3, 3, 3, 32), 0.5, 0.25))
    step.global_step.assign(0)
    report = restore_optimizer_state(step, prefix, "RMSProp")

    ms, momentum = slot_values(step, TRUNK_WEIGHTS)
    assert (ms == 0.5).all() and (momentum == 0.25).all()
    assert report.slots_restored == 2 and report.global_step is None and int(step.global_step.numpy()) == 0


def test_conversion_report_counts_the_slots(tmp_path):
    save_tf1_variables(tmp_path, slots_of(TRUNK_WEIGHTS, (3, 3, 3, 32), 0.5, 0.25))
    _, _, report = model_from_checkpoint(tmp_path, image_size=IMAGE_SIZE, nrof_classes=4)
    assert report.optimizer_slots == {"RMSProp": 2}
    assert "2 RMSProp optimizer slots: restored by train --pretrained_model" in report.format()


def test_class_count_mismatch_trains_in_the_facenet_case_and_fails_for_a_full_model(tmp_path):
    heads = {"Logits_verif/weights": np.zeros((1792, 7), np.float32), "Logits_verif/biases": np.zeros(7, np.float32)}
    facenet = tmp_path / "facenet"
    facenet.mkdir()
    save_tf1_variables(facenet, {TRUNK_WEIGHTS: np.ones((3, 3, 3, 32), np.float32), **heads})
    model, config, report = model_from_checkpoint(facenet, image_size=IMAGE_SIZE, nrof_classes=4)
    assert config.nrof_classes == 4 and model.get_layer("Logits_verif").kernel.shape == (1792, 4)
    assert TRUNK_WEIGHTS in report.loaded and "Logits_verif/biases" in report.unused
    assert any("7 classes" in note and "skipped" in note for note in report.notes)

    full = tmp_path / "full"
    full.mkdir()
    save_tf1_variables(full, {"InceptionResnetV1_cari/Block8/Conv2d_1x1/biases": np.zeros(1792, np.float32),
                              **heads})
    with pytest.raises(CheckpointError, match="--nrof_classes 4 does not match"):
        model_from_checkpoint(full, image_size=IMAGE_SIZE, nrof_classes=4)

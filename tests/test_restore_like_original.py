"""Optimizer slots, moving averages and centers from a TF1 checkpoint, against a tf.compat.v1
transcription of the original's restore code (PORTING N8, N15, T23).

The reference builds the port's variable names as TF1 variables, lets TF1's own RMSPropOptimizer and
ExponentialMovingAverage create their slots and shadows (so names and global-variable order are
TF1's), restores the FaceNet case with a Saver over every `InceptionResnetV1/` variable and runs the
original's substring copy loop into the photo branch, as written in
carirecog_dynamic_L1L2L3_multimodel_v3_3weights_optimize_onelayer.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from cari_mtl.model.checkpoints import PHOTO, TRUNK, keras_variables_by_slim_name, load_tf1_checkpoint
from cari_mtl.model.model_dir import ModelConfig
from cari_mtl.training.step.optimizer_state import restore_optimizer_state
from cari_mtl.training.step.tensorflow import TrainStep
from cari_mtl.training.weighting import registry

pytestmark = pytest.mark.slow  # one full network and a TF1 graph of its branch-1 tail and photo branch

IMAGE_SIZE = 80
NROF_CLASSES = 4
v1 = tf.compat.v1
# Branch 1's sources of the photo branch, and one trunk variable that must not be copied anywhere.
TRUNK_PARTS = (TRUNK + "Repeat_2/block8_1/", TRUNK + "Block8/", TRUNK + "Conv2d_1a_3x3/")


def network_variables(model):
    """[(TF1 name, shape, trainable)] of the port's trunk parts above and photo branch, trunk first."""
    variables = keras_variables_by_slim_name(model)
    chosen = [(name, tuple(v.shape), v.trainable) for name, v in variables.items() if name.startswith(TRUNK_PARTS)]
    return chosen + [(name, tuple(v.shape), v.trainable) for name, v in variables.items() if name.startswith(PHOTO)]


def save_checkpoint(directory, values, step=1):
    graph = tf.Graph()
    with graph.as_default():
        for name, value in values.items():
            v1.get_variable(name, initializer=value)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return v1.train.Saver().save(session, str(directory / "model-x.ckpt"), global_step=step,
                                         write_meta_graph=False)


def random_facenet_checkpoint(directory, variables, seed=0):
    """Every trunk variable with random values, and random RMSProp slots and shadows for the trainable ones."""
    rng = np.random.default_rng(seed)
    values = {}
    for name, shape, trainable in variables:
        if not name.startswith(TRUNK):
            continue
        suffixes = ("", "/RMSProp", "/RMSProp_1", "/ExponentialMovingAverage") if trainable else ("",)
        for suffix in suffixes:
            values[name + suffix] = rng.uniform(0.1, 1.0, shape).astype(np.float32)
    return save_checkpoint(directory, values)


def original_facenet_restore(variables, prefix):
    """{name: value} of every global variable after the original's FaceNet-case restore and copy loop."""
    graph = tf.Graph()
    with graph.as_default():
        model = [v1.get_variable(name, shape, tf.float32, v1.zeros_initializer(), trainable=trainable)
                 for name, shape, trainable in variables]
        trainable = [v for v, (_, _, is_trainable) in zip(model, variables) if is_trainable]
        global_step = v1.train.get_or_create_global_step()
        v1.train.RMSPropOptimizer(0.1, decay=0.9, momentum=0.9, epsilon=1.0).apply_gradients(
            [(tf.zeros_like(v), v) for v in trainable], global_step=global_step)
        v1.train.ExponentialMovingAverage(0.9999, global_step).apply(trainable)
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            restore_vars_verif = []
            restore_vars_expre = []
            for var in v1.global_variables():
                if "InceptionResnetV1/" in var.op.name:
                    restore_vars_verif.append(var)
                if "InceptionResnetV1_expression/" in var.op.name:
                    restore_vars_expre.append(var)
            v1.train.Saver(restore_vars_verif).restore(sess, prefix)
            copies = []  # the loop's sess.run(var.assign(var0)), run together (sources are never targets)
            for var in restore_vars_expre:
                var_name = str.split(str(var.op.name), "InceptionResnetV1_expression/")[1]
                if "Repeat" in var_name:
                    var_name = str.split(var_name, "Repeat")[1]
                    pos = var_name.index("/")
                    var_name = var_name[pos:]
                    if "block8_branchcut_1/" in var_name:
                        var_name = str.split(var_name, "block8_branchcut_1/")[1]
                        var_name = "block8_1/" + var_name
                for var0 in restore_vars_verif:
                    if var_name in str(var0.op.name):
                        copies.append(var.assign(var0))
                        break
            sess.run(copies)
            return sess.run({var.op.name: var for var in v1.global_variables()})


@pytest.fixture(scope="module")
def step():
    model = ModelConfig(IMAGE_SIZE, NROF_CLASSES).build()
    return TrainStep(model, registry.make_weighting("dynamic"), "RMSProp")


def restore(step, prefix):
    """What `train --pretrained_model` does with a TF1 checkpoint: weights, then the training state
    (shadows and centers first put back to what a new TrainStep holds)."""
    load_tf1_checkpoint(step.model, prefix)
    for shadow, variable in zip(step.ema_shadows, step.ema_sources):
        shadow.assign(variable)
    step.centers.assign(tf.zeros_like(step.centers))
    return restore_optimizer_state(step, prefix, "RMSProp")


@pytest.fixture(scope="module")
def facenet_case(step, tmp_path_factory):
    variables = network_variables(step.model)
    prefix = random_facenet_checkpoint(tmp_path_factory.mktemp("facenet"), variables)
    expected = original_facenet_restore(variables, prefix)
    return variables, expected, step, restore(step, prefix)


def port_state(step, name):
    """(mean square, momentum, shadow) of the port's variable `name`."""
    variable = keras_variables_by_slim_name(step.model)[name]
    optimizer = step.optimizers["theta"]
    index = optimizer._get_variable_index(variable)
    shadow = step.ema_shadows[[id(v) for v in step.ema_sources].index(id(variable))]
    return optimizer._velocities[index].numpy(), optimizer._momentums[index].numpy(), shadow.numpy()


def test_photo_branch_gets_branch_one_slots_and_shadows_as_the_substring_loop(facenet_case):
    variables, expected, step, report = facenet_case
    photo = [name for name, _, trainable in variables if trainable and name.startswith(PHOTO)]
    assert photo
    for name in photo:
        mean_square, momentum, shadow = port_state(step, name)
        np.testing.assert_array_equal(mean_square, expected[f"{name}/RMSProp"], err_msg=name)
        np.testing.assert_array_equal(momentum, expected[f"{name}/RMSProp_1"], err_msg=name)
        np.testing.assert_array_equal(shadow, expected[f"{name}/ExponentialMovingAverage"], err_msg=name)
        weights = keras_variables_by_slim_name(step.model)[name].numpy()
        np.testing.assert_array_equal(weights, expected[name], err_msg=name)
    assert report.slots_copied == 2 * len(photo) and report.shadows_copied == len(photo)


def test_trunk_slots_and_shadows_come_from_the_checkpoint(facenet_case):
    variables, expected, step, report = facenet_case
    trunk = [name for name, _, trainable in variables if trainable and name.startswith(TRUNK)]
    for name in trunk:
        mean_square, momentum, shadow = port_state(step, name)
        np.testing.assert_array_equal(mean_square, expected[f"{name}/RMSProp"], err_msg=name)
        np.testing.assert_array_equal(momentum, expected[f"{name}/RMSProp_1"], err_msg=name)
        np.testing.assert_array_equal(shadow, expected[f"{name}/ExponentialMovingAverage"], err_msg=name)
    assert report.slots_restored == 2 * (len(trunk) + report.shadows_copied)
    assert report.shadows_restored == len(trunk) + report.shadows_copied


def test_full_model_restores_centers_and_every_shadow(step, tmp_path):
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(NROF_CLASSES, 1792)).astype(np.float32)
    cari_biases = "InceptionResnetV1_cari/Block8/Conv2d_1x1/biases"
    shadow = rng.normal(size=1792).astype(np.float32)
    prefix = save_checkpoint(tmp_path, {cari_biases: np.zeros(1792, np.float32),
                                        f"{cari_biases}/ExponentialMovingAverage": shadow,
                                        "centerloss/centers": centers,
                                        "centerloss/centers_cts": np.zeros(NROF_CLASSES, np.float32)})
    report = restore(step, prefix)
    np.testing.assert_array_equal(step.centers.numpy(), centers)
    np.testing.assert_array_equal(port_state(step, cari_biases)[2], shadow)
    assert report.centers_restored and report.shadows_restored == 1
    assert "center table restored" in report.format()


def test_photo_checkpoint_restores_the_photo_shadows_only(step, tmp_path):
    photo_biases = PHOTO + "Block8/Conv2d_1x1/biases"
    trunk_biases = TRUNK + "Block8/Conv2d_1x1/biases"
    values = {name: np.full(1792, 0.5, np.float32) for name in (photo_biases, trunk_biases)}
    values.update({f"{name}/ExponentialMovingAverage": np.full(1792, 0.25, np.float32)
                   for name in (photo_biases, trunk_biases)})
    values["centerloss/centers"] = np.ones((NROF_CLASSES, 1792), np.float32)
    prefix = save_checkpoint(tmp_path, values)
    report = restore(step, prefix)
    assert (port_state(step, photo_biases)[2] == 0.25).all()
    assert (port_state(step, trunk_biases)[2] == 0.5).all()  # T23: the loaded value, not the checkpoint's shadow
    assert not step.centers.numpy().any() and not report.centers_restored

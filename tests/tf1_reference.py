"""An independent TF1 graph of the original network, written with tf.compat.v1 variables and tf.nn ops.

It uses the original variable names (slim's `weights`, `biases`, `BatchNorm/beta|moving_mean|
moving_variance`), random weights, BN statistics and biases, and runs in inference mode. Tests
save it as a TF1 checkpoint and compare the converted Keras model against it. Full-depth mode
builds a FaceNet-style graph (5/10/5 repeats, Bottleneck, FaceNet `Logits`).
"""

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
BN_EPSILON = 1e-3


class ReferenceBuilder:
    """Creates variables with seeded random values while building the graph."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def variable(self, name, values):
        return v1.get_variable(name, initializer=np.asarray(values, dtype=np.float32))

    def conv(self, x, filters, kernel, name, stride=1, padding="SAME", normalise=True, relu=True):
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        depth = int(x.shape[-1])
        limit = np.sqrt(6.0 / (kh * kw * depth + kh * kw * filters))
        with v1.variable_scope(name):
            weights = self.variable("weights", self.rng.uniform(-limit, limit, (kh, kw, depth, filters)))
            y = tf.nn.conv2d(x, weights, [1, stride, stride, 1], padding)
            if normalise:
                with v1.variable_scope("BatchNorm"):
                    beta = self.variable("beta", self.rng.normal(0, 0.1, filters))
                    mean = self.variable("moving_mean", self.rng.normal(0, 0.1, filters))
                    variance = self.variable("moving_variance", self.rng.uniform(0.5, 1.5, filters))
                y = tf.nn.batch_normalization(y, mean, variance, beta, None, BN_EPSILON)
            else:
                y = y + self.variable("biases", self.rng.normal(0, 0.05, filters))
        return tf.nn.relu(y) if relu else y

    def dense(self, x, units, name, relu=False, biases=True):
        depth = int(x.shape[-1])
        with v1.variable_scope(name):
            y = tf.matmul(x, self.variable("weights", self.rng.normal(0, 1.0 / np.sqrt(depth), (depth, units))))
            if biases:
                y = y + self.variable("biases", self.rng.normal(0, 0.1, units))
        return tf.nn.relu(y) if relu else y

    def residual(self, x, branches, scale, relu):
        mixed = tf.concat(branches, 3)
        up = self.conv(mixed, int(x.shape[-1]), 1, "Conv2d_1x1", normalise=False, relu=False)
        y = x + scale * up
        return tf.nn.relu(y) if relu else y

    def block35(self, x, name, scale=0.17):
        with v1.variable_scope(name):
            with v1.variable_scope("Branch_0"):
                b0 = self.conv(x, 32, 1, "Conv2d_1x1")
            with v1.variable_scope("Branch_1"):
                b1 = self.conv(self.conv(x, 32, 1, "Conv2d_0a_1x1"), 32, 3, "Conv2d_0b_3x3")
            with v1.variable_scope("Branch_2"):
                b2 = self.conv(x, 32, 1, "Conv2d_0a_1x1")
                b2 = self.conv(self.conv(b2, 32, 3, "Conv2d_0b_3x3"), 32, 3, "Conv2d_0c_3x3")
            return self.residual(x, [b0, b1, b2], scale, True)

    def block17(self, x, name, scale=0.10):
        with v1.variable_scope(name):
            with v1.variable_scope("Branch_0"):
                b0 = self.conv(x, 128, 1, "Conv2d_1x1")
            with v1.variable_scope("Branch_1"):
                b1 = self.conv(x, 128, 1, "Conv2d_0a_1x1")
                b1 = self.conv(self.conv(b1, 128, [1, 7], "Conv2d_0b_1x7"), 128, [7, 1], "Conv2d_0c_7x1")
            return self.residual(x, [b0, b1], scale, True)

    def block8(self, x, name, scale=0.20, relu=True):
        with v1.variable_scope(name):
            with v1.variable_scope("Branch_0"):
                b0 = self.conv(x, 192, 1, "Conv2d_1x1")
            with v1.variable_scope("Branch_1"):
                b1 = self.conv(x, 192, 1, "Conv2d_0a_1x1")
                b1 = self.conv(self.conv(b1, 192, [1, 3], "Conv2d_0b_1x3"), 192, [3, 1], "Conv2d_0c_3x1")
            return self.residual(x, [b0, b1], scale, relu)

    def trunk(self, images, repeats):
        """Up to Mixed_7a; returns (mixed_7a, branch-1 prelogits)."""
        with v1.variable_scope("InceptionResnetV1"):
            x = self.conv(images, 32, 3, "Conv2d_1a_3x3", 2, "VALID")
            x = self.conv(x, 32, 3, "Conv2d_2a_3x3", padding="VALID")
            x = self.conv(x, 64, 3, "Conv2d_2b_3x3")
            x = tf.nn.max_pool2d(x, 3, 2, "VALID")
            x = self.conv(x, 80, 1, "Conv2d_3b_1x1", padding="VALID")
            x = self.conv(x, 192, 3, "Conv2d_4a_3x3", padding="VALID")
            x = self.conv(x, 256, 3, "Conv2d_4b_3x3", 2, "VALID")
            with v1.variable_scope("Repeat"):
                for i in range(repeats[0]):
                    x = self.block35(x, f"block35_{i + 1}")
            with v1.variable_scope("Mixed_6a"):
                with v1.variable_scope("Branch_0"):
                    b0 = self.conv(x, 384, 3, "Conv2d_1a_3x3", 2, "VALID")
                with v1.variable_scope("Branch_1"):
                    b1 = self.conv(self.conv(x, 192, 1, "Conv2d_0a_1x1"), 192, 3, "Conv2d_0b_3x3")
                    b1 = self.conv(b1, 256, 3, "Conv2d_1a_3x3", 2, "VALID")
                x = tf.concat([b0, b1, tf.nn.max_pool2d(x, 3, 2, "VALID")], 3)
            with v1.variable_scope("Repeat_1"):
                for i in range(repeats[1]):
                    x = self.block17(x, f"block17_{i + 1}")
            with v1.variable_scope("Mixed_7a"):
                with v1.variable_scope("Branch_0"):
                    b0 = self.conv(self.conv(x, 256, 1, "Conv2d_0a_1x1"), 384, 3, "Conv2d_1a_3x3", 2, "VALID")
                with v1.variable_scope("Branch_1"):
                    b1 = self.conv(self.conv(x, 256, 1, "Conv2d_0a_1x1"), 256, 3, "Conv2d_1a_3x3", 2, "VALID")
                with v1.variable_scope("Branch_2"):
                    b2 = self.conv(self.conv(x, 256, 1, "Conv2d_0a_1x1"), 256, 3, "Conv2d_0b_3x3")
                    b2 = self.conv(b2, 256, 3, "Conv2d_1a_3x3", 2, "VALID")
                mixed_7a = tf.concat([b0, b1, b2, tf.nn.max_pool2d(x, 3, 2, "VALID")], 3)
            prelogits = self.tail(mixed_7a, "Repeat_2", repeats[2])
        return mixed_7a, prelogits

    def tail(self, x, repeat_scope, repeats=1):
        with v1.variable_scope(repeat_scope):
            for i in range(repeats):
                x = self.block8(x, f"block8_{i + 1}")
        x = self.block8(x, "Block8", scale=1.0, relu=False)
        return tf.reduce_mean(x, axis=[1, 2])


def l2_normalize(x):
    return tf.nn.l2_normalize(x, 1, 1e-10)


def build_cari_graph(images, nrof_classes, seed):
    """The full three-branch model with heads (CaVI weights head) and training leftovers."""
    builder = ReferenceBuilder(seed)
    mixed_7a, prelogits = builder.trunk(images, (1, 1, 1))
    with v1.variable_scope("InceptionResnetV1_expression"):
        prelogits_photo = builder.tail(mixed_7a, "Repeat")
    with v1.variable_scope("InceptionResnetV1_cari"):
        prelogits_cari = builder.tail(mixed_7a, "Repeat")
    head_input = tf.reshape(mixed_7a, [-1, int(np.prod(mixed_7a.shape[1:]))])
    lossweights_logits = l2_normalize(builder.dense(head_input, 3, "Logits_lossweights"))
    outputs = {
        "embeddings": l2_normalize(prelogits),
        "embeddings_visual": l2_normalize(prelogits_photo),
        "embeddings_cari": l2_normalize(prelogits_cari),
        "logits_verif": builder.dense(prelogits, nrof_classes, "Logits_verif"),
        "logits_visual": builder.dense(prelogits_photo, nrof_classes, "Logits", relu=True),
        "logits_cari": builder.dense(prelogits_cari, nrof_classes, "Logits_cari", relu=True),
        "lossweights": tf.nn.softmax(lossweights_logits),
    }
    add_training_leftovers(builder, nrof_classes)
    return outputs


def build_facenet_graph(images, full_depth, seed, nrof_facenet_classes=7):
    """FaceNet-style: trunk and branch 1 only; full depth adds the extra repeats and FaceNet heads."""
    builder = ReferenceBuilder(seed)
    repeats = (5, 10, 5) if full_depth else (1, 1, 1)
    _, prelogits = builder.trunk(images, repeats)
    if full_depth:
        with v1.variable_scope("InceptionResnetV1"):
            with v1.variable_scope("Bottleneck"):
                builder.variable("weights", builder.rng.normal(0, 0.02, (1792, 128)))
                with v1.variable_scope("BatchNorm"):
                    for stat in ("beta", "moving_mean", "moving_variance"):
                        builder.variable(stat, np.ones(128))
        builder.dense(tf.zeros([1, 128]), nrof_facenet_classes, "Logits")
        add_training_leftovers(builder, None)
    return {"embeddings": l2_normalize(prelogits)}


def add_training_leftovers(builder, nrof_classes):
    """Variables a trained checkpoint also holds: optimizer slots, EMA, counters, centers."""
    model_variables = list(v1.global_variables())
    for variable in model_variables[:5]:
        name = variable.op.name
        for suffix in ("RMSProp", "RMSProp_1", "ExponentialMovingAverage"):
            builder.variable(f"{name}/{suffix}", np.zeros(variable.shape))
    v1.get_variable("global_step", initializer=np.int64(1234), trainable=False)
    if nrof_classes:
        builder.variable("centerloss/centers", np.zeros((nrof_classes, 1792)))


def save_graph(build, image_shape, checkpoint_prefix, step, images, **kwargs):
    """Builds a graph, saves its variables at `prefix-step`, returns its outputs on `images`."""
    graph = tf.Graph()
    with graph.as_default():
        placeholder = v1.placeholder(tf.float32, image_shape)
        outputs = build(placeholder, **kwargs)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            v1.train.Saver().save(session, checkpoint_prefix, global_step=step, write_meta_graph=False)
            return session.run(outputs, {placeholder: images})


def restore_graph(build, image_shape, checkpoint, images, **kwargs):
    """Builds a graph, restores every variable it has from `checkpoint` by name, runs it."""
    graph = tf.Graph()
    with graph.as_default():
        placeholder = v1.placeholder(tf.float32, image_shape)
        outputs = build(placeholder, **kwargs)
        with v1.Session(graph=graph) as session:
            v1.train.Saver().restore(session, checkpoint)
            return session.run(outputs, {placeholder: images})


def parameter_counts_by_scope(build, image_shape, **kwargs):
    """{top-level scope: number of trainable parameters} (BN moving statistics excluded)."""
    graph = tf.Graph()
    counts = {}
    with graph.as_default():
        build(v1.placeholder(tf.float32, image_shape), **kwargs)
        for variable in v1.global_variables():
            name = variable.op.name
            if "moving_" in name or name.startswith(("centerloss", "global_step")) or "RMSProp" in name \
                    or "ExponentialMovingAverage" in name:
                continue
            scope = name.split("/")[0]
            counts[scope] = counts.get(scope, 0) + int(np.prod(variable.shape))
    return counts

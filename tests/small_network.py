"""A small network made of the real network's pieces, for tests whose subject is the train step.

Conv + batch norm blocks, three branches with L2-normalised embeddings and logits heads, and the
real weights head: every path of the full network's outputs, traced in seconds instead of a minute.
It is also a network file for `--model_def` (`build_model`), for tests that run the training command.
"""


def small_network(network, image_size, nrof_classes, lossweights_variant="cavi", verif_head="softmax",
                  identity_heads="softmax", margin_scale=None):
    """keras.Model with the output dict of `network.build_model` (a 2-block trunk, 1-block branches);
    the heads are softmax (Dense) or margin heads as `build_model`'s."""
    import keras

    images = keras.Input((image_size, image_size, 3))
    trunk = network.conv_bn_relu(images, 8, 3, "trunk_1", strides=2, padding="valid")
    trunk = network.conv_bn_relu(trunk, 16, 3, "trunk_2", strides=2, padding="valid")
    outputs = {}
    heads = (("", "logits_verif", verif_head), ("_visual", "logits_visual", identity_heads),
             ("_cari", "logits_cari", identity_heads))
    for suffix, logits_name, head in heads:
        features = network.conv_bn_relu(trunk, 8, 3, f"branch{suffix}")
        prelogits = keras.layers.GlobalAveragePooling2D()(features)
        outputs["prelogits" + suffix] = prelogits
        outputs["embeddings" + suffix] = network.L2Normalize()(prelogits)
        outputs[logits_name] = network.logits_head(prelogits, nrof_classes, f"head{suffix}", head, margin_scale)
    outputs["lossweights_logits"], outputs["lossweights"] = network.lossweights_head(trunk, lossweights_variant)
    return keras.Model(images, outputs)


def build_model(image_size=160, nrof_classes=10, keep_probability=1.0, weight_decay=0.0, lossweights_variant="cavi",
                logits_relu=True, verif_head="softmax", identity_heads="softmax", margin_scale=None):
    """`--model_def` entry point: the small network over the real network file's pieces."""
    from cari_mtl.model.network import load_model_def

    return small_network(load_model_def(), image_size, nrof_classes, lossweights_variant, verif_head,
                         identity_heads, margin_scale)

"""The training command's data: the CaVI reader's split feeds the pipeline and the per-epoch evaluation."""

import tensorflow as tf

from cari_mtl.data.cavi import cavi_split
from cari_mtl.data.pipeline import epoch_indices
from cari_mtl.data.synthetic import generate_dataset
from cari_mtl.training.config import DataConfig, LoopConfig, NetworkConfig, TrainingConfig
from cari_mtl.training.run.training_data import load_training_data


def data_config(dataset):
    """The DataConfig of a run: its image size, epoch size, seed and standardisation come from the run."""
    data = DataConfig(dataset="cavi", data_dir=str(dataset.data_dir), test_pairs=str(dataset.pairs_file),
                      train_pairs=None, downsample=8, batch_size=6, random_crop=False, random_flip=False,
                      random_rotate=False, preprocess_threads=2)
    return TrainingConfig(data=data, network=NetworkConfig(image_size=32, image_standardization="prewhiten"),
                          loop=LoopConfig(epoch_size=3), seed=0).data


def test_split_reaches_the_batches_and_the_evaluation(tmp_path, capsys):
    dataset = generate_dataset(tmp_path, identities=3, photos_per_id=4, caricatures_per_id=3, image_size=40)
    split = cavi_split(dataset.data_dir, dataset.pairs_file, downsample=8)
    stream = epoch_indices(len(split.train_paths), 6, 3, 0, 1, spare=len(split.train_paths))
    corrupt = split.train_paths[stream[0]]
    expected_skips = reads_of(stream[0], stream, wanted=18)
    with open(corrupt, "wb") as handle:
        handle.write(b"not a jpeg")

    data, nrof_classes = load_training_data(data_config(dataset))

    assert nrof_classes == len(split.class_names)
    assert data.test_split.pair_paths == list(split.test_pair_paths)
    assert data.test_split.pair_issame == split.test_issame.tolist()
    assert data.test_split.id_paths == list(split.test_paths)
    assert data.test_split.id_labels == split.test_labels.tolist()
    assert data.test_split.id_is_cari == split.test_is_caricature.tolist()
    batches = list(data.batches(1, 0))
    assert len(batches) == 3
    for images, labels, is_cari in batches:
        assert images.shape == (6, 32, 32, 3)
        assert labels.dtype == tf.int64 and is_cari.dtype == tf.int64
    train_pairs = {(label, flag) for label, flag in zip(split.train_labels, split.train_is_caricature)}
    seen = {(int(label), int(flag)) for _, labels, is_cari in batches for label, flag in zip(labels, is_cari)}
    assert seen <= train_pairs
    stderr = capsys.readouterr().err
    assert corrupt in stderr and f"epoch 1: {expected_skips} undecodable image reads skipped" in stderr


def reads_of(bad, stream, wanted):
    """How often the pipeline meets index `bad` in `stream` before it has `wanted` good images."""
    good = skipped = 0
    for index in stream:
        if good == wanted:
            break
        skipped += index == bad
        good += index != bad
    return skipped


def test_a_split_without_one_modality_is_announced():
    from cari_mtl.training.run.training_data import missing_modality_warning

    assert "no caricature in the training split: L3 is 0" in missing_modality_warning([0, 0, 0])
    assert "no photo in the training split: L2 is 0" in missing_modality_warning([1, 1])
    assert missing_modality_warning([0, 1, 0]) is None

"""Training data for the training command: the dataset's split plus the input pipeline's batches."""


def load_training_data(args):
    """(TrainingData, nrof_classes) for --dataset from cari_mtl.data (readers and pipeline)."""
    raise NotImplementedError("waiting for cari_mtl.data.cavi / webcari / pipeline")

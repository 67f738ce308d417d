"""The datasets a run can train on, one entry each: how to read its split, which weights head it
gets and the learning-rate factor of that head's optimizer (the original's per-dataset scripts).

Adding a dataset is one reader (a function of the DataConfig returning a cari_mtl.data DatasetSplit)
and one `register(Dataset(...))`; `--dataset` offers every registered name.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Dataset:
    """name: the --dataset value; read_split(DataConfig) -> DatasetSplit; lossweights_variant: a key of
    the network's LOSSWEIGHTS_VARIANTS; lossweights_lr_factor: the default --lossweights_lr_factor;
    inputs: the DataConfig fields naming the files and folders it reads (checked before a run starts)."""
    name: str
    read_split: Callable
    lossweights_variant: str = "cavi"
    lossweights_lr_factor: float = 1.0
    inputs: tuple = ("data_dir", "test_pairs")


DATASETS = {}


def register(dataset):
    """Adds (or replaces) a dataset; returns it."""
    DATASETS[dataset.name] = dataset
    return dataset


def get(name):
    """The registered Dataset `name`; ValueError listing the registered ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown --dataset {name!r}; choose one of {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def read_cavi(config):
    from cari_mtl.data.cavi import cavi_split  # numpy: not for --help

    return cavi_split(config.data_dir, config.test_pairs, config.downsample, config.test_image_keys)


def read_webcari(config):
    from cari_mtl.data.webcari import webcari_split

    return webcari_split(config.data_dir, config.train_pairs, config.test_pairs)


register(Dataset("cavi", read_cavi, "cavi", 1.0))  # carirecog_dynamic_*_onelayer.py
register(Dataset("webcari", read_webcari, "webcari", 10.0,  # webcari_dynamic_*_onelayer.py
                 ("data_dir", "train_pairs", "test_pairs")))

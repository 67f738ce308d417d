r"""Print what a dataset's split holds, as JSON, before spending hours training on it.

    cari data-summary --dataset cavi --data_dir CaVI_Dataset \
        --test_pairs train-test-files/testing_1.txt [--downsample 20] [--check_images]
    cari data-summary --dataset webcari --data_dir FACES \
        --train_pairs FV_Train1.txt --test_pairs FV_Test1.txt [--check_images]

Public API:
    summarize(split, dataset, check_images=False) -> dict with the keys classes, train_photos,
        train_caricatures, test_pairs_same, test_pairs_different, test_photos, test_caricatures,
        skipped (reason -> count), skipped_examples (reason -> a few paths), plus context keys.
Other tools read these keys: keep them. Counts of test images count each image once.
`--check_images` decodes every train and test image with the evaluation loader's decoder and
counts the failures under `undecodable_image`.
"""


import numpy as np

from cari_mtl.data.split import Skips
from cari_mtl.images.eval_loader import read_rgb


def undecodable(paths):
    """Skips of the paths OpenCV cannot decode."""
    skips = Skips()
    for path in dict.fromkeys(paths):
        try:
            read_rgb(path)
        except (OSError, ValueError):
            skips.add("undecodable_image", path)
    return skips


def summarize(split, dataset, check_images=False):
    train_cari = np.asarray(split.train_is_caricature, bool)
    test_cari = np.asarray(split.test_is_caricature, bool)
    issame = np.asarray(split.test_issame, bool)
    skipped = dict(split.skipped)
    examples = {reason: list(paths) for reason, paths in split.skipped_examples.items()}
    if check_images:
        failed = undecodable(list(split.train_paths) + list(split.test_paths))
        skipped.update(failed.counts)
        examples.update(failed.examples)
    return {
        "dataset": dataset,
        "classes": len(split.class_names),
        "train_photos": int((~train_cari).sum()),
        "train_caricatures": int(train_cari.sum()),
        "train_unique_images": len(set(split.train_paths)),
        "train_identities": len(set(np.asarray(split.train_labels).tolist())),
        "test_pairs_same": int(issame.sum()),
        "test_pairs_different": int((~issame).sum()),
        "test_photos": int((~test_cari).sum()),
        "test_caricatures": int(test_cari.sum()),
        "test_identities": len(set(np.asarray(split.test_labels).tolist())),
        "skipped": dict(sorted(skipped.items())),
        "skipped_examples": dict(sorted(examples.items())),
    }

"""The `features_*.npy` files the original writes to the log directory when a task's accuracy improves (PORTING T27).

    features_cari-visual-verif_emb.npy / _label.npy / _pairlabel.npy   verification improved: branch-1
        embeddings of the evaluated pairs' images (caricature, photo, caricature, ...), their identity
        labels, and the pairs' same/different labels
    features_visual.npy / _label.npy, features_visual2cari.npy / _label.npy   photo (V2C) accuracy
        improved: branch-1 embeddings and labels of the photo test images
    features_cari.npy / _label.npy, features_cari2visual.npy / _label.npy   caricature (C2V) accuracy
        improved: the same for the caricature test images

As in the original, every file holds branch 1's `embeddings` (float64), whichever branch the task's
accuracy is measured on.
"""

import numpy as np

# metric key -> (file name, modality of its images: 1 caricature, 0 photo)
TASK_FEATURES = {"photo_id_accuracy": ("visual", 0), "caricature_id_accuracy": ("cari", 1),
                 "v2c_accuracy": ("visual2cari", 0), "c2v_accuracy": ("cari2visual", 1)}


def save_improved_features(logs, key, features):
    """Writes the files of metric `key` from the per-epoch evaluation's `features` (EpochEvaluator.evaluate)."""
    if key == "verification_accuracy":
        logs.save_features("cari-visual-verif", _emb=features["pair_embeddings"].astype(np.float64),
                           _label=features["pair_labels"].astype(np.int64),
                           _pairlabel=features["pair_issame"].astype(bool))
    elif key in TASK_FEATURES:
        name, modality = TASK_FEATURES[key]
        rows = features["id_is_cari"] == modality
        logs.save_features(name, **{"": features["id_embeddings"][rows].astype(np.float64),
                                    "_label": features["id_labels"][rows].astype(np.int64)})

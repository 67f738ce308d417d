"""Loads the model.weights.h5 of a native model directory: a damaged or mismatched file is one line.

Keras reports a zero-byte, truncated or header-damaged file with an h5py traceback and an edited
config.json with pages of layer output; damaged bytes inside the data load silently as NaN.
"""

from cari_mtl.runtime.finite_check import check_weights


class WeightsFileError(ValueError):
    """A weights file that cannot be loaded into the model its config.json describes."""


def load_weights_file(model, path, config):
    """Loads `path` into `model` (built from `config`) and checks every value is finite."""
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if isinstance(error, OSError):
            raise WeightsFileError(f"{path} cannot be read as HDF5 ({first}): the file is damaged or incomplete; "
                                   f"copy it again or use another epoch_NNNN / best_model_* directory") from None
        raise WeightsFileError(f"{path} does not fit its config.json (image_size {config.image_size}, nrof_classes "
                               f"{config.nrof_classes}, weights head {config.lossweights_variant!r}): put back the "
                               f"config.json written with these weights") from None
    check_weights(model, path)

"""A saved gallery: embeddings of labelled images, so that identification embeds only its probes.

Index file (`.npz`): format, paths [G] str, labels [G] str (the folder an image is in), embeddings
[G, D] float32, branch (which embedding), fingerprint (cari_mtl.model.fingerprint of the model that
embedded them). A gallery is only searched with probes of the model it was built with.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GALLERY_FORMAT = "cari-mtl-gallery-1"


@dataclass
class Gallery:
    paths: np.ndarray
    labels: np.ndarray
    embeddings: np.ndarray
    fingerprint: str
    branch: str = "verification"

    def save(self, path):
        """Writes the index to `path` (".npz" appended when missing); returns the path written."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.partial.npz")
        np.savez(staging, format=GALLERY_FORMAT, paths=np.asarray(self.paths, dtype=str),
                 labels=np.asarray(self.labels, dtype=str), embeddings=np.asarray(self.embeddings, np.float32),
                 fingerprint=self.fingerprint, branch=self.branch)
        staging.replace(path)
        return path

    def identities(self):
        return sorted(set(self.labels.tolist()))

    def check_model(self, fingerprint, branch, source="the gallery"):
        """ValueError (one line) when the gallery was embedded by another model or branch."""
        if self.fingerprint != fingerprint:
            raise ValueError(f"{source} was built by another model (fingerprint {self.fingerprint}, this model "
                             f"{fingerprint}): build it again with this model (FaceModel.build_gallery or "
                             f"cari-identify --gallery <folder>)")
        if self.branch != branch:
            raise ValueError(f"{source} holds {self.branch} embeddings, not {branch}: build it again with "
                             f"branch={branch!r}")


def load_gallery(path):
    """The Gallery of an index file written by Gallery.save."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"gallery {path} not found: build one with FaceModel.build_gallery(folder, "
                                f"output=...) or pass a folder of <identity>/<image> files")
    try:
        with np.load(path, allow_pickle=False) as stored:
            values = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = "not an .npz archive" if "pickle" in str(error) else str(error)
        raise ValueError(f"{path} cannot be read as a gallery index ({reason}): it is damaged or not a gallery; "
                         f"build it again (--save_gallery)") from None
    if "format" not in values or str(values["format"]) != GALLERY_FORMAT:
        raise ValueError(f"{path} is not a cari-mtl gallery index")
    try:
        return Gallery(values["paths"], values["labels"], values["embeddings"].astype(np.float32),
                       str(values["fingerprint"]), str(values["branch"]))
    except KeyError as error:
        raise ValueError(f"{path} lacks {error} of a gallery index; build it again (--save_gallery)") from None


def labels_from_paths(paths):
    """The identity of each image: the name of the folder it is in."""
    return np.asarray([Path(path).parent.name for path in paths], dtype=str)


def nearest(distances, labels, k, unique_identities=False):
    """[Q, k'] gallery indices by ascending distance (ties: gallery order); with unique_identities each
    identity appears once, at its nearest image, and k' = min(k, number of identities)."""
    order = np.argsort(distances, axis=1, kind="stable")
    if not unique_identities:
        return order[:, :k]
    labels = np.asarray(labels)
    width = min(k, len(set(labels.tolist())))
    chosen = np.zeros((len(order), width), dtype=np.int64)
    for row, ranked in enumerate(order):
        _, first = np.unique(labels[ranked], return_index=True)
        chosen[row] = ranked[np.sort(first)[:width]]
    return chosen

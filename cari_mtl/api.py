"""A trained model as a Python object: embeddings of faces, verification of pairs, identification in a gallery.

    import cari_mtl
    model = cari_mtl.load_model("models/cavi/<run>/best_model_verifexpr")
    embeddings = model.embed(["a.jpg", "b.jpg"])                   # [2, 1792] float32, L2-normalised
    result = model.verify(["a.jpg"], ["b.jpg"], threshold=1.1)     # result.distances, result.same
    top = model.identify(["q.jpg"], gallery, gallery_labels, k=5)  # top.labels, top.distances [1, 5]
    model.build_gallery("faces/", output="faces.npz")             # faces/<identity>/<image>, embedded once
    top = model.identify(["q.jpg"], "faces.npz", k=5, unique_identities=True)  # 5 distinct identities

There is no second code path: images go through `cari_mtl.evaluation.features.FeatureExtractor` (the loader and
compiled forward pass of extract_features and the evaluation scripts), faces are cropped by
`cari_mtl.alignment.mtcnn_align.align_face` (align/align_dataset_mtcnn.py), distances are the evaluation's squared L2
(`cari_mtl.evaluation.metrics`), so a pair is "same" when its distance is below the threshold, as there.
"""

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cari_mtl.alignment.image_jobs import ImageFailed
from cari_mtl.alignment.mtcnn_align import DEFAULT_IMAGE_SIZE, DEFAULT_MARGIN, FaceDetector, align_face
from cari_mtl.api_inputs import (
    SMALL_IMAGE_SIDE,
    NoEmbedding,
    NoThreshold,
    check_count,
    check_labels,
    check_threshold,
    image_list,
    image_side,
)
from cari_mtl.evaluation.features import FeatureExtractor
from cari_mtl.evaluation.gallery import Gallery, labels_from_paths, load_gallery, nearest
from cari_mtl.evaluation.metrics import pair_distances, squared_distance_matrix
from cari_mtl.evaluation.reports import METRICS_JSON
from cari_mtl.images.eval_loader import read_rgb
from cari_mtl.model.fingerprint import model_fingerprint
from cari_mtl.model.loading import ModelSource, open_inference_model
from cari_mtl.model.model_card import CARD_JSON, card_threshold, read_model_card
from cari_mtl.model.model_dir import is_model_dir
from cari_mtl.runtime.finite_check import drop_nonfinite_rows
from cari_mtl.runtime.speed import SpeedOptions

BRANCHES = {"verification": "embeddings", "photo": "embeddings_visual", "caricature": "embeddings_cari"}


@dataclass
class Verification:
    """distances [N] (squared L2), same [N] bool (distance < threshold), the threshold used."""

    distances: np.ndarray
    same: np.ndarray
    threshold: float
    threshold_source: str = "given"


@dataclass
class Identification:
    """Per probe, the k nearest gallery images: labels [Q, k], distances [Q, k] (squared L2, ascending;
    ties keep gallery order), indices [Q, k] into the gallery, paths [Q, k] of those images when known.
    With unique_identities, each identity appears once per probe (at its nearest image)."""

    labels: np.ndarray
    distances: np.ndarray
    indices: np.ndarray
    paths: np.ndarray | None = None


def load_model(path, image_size=160, nrof_classes=None, image_standardization=None, metrics=None,
               xla="auto", mixed_precision="auto"):
    """A FaceModel from a native model directory or a TF1 checkpoint directory (converted on the fly).

    image_size, nrof_classes: for a TF1 checkpoint (a model directory has its own). image_standardization:
    `prewhiten` or `fixed`, overriding the model directory's stored value (a TF1 checkpoint: prewhiten).
    metrics: an evaluation's metrics.json (or its run directory) whose best_threshold `verify` uses; without
    it, the threshold of the model directory's model card (model_card.json) when it has one.
    xla, mixed_precision: as the flags of extract_features (auto: on a GPU only; float32 on a CPU); the
    model is opened by the same function as there.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path is a {type(path).__name__}: pass the model directory as str or pathlib.Path")
    source = ModelSource(os.fspath(path), image_size, nrof_classes, image_standardization)
    keras_model, config, jit_compile = open_inference_model(source, SpeedOptions(xla, mixed_precision))
    model = FaceModel(keras_model, config, None, jit_compile)
    model.card = read_model_card(path) if is_model_dir(path) else None
    if metrics is not None:
        model.threshold, model.threshold_source = read_threshold(metrics), f"best_threshold of {metrics}"
    elif card_threshold(model.card, Path(path) / CARD_JSON) is not None:
        model.threshold, source = card_threshold(model.card, Path(path) / CARD_JSON)
        model.threshold_source = f"model card of {path}: {source}"
    return model


def read_threshold(source):
    """best_threshold of a verification metrics.json, given as the file or the run directory holding it."""
    path = Path(source)
    if path.is_dir():
        path = path / METRICS_JSON
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: pass the metrics.json of an evaluate_cavi / evaluate_webcavi "
                                f"run, or a threshold as a number") from None
    if "best_threshold" not in document:
        raise ValueError(f"{path} has no best_threshold: it is not the metrics.json of a verification run")
    return check_threshold(float(document["best_threshold"]))


class FaceModel:
    """A loaded network with its configuration; `keras_model` and `config` are the underlying objects.

    face_detector: the MTCNN cascade used by `embed(..., align=True)`, built on first use (any object with
    the `detect` method of cari_mtl.alignment.mtcnn_align.FaceDetector can be put there).
    """

    def __init__(self, keras_model, config, threshold=None, jit_compile=False):
        threshold = None if threshold is None else check_threshold(threshold)
        self.keras_model, self.config, self.threshold, self.jit_compile = keras_model, config, threshold, jit_compile
        self.face_detector = None
        self.card = None
        self.threshold_source = "given to FaceModel" if threshold is not None else None
        self._extractors = {}
        self._fingerprint = None

    def embed(self, images, branch="verification", batch_size=100, align=False, return_valid=False,
              return_paths=False, progress=False):
        """[N, D] float32 L2-normalised embeddings of `images`, in order.

        images: a file path, a folder (its image files, recursively, sorted by path), an RGB uint8 [H, W, 3]
        array (gray [H, W] and RGBA accepted), an [N, H, W, 3] array, or a list of paths and arrays; any
        size (resized like extract_features); files are turned upright by their EXIF orientation. At most
        `batch_size` images go through the network at once, never more than were given. branch:
        verification (branch 1, what the evaluations use), photo or caricature. align: crop the face first
        with MTCNN as align/align_dataset_mtcnn.py does (182 px, margin 44). An unreadable image or one
        without a face is an error naming it; with return_valid=True its row is zeros and the call returns
        (embeddings, valid [N] bool) instead. return_paths=True appends the list of the images' paths (None for
        arrays) to what is returned: with a folder, which file each row is. progress: a progress bar per batch.
        """
        if branch not in BRANCHES:
            raise ValueError(f"branch {branch!r} is not one of {', '.join(BRANCHES)}")
        batch_size = check_count(batch_size, "batch_size")
        items = image_list(images)
        reasons = _missing_files(items)
        inputs = [None if index in reasons else item for index, item in enumerate(items)]
        if align:
            inputs, failed = self._aligned(inputs)
            reasons.update(failed)
        kept = [index for index, item in enumerate(inputs) if item is not None]
        _warn_small_images([inputs[index] for index in kept], self.config.image_size)
        extractor = self._extractor(batch_size, BRANCHES[branch])
        features, found = extractor([inputs[index] for index in kept], progress=progress)
        drop_nonfinite_rows(features, found)
        embeddings = np.zeros((len(items), extractor.widths[extractor.names[0]]), dtype=np.float32)
        embeddings[kept] = features[extractor.names[0]]
        valid = np.zeros(len(items), dtype=bool)
        valid[kept] = found
        for index in np.flatnonzero(~valid):
            reasons.setdefault(int(index), "unreadable, or non-finite outputs")
        paths = [None if isinstance(item, np.ndarray) else item for item in items]
        if return_valid:
            return (embeddings, valid, paths) if return_paths else (embeddings, valid)
        if reasons:
            index, reason = min(reasons.items())
            raise NoEmbedding(f"{len(reasons)} of {len(items)} image(s) have no embedding, first: "
                              f"{_describe(items, index)} ({reason}); pass return_valid=True to get zero rows "
                              f"and a mask instead", paths[index], reason)
        return (embeddings, paths) if return_paths else embeddings

    def verify(self, first, second, threshold=None, branch="verification", batch_size=100, align=False):
        """Verification of the pairs (first[i], second[i]): squared L2 distances and same = distance < threshold.

        threshold: a number, or an evaluation's metrics.json (or run directory) to take best_threshold
        from; default the one of load_model(..., metrics=...).
        """
        threshold, source = self._threshold(threshold)
        options = dict(branch=branch, batch_size=batch_size, align=align)
        a, b = self.embed(first, **options), self.embed(second, **options)
        if len(a) != len(b):
            raise ValueError(f"{len(a)} first images but {len(b)} second images: verify compares them pair by pair")
        pairs = np.empty((2 * len(a), a.shape[1]), dtype=np.float32)
        pairs[0::2], pairs[1::2] = a, b
        distances = pair_distances(pairs)
        return Verification(distances=distances, same=distances < threshold, threshold=threshold,
                            threshold_source=source)

    def identify(self, probes, gallery, gallery_labels=None, k=10, branch="verification", batch_size=100,
                 align=False, unique_identities=False):
        """The k nearest gallery images of each probe by squared L2 distance (k at most the gallery size).

        gallery: images with their `gallery_labels`; or a Gallery / saved gallery index (.npz) of this model,
        whose embeddings are used as they are (only the probes run through the network); or a folder of
        <identity>/<image> files (built with build_gallery first). unique_identities: k distinct identities,
        each at its nearest image.
        """
        k = check_count(k, "k")
        options = dict(branch=branch, batch_size=batch_size, align=align)
        index = self._gallery(gallery, gallery_labels, options)
        probe_embeddings = self.embed(probes, **options)
        distances = squared_distance_matrix(probe_embeddings, index.embeddings)
        chosen = nearest(distances, index.labels, k, unique_identities)
        paths = None if index.paths is None else np.asarray(index.paths, dtype=object)[chosen]
        return Identification(labels=np.asarray(index.labels)[chosen],
                              distances=np.take_along_axis(distances, chosen, 1), indices=chosen, paths=paths)

    def build_gallery(self, images, output=None, labels=None, branch="verification", batch_size=100, align=False,
                      progress=False):
        """A Gallery of `images` (a folder of <identity>/<image> files, or a list of paths), saved to `output`
        (.npz) when given. labels: one per image (default: the folder each image is in)."""
        if labels is None:  # the folder listed once: checked, then embedded
            listed = image_list(images)
            _check_gallery_layout(images, listed)
            images = listed
        embeddings, paths = self.embed(images, branch=branch, batch_size=batch_size, align=align, return_paths=True,
                                       progress=progress)
        if labels is None:
            if any(path is None for path in paths):
                raise ValueError("a gallery of arrays needs labels=[...]: only files have folder names")
            labels = labels_from_paths(paths)
        if len(labels) != len(embeddings):
            raise ValueError(f"{len(embeddings)} gallery images but {len(labels)} gallery labels")
        gallery = Gallery(np.asarray([str(path) for path in paths], dtype=str), np.asarray(labels, dtype=str),
                          embeddings, self.fingerprint, branch)
        if output is not None:
            gallery.save(output)
        return gallery

    @property
    def fingerprint(self):
        """cari_mtl.model.fingerprint of this network (what a saved gallery is checked against)."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.keras_model, self.config.image_size,
                                                  self.config.image_standardization)
        return self._fingerprint

    def _gallery(self, gallery, labels, options):
        """A Gallery of this model from any accepted form of identify's `gallery`."""
        if isinstance(gallery, (str, Path)) and Path(gallery).suffix == ".npz":
            source, gallery = str(gallery), load_gallery(gallery)
            gallery.check_model(self.fingerprint, options["branch"], f"gallery {source}")
            return gallery
        if isinstance(gallery, Gallery):
            gallery.check_model(self.fingerprint, options["branch"])
            return gallery
        if labels is None and isinstance(gallery, (str, Path)) and Path(gallery).is_dir():
            return self.build_gallery(gallery, **options)
        items = image_list(gallery, "gallery")
        labels = check_labels(labels, len(items))
        return Gallery(None, labels, self.embed(items, **options), "", options["branch"])

    def _extractor(self, batch_size, name):
        key = (batch_size, name)
        if key not in self._extractors:
            self._extractors[key] = FeatureExtractor(self.keras_model, self.config.image_size, batch_size, (name,),
                                                     jit_compile=self.jit_compile,
                                                     standardization=self.config.image_standardization)
        return self._extractors[key]

    def _aligned(self, items):
        """(face crops as uint8 arrays, None where there is none; {index: reason} of those)."""
        if self.face_detector is None:
            self.face_detector = FaceDetector()
        crops, reasons = [], {}
        for index, item in enumerate(items):
            if item is None:
                crops.append(None)
                continue
            try:
                image = item if isinstance(item, np.ndarray) else read_rgb(item)
                face = align_face(image, self.face_detector, DEFAULT_IMAGE_SIZE, DEFAULT_MARGIN)
                if face is None:
                    reasons[index] = "no face found"
            except (OSError, ValueError, ImageFailed) as error:
                face, reasons[index] = None, f"unreadable: {error}"
            crops.append(None if face is None else face.image)
        return crops, reasons

    def _threshold(self, threshold):
        """(threshold, where it comes from)."""
        if threshold is None:
            if self.threshold is None:
                raise NoThreshold("verify needs a threshold: pass threshold=<number> or the metrics.json of a "
                                 "verification run (threshold=... or load_model(..., metrics=...)); model "
                                 "directories written by training carry one in their model_card.json")
            return float(self.threshold), self.threshold_source or "FaceModel.threshold"
        if isinstance(threshold, (str, os.PathLike)):
            return read_threshold(threshold), f"best_threshold of {threshold}"
        return check_threshold(threshold), "given"



def _missing_files(items):
    """{index: "not found" / "is a directory"} of the paths among `items` that are no file."""
    reasons = {}
    for index, item in enumerate(items):
        if isinstance(item, str) and not Path(item).is_file():
            reasons[index] = "is a directory" if Path(item).is_dir() else "not found"
    return reasons



def _check_gallery_layout(images, paths):
    """ValueError when a gallery folder holds images at its top level: an identity is a subfolder."""
    if not isinstance(images, (str, os.PathLike)) or not Path(images).is_dir():
        return
    folder = Path(images).resolve()
    loose = [path for path in paths if isinstance(path, str) and Path(path).resolve().parent == folder]
    if loose:
        raise ValueError(f"gallery folder {images} holds {len(loose)} image(s) at its top level (first: "
                         f"{Path(loose[0]).name}): a gallery is <identity>/<image> files, one subfolder per "
                         f"identity; move them into identity folders (from Python: or pass labels=[...])")


def _warn_small_images(inputs, image_size):
    """One warning line when images are smaller than SMALL_IMAGE_SIDE: they are upsampled to the model's size
    and their embeddings carry little of the face."""
    sides = [(item, image_side(item)) for item in inputs]
    small = [(item, side) for item, side in sides if side is not None and side < SMALL_IMAGE_SIDE]
    if small:
        item, side = small[0]
        first = "an array" if isinstance(item, np.ndarray) else item
        print(f"warning: {len(small)} image(s) smaller than {SMALL_IMAGE_SIDE} px on a side (first: {first}, {side} "
              f"px) are upsampled to {image_size} px: expect embeddings that carry little of the face",
              file=sys.stderr)


def _describe(items, index):
    return f"image {index} (an array)" if isinstance(items[index], np.ndarray) else items[index]

"""The model card of a model directory: what the weights were trained on and the threshold to use them with.

Layout, beside config.json and the weights:
    model_card.json   {"format": "cari-mtl-model-card", "version": 1, "package_version", "command_line",
                       "dataset": {...}, "identities": {"count", "names"}, "image_size",
                       "image_standardization", "network": {...}, "task_weighting": {...},
                       "training": {"epoch", "step"}, "evaluation": {metrics of that epoch},
                       "threshold": {"value", "source"}}
    MODEL_CARD.md     the same, short and readable

`verify` takes `threshold.value` when no threshold is given, so a model directory answers "same or not"
on its own; `evaluate_cavi --write_threshold` replaces it by the threshold of a full evaluation.
"""

import json
import math
import os
import tempfile
from pathlib import Path

CARD_JSON = "model_card.json"
CARD_MARKDOWN = "MODEL_CARD.md"
CARD_FORMAT = "cari-mtl-model-card"
CARD_VERSION = 1


def package_version():
    """The installed cari-mtl version (its package metadata), "unknown" when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cari-mtl")
    except PackageNotFoundError:
        return "unknown"


def new_card(**fields):
    """A card dict with the format header and the package version, then `fields`."""
    return {"format": CARD_FORMAT, "version": CARD_VERSION, "package_version": package_version(), **fields}


def read_model_card(directory):
    """The card of a model directory as a dict, or None when it has none (older directories, TF1 checkpoints)."""
    path = Path(directory) / CARD_JSON
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it or write it again "
                         f"(evaluate_cavi --write_threshold)") from None
    if card.get("format") != CARD_FORMAT:
        raise ValueError(f"{path} is not a cari-mtl model card (format {card.get('format')!r})")
    return card


def card_threshold(card, path=CARD_JSON):
    """(threshold, where it comes from) of a card, or None when the card holds none; ValueError naming the
    card `path` when its value is not a finite number >= 0 (a squared L2 distance)."""
    threshold = (card or {}).get("threshold") or {}
    value = threshold.get("value")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{path}: its threshold {value!r} is not a finite number >= 0 (a squared L2 distance): "
                         f"write it again (evaluate_cavi --write_threshold) or give a threshold")
    return float(value), str(threshold.get("source", "the model card"))


def write_model_card(directory, card):
    """Writes model_card.json and MODEL_CARD.md into `directory` (each replaced atomically)."""
    directory = Path(directory)
    _write_atomic(directory / CARD_JSON, json.dumps(card, indent=2, default=_plain) + "\n")
    _write_atomic(directory / CARD_MARKDOWN, card_markdown(card))


def set_threshold(directory, value, source, accuracy=None):
    """Puts `value` as the card's threshold (a card is started when the directory has none); returns the card."""
    card = read_model_card(directory) or new_card()
    card["threshold"] = {"value": float(value), "source": source}
    if accuracy is not None:
        card["threshold"]["accuracy"] = float(accuracy)
    write_model_card(directory, card)
    return card


def card_markdown(card):
    """A short human-readable rendering of the card."""
    dataset = card.get("dataset", {})
    identities = card.get("identities", {})
    training = card.get("training", {})
    evaluation = card.get("evaluation", {})
    threshold = card.get("threshold", {})
    network = card.get("network", {})
    names = identities.get("names") or []
    shown = ", ".join(names[:10]) + (f", ... ({len(names) - 10} more)" if len(names) > 10 else "")
    lines = [
        "# Model card",
        "",
        f"- Package: cari-mtl {card.get('package_version', '?')}",
        f"- Dataset: {dataset.get('name', '?')} ({_items(dataset, 'name')})",
        f"- Identities: {identities.get('count', '?')}" + (f" ({shown})" if shown else ""),
        f"- Input: {card.get('image_size', '?')} px, standardization {card.get('image_standardization', '?')}",
        f"- Network: {_items(network)}",
        f"- Task weighting: {_items(card.get('task_weighting', {}))}",
        f"- Trained: epoch {training.get('epoch', '?')}, step {training.get('step', '?')}",
        f"- Verification threshold: {_short(threshold.get('value', 'none'))} "
        f"({threshold.get('source', 'no evaluation')})",
        f"- Evaluation of this epoch: {_items(evaluation)}",
        "",
        "Command line:",
        "",
        f"    {card.get('command_line', '?')}",
        "",
        "A pair of faces is the same identity when the squared L2 distance of their embeddings is below the "
        "threshold. The threshold is the per-epoch evaluation's on the test pairs unless a full evaluation "
        "replaced it.",
        "",
    ]
    return "\n".join(lines)


def _items(mapping, *skipped):
    return ", ".join(f"{key} {_short(value)}" for key, value in mapping.items() if key not in skipped) or "-"


def _short(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _plain(value):
    """JSON for numpy scalars and tuples left in a card."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _write_atomic(path, text):
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise

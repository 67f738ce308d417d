"""Refusing to replace existing output unless `--overwrite` was given."""

from pathlib import Path


class ExistingOutputError(ValueError):
    """An output that already exists; the message names it, the flag and --overwrite."""


def is_occupied(path):
    """True for an existing file or a non-empty folder (an empty folder holds nothing to lose)."""
    path = Path(path).expanduser()
    if path.is_dir():
        return any(path.iterdir())
    return path.exists() or path.is_symlink()


def refuse_existing(path, flag, overwrite):
    """Raises ExistingOutputError when `path` holds something and `overwrite` is false."""
    path = Path(path).expanduser()
    if not overwrite and is_occupied(path):
        what = "folder is not empty" if path.is_dir() else "file exists"
        raise ExistingOutputError(f"{flag} {path}: the {what}; pass --overwrite to replace it, or name a new "
                                  f"{'folder' if path.is_dir() else 'file'}")
    return path

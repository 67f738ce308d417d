"""The image files of a folder, in one order every tool shares (sorted by path relative to the folder)."""

from pathlib import Path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def image_files(folder, recursive=True):
    """Sorted paths (str) of the image files under `folder` (by extension, any case).

    Raises FileNotFoundError / NotADirectoryError naming the folder, ValueError when it holds no image.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"{folder} not found")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a directory")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    found = sorted((path for path in candidates if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS),
                   key=lambda path: path.relative_to(folder).as_posix())
    if not found:
        raise ValueError(f"{folder} holds no image file ({', '.join(IMAGE_EXTENSIONS)})")
    return [str(path) for path in found]

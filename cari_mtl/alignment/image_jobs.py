"""Resumable per-image jobs over an identity-folder tree (used by the alignment and cropping tools).

Each input image maps to one output file under a mirrored tree. A run skips images whose output
exists and images already listed in the failure file, so an interrupted run can simply be started
again; outputs are written through a temporary file so a half-written image is never taken as done.
"""

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
FAILURES_FILE = "failed_images.txt"


class ImageFailed(Exception):
    """One image could not be processed; the reason goes to the failure file, the run goes on."""


@dataclass
class JobSummary:
    """Counts of one run; `skipped` were done by an earlier run, `failed` includes earlier failures."""

    total: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    reasons: Counter = field(default_factory=Counter)

    def fail(self, reason):
        """Counts one failure under its kind: the reason up to its first colon ("no face found", "unreadable")."""
        self.failed += 1
        self.reasons[str(reason).split(":", 1)[0]] += 1

    def describe(self):
        by_reason = ", ".join(f"{count} {reason}" for reason, count in self.reasons.most_common())
        return (
            f"{self.total} images: {self.written} written, {self.skipped} already done, "
            f"{self.failed} failed{f' ({by_reason})' if by_reason else ''}"
        )

    def nothing_done(self):
        """True when images were listed but none is aligned, now or by an earlier run."""
        return self.total > 0 and self.written + self.skipped == 0


def list_images(root):
    """Image paths under `root` (any depth, through linked folders), relative to it, sorted;
    other files are ignored."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"input directory {root} does not exist or is not a directory")
    found = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append((Path(folder) / name).relative_to(root))
    return found


def check_output_outside_input(input_dir, output_dir):
    """A nested output tree would be walked as input by the next (resumed) run."""
    input_dir, output_dir = Path(input_dir).resolve(), Path(output_dir).resolve()
    if output_dir == input_dir or input_dir in output_dir.parents:
        raise ValueError(
            f"output directory {output_dir} lies inside input directory {input_dir}; choose a "
            "--output_dir outside it"
        )


class FailureLog:
    """`<relative input path>\\t<reason>` lines, read at start (for resume) and appended as we go."""

    def __init__(self, path, retry_failed=False):
        self.path = Path(path)
        self.failed = self._read() if self.path.exists() else {}
        if retry_failed:
            self.failed = {}
            self.path.unlink(missing_ok=True)

    def _read(self):
        failed = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                relative, _, reason = line.partition("\t")
                failed[relative] = reason
        return failed

    def __contains__(self, relative):
        return str(relative) in self.failed

    def add(self, relative, reason):
        self.failed[str(relative)] = reason
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(f"{relative}\t{reason}\n")


def write_atomically(path, write):
    """Calls `write(temporary_path)` then renames, so `path` exists only once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def run_image_jobs(relatives, output_path, process, failures, description, progress=True):
    """Runs `process(relative, output_path)` for each image not yet done.

    `output_path(relative)` names the output file; `process` writes it (or raises ImageFailed).
    """
    summary = JobSummary(total=len(relatives))
    for relative in tqdm(relatives, desc=description, unit="img", disable=not progress):
        target = output_path(relative)
        if target.exists():
            summary.skipped += 1
            continue
        if relative in failures:
            summary.fail(failures.failed[str(relative)])
            continue
        try:
            process(relative, target)
        except ImageFailed as failure:
            failures.add(relative, str(failure))
            summary.fail(failure)
        else:
            summary.written += 1
    return summary

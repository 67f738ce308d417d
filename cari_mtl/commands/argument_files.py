"""`@file` arguments: a recipe of flags kept in a file and expanded in place on the command line.

    python train/train.py @configs/cavi_from_scratch.args --data_dir D --test_pairs P

Each line of the file holds flags as on a shell command line (quotes work, `#` starts a comment);
a later flag overrides an earlier one, so flags after the file override the recipe. Files may
name other files. The expanded list is what a run stores, so `--resume` does not need the file.
"""

import shlex
from pathlib import Path

PREFIX = "@"
MAX_DEPTH = 10


def expand_argument_files(argv, depth=0):
    """argv with every `@path` replaced by the flags in that file (recursively)."""
    expanded = []
    for argument in argv:
        if not argument.startswith(PREFIX) or len(argument) == 1:
            expanded.append(argument)
            continue
        if depth >= MAX_DEPTH:
            raise ValueError(f"argument file {argument[1:]}: files nested more than {MAX_DEPTH} deep")
        expanded += expand_argument_files(read_argument_file(Path(argument[1:])), depth + 1)
    return expanded


def read_argument_file(path):
    """The flags of one file, split like a shell would (comments dropped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"argument file {path} not found (named as @{path})") from None
    except IsADirectoryError:
        raise ValueError(f"argument file {path} is a folder (named as @{path}): name a file of flags, such as "
                         f"@configs/cavi_from_scratch.args") from None
    except OSError as error:
        raise ValueError(f"argument file {path} cannot be read ({error.strerror}, named as @{path})") from None
    except UnicodeDecodeError:
        raise ValueError(f"argument file {path} is not UTF-8 text") from None
    arguments = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            arguments += shlex.split(line, comments=True)
        except ValueError as error:
            raise ValueError(f"{path}:{number}: {error}") from None
    return arguments

"""What every command does with an expected failure: one clear line on stderr, exit status 2."""

import sys

from cari_mtl.model.errors import CheckpointError

EXPECTED_ERRORS = (CheckpointError, FileNotFoundError, NotADirectoryError, ValueError)


def run_cli(main, argv=None):
    from cari_mtl.runtime.backend import startup_error

    arguments = sys.argv[1:] if argv is None else argv
    if startup_error() and not {"-h", "--help"} & set(arguments):
        print(f"error: {startup_error()}", file=sys.stderr)
        return 2
    try:
        return main(argv)
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

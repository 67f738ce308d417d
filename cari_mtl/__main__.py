"""`python -m cari_mtl <command> [flags]`: the `cari` command (cari_mtl.commands.console)."""

import sys

from cari_mtl.commands.console import cari

sys.exit(cari())

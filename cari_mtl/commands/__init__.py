"""The command layer: flags, their parsing into configs, and the main functions of every command.

Importing it picks the Keras backend from the command line's `--backend` (or KERAS_BACKEND) before
any command module imports Keras (cari_mtl.runtime.backend)."""

from cari_mtl.runtime.backend import select_from_argv

select_from_argv()

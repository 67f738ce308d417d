"""The original script webcari_naivedynamic_L1L2L3_multimodel_v3_3weights_optimize_onelayer.py:
train/train.py with --dataset webcari --task_weighting naive preset."""

import sys
from functools import partial

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.train import main

if __name__ == "__main__":
    sys.exit(run_cli(partial(main, defaults={"dataset": "webcari", "task_weighting": "naive"})))

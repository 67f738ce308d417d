r"""Photo-caricature verification on a WebCaricature protocol file (the original's evaluate_webcavi.py).

    python evaluate/evaluate_webcavi.py --data_dir WEBCARI_FACES --model_dir MODEL \
        --test_pairs FV_Test1.txt [--far 0.001 --seed 0]

All pairs of the protocol file are used, shuffled with --seed and split into --lfw_nrof_folds
folds. Results: <logs_base_dir>/<YYYYmmdd-HHMMSS>/validation_on_dataset.txt, metrics.json,
roc.png, false_pairs.png, false_images/.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.evaluate_webcavi import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

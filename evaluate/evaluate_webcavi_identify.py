r"""Caricature/photo identification on WebCaricature (the original's evaluate_webcavi_identify.py).

    python evaluate/evaluate_webcavi_identify.py --data_dir WEBCARI_FACES --model_dir MODEL \
        --probe PROTOCOL_DIR --gallery PROTOCOL_DIR [--protocol C2P|P2C|both --rank_n 10]

For k = 1..--lfw_nrof_folds reads FR_Probe_<P><k>.txt from --probe and FR_Gallery_<P><k>.txt from
--gallery, ranks the gallery by squared L2 distance of branch-1 embeddings and reports Rank-1 and
Rank-N mean +- std over the folds: <logs_base_dir>/<YYYYmmdd-HHMMSS>/Rank_on_dataset.txt, metrics.json.
"""

import sys

from cari_mtl.commands.cli import run_cli
from cari_mtl.commands.evaluate_webcavi_identify import main

if __name__ == "__main__":
    sys.exit(run_cli(main))

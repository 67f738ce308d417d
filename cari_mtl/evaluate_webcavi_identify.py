r"""Caricature/photo identification on WebCaricature (the original's evaluate_webcavi_identify.py).

    python evaluate/evaluate_webcavi_identify.py --data_dir WEBCARI_FACES --model_dir MODEL \
        --probe PROTOCOL_DIR --gallery PROTOCOL_DIR [--protocol C2P|P2C|both --rank_n 10]

For k = 1..--lfw_nrof_folds reads FR_Probe_<P><k>.txt from --probe and FR_Gallery_<P><k>.txt from
--gallery, ranks the gallery by squared L2 distance of branch-1 embeddings and reports Rank-1 and
Rank-N mean +- std over the folds: <logs_base_dir>/<YYYYmmdd-HHMMSS>/Rank_on_dataset.txt, metrics.json.
"""

import sys
from pathlib import Path

from cari_mtl.cli import run_cli
from cari_mtl.data.webcari import read_webcari_rank_list
from cari_mtl.evaluation import identify
from cari_mtl.evaluation_flags import evaluation_parser, parse_evaluation_arguments


def protocol_folds(args, protocol):
    """[(probe paths, probe labels, gallery paths, gallery labels)] for k = 1..folds; labels are the
    upper-cased identity names, as the original compares them."""
    folds = []
    for k in range(1, args.lfw_nrof_folds + 1):
        probe_paths, probe_labels = read_webcari_rank_list(Path(args.probe) / f"FR_Probe_{protocol}{k}.txt",
                                                           args.data_dir)
        gallery_paths, gallery_labels = read_webcari_rank_list(Path(args.gallery) / f"FR_Gallery_{protocol}{k}.txt",
                                                               args.data_dir)
        folds.append((probe_paths, [label.upper() for label in probe_labels],
                      gallery_paths, [label.upper() for label in gallery_labels]))
    return folds


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_evaluation_arguments(evaluation_parser(__doc__, "identify"), argv)
    protocols = {protocol: protocol_folds(args, protocol) for protocol in args.protocols}
    identify(args, protocols, command_line=" ".join(["evaluate_webcavi_identify.py", *argv]))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))

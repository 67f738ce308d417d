r"""Caricature/photo identification on WebCaricature (the original's evaluate_webcavi_identify.py).

    python evaluate/evaluate_webcavi_identify.py --data_dir WEBCARI_FACES --model_dir MODEL \
        --probe PROTOCOL_DIR --gallery PROTOCOL_DIR [--protocol C2P|P2C|both --rank_n 10]

For k = 1..--lfw_nrof_folds reads FR_Probe_<P><k>.txt from --probe and FR_Gallery_<P><k>.txt from
--gallery, ranks the gallery by squared L2 distance of branch-1 embeddings and reports Rank-1 and
Rank-N mean +- std over the folds: <logs_base_dir>/<YYYYmmdd-HHMMSS>/Rank_on_dataset.txt, metrics.json.
"""

import sys
from pathlib import Path

from cari_mtl.commands.evaluation_flags import evaluation_config, evaluation_parser, parse_evaluation_arguments
from cari_mtl.data.webcari import read_webcari_rank_list


def protocol_folds(probe_dir, gallery_dir, data_dir, nrof_folds, protocol):
    """[(probe paths, probe labels, gallery paths, gallery labels)] for k = 1..nrof_folds; labels are the
    upper-cased identity names, as the original compares them (PORTING E19)."""
    folds = []
    for k in range(1, nrof_folds + 1):
        probe_paths, probe_labels = read_webcari_rank_list(Path(probe_dir) / f"FR_Probe_{protocol}{k}.txt", data_dir)
        gallery_paths, gallery_labels = read_webcari_rank_list(Path(gallery_dir) / f"FR_Gallery_{protocol}{k}.txt",
                                                               data_dir)
        folds.append((probe_paths, [label.upper() for label in probe_labels],
                      gallery_paths, [label.upper() for label in gallery_labels]))
    return folds


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_evaluation_arguments(evaluation_parser(__doc__, "identify"), argv)
    config = evaluation_config(args)
    from cari_mtl.evaluation.protocols import identify  # TensorFlow, once the flags parsed (not for --help)
    protocols = {protocol: protocol_folds(args.probe, args.gallery, args.data_dir, args.lfw_nrof_folds, protocol)
                 for protocol in args.protocols}
    identify(config, protocols, command_line=" ".join(["evaluate_webcavi_identify.py", *argv]))
    return 0


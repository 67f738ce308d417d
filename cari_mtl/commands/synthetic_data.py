"""`cari synthetic-data`: writes a small synthetic CaVI-layout dataset (see cari_mtl.data.synthetic).

    cari synthetic-data --output_dir D [--identities 8 --photos_per_id 5
        --caricatures_per_id 4 --image_size 96 --seed 0]
"""

import argparse
import shutil
import sys
from pathlib import Path

from cari_mtl.commands.common_flags import add_overwrite_flag
from cari_mtl.data.synthetic import check_sizes, generate_dataset
from cari_mtl.runtime.overwrite import refuse_existing

WRITTEN_FOLDERS = ("CaVI_Dataset", "train-test-files")


def clear_previous_dataset(output_dir):
    """--overwrite: removes the folders an earlier run wrote, so no old image or pair line survives beside new ones."""
    for name in WRITTEN_FOLDERS:
        shutil.rmtree(Path(output_dir).expanduser() / name, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", required=True,
                        help="folder to write CaVI_Dataset/ and train-test-files/ into (refused if it exists and "
                             "is not empty, unless --overwrite)")
    parser.add_argument("--identities", type=int, default=8, help="number of identities (default 8)")
    parser.add_argument("--photos_per_id", type=int, default=5, help="photos per identity (default 5)")
    parser.add_argument("--caricatures_per_id", type=int, default=4, help="caricatures per identity (default 4)")
    parser.add_argument("--image_size", type=int, default=96, help="image side in pixels (default 96)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    add_overwrite_flag(parser)
    args = parser.parse_args(argv)
    try:
        check_sizes(args.identities, args.photos_per_id, args.caricatures_per_id, args.image_size)
        refuse_existing(args.output_dir, "--output_dir", args.overwrite)
        if args.overwrite:
            clear_previous_dataset(args.output_dir)
        dataset = generate_dataset(args.output_dir, args.identities, args.photos_per_id, args.caricatures_per_id,
                                   args.image_size, args.seed)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"data_dir: {dataset.data_dir}\npairs_file: {dataset.pairs_file}")
    return 0

"""t-SNE of photo and caricature embeddings (the paper's Fig. 2): colour = identity, marker = modality.

    cari plot-tsne --model_dir DIR --data_dir CAVI_DIR [--output tsne.png]

`--data_dir` is a CaVI-layout folder (Real/<Identity>/*.jpg, Caricature/<Identity>/*.jpg).
A seeded choice of identities and images keeps the figure readable and reproducible.
`--embeddings shared` plots every image with branch 1's `embeddings` (the verification space);
`--embeddings branch` uses the photo branch for photos and the caricature branch for caricatures.
"""

import argparse
from pathlib import Path

import numpy as np

from cari_mtl.commands.common_flags import (
    add_backend_flag,
    add_forward_batch_flag,
    add_model_source_flags,
    add_overwrite_flag,
)
from cari_mtl.commands.evaluation_flags import model_source
from cari_mtl.data.cavi import list_cavi_images
from cari_mtl.evaluation import plots
from cari_mtl.runtime.overwrite import refuse_existing


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_source_flags(parser)
    add_backend_flag(parser)
    parser.add_argument("--data_dir", required=True, help="CaVI-layout folder holding Real/ and Caricature/")
    parser.add_argument("--output", default="tsne.png", help="PNG to write (default tsne.png)")
    add_overwrite_flag(parser)
    parser.add_argument("--max_identities", type=int, default=10, help="identities shown (default 10)")
    parser.add_argument("--max_images", type=int, default=10,
                        help="images per identity and modality (default 10)")
    parser.add_argument("--embeddings", choices=("shared", "branch"), default="shared",
                        help="shared: branch-1 embeddings for all; branch: photo / caricature branch (default shared)")
    parser.add_argument("--perplexity", type=float, default=30.0,
                        help="t-SNE perplexity (capped below the point count)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image choice and of t-SNE (default 0)")
    add_forward_batch_flag(parser)
    return parser.parse_args(argv)


def choose_images(images, max_identities, max_images, seed):
    """A seeded subset of (path, identity, is_caricature) rows: identities with both modalities first."""
    rng = np.random.default_rng(seed)
    by_identity = {}
    for path, identity, is_cari in images:
        by_identity.setdefault(identity, ([], []))[int(is_cari)].append(path)
    complete = sorted(name for name, (photos, caris) in by_identity.items() if photos and caris)
    if not complete:
        raise ValueError("no identity has both photos and caricatures: check --data_dir")
    chosen = rng.permutation(complete)[:max_identities]
    rows = []
    for name in sorted(chosen):
        for is_cari, paths in enumerate(by_identity[name]):
            picked = rng.permutation(sorted(paths))[:max_images]
            rows += [(str(path), name, bool(is_cari)) for path in picked]
    return rows


def embed_points(rows, source, embeddings="shared", batch_size=100):
    """[N, 1792] embeddings of the chosen rows from the ModelSource `source`, of the branch asked for."""
    from cari_mtl.evaluation.features import compute_features  # TensorFlow: not for --help
    from cari_mtl.model.loading import open_model

    model, config = open_model(source.path, image_size=source.image_size, nrof_classes=source.nrof_classes,
                               image_standardization=source.image_standardization)
    paths = [path for path, _, _ in rows]
    features, valid = compute_features(model, config.image_size, paths, batch_size,
                                       names=("embeddings", "embeddings_visual", "embeddings_cari"),
                                       standardization=config.image_standardization)
    if not valid.all():
        raise ValueError(f"unreadable image {paths[int(np.argmin(valid))]}: check --data_dir")
    if embeddings == "shared":
        return features["embeddings"]
    is_cari = np.array([cari for _, _, cari in rows])
    return np.where(is_cari[:, None], features["embeddings_cari"], features["embeddings_visual"])


def main(argv=None):
    args = parse_arguments(argv)
    refuse_existing(args.output, "--output", args.overwrite)
    rows = choose_images(list_cavi_images(args.data_dir), args.max_identities, args.max_images, args.seed)
    embeddings = embed_points(rows, model_source(args), args.embeddings, args.lfw_batch_size)
    from sklearn.manifold import TSNE
    perplexity = min(args.perplexity, len(rows) - 1.0)
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=args.seed).fit_transform(embeddings)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    plots.plot_tsne(points, [name for _, name, _ in rows], [cari for _, _, cari in rows], output,
                    title=f"t-SNE of {args.embeddings} embeddings ({len(rows)} images)")
    print(f"wrote {output}: {len(rows)} images of {len({name for _, name, _ in rows})} identities")
    return 0

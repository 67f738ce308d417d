"""Run by the JAX tests in a subprocess: the API's embeddings of image files under the JAX backend.

    python tests/jax_embed.py MODEL_DIR OUT.npy IMAGE...
"""

import sys

import numpy as np

import cari_mtl


def main(model_dir, output, *images):
    np.save(output, cari_mtl.load_model(model_dir).embed(list(images)))


if __name__ == "__main__":
    main(*sys.argv[1:])

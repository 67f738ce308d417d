"""The network definition, as a path for `--model_def models/inception_resnet_v1_cari_vis.py`.

The code lives in the package (`cari_mtl/model/inception_resnet_v1_cari_vis.py`, the default
`--model_def`) so that an installed cari-mtl builds the model anywhere; this file re-exports it, one
copy to keep.
"""

from cari_mtl.model.inception_resnet_v1_cari_vis import *  # noqa: F401,F403

"""The input standardisations a model can be trained and used with (cari_mtl.images.eval_loader applies
them), apart from the image code so that the flags do not load OpenCV."""

STANDARDIZATIONS = ("prewhiten", "fixed")

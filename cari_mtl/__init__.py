"""cari-mtl: cross-modal photo-caricature face recognition with dynamic multi-task learning (TF2/Keras 3 port)."""

__version__ = "0.1.0"

"""Put on PYTHONPATH by the JAX tests: importing TensorFlow raises, so a path that needs it fails loudly."""

import sys


class BlockTensorFlow:
    """A meta-path finder that refuses `tensorflow` and its submodules."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"TensorFlow is blocked in this process (tried to import {name})")
        return None


sys.meta_path.insert(0, BlockTensorFlow())

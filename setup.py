"""Installs the cari_mtl library (the network definition included) and a console script per command.

The scripts in train/, evaluate/, align/ and models/ still run from the checkout; the console scripts
(listed in cari_mtl/commands.py) run the same code from an installed package.
"""
import importlib.util
from pathlib import Path

from setuptools import find_packages, setup


def console_scripts():
    """`cari-x = cari_mtl.commands:cari_x` entries, read from cari_mtl/commands.py without importing cari_mtl."""
    path = Path(__file__).parent / "cari_mtl" / "commands.py"
    spec = importlib.util.spec_from_file_location("cari_mtl_commands", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.console_scripts()


setup(
    name="cari-mtl",
    version="0.1.0",
    description=(
        "TensorFlow 2 / Keras 3 port of cross-modal photo-caricature face recognition "
        "with dynamic multi-task learning (Ming, Burie, Luqman)"
    ),
    packages=find_packages(include=["cari_mtl", "cari_mtl.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21",
        "keras>=3.0",
        "numpy>=1.26",
        "scipy>=1.11",
        "scikit-learn>=1.3",
        "opencv-python-headless>=4.8",
        "mtcnn>=1.0",
        "tqdm>=4.66",
        "matplotlib>=3.8",
        "pillow>=10.0",
        "tensorboard>=2.16",
    ],
    extras_require={
        "test": ["pytest>=8.0", "setuptools>=65", "wheel"],
        "onnx": ["tf2onnx>=1.17", "onnx>=1.16", "onnxruntime>=1.18"],
    },
    entry_points={"console_scripts": console_scripts()},
)

"""Installs the cari_mtl library; scripts in train/, evaluate/, align/ and models/ run from the checkout."""
from setuptools import find_packages, setup

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
    ],
    extras_require={
        "test": ["pytest>=8.0"],
    },
)

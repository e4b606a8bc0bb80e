"""kexue: Su Jianlin's 2019 Scientific Spaces techniques as software.

Subpackages are imported on demand; importing :mod:`kexue` itself loads nothing heavy
(no Keras, no deep-learning backend), so the CLI starts fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

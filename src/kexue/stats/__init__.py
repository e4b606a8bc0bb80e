"""HSIC: kernels, exact estimators, independence tests and large-n approximations.

The NumPy/SciPy float64 path lives here and never imports Keras or a deep-learning backend.
The differentiable ``keras.ops`` path is the separate module :mod:`kexue.stats.keras_ops`
(import it explicitly).

Example:
    >>> import numpy as np
    >>> from kexue.stats import hsic_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(200)
    >>> hsic_test(x, np.cos(2 * x) + 0.3 * rng.standard_normal(200)).p_value < 0.01
    True
"""

from kexue.stats.estimators import cka, hsic_biased, hsic_unbiased
from kexue.stats.independence import HSIC, HSICTestResult, hsic_test
from kexue.stats.kernels import (
    CallableKernel,
    GaussianKernel,
    Kernel,
    LaplacianKernel,
    LinearKernel,
    PolynomialKernel,
    median_heuristic,
)
from kexue.stats.large_scale import block_hsic, nystrom_hsic, rff_hsic

__all__ = [
    "HSIC",
    "CallableKernel",
    "GaussianKernel",
    "HSICTestResult",
    "Kernel",
    "LaplacianKernel",
    "LinearKernel",
    "PolynomialKernel",
    "block_hsic",
    "cka",
    "hsic_biased",
    "hsic_test",
    "hsic_unbiased",
    "median_heuristic",
    "nystrom_hsic",
    "rff_hsic",
]

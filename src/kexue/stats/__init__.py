"""HSIC: kernels, exact estimators, independence tests and large-n approximations.

The NumPy/SciPy float64 path lives here and never imports Keras or a deep-learning backend.
The differentiable ``keras.ops`` path (same signatures, same definitions) is
:mod:`kexue.stats.keras_hsic`; the Keras training objectives ``HSICLoss`` and ``HSICPenalty``
(:mod:`kexue.stats.losses`) and the scikit-learn estimator ``HSICBottleneckClassifier``
(:mod:`kexue.stats.bottleneck`) are exported here too, but imported (with Keras and
scikit-learn) only on first use, so that ``import kexue.stats`` stays light.

Example:
    >>> import numpy as np
    >>> from kexue.stats import hsic_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(200)
    >>> hsic_test(x, np.cos(2 * x) + 0.3 * rng.standard_normal(200)).pvalue < 0.01
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

#: names exported lazily: their modules import Keras (and scikit-learn).
_LAZY = {
    "HSICBottleneckClassifier": "kexue.stats.bottleneck",
    "HSICLoss": "kexue.stats.losses",
    "HSICPenalty": "kexue.stats.losses",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kexue.stats' has no attribute {name!r}")


__all__ = [
    "HSIC",
    "HSICBottleneckClassifier",
    "HSICLoss",
    "HSICPenalty",
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

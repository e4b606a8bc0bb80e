"""HSIC in ``keras.ops``: differentiable kernels and estimators on any Keras backend.

The same definitions as the NumPy float64 path of :mod:`kexue.stats`, written with
``keras.ops`` only, so they run on JAX, TensorFlow and PyTorch, inside ``jit``/``tf.function``,
and can be trained through (losses, regularisers, the HSIC bottleneck).

Estimators (``n`` samples, ``K``, ``L`` the kernel matrices, ``H = I - 11^T/n``):

- biased, Gretton et al. 2005: ``HSIC_b = tr(K H L H) / n^2``;
- unbiased, Song et al. 2012 (JMLR 13): ``HSIC_u = [tr(K~L~) + (1^T K~ 1)(1^T L~ 1) /
  ((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n(n-3))`` with ``K~``, ``L~`` the kernels with zeroed
  diagonals; computed here as ``<U(K), U(L)> / (n(n-3))`` with ``U`` the U-centring of
  Szekely & Rizzo 2014, which is the same number and loses less to float32 cancellation;
- CKA (centred kernel alignment, Cortes et al. 2012, Kornblith et al. 2019):
  ``HSIC_b(K, L) / sqrt(HSIC_b(K, K) HSIC_b(L, L))``.

Every estimator is O(n^2) time and memory: traces of products are elementwise sums and the
centrings use row means, never an n x n matrix product.

Gaussian bandwidth convention (Gretton et al. 2007): ``k(a, b) = exp(-|a-b|^2 / (2 s^2))`` with,
when no bandwidth is given, ``s = sqrt(median(d^2) / 2)``, the median taken over the pairs
``i < j`` of each variable separately. The median is a constant for differentiation
(``stop_gradient``): gradients flow through the kernel, not through the bandwidth choice.

Source: Su Jianlin, "HSIC简介:一个有意思的判断相关性的思路", kexue.fm/archives/6910 (2019).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from kexue._validation import check_choice
from kexue.stats.kernels import KERNEL_NAMES

__all__ = [
    "cka",
    "cka_from_kernels",
    "gaussian_kernel",
    "hsic_biased",
    "hsic_biased_from_kernels",
    "hsic_penalty",
    "hsic_unbiased",
    "hsic_unbiased_from_kernels",
    "kernel_matrix",
    "laplacian_kernel",
    "linear_kernel",
    "median_bandwidth",
    "pairwise_squared_distances",
    "polynomial_kernel",
]

KernelSpec = str | Callable[[Any, Any], Any]
_KERNELS = KERNEL_NAMES
_ESTIMATORS = ("biased", "unbiased", "cka")


def _as_samples(x: Any, name: str) -> Any:
    """Return ``x`` as a floating (n, d) tensor; a 1-D input is one feature per sample."""
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    if len(x.shape) == 1:
        x = ops.expand_dims(x, -1)
    elif len(x.shape) > 2:
        x = ops.reshape(x, (ops.shape(x)[0], -1))
    elif len(x.shape) != 2:
        raise ValueError(
            f"`{name}` must have shape (n,) or (n, d) (samples first); received shape {x.shape}."
        )
    return x


def _check_square(k: Any, name: str) -> Any:
    k = ops.convert_to_tensor(k)
    if not keras.backend.is_float_dtype(k.dtype):
        k = ops.cast(k, keras.config.floatx())
    shape = k.shape
    if len(shape) != 2 or (
        shape[0] is not None and shape[1] is not None and shape[0] != shape[1]
    ):
        raise ValueError(f"`{name}` must be a square (n, n) kernel matrix; received shape {shape}.")
    return k


def _check_pair(a: Any, b: Any, name_a: str, name_b: str, minimum: int) -> None:
    n_a, n_b = a.shape[0], b.shape[0]
    if n_a is not None and n_b is not None and n_a != n_b:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same number of samples; "
            f"received {n_a} and {n_b}."
        )
    if n_a is not None and n_a < minimum:
        raise ValueError(
            f"this estimator needs at least {minimum} samples in `{name_a}`; received {n_a}."
        )


def _num_samples(x: Any) -> Any:
    """n as a scalar of ``x``'s dtype (works when the batch size is only known at run time)."""
    return ops.cast(ops.shape(x)[0], x.dtype)


def pairwise_squared_distances(x: Any) -> Any:
    """Squared Euclidean distances between the rows of ``x``.

    Args:
        x: samples, shape (n,) or (n, d).

    Returns:
        An (n, n) tensor ``D`` with ``D[i, j] = |x_i - x_j|^2``, clipped at 0 and with an exact
        zero diagonal.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import pairwise_squared_distances
        >>> d2 = pairwise_squared_distances(np.array([[0.0], [3.0]], dtype="float32"))
        >>> [float(v) for v in np.asarray(d2).ravel()]
        [0.0, 9.0, 9.0, 0.0]
    """
    x = _as_samples(x, "x")
    # Centring first keeps |a|^2 + |b|^2 - 2ab from cancelling catastrophically in float32.
    x = x - ops.stop_gradient(ops.mean(x, axis=0, keepdims=True))
    squared_norms = ops.sum(ops.square(x), axis=1)
    d2 = squared_norms[:, None] + squared_norms[None, :] - 2.0 * ops.matmul(x, ops.transpose(x))
    d2 = ops.maximum(d2, 0.0)
    off_diagonal = 1.0 - ops.eye(ops.shape(x)[0], dtype=x.dtype)
    return d2 * off_diagonal


def _median_off_diagonal(d: Any) -> Any:
    """Median of the entries ``d[i, j]``, ``i < j``, of a symmetric matrix with n >= 2.

    The off-diagonal entries hold every pair twice; the median of that doubled list equals the
    median of the pairs (the two middle elements of 2m sorted values are the m-th and
    (m+1)-th, which bracket the pairs' median exactly as NumPy's even-length rule does).
    Diagonal entries are pushed to the end of the sort so the batch size may be dynamic.
    """
    n = ops.shape(d)[0]
    big = ops.max(d) + 1.0
    masked = ops.where(ops.eye(n, dtype="bool"), big, d)
    ordered = ops.sort(ops.reshape(masked, (-1,)))
    half = (n * (n - 1)) // 2
    middle = ops.take(ordered, ops.stack([half - 1, half]))
    return ops.mean(middle)


def median_bandwidth(x: Any) -> Any:
    """The median-heuristic Gaussian bandwidth ``s = sqrt(median_{i<j} |x_i - x_j|^2 / 2)``.

    With it, ``exp(-d^2 / (2 s^2)) = exp(-d^2 / median(d^2))`` (Gretton et al. 2007). The value
    is wrapped in ``stop_gradient``: it is a data-dependent constant, not a trainable path.

    Args:
        x: samples, shape (n,) or (n, d), n >= 2.

    Returns:
        A scalar tensor. It is 0 when more than half of the pairs coincide (e.g. a constant
        variable); the kernels then fall back to bandwidth 1 rather than dividing by 0.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import median_bandwidth
        >>> x = np.array([0.0, 1.0, 3.0], dtype="float32")  # d^2 = 1, 9, 4 -> median 4
        >>> round(float(median_bandwidth(x)), 4)
        1.4142
    """
    x = _as_samples(x, "x")
    if x.shape[0] is not None and x.shape[0] < 2:
        raise ValueError(f"`x` needs at least 2 samples for a median bandwidth; got {x.shape[0]}.")
    d2 = ops.stop_gradient(pairwise_squared_distances(x))
    return ops.stop_gradient(ops.sqrt(_median_off_diagonal(d2) / 2.0))


def _bandwidth(x: Any, bandwidth: Any, name: str) -> Any:
    if bandwidth is None:
        s = median_bandwidth(x)
        return ops.where(s > 0, s, ops.ones_like(s))
    if isinstance(bandwidth, int | float) and not bandwidth > 0:
        raise ValueError(f"`{name}` must be a positive number or None; received {bandwidth!r}.")
    return ops.cast(bandwidth, x.dtype)


def gaussian_kernel(x: Any, bandwidth: float | Any | None = None) -> Any:
    """Gaussian kernel matrix ``K[i, j] = exp(-|x_i - x_j|^2 / (2 s^2))``.

    Args:
        x: samples, shape (n,) or (n, d).
        bandwidth: ``s``; ``None`` (default) uses :func:`median_bandwidth` of ``x``.

    Returns:
        An (n, n) tensor with ones on the diagonal.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import gaussian_kernel
        >>> k = gaussian_kernel(np.array([0.0, 1.0], dtype="float32"), bandwidth=1.0)
        >>> round(float(np.asarray(k)[0, 1]), 4)  # exp(-1/2)
        0.6065
    """
    x = _as_samples(x, "x")
    s = _bandwidth(x, bandwidth, "bandwidth")
    return ops.exp(-pairwise_squared_distances(x) / (2.0 * ops.square(s)))


def laplacian_kernel(x: Any, bandwidth: float | Any | None = None) -> Any:
    """Laplacian kernel matrix ``K[i, j] = exp(-|x_i - x_j| / s)``.

    Args:
        x: samples, shape (n,) or (n, d).
        bandwidth: ``s``; ``None`` (default) uses the median pairwise distance of ``x``,
            ``sqrt(median_{i<j} |x_i - x_j|^2)``.

    Returns:
        An (n, n) tensor with ones on the diagonal. The distance uses a gradient-safe square
        root (the derivative of ``|a - b|`` at ``a = b`` is taken as 0, not NaN).

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import laplacian_kernel
        >>> k = laplacian_kernel(np.array([0.0, 2.0], dtype="float32"), bandwidth=1.0)
        >>> round(float(np.asarray(k)[0, 1]), 4)  # exp(-2)
        0.1353
    """
    x = _as_samples(x, "x")
    d2 = pairwise_squared_distances(x)
    positive = d2 > 0
    d = ops.where(positive, ops.sqrt(ops.where(positive, d2, ops.ones_like(d2))), 0.0)
    if bandwidth is None:
        s = ops.stop_gradient(ops.sqrt(_median_off_diagonal(ops.stop_gradient(d2))))
        s = ops.where(s > 0, s, ops.ones_like(s))
    else:
        s = _bandwidth(x, bandwidth, "bandwidth")
    return ops.exp(-d / s)


def linear_kernel(x: Any) -> Any:
    """Linear kernel matrix ``K = x x^T`` (HSIC with it is the squared cross-covariance norm).

    Args:
        x: samples, shape (n,) or (n, d).

    Returns:
        An (n, n) tensor.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import linear_kernel
        >>> np.asarray(linear_kernel(np.array([1.0, 2.0], dtype="float32"))).tolist()
        [[1.0, 2.0], [2.0, 4.0]]
    """
    x = _as_samples(x, "x")
    return ops.matmul(x, ops.transpose(x))


def polynomial_kernel(x: Any, degree: int = 2, gamma: float = 1.0, coef0: float = 1.0) -> Any:
    """Polynomial kernel matrix ``K = (gamma x x^T + coef0) ** degree``.

    Args:
        x: samples, shape (n,) or (n, d).
        degree: a positive integer.
        gamma: the scale of the inner product.
        coef0: the constant added before the power.

    Returns:
        An (n, n) tensor.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import polynomial_kernel
        >>> np.asarray(polynomial_kernel(np.array([1.0, 2.0], dtype="float32"))).tolist()
        [[4.0, 9.0], [9.0, 25.0]]
    """
    if not isinstance(degree, int) or degree < 1:
        raise ValueError(f"`degree` must be a positive integer; received {degree!r}.")
    return ops.power(gamma * linear_kernel(x) + coef0, degree)


def kernel_matrix(x: Any, kernel: KernelSpec = "gaussian", bandwidth: Any = None) -> Any:
    """The kernel matrix of ``x`` for a kernel given by name or as a callable.

    Args:
        x: samples, shape (n,) or (n, d).
        kernel: ``"gaussian"``, ``"laplacian"``, ``"linear"``, ``"polynomial"`` (degree 2,
            coef0 1), or a callable ``f(a, b)`` of two (n, d) tensors returning the (n, n)
            matrix ``f(a, b)[i, j] = k(a_i, b_j)`` with ``keras.ops`` (called as ``f(x, x)``,
            the convention of the NumPy path's ``CallableKernel``).
        bandwidth: for ``"gaussian"``/``"laplacian"``; ``None`` means the median heuristic.

    Returns:
        An (n, n) tensor.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import kernel_matrix
        >>> tuple(kernel_matrix(np.zeros((3, 2), dtype="float32"), "linear").shape)
        (3, 3)
    """
    x = _as_samples(x, "x")
    if callable(kernel):
        return _check_square(kernel(x, x), "kernel(x, x)")
    if kernel == "gaussian":
        return gaussian_kernel(x, bandwidth)
    if kernel == "laplacian":
        return laplacian_kernel(x, bandwidth)
    if bandwidth is not None:
        raise ValueError(f"`bandwidth` applies to gaussian/laplacian kernels, not {kernel!r}.")
    if kernel == "linear":
        return linear_kernel(x)
    if kernel == "polynomial":
        return polynomial_kernel(x)
    raise ValueError(f"`kernel` must be one of {_KERNELS} or a callable; received {kernel!r}.")


def _double_centre(k: Any) -> Any:
    """``H K H`` from row, column and grand means (O(n^2), no matrix product)."""
    row = ops.mean(k, axis=1, keepdims=True)
    col = ops.mean(k, axis=0, keepdims=True)
    return k - row - col + ops.mean(k)


def _u_centre(k: Any) -> Any:
    """U-centring (Szekely & Rizzo 2014): zero diagonal; <U(K), U(L)> / (n(n-3)) = HSIC_u."""
    n = _num_samples(k)
    off_diagonal = 1.0 - ops.eye(ops.shape(k)[0], dtype=k.dtype)
    k = k * off_diagonal
    row = ops.sum(k, axis=1, keepdims=True) / (n - 2.0)
    col = ops.sum(k, axis=0, keepdims=True) / (n - 2.0)
    total = ops.sum(k) / ((n - 1.0) * (n - 2.0))
    return (k - row - col + total) * off_diagonal


def hsic_biased_from_kernels(k_x: Any, k_y: Any) -> Any:
    """Biased HSIC ``tr(K H L H) / n^2`` (Gretton et al. 2005) from two kernel matrices.

    Args:
        k_x: (n, n) symmetric kernel matrix ``K`` of x.
        k_y: (n, n) symmetric kernel matrix ``L`` of y.

    Returns:
        A scalar tensor, >= 0 for positive semi-definite kernels.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import hsic_biased_from_kernels
        >>> k = np.eye(4, dtype="float32")
        >>> round(float(hsic_biased_from_kernels(k, k)), 4)  # tr(H H) / 16 = 3 / 16
        0.1875
    """
    k_x = _check_square(k_x, "k_x")
    k_y = _check_square(k_y, "k_y")
    _check_pair(k_x, k_y, "k_x", "k_y", minimum=1)
    n = _num_samples(k_x)
    return ops.sum(_double_centre(k_x) * k_y) / ops.square(n)


def hsic_unbiased_from_kernels(k_x: Any, k_y: Any) -> Any:
    """Unbiased HSIC (Song et al. 2012) from two kernel matrices; needs n >= 4.

    Args:
        k_x: (n, n) symmetric kernel matrix ``K`` of x.
        k_y: (n, n) symmetric kernel matrix ``L`` of y.

    Returns:
        A scalar tensor; its expectation is the population HSIC (0 under independence), so it
        can be negative.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import hsic_unbiased_from_kernels
        >>> k = np.ones((5, 5), dtype="float32")  # a constant kernel carries no information
        >>> abs(float(hsic_unbiased_from_kernels(k, np.eye(5, dtype="float32")))) < 1e-6
        True
    """
    k_x = _check_square(k_x, "k_x")
    k_y = _check_square(k_y, "k_y")
    _check_pair(k_x, k_y, "k_x", "k_y", minimum=4)
    n = _num_samples(k_x)
    return ops.sum(_u_centre(k_x) * _u_centre(k_y)) / (n * (n - 3.0))


def cka_from_kernels(k_x: Any, k_y: Any, unbiased: bool = False) -> Any:
    """Centred kernel alignment ``HSIC_b(K, L) / sqrt(HSIC_b(K, K) HSIC_b(L, L))``.

    Args:
        k_x: (n, n) symmetric kernel matrix ``K`` of x.
        k_y: (n, n) symmetric kernel matrix ``L`` of y.
        unbiased: use HSIC_u in the numerator and the denominator (needs n >= 4;
            Nguyen et al. 2021); the result may then leave [0, 1] slightly.

    Returns:
        A scalar tensor, in [0, 1] for positive semi-definite kernels with ``unbiased=False``
        (0 if a centred kernel is identically zero, i.e. a constant variable).

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import cka_from_kernels
        >>> k = np.array([[2.0, 1.0], [1.0, 2.0]], dtype="float32")
        >>> round(float(cka_from_kernels(k, 3.0 * k)), 4)
        1.0
    """
    k_x = _check_square(k_x, "k_x")
    k_y = _check_square(k_y, "k_y")
    _check_pair(k_x, k_y, "k_x", "k_y", minimum=4 if unbiased else 2)
    centre = _u_centre if unbiased else _double_centre
    kc = centre(k_x)
    lc = centre(k_y)
    cross = ops.sum(kc * lc)
    norms = ops.maximum(ops.sum(ops.square(kc)) * ops.sum(ops.square(lc)), 0.0)
    # Where norms is 0 the ratio is defined as 0; the inner `where` keeps the gradient finite.
    safe = ops.where(norms > 0, norms, ops.ones_like(norms))
    return ops.where(norms > 0, cross / ops.sqrt(safe), ops.zeros_like(cross))


def _kernels(
    x: Any,
    y: Any,
    kernel_x: KernelSpec,
    kernel_y: KernelSpec,
    bandwidth_x: Any,
    bandwidth_y: Any,
    minimum: int = 2,
) -> tuple[Any, Any]:
    x = _as_samples(x, "x")
    y = _as_samples(y, "y")
    _check_pair(x, y, "x", "y", minimum=minimum)
    kernel_y = kernel_x if kernel_y is None else kernel_y
    if x.dtype != y.dtype:
        y = ops.cast(y, x.dtype)
    return kernel_matrix(x, kernel_x, bandwidth_x), kernel_matrix(y, kernel_y, bandwidth_y)


def hsic_biased(
    x: Any,
    y: Any,
    kernel_x: KernelSpec = "gaussian",
    kernel_y: KernelSpec | None = None,
    *,
    bandwidth_x: Any = None,
    bandwidth_y: Any = None,
) -> Any:
    """Biased HSIC ``tr(K H L H) / n^2`` between samples ``x`` and ``y``, differentiable.

    Args:
        x: (n,) or (n, d_x) samples.
        y: (n,) or (n, d_y) samples, paired with ``x`` row by row.
        kernel_x: kernel of x, a name (see :func:`kernel_matrix`) or a callable.
        kernel_y: kernel of y; ``None`` uses ``kernel_x``'s specification (fitted to y).
        bandwidth_x: Gaussian/Laplacian bandwidth of x; ``None`` = median heuristic of x.
        bandwidth_y: the same for y (each variable gets its own bandwidth).

    Returns:
        A scalar tensor.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import hsic_biased
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(64, 1)).astype("float32")
        >>> dependent = float(hsic_biased(x, x + 0.1 * rng.normal(size=(64, 1))))
        >>> independent = float(hsic_biased(x, rng.normal(size=(64, 1))))
        >>> dependent > 10 * independent
        True
    """
    k_x, k_y = _kernels(x, y, kernel_x, kernel_y, bandwidth_x, bandwidth_y)
    return hsic_biased_from_kernels(k_x, k_y)


def hsic_unbiased(
    x: Any,
    y: Any,
    kernel_x: KernelSpec = "gaussian",
    kernel_y: KernelSpec | None = None,
    *,
    bandwidth_x: Any = None,
    bandwidth_y: Any = None,
) -> Any:
    """Unbiased HSIC (Song et al. 2012) between samples ``x`` and ``y``; needs n >= 4.

    Args:
        x: (n,) or (n, d_x) samples.
        y: (n,) or (n, d_y) samples, paired with ``x`` row by row.
        kernel_x: kernel of x, a name (see :func:`kernel_matrix`) or a callable.
        kernel_y: kernel of y; ``None`` uses ``kernel_x``'s specification (fitted to y).
        bandwidth_x: Gaussian/Laplacian bandwidth of x; ``None`` = median heuristic of x.
        bandwidth_y: the same for y.

    Returns:
        A scalar tensor (can be slightly negative under independence).

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import hsic_unbiased
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(2, 64, 1)).astype("float32")
        >>> abs(float(hsic_unbiased(x, y))) < 0.01
        True
    """
    k_x, k_y = _kernels(x, y, kernel_x, kernel_y, bandwidth_x, bandwidth_y, minimum=4)
    return hsic_unbiased_from_kernels(k_x, k_y)


def cka(
    x: Any,
    y: Any,
    kernel_x: KernelSpec = "gaussian",
    kernel_y: KernelSpec | None = None,
    *,
    bandwidth_x: Any = None,
    bandwidth_y: Any = None,
    unbiased: bool = False,
) -> Any:
    """Centred kernel alignment (normalised HSIC) between ``x`` and ``y``, in [0, 1].

    Args:
        x: (n,) or (n, d_x) samples.
        y: (n,) or (n, d_y) samples, paired with ``x`` row by row.
        kernel_x: kernel of x, a name (see :func:`kernel_matrix`) or a callable.
        kernel_y: kernel of y; ``None`` uses ``kernel_x``'s specification (fitted to y).
        bandwidth_x: Gaussian/Laplacian bandwidth of x; ``None`` = median heuristic of x.
        bandwidth_y: the same for y.
        unbiased: HSIC_u instead of HSIC_b in numerator and denominator (n >= 4).

    Returns:
        A scalar tensor.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import cka
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> round(float(cka(x, 2.0 * x, kernel_x="linear", kernel_y="linear")), 4)
        1.0
    """
    minimum = 4 if unbiased else 2
    k_x, k_y = _kernels(x, y, kernel_x, kernel_y, bandwidth_x, bandwidth_y, minimum=minimum)
    return cka_from_kernels(k_x, k_y, unbiased=unbiased)


_STATISTICS = {"biased": hsic_biased, "unbiased": hsic_unbiased, "cka": cka}


def hsic_penalty(
    x: Any,
    y: Any,
    *,
    estimator: str = "biased",
    kernel_x: KernelSpec = "gaussian",
    kernel_y: KernelSpec | None = None,
    bandwidth_x: Any = None,
    bandwidth_y: Any = None,
) -> Any:
    """A dependence penalty between ``x`` and ``y`` chosen by name, for ``add_loss``.

    Args:
        x: (n,) or (n, d_x) samples, e.g. a representation.
        y: (n,) or (n, d_y) samples, e.g. a nuisance or protected variable.
        estimator: ``"biased"``, ``"unbiased"`` or ``"cka"``.
        kernel_x: kernel of x.
        kernel_y: kernel of y; ``None`` uses ``kernel_x``'s specification (fitted to y).
        bandwidth_x: bandwidth of x (``None`` = median heuristic, held constant).
        bandwidth_y: bandwidth of y.

    Returns:
        A scalar tensor; minimising it pushes ``x`` towards independence of ``y``. HSIC is 0
        iff independent (characteristic kernels), but its positive size depends on the
        kernel: weight it as an auxiliary term, not as a calibrated amount of dependence.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.keras_hsic import hsic_penalty
        >>> z = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        >>> float(hsic_penalty(z, z[:, :1], estimator="cka")) > 0.1
        True
    """
    estimator = check_choice(estimator, "estimator", _ESTIMATORS)
    return _STATISTICS[estimator](
        x,
        y,
        kernel_x=kernel_x,
        kernel_y=kernel_y,
        bandwidth_x=bandwidth_x,
        bandwidth_y=bandwidth_y,
    )

"""Kernels for HSIC on n x d float64 arrays, evaluated block by block.

A kernel is an object with ``fit(x)`` (resolve data-dependent parameters such as the median
heuristic bandwidth, returning a new fitted kernel) and ``__call__(a, b)`` (the ``len(a) x
len(b)`` matrix ``k(a_i, b_j)``). Estimators call ``fit`` once on the whole variable and then
evaluate row blocks, so the bandwidth never depends on the block.

Bandwidth convention (Gretton et al. 2007): the Gaussian kernel is
``exp(-d^2 / (2 sigma^2))`` and the median heuristic sets, per variable,
``sigma = sqrt(median(d^2) / 2)``, i.e. ``k = exp(-d^2 / median(d^2))``, the median taken over
pairs ``i < j``. Su Jianlin's article uses ``exp(-d^2 / sigma^2)`` with ``sigma = 1``: that is
``GaussianKernel(bandwidth=sqrt(0.5))`` here. The Laplacian kernel is ``exp(-d / sigma)``
with the Euclidean distance and the median heuristic ``sigma = sqrt(median(d^2))``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

#: above this many rows the median heuristic uses a fixed, seeded subsample of this size.
MEDIAN_SUBSAMPLE = 1000
#: up to this many columns, distances are sums of coordinate differences (exact on the
#: diagonal); above, ``|a|^2 + |b|^2 - 2 a.b`` (one matrix product, may round to ~1e-16).
DIRECT_DISTANCE_DIMS = 8


def as_samples(values: object, name: str) -> np.ndarray:
    """Return ``values`` as a finite float64 array of shape (n, d).

    A 1-D input is one variable (a column). NaN or infinity raises a ValueError naming the
    first bad row.

    Args:
        values: array-like of shape (n,) or (n, d).
        name: the argument name used in error messages.

    Example:
        >>> as_samples([1.0, 2.0, 3.0], "x").shape
        (3, 1)
    """
    if np.iscomplexobj(values):
        raise TypeError(f"`{name}` must hold real numbers; received a complex array "
                        "(pass its real part, magnitude or both parts as columns)")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of shape (n,) or (n, d); "
                         f"conversion failed: {exc}") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, d), got shape {array.shape}")
    if array.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column, got shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        bad = array[row][~finite[row]][0]
        raise ValueError(f"{name} contains {bad} at row {row} (0-based); "
                         "expected finite numbers")
    return array


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` (m x d) and ``b`` (k x d).

    Example:
        >>> squared_distances(np.array([[0.0], [1.0]]), np.array([[3.0]])).ravel().tolist()
        [9.0, 4.0]
    """
    if a.shape[1] <= DIRECT_DISTANCE_DIMS:
        # sum of squared coordinate differences: exact zeros on the diagonal, no cancellation
        out = np.subtract.outer(a[:, 0], b[:, 0])
        np.square(out, out=out)
        for column in range(1, a.shape[1]):
            diff = np.subtract.outer(a[:, column], b[:, column])
            np.square(diff, out=diff)
            out += diff
        return out
    out = a @ b.T
    out *= -2.0
    out += np.einsum("ij,ij->i", a, a)[:, None]
    out += np.einsum("ij,ij->i", b, b)[None, :]
    np.maximum(out, 0.0, out=out)
    return out


def _median_pairwise_squared_distance(x: np.ndarray, limit: int = MEDIAN_SUBSAMPLE) -> float:
    if len(x) > limit:
        rows = np.random.default_rng(0).choice(len(x), limit, replace=False)
        x = x[np.sort(rows)]
    upper = np.triu_indices(len(x), k=1)
    return float(np.median(squared_distances(x, x)[upper]))


def median_heuristic(x: object, name: str = "x") -> float:
    """Gretton's median heuristic ``sigma = sqrt(median(d^2) / 2)`` for ``exp(-d^2/(2 sigma^2))``.

    The median is over pairs ``i < j``; above ``MEDIAN_SUBSAMPLE`` rows a fixed subsample
    (seed 0) of that size is used, so the result is deterministic.

    Args:
        x: samples, shape (n,) or (n, d), n >= 2.
        name: argument name for error messages.

    Example:
        >>> round(median_heuristic([0.0, 1.0, 3.0]), 4)  # d^2 in {1, 4, 9}: sqrt(4/2)
        1.4142
    """
    samples = as_samples(x, name)
    if len(samples) < 2:
        raise ValueError(f"{name} needs at least 2 rows for the median heuristic, "
                         f"got {len(samples)}")
    median = _median_pairwise_squared_distance(samples)
    if median <= 0.0:
        raise ValueError(f"{name} has median pairwise distance 0 (a constant or mostly "
                         "repeated variable); the median-heuristic bandwidth is undefined: "
                         "pass an explicit bandwidth")
    return math.sqrt(median / 2.0)


def unit_scale(x: np.ndarray) -> int:
    """The power of two ``e`` that brings ``max|x|`` into [0.5, 1): dividing by ``2**e`` is
    exact, and a shift-invariant kernel with a bandwidth divided alike gives the same matrix.

    Example:
        >>> unit_scale(np.array([[3.0], [-1e300]]))
        997
    """
    largest = float(np.max(np.abs(x))) if x.size else 0.0
    return math.frexp(largest)[1] if largest > 0 else 0


def check_kernel_range(x: np.ndarray, kernel: Kernel, name: str,
                       shown: float | None = None) -> None:
    """Raise ValueError naming ``name``'s bandwidth when the kernel degenerates on ``x``.

    With ``t = d^2 / (2 sigma^2)`` (Gaussian) or ``t = d / sigma`` (Laplacian): above
    ``t = 700`` for the median pair, ``exp(-t)`` underflows (the kernel matrix is the
    identity); below ``t = 2^-53`` for the farthest pair, it rounds to 1 (the kernel
    matrix is all ones). Either way HSIC says nothing about the data. ``shown`` is the
    bandwidth quoted in the message (the user's, when ``x`` and the kernel were rescaled).
    """
    bandwidth = getattr(kernel, "bandwidth", None)
    if not isinstance(kernel, (GaussianKernel, LaplacianKernel)) or bandwidth is None:
        return
    shown = bandwidth if shown is None else shown
    if not 1e-150 <= bandwidth <= 1e150:
        raise ValueError(f"`{name}.bandwidth` = {shown:.6g} "
                         f"{'over' if bandwidth > 1 else 'under'}flows the kernel: its square "
                         "is beyond the range of doubles relative to the data; use a bandwidth "
                         "nearer the data's scale or the median heuristic")
    diameter2 = float(np.sum((x.max(axis=0) - x.min(axis=0)) ** 2))
    # An order of magnitude is all this needs: a small subsample keeps it cheap.
    median2 = _median_pairwise_squared_distance(x, 200)
    log_sigma = math.log(bandwidth)

    def log_t(d2: float) -> float:
        if isinstance(kernel, GaussianKernel):
            return math.log(d2) - math.log(2.0) - 2.0 * log_sigma
        return 0.5 * math.log(d2) - log_sigma

    if median2 > 0 and log_t(median2) > math.log(700.0):
        raise ValueError(f"`{name}.bandwidth` = {shown:.6g} underflows the kernel: it is "
                         "below exp(-700) for most pairs of rows, so the kernel matrix is the "
                         "identity; use a larger bandwidth or the median heuristic")
    if diameter2 > 0 and log_t(diameter2) < -53 * math.log(2.0):
        raise ValueError(f"`{name}.bandwidth` = {shown:.6g} overflows the kernel: it is so "
                         "large against the distances between rows that the kernel rounds to "
                         "1 everywhere; use a smaller bandwidth or the median heuristic")


class Kernel:
    """Base class: ``fit(x)`` returns a fitted kernel; ``kernel(a, b)`` returns a matrix."""

    #: whether a random-feature map exists (shift-invariant kernels only).
    shift_invariant = False

    def fit(self, x: np.ndarray, name: str = "x") -> Kernel:
        """Return a kernel whose data-dependent parameters are fixed from ``x``."""
        return self

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def diagonal(self, a: np.ndarray) -> np.ndarray:
        """``k(a_i, a_i)`` for every row."""
        return np.array([self(a[i:i + 1], a[i:i + 1])[0, 0] for i in range(len(a))])

    def describe(self) -> dict:
        """A JSON-ready description (name and resolved parameters)."""
        return {"name": type(self).__name__}


def _check_bandwidth(bandwidth: float | None, name: str) -> None:
    if bandwidth is not None and not (np.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"{name} must be a positive finite number or None (median "
                         f"heuristic), got {bandwidth!r}")


def _in_data_units(kernel: Kernel) -> float | None:
    if kernel.bandwidth is None:
        return None
    return math.ldexp(kernel.bandwidth, kernel.input_exponent)


@dataclass(frozen=True)
class GaussianKernel(Kernel):
    """Gaussian kernel ``exp(-||a - b||^2 / (2 bandwidth^2))``.

    Args:
        bandwidth: sigma; None uses the median heuristic on the variable the kernel is fitted
            to, ``sigma = sqrt(median(d^2) / 2)`` (Gretton et al. 2007).

    Example:
        >>> k = GaussianKernel(bandwidth=1.0)
        >>> round(float(k(np.zeros((1, 1)), np.ones((1, 1)))[0, 0]), 6)
        0.606531
    """

    bandwidth: float | None = None
    #: inputs are divided by ``2 ** input_exponent`` (and so is ``bandwidth``), see
    #: :func:`kexue.stats.estimators.prepare`; :meth:`describe` reports the data's units.
    input_exponent: int = field(default=0, repr=False)
    shift_invariant = True

    def __post_init__(self) -> None:
        _check_bandwidth(self.bandwidth, "bandwidth")

    def fit(self, x: np.ndarray, name: str = "x") -> GaussianKernel:
        if self.bandwidth is not None:
            return self
        return replace(self, bandwidth=median_heuristic(x, name))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.bandwidth is None:
            raise ValueError("GaussianKernel has no bandwidth: call fit(x) first")
        out = squared_distances(a, b)
        out *= -0.5 / self.bandwidth**2
        np.exp(out, out=out)
        return out

    def diagonal(self, a: np.ndarray) -> np.ndarray:
        return np.ones(len(a))

    def spectral_sample(self, rng: np.random.Generator, dim: int, count: int) -> np.ndarray:
        """Frequencies (dim x count) drawn from the kernel's spectral density."""
        return rng.standard_normal((dim, count)) / self.bandwidth

    def describe(self) -> dict:
        return {"name": "gaussian", "bandwidth": _in_data_units(self)}


@dataclass(frozen=True)
class LaplacianKernel(Kernel):
    """Laplacian kernel ``exp(-||a - b|| / bandwidth)`` (Euclidean distance).

    Args:
        bandwidth: sigma; None uses ``sqrt(median(d^2))`` of the variable (the median distance).

    Example:
        >>> k = LaplacianKernel(bandwidth=2.0)
        >>> round(float(k(np.zeros((1, 1)), np.ones((1, 1)))[0, 0]), 6)
        0.606531
    """

    bandwidth: float | None = None
    #: inputs are divided by ``2 ** input_exponent`` (and so is ``bandwidth``), see
    #: :func:`kexue.stats.estimators.prepare`; :meth:`describe` reports the data's units.
    input_exponent: int = field(default=0, repr=False)
    shift_invariant = True

    def __post_init__(self) -> None:
        _check_bandwidth(self.bandwidth, "bandwidth")

    def fit(self, x: np.ndarray, name: str = "x") -> LaplacianKernel:
        if self.bandwidth is not None:
            return self
        return replace(self, bandwidth=median_heuristic(x, name) * math.sqrt(2.0))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.bandwidth is None:
            raise ValueError("LaplacianKernel has no bandwidth: call fit(x) first")
        out = squared_distances(a, b)
        np.sqrt(out, out=out)
        out *= -1.0 / self.bandwidth
        np.exp(out, out=out)
        return out

    def diagonal(self, a: np.ndarray) -> np.ndarray:
        return np.ones(len(a))

    def spectral_sample(self, rng: np.random.Generator, dim: int, count: int) -> np.ndarray:
        """Frequencies from the multivariate Cauchy density (Student t, 1 degree of freedom)."""
        gauss = rng.standard_normal((dim, count))
        chi = np.abs(rng.standard_normal(count))
        return gauss / (chi * self.bandwidth)

    def describe(self) -> dict:
        return {"name": "laplacian", "bandwidth": _in_data_units(self)}


@dataclass(frozen=True)
class LinearKernel(Kernel):
    """Linear kernel ``a . b``; HSIC with it is the squared Frobenius norm of the covariance.

    Example:
        >>> LinearKernel()(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])).tolist()
        [[11.0]]
    """

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b.T

    def diagonal(self, a: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", a, a)

    def describe(self) -> dict:
        return {"name": "linear"}


@dataclass(frozen=True)
class PolynomialKernel(Kernel):
    """Polynomial kernel ``(gamma a . b + coef0) ** degree``.

    Args:
        degree: positive integer power.
        gamma: scale of the inner product.
        coef0: additive constant.

    Example:
        >>> PolynomialKernel(degree=2)(np.array([[1.0]]), np.array([[2.0]])).tolist()
        [[9.0]]
    """

    degree: int = 2
    gamma: float = 1.0
    coef0: float = 1.0

    def __post_init__(self) -> None:
        if int(self.degree) != self.degree or self.degree < 1:
            raise ValueError(f"degree must be a positive integer, got {self.degree!r}")

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = a @ b.T
        out *= self.gamma
        out += self.coef0
        return out ** int(self.degree)

    def diagonal(self, a: np.ndarray) -> np.ndarray:
        return (self.gamma * np.einsum("ij,ij->i", a, a) + self.coef0) ** int(self.degree)

    def describe(self) -> dict:
        return {"name": "polynomial", "degree": int(self.degree), "gamma": self.gamma,
                "coef0": self.coef0}


@dataclass(frozen=True)
class CallableKernel(Kernel):
    """Wrap ``function(a, b) -> (len(a), len(b)) array`` as a kernel.

    Example:
        >>> k = CallableKernel(lambda a, b: np.minimum(a, b.T))
        >>> k(np.array([[1.0], [3.0]]), np.array([[2.0]])).ravel().tolist()
        [1.0, 2.0]
    """

    function: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.asarray(self.function(a, b), dtype=np.float64)
        if out.shape != (len(a), len(b)):
            raise ValueError(f"kernel function must return shape {(len(a), len(b))}, "
                             f"got {out.shape}")
        return out

    def describe(self) -> dict:
        return {"name": getattr(self.function, "__name__", "callable")}


KERNEL_NAMES = ("gaussian", "laplacian", "linear", "polynomial")


def resolve_kernel(spec: str | Kernel | Callable | None, name: str = "kernel") -> Kernel:
    """Turn a kernel name, a Kernel or a callable ``f(a, b)`` into a Kernel.

    Names: "gaussian" (alias "rbf"), "laplacian", "linear", "polynomial" (alias "poly"),
    each with default parameters (median-heuristic bandwidths). None means "gaussian".

    Args:
        spec: the kernel specification.
        name: argument name for error messages.

    Example:
        >>> resolve_kernel("rbf")
        GaussianKernel(bandwidth=None)
    """
    if spec is None:
        return GaussianKernel()
    if isinstance(spec, Kernel):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        table = {"gaussian": GaussianKernel, "rbf": GaussianKernel,
                 "laplacian": LaplacianKernel, "linear": LinearKernel,
                 "polynomial": PolynomialKernel, "poly": PolynomialKernel}
        if key not in table:
            raise ValueError(f"{name} must be one of {', '.join(KERNEL_NAMES)}, a Kernel or "
                             f"a callable f(a, b), got {spec!r}")
        return table[key]()
    if callable(spec):
        return CallableKernel(spec)
    raise ValueError(f"{name} must be a kernel name, a Kernel or a callable f(a, b), "
                     f"got {type(spec).__name__}")

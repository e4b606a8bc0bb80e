"""HSIC for large n: random Fourier features, Nystrom features and block HSIC.

Zhang, Filippi, Gretton and Sejdinovic, "Large-scale kernel methods for independence
testing", Statistics and Computing 28 (2018), arXiv 1606.07892.

Feature methods replace the kernels by explicit maps ``k(a, b) ~ phi(a) . phi(b)`` with D
columns; the statistic is the biased HSIC of the approximate kernels,
``||Phi_x' H Phi_y||_F^2 / n^2``, O(n D^2) time and O(D^2) memory (rows are streamed in
blocks). Under independence ``sqrt(n)`` times the centred cross-covariance is asymptotically
Gaussian with covariance ``C_x (x) C_y``, so ``n`` times the statistic is a weighted sum of
chi-squares with weights ``lambda_i mu_j`` (eigenvalues of the feature covariances); the
p-value matches a gamma law to its mean ``tr(C_x) tr(C_y)`` and variance
``2 ||C_x||_F^2 ||C_y||_F^2`` (covariances estimated on at most ``NULL_ROWS`` rows).

- ``rff_hsic``: random Fourier features (shift-invariant kernels: Gaussian, Laplacian);
  D/2 frequencies from the kernel's spectral density, cos and sin columns.
- ``nystrom_hsic``: Nystrom features from m landmarks (any kernel):
  ``phi = k(., Z) U diag(s)^(-1/2)`` with ``k(Z, Z) = U diag(s) U'``.
- ``block_hsic``: mean of the unbiased HSIC over disjoint blocks of B rows, O(n B); the null
  is normal, its variance estimated from blocks of (x, y shuffled).

Accuracy (measured in benchmarks/hsic.py, see docs/hsic.md): the feature statistics are
consistent estimators of HSIC_b of the approximated kernels; their error against exact
HSIC_b shrinks like ``1/sqrt(D)`` for RFF and much faster for Nystrom in low dimension.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from kexue._validation import check_int
from kexue.stats.estimators import KernelSpec, check_memory, dot_all, prepare
from kexue.stats.independence import (
    HSICTestResult,
    RandomState,
    check_not_constant,
    generator_and_seed,
)
from kexue.stats.kernels import Kernel

#: rows per streamed block of features.
FEATURE_BLOCK_ROWS = 32768
#: rows (a seeded random subsample above this) that estimate the feature covariances of the null.
NULL_ROWS = 2**17


def _row_blocks(n: int, rows: int) -> Iterator[slice]:
    for start in range(0, n, rows):
        yield slice(start, min(n, start + rows))


def _fourier_map(kernel: Kernel, dim: int, n_features: int, rng: np.random.Generator,
                 name: str) -> Callable[[np.ndarray], np.ndarray]:
    if not getattr(kernel, "shift_invariant", False) or not hasattr(kernel, "spectral_sample"):
        raise ValueError(f"random Fourier features need a shift-invariant kernel (gaussian or "
                         f"laplacian) for {name}, got {kernel.describe()['name']}; use "
                         "nystrom_hsic for other kernels")
    frequencies = kernel.spectral_sample(rng, dim, n_features // 2)
    scale = math.sqrt(2.0 / n_features)

    half = frequencies.shape[1]

    def features(rows: np.ndarray) -> np.ndarray:
        # float32 cos/sin are several times faster; their 1e-7 relative error is far below
        # the random-feature error, and all sums are accumulated in float64.
        phase = (rows @ frequencies).astype(np.float32)
        out = np.empty((len(rows), 2 * half))
        out[:, :half] = np.cos(phase)
        out[:, half:] = np.sin(phase)
        out *= scale
        return out

    return features


def _nystrom_map(kernel: Kernel, data: np.ndarray, landmarks: np.ndarray
                 ) -> Callable[[np.ndarray], np.ndarray]:
    centres = data[landmarks]
    values, vectors = np.linalg.eigh(kernel(centres, centres))
    keep = values > values.max() * 1e-10
    projection = vectors[:, keep] / np.sqrt(values[keep])

    def features(rows: np.ndarray) -> np.ndarray:
        return kernel(rows, centres) @ projection

    return features


def _feature_test(x: np.ndarray, y: np.ndarray, phi_x: Callable, phi_y: Callable,
                  method: str, kx: Kernel, ky: Kernel, details: dict,
                  generator: np.random.Generator) -> HSICTestResult:
    from scipy import stats

    n = len(x)
    sum_x = sum_y = cross = 0.0
    for rows in _row_blocks(n, FEATURE_BLOCK_ROWS):
        fx = phi_x(x[rows])
        fy = phi_y(y[rows])
        sum_x = sum_x + fx.sum(axis=0)
        sum_y = sum_y + fy.sum(axis=0)
        cross = cross + fx.T @ fy
    mean_x = sum_x / n
    mean_y = sum_y / n
    cov_xy = cross / n - np.outer(mean_x, mean_y)
    statistic = dot_all(cov_xy, cov_xy)
    # The null only needs the feature covariances' traces and Frobenius norms: a random
    # subsample of NULL_ROWS rows estimates them well and saves two D x D products per row.
    subset = (np.arange(n) if n <= NULL_ROWS else
              np.sort(generator.choice(n, NULL_ROWS, replace=False)))
    fx = phi_x(x[subset])
    fx -= fx.mean(axis=0)
    fy = phi_y(y[subset])
    fy -= fy.mean(axis=0)
    cov_x = fx.T @ fx / len(subset)
    cov_y = fy.T @ fy / len(subset)
    null_mean = float(np.trace(cov_x) * np.trace(cov_y))
    null_variance = 2.0 * dot_all(cov_x, cov_x) * dot_all(cov_y, cov_y)
    if not (null_mean > 0 and null_variance > 0):
        raise ValueError("a variable is constant under its kernel (zero feature covariance); "
                         "the test is undefined")
    shape = null_mean**2 / null_variance
    scale = null_variance / null_mean
    p_value = float(stats.gamma.sf(n * statistic, shape, scale=scale))
    details = {**details, "shape": shape, "scale": scale, "null_rows": int(len(subset)),
               "features_x": int(cov_x.shape[0]), "features_y": int(cov_y.shape[0])}
    return HSICTestResult(statistic, p_value, method, n, kx.describe(), ky.describe(), details)


def feature_memory(n: int, features: int) -> int:
    """Bytes the feature tests hold at once for n rows and ``features`` columns per variable:
    two streamed feature blocks, two null-sample feature matrices, four D x D matrices.

    Example:
        >>> round(feature_memory(1000, 100_000) / 2**30, 1)  # GiB
        301.0
    """
    rows = min(n, FEATURE_BLOCK_ROWS) + min(n, NULL_ROWS)
    return 8 * (2 * rows * features + 4 * features * features)


def check_feature_memory(n: int, features: int, name: str) -> None:
    """Raise ValueError naming ``name`` when the feature test would need more memory than
    this machine has available, before anything is allocated."""
    check_memory(feature_memory(n, features), name, features,
                 f"for {n} rows (the D x D feature covariances grow as D^2)")


def _check_count(value: int, name: str, minimum: int) -> int:
    return check_int(value, name, minimum=minimum)


def rff_hsic(x: object, y: object, n_features: int = 100, *,
             kernel_x: KernelSpec = "gaussian", kernel_y: KernelSpec = None,
             bandwidth_x: float | None = None, bandwidth_y: float | None = None,
             rng: RandomState = 0) -> HSICTestResult:
    """HSIC_b with random Fourier features, and its p-value; O(n D^2).

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        n_features: columns D per variable (D/2 frequencies, a cos and a sin each); even.
        kernel_x: "gaussian" or "laplacian" (median-heuristic bandwidth, fitted on a
            subsample) or such a Kernel.
        kernel_y: kernel of y; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x (None = median heuristic).
        bandwidth_y: the same for y.
        rng: randomness of the random frequencies: a seed, a ``numpy.random.Generator``
            or None (a seed is drawn and reported in ``details``).

    Returns:
        An :class:`~kexue.stats.independence.HSICTestResult` with method "rff"; ``details``
        holds the gamma shape/scale of ``n * statistic`` under independence and the seed.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(20_000)
        >>> rff_hsic(x, np.abs(x) + rng.standard_normal(20_000), 50).pvalue < 1e-6
        True
    """
    n_features = _check_count(n_features, "n_features", 2)
    if n_features % 2:
        raise ValueError(f"n_features must be even (cos and sin pairs), got {n_features}")
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 6, "rff_hsic",
                             bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y)
    check_not_constant(("x", xs), ("y", ys))
    check_feature_memory(len(xs), n_features, "n_features")
    generator, seed = generator_and_seed(rng)
    phi_x = _fourier_map(kx, xs.shape[1], n_features, generator, "kernel_x")
    phi_y = _fourier_map(ky, ys.shape[1], n_features, generator, "kernel_y")
    return _feature_test(xs, ys, phi_x, phi_y, "rff", kx, ky,
                         {"n_features": n_features, "seed": seed}, generator)


def nystrom_hsic(x: object, y: object, n_landmarks: int = 100, *,
                 kernel_x: KernelSpec = "gaussian", kernel_y: KernelSpec = None,
                 bandwidth_x: float | None = None, bandwidth_y: float | None = None,
                 rng: RandomState = 0) -> HSICTestResult:
    """HSIC_b with Nystrom features from ``n_landmarks`` random rows, and its p-value.

    O(n m^2) time for m landmarks; works with any kernel.

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        n_landmarks: landmark rows m (the same rows for x and y), 1 <= m <= n.
        kernel_x: kernel name, Kernel or callable (see :func:`kexue.stats.hsic_biased`).
        kernel_y: kernel of y; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x (None = median heuristic).
        bandwidth_y: the same for y.
        rng: randomness of the landmark choice: a seed, a ``numpy.random.Generator``
            or None (a seed is drawn and reported in ``details``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(20_000)
        >>> nystrom_hsic(x, rng.standard_normal(20_000), 30).pvalue > 1e-3
        True
    """
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 6, "nystrom_hsic",
                             bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y)
    check_not_constant(("x", xs), ("y", ys))
    m = _check_count(n_landmarks, "n_landmarks", 1)
    if m > len(xs):
        raise ValueError(f"`n_landmarks` must be at most n = {len(xs)}; received {m}")
    check_feature_memory(len(xs), m, "n_landmarks")
    generator, seed = generator_and_seed(rng)
    landmarks = np.sort(generator.choice(len(xs), m, replace=False))
    return _feature_test(xs, ys, _nystrom_map(kx, xs, landmarks),
                         _nystrom_map(ky, ys, landmarks), "nystrom", kx, ky,
                         {"n_landmarks": m, "seed": seed}, generator)


def _block_statistics(x: np.ndarray, y: np.ndarray, kx: Kernel, ky: Kernel,
                      size: int) -> np.ndarray:
    count = len(x) // size
    out = np.empty(count)
    diagonal = np.arange(size)
    for b in range(count):
        rows = slice(b * size, (b + 1) * size)
        k = kx(x[rows], x[rows])
        l_block = ky(y[rows], y[rows])
        k[diagonal, diagonal] = 0.0
        l_block[diagonal, diagonal] = 0.0
        k_sum = k.sum(axis=1)
        l_sum = l_block.sum(axis=1)
        out[b] = (dot_all(k, l_block)
                  + k_sum.sum() * l_sum.sum() / ((size - 1) * (size - 2))
                  - 2.0 / (size - 2) * float(k_sum @ l_sum))
    return out / (size * (size - 3))


def block_hsic(x: object, y: object, block_size: int = 100, *,
               kernel_x: KernelSpec = "gaussian", kernel_y: KernelSpec = None,
               bandwidth_x: float | None = None, bandwidth_y: float | None = None,
               rng: RandomState = 0) -> HSICTestResult:
    """Block HSIC: the mean unbiased HSIC over disjoint blocks of rows, with a normal null.

    O(n B) time. Rows are taken in the given order (assumed exchangeable); a final partial
    block is dropped. The null variance comes from the same blocks with y shuffled (seeded).
    Less powerful than the feature methods at equal time (Zhang et al. 2018).

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        block_size: rows per block B (>= 6); n must hold at least two blocks.
        kernel_x: kernel name, Kernel or callable (see :func:`kexue.stats.hsic_biased`).
        kernel_y: kernel of y; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x (None = median heuristic).
        bandwidth_y: the same for y.
        rng: randomness of the shuffle that estimates the null variance: a seed, a
            ``numpy.random.Generator`` or None (a seed is drawn and reported in ``details``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(20_000)
        >>> block_hsic(x, x + rng.standard_normal(20_000), 50).pvalue < 1e-6
        True
    """
    size = _check_count(block_size, "block_size", 6)
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 2 * size,
                             f"block_hsic(block_size={size})", bandwidth_x=bandwidth_x,
                             bandwidth_y=bandwidth_y)
    check_not_constant(("x", xs), ("y", ys))
    blocks = _block_statistics(xs, ys, kx, ky, size)
    generator, seed = generator_and_seed(rng)
    shuffled = ys[generator.permutation(len(ys))]
    null = _block_statistics(xs, shuffled, kx, ky, size)
    statistic = float(blocks.mean())
    null_sd = float(null.std(ddof=1)) / math.sqrt(len(blocks))
    if not null_sd > 0:
        raise ValueError("a variable is constant under its kernel (zero null variance); "
                         "the test is undefined")
    from scipy import stats

    p_value = float(stats.norm.sf(statistic / null_sd))
    return HSICTestResult(statistic, p_value, "block", len(xs), kx.describe(), ky.describe(),
                          {"block_size": size, "blocks": len(blocks), "seed": seed,
                           "null_sd": null_sd, "statistic_estimates": "mean unbiased HSIC"})

"""Exact HSIC estimators in float64, O(n^2) time, computed in row blocks.

With kernel matrices K, L (n x n) and H = I - 11'/n (Gretton et al. 2005; Song et al. 2012):

- biased ``HSIC_b = tr(K H L H) / n^2``;
- unbiased ``HSIC_u = [tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n(n-3))``
  with K~, L~ the kernels with zeroed diagonals;
- CKA ``tr(Kc Lc) / sqrt(tr(Kc Kc) tr(Lc Lc))`` with ``Kc = H K H`` (the normalised
  statistic; ``unbiased=True`` uses HSIC_u in place of the traces).

Every term is a sum the row blocks can accumulate: ``tr(KL) = sum(K * L)``,
``1'KL1 = (K1) . (L1)``; no n x n matrix product is formed (Su Jianlin's article code does an
O(n^3) product) and at most ``block_rows x n`` kernel values exist at once, so exact HSIC at
n = 20,000 needs a few hundred MB rather than 2 x 3.2 GB.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from kexue._validation import check_float, check_positive_int
from kexue.stats.kernels import (
    GaussianKernel,
    Kernel,
    LaplacianKernel,
    _median_pairwise_squared_distance,
    as_samples,
    check_kernel_range,
    resolve_kernel,
    unit_scale,
)

KernelSpec = str | Kernel | Callable | None

#: bytes of kernel values a row block may hold (both variables, with temporaries).
DEFAULT_BLOCK_BYTES = 256 * 2**20


def default_block_rows(n: int, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
    """Rows per block: at most n/8 (so the symmetric pass skips most of the lower triangle)
    and few enough that about four ``rows x n`` float64 arrays fit in ``block_bytes``."""
    return int(max(1, min(-(-n // 8), block_bytes // (4 * 8 * max(n, 1)))))


def available_memory() -> int | None:
    """Bytes of memory available now (None where the platform does not say)."""
    import os

    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(need: int, name: str, value: object, what: str) -> None:
    """Raise ValueError naming ``name`` when ``need`` bytes exceed the available memory,
    before anything is allocated (instead of a MemoryError, or the system's OOM killer)."""
    have = available_memory()
    if have is not None and need > have:
        raise ValueError(f"`{name}` = {value} needs about {need / 2**30:.1f} GiB of memory "
                         f"{what}; {have / 2**30:.1f} GiB are available: ask for less")


def prepare(x: object, y: object, kernel_x: KernelSpec, kernel_y: KernelSpec,
            min_n: int, purpose: str, *, bandwidth_x: float | None = None,
            bandwidth_y: float | None = None) -> tuple[np.ndarray, np.ndarray, Kernel, Kernel]:
    """Validate ``x`` and ``y`` and fit their kernels (one bandwidth per variable).

    ``kernel_y=None`` reuses the *specification* of ``kernel_x`` but fits it to ``y`` (so the
    median heuristic gives y its own bandwidth, unlike hyppo, which reuses x's).
    """
    xs = as_samples(x, "x")
    ys = as_samples(y, "y")
    if len(xs) != len(ys):
        raise ValueError(f"x and y must have the same number of rows (samples), got "
                         f"{len(xs)} and {len(ys)}")
    if len(xs) < min_n:
        raise ValueError(f"{purpose} needs at least {min_n} samples, got n = {len(xs)}")
    kx = resolve_kernel(kernel_x, "kernel_x")
    ky = kx if kernel_y is None else resolve_kernel(kernel_y, "kernel_y")
    kx = _with_bandwidth(kx, bandwidth_x, "bandwidth_x")
    ky = _with_bandwidth(ky, bandwidth_y, "bandwidth_y")
    xs, kx = _at_unit_scale(xs, kx, "x", "kernel_x")
    ys, ky = _at_unit_scale(ys, ky, "y", "kernel_y")
    return xs, ys, kx, ky


def _with_bandwidth(kernel: Kernel, bandwidth: float | None, name: str) -> Kernel:
    """``kernel`` with an explicit bandwidth (Gaussian and Laplacian kernels only)."""
    if bandwidth is None:
        return kernel
    bandwidth = check_float(bandwidth, name, minimum=0.0, include_min=False)
    if not isinstance(kernel, (GaussianKernel, LaplacianKernel)):
        raise ValueError(f"`{name}` applies to gaussian/laplacian kernels; received it with "
                         f"{kernel!r}")
    return replace(kernel, bandwidth=bandwidth)


def _at_unit_scale(x: np.ndarray, kernel: Kernel, name: str,
                   kernel_name: str) -> tuple[np.ndarray, Kernel]:
    """Fit ``kernel`` to ``x``; for Gaussian and Laplacian kernels, first divide ``x`` (and an
    explicit bandwidth) by the power of two that brings it to unit size.

    The kernel matrix is unchanged (exactly), but squared distances of data at 1e300 or
    1e-300 no longer over- or underflow: with a median-heuristic bandwidth the statistic of
    scaled data is the statistic of the data. An explicit bandwidth under which the kernel
    is 0 or 1 everywhere raises ValueError naming it.
    """
    if isinstance(kernel, (GaussianKernel, LaplacianKernel)):
        exponent = unit_scale(x)
        x = np.ldexp(x, -exponent)
        if kernel.bandwidth is not None:
            bandwidth = kernel.bandwidth
            try:
                scaled = math.ldexp(bandwidth, -exponent)
            except OverflowError:
                scaled = math.inf
            if not (math.isfinite(scaled) and scaled >= sys.float_info.min):
                raise ValueError(f"`{kernel_name}.bandwidth` = {bandwidth:.6g} "
                                 f"{'over' if scaled > 1 else 'under'}flows the kernel on "
                                 f"data of size {math.ldexp(1.0, exponent):.3g}; use a "
                                 "bandwidth nearer the data's scale or the median heuristic")
            kernel = replace(kernel, bandwidth=scaled, input_exponent=exponent)
            check_kernel_range(x, kernel, kernel_name, shown=bandwidth)
            return x, kernel
        if _median_pairwise_squared_distance(x) == 0.0:
            # A constant (or mostly repeated) variable has no median-heuristic bandwidth; as
            # on the keras.ops path, use bandwidth 1 in the data's units (a constant's centred
            # kernel is then 0, and so are HSIC and CKA) instead of failing.
            fallback = math.ldexp(1.0, -exponent) if exponent < 1000 else sys.float_info.min
            return x, replace(kernel, bandwidth=fallback, input_exponent=exponent)
        return x, replace(kernel.fit(x, name), input_exponent=exponent)
    return x, kernel.fit(x, name)


@dataclass(frozen=True)
class KernelSums:
    """The sums every estimator needs, accumulated over row blocks.

    Attributes:
        n: number of samples.
        sum_kl: ``sum(K * L) = tr(K L)``.
        sum_kk: ``sum(K * K)``.
        sum_ll: ``sum(L * L)``.
        k_rows: ``K 1`` (row sums).
        l_rows: ``L 1``.
        k_diag: ``diag(K)``.
        l_diag: ``diag(L)``.
    """

    n: int
    sum_kl: float
    sum_kk: float
    sum_ll: float
    k_rows: np.ndarray
    l_rows: np.ndarray
    k_diag: np.ndarray
    l_diag: np.ndarray

    @staticmethod
    def _biased(n: int, cross: float, a_rows: np.ndarray, b_rows: np.ndarray) -> float:
        centred = cross - 2.0 / n * float(a_rows @ b_rows) + a_rows.sum() * b_rows.sum() / n**2
        return float(centred / n**2)

    @staticmethod
    def _unbiased(n: int, cross: float, a_rows: np.ndarray, b_rows: np.ndarray,
                  a_diag: np.ndarray, b_diag: np.ndarray) -> float:
        trace = cross - float(a_diag @ b_diag)
        a_tilde = a_rows - a_diag
        b_tilde = b_rows - b_diag
        total = (trace + a_tilde.sum() * b_tilde.sum() / ((n - 1) * (n - 2))
                 - 2.0 / (n - 2) * float(a_tilde @ b_tilde))
        return float(total / (n * (n - 3)))

    def hsic_biased(self) -> float:
        """``tr(K H L H) / n^2``."""
        return self._biased(self.n, self.sum_kl, self.k_rows, self.l_rows)

    def hsic_unbiased(self) -> float:
        """Song et al. (2012) unbiased estimator; needs n >= 4."""
        return self._unbiased(self.n, self.sum_kl, self.k_rows, self.l_rows,
                              self.k_diag, self.l_diag)

    def cka(self, unbiased: bool = False) -> float:
        """``HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` (biased or unbiased HSIC)."""
        if unbiased:
            num = self.hsic_unbiased()
            xx = self._unbiased(self.n, self.sum_kk, self.k_rows, self.k_rows,
                                self.k_diag, self.k_diag)
            yy = self._unbiased(self.n, self.sum_ll, self.l_rows, self.l_rows,
                                self.l_diag, self.l_diag)
        else:
            num = self.hsic_biased()
            xx = self._biased(self.n, self.sum_kk, self.k_rows, self.k_rows)
            yy = self._biased(self.n, self.sum_ll, self.l_rows, self.l_rows)
        if not (xx > 0 and yy > 0):
            return 0.0  # a variable constant under its kernel: defined as 0, as on keras.ops
        return float(num / math.sqrt(xx * yy))


def dot_all(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` without BLAS (whose threads stall on a busy machine) or a temporary."""
    return float(np.einsum("ij,ij->", a, b))


def kernel_sums(x: np.ndarray, y: np.ndarray, kx: Kernel, ky: Kernel,
                block_rows: int | None = None, self_sums: bool = True,
                keep: list | None = None) -> KernelSums:
    """Accumulate :class:`KernelSums` over row blocks (fitted kernels, validated arrays).

    Kernels are symmetric, so each row block ``[s, e)`` evaluates only the columns ``>= s``
    (half the kernel evaluations); the part right of the diagonal square counts twice.
    ``self_sums=False`` skips ``sum(K*K)`` and ``sum(L*L)`` (only CKA needs them). A list
    passed as ``keep`` receives the ``(start, stop, K_block, L_block)`` tuples for reuse.

    Example:
        >>> from kexue.stats.kernels import LinearKernel
        >>> a = np.arange(4.0)[:, None]
        >>> s = kernel_sums(a, a, LinearKernel(), LinearKernel(), block_rows=3)
        >>> s.sum_kl == float(np.sum((a @ a.T) ** 2))
        True
    """
    n = len(x)
    rows = check_positive_int(block_rows, "block_rows", allow_none=True) or default_block_rows(n)
    sum_kl = sum_kk = sum_ll = 0.0
    k_rows = np.zeros(n)
    l_rows = np.zeros(n)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        width = stop - start
        k = kx(x[start:stop], x[start:])
        l_block = ky(y[start:stop], y[start:])
        k_square, l_square = k[:, :width], l_block[:, :width]
        k_right, l_right = k[:, width:], l_block[:, width:]
        sum_kl += dot_all(k_square, l_square) + 2.0 * dot_all(k_right, l_right)
        if self_sums:
            sum_kk += dot_all(k_square, k_square) + 2.0 * dot_all(k_right, k_right)
            sum_ll += dot_all(l_square, l_square) + 2.0 * dot_all(l_right, l_right)
        k_rows[start:stop] += k.sum(axis=1)
        l_rows[start:stop] += l_block.sum(axis=1)
        k_rows[stop:] += k_right.sum(axis=0)
        l_rows[stop:] += l_right.sum(axis=0)
        if keep is not None:
            keep.append((start, stop, k, l_block))
    return KernelSums(n, sum_kl, sum_kk if self_sums else float("nan"),
                      sum_ll if self_sums else float("nan"), k_rows, l_rows,
                      kx.diagonal(x), ky.diagonal(y))


def hsic_biased(x: object, y: object, kernel_x: KernelSpec = "gaussian",
                kernel_y: KernelSpec = None, *, bandwidth_x: float | None = None,
                bandwidth_y: float | None = None, block_rows: int | None = None) -> float:
    """Biased HSIC ``tr(K H L H) / n^2`` (Gretton et al. 2005), O(n^2) time, row-blocked.

    Su Jianlin's article scales by ``1/(n-1)^2`` instead of ``1/n^2`` (and calls the result
    unbiased; its bias is O(1/n)): multiply by ``n^2 / (n-1)^2`` to compare.

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        kernel_x: "gaussian" (median-heuristic bandwidth), "laplacian", "linear",
            "polynomial", a :class:`~kexue.stats.kernels.Kernel` or a callable ``f(a, b)``.
        kernel_y: the same choices; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x; None = median heuristic of x (a
            constant variable gets bandwidth 1, as on the ``keras.ops`` path).
        bandwidth_y: the same for y (each variable gets its own bandwidth).
        block_rows: rows of the kernel matrices held at once (default: ~256 MB worth).

    Returns:
        The statistic (>= 0 for positive semi-definite kernels).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(500)
        >>> hsic_biased(x, x + 0.1 * rng.standard_normal(500)) > 10 * hsic_biased(
        ...     x, rng.standard_normal(500))
        True
    """
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 2, "hsic_biased",
                             bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y)
    return kernel_sums(xs, ys, kx, ky, block_rows, self_sums=False).hsic_biased()


def hsic_unbiased(x: object, y: object, kernel_x: KernelSpec = "gaussian",
                  kernel_y: KernelSpec = None, *, bandwidth_x: float | None = None,
                  bandwidth_y: float | None = None, block_rows: int | None = None) -> float:
    """Unbiased HSIC (Song et al. 2012, JMLR), O(n^2) time, row-blocked; needs n >= 4.

    Its expectation is exactly HSIC, so under independence it averages 0 and can be negative.

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        kernel_x: kernel name, Kernel or callable (see :func:`hsic_biased`).
        kernel_y: kernel for y; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x (None = median heuristic).
        bandwidth_y: the same for y.
        block_rows: rows of the kernel matrices held at once.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> abs(hsic_unbiased(rng.standard_normal(400), rng.standard_normal(400))) < 1e-3
        True
    """
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 4, "hsic_unbiased",
                             bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y)
    return kernel_sums(xs, ys, kx, ky, block_rows, self_sums=False).hsic_unbiased()


def cka(x: object, y: object, kernel_x: KernelSpec = "gaussian", kernel_y: KernelSpec = None,
        *, bandwidth_x: float | None = None, bandwidth_y: float | None = None,
        unbiased: bool = False, block_rows: int | None = None) -> float:
    """Normalised HSIC (centred kernel alignment), in [0, 1] for the biased version.

    ``CKA = tr(Kc Lc) / sqrt(tr(Kc Kc) tr(Lc Lc))`` with ``Kc = H K H``. It equals the square
    of hyppo's ``Hsic(bias=True)`` statistic when both use the same kernels.

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        kernel_x: kernel name, Kernel or callable (see :func:`hsic_biased`).
        kernel_y: kernel for y; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x (None = median heuristic).
        bandwidth_y: the same for y.
        unbiased: use HSIC_u in numerator and denominator (needs n >= 4).
        block_rows: rows of the kernel matrices held at once.

    Example:
        >>> x = np.linspace(0.0, 1.0, 50)
        >>> round(cka(x, 3 * x + 1, "linear"), 12)
        1.0
    """
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 4 if unbiased else 2, "cka",
                             bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y)
    return kernel_sums(xs, ys, kx, ky, block_rows).cka(unbiased=unbiased)

"""HSIC independence tests: Gretton's gamma approximation and seeded permutation tests.

Both test the biased statistic ``HSIC_b = tr(K H L H) / n^2``.

- Gamma (Gretton et al. 2007, "A Kernel Statistical Test of Independence"): under
  independence ``n HSIC_b`` is approximately ``Gamma(shape=E^2/Var, scale=n Var/E)`` with
  ``E = (1 + mu_x mu_y - mu_x - mu_y) / n``, ``mu_x`` the mean off-diagonal entry of K, and
  ``Var = 2 (n-4)(n-5) / (n(n-1)(n-2)(n-3)) * mean_{i != j} (Kc_ij Lc_ij)^2``, ``Kc = H K H``.
  O(n^2) time in two row-blocked passes (the variance needs the row means of the first).
  For kernels without a unit diagonal, E uses the mean diagonal ``d``:
  ``E = (d_x - mu_x)(d_y - mu_y) / n`` (Gretton's formula when ``d = 1``).
- Permutation: ``p = (1 + #{HSIC_b(x, y_perm) >= HSIC_b(x, y)}) / (1 + n_permutations)``; the
  permutations come from ``numpy.random.default_rng(seed)`` (so a seed gives the same
  p-value every time) and are evaluated in vectorised batches on the stored kernel matrices.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kexue._validation import (
    center_matrix,
    check_choice,
    check_positive_int,
    check_random_state,
)
from kexue.stats.estimators import (
    KernelSpec,
    check_memory,
    default_block_rows,
    dot_all,
    kernel_sums,
    prepare,
)
from kexue.stats.kernels import Kernel

#: the permutation test keeps both n x n float64 kernel matrices while they fit in this (the
#: gamma test keeps its first pass's upper-triangle blocks).
DENSE_BYTES = 512 * 2**20
#: bytes of permuted kernel values one vectorised permutation batch may hold.
PERMUTATION_BATCH_BYTES = 64 * 2**20
METHODS = ("gamma", "permutation")


@dataclass(frozen=True)
class HSICTestResult:
    """Outcome of an HSIC independence test.

    Attributes:
        statistic: the biased HSIC ``tr(K H L H) / n^2``.
        pvalue: probability, under independence, of a statistic at least this large
            (``scipy.stats``' name; ``p_value`` is a deprecated alias).
        method: "gamma" or "permutation" (or an approximate method's name).
        n: number of samples.
        kernel_x: the fitted kernel of x (name and resolved bandwidth).
        kernel_y: the fitted kernel of y.
        details: method details: for gamma ``shape``, ``scale`` (of ``n HSIC_b``),
            ``null_mean``, ``null_variance``, ``hsic_unbiased``, ``cka``; for permutation
            ``n_permutations`` and ``seed`` (the integer seed, drawn and reported when ``rng``
            was None; None when ``rng`` was a Generator).
        null_distribution: the permutation statistics (permutation test only).
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    kernel_x: dict
    kernel_y: dict
    details: dict = field(default_factory=dict)
    null_distribution: np.ndarray | None = field(default=None, repr=False)

    @property
    def p_value(self) -> float:
        """Deprecated alias of :attr:`pvalue`."""
        warnings.warn("HSICTestResult.p_value is deprecated; use .pvalue (as scipy.stats "
                      "results do)", DeprecationWarning, stacklevel=2)
        return self.pvalue

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (without the null distribution)."""
        out = asdict(self)
        out.pop("null_distribution")
        return out


def _dense(n: int) -> bool:
    return 2 * 8 * n**2 <= DENSE_BYTES


def _upper_blocks(x: np.ndarray, y: np.ndarray, kx: Kernel, ky: Kernel, rows: int):
    n = len(x)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        yield start, stop, kx(x[start:stop], x[start:]), ky(y[start:stop], y[start:])


def gamma_parameters(x: np.ndarray, y: np.ndarray, kx: Kernel, ky: Kernel,
                     block_rows: int | None = None) -> dict[str, float]:
    """HSIC_b and Gretton's gamma null for validated arrays and fitted kernels.

    Two row-blocked passes over the upper triangle of the kernel matrices: the first gives
    the statistic and the row means, the second the centred fourth moments of the variance.
    The first pass's blocks are kept for the second while they fit in ``DENSE_BYTES``.

    Returns:
        A dict with ``statistic`` (HSIC_b), ``shape`` and ``scale`` (of the gamma law of
        ``n HSIC_b``), ``null_mean`` and ``null_variance`` (Gretton's E and Var, of HSIC_b),
        and, from the same kernel sums, ``hsic_unbiased`` and ``cka``.
    """
    n = len(x)
    rows = check_positive_int(block_rows, "block_rows", allow_none=True) or default_block_rows(n)
    # the upper-triangle blocks hold about (n^2 / 2 + n rows / 2) values per kernel
    kept: list | None = [] if 8 * (n * n + n * rows) <= DENSE_BYTES else None
    sums = kernel_sums(x, y, kx, ky, rows, keep=kept)
    # (H K H)_ij = K_ij - u_i - u_j with u = K1/n - 1'K1/(2 n^2)
    k_shift = sums.k_rows / n - sums.k_rows.sum() / (2 * n**2)
    l_shift = sums.l_rows / n - sums.l_rows.sum() / (2 * n**2)
    squares = 0.0
    for start, stop, kc, lc in kept or _upper_blocks(x, y, kx, ky, rows):
        width = stop - start
        kc -= k_shift[start:stop, None]
        kc -= k_shift[None, start:]
        lc -= l_shift[start:stop, None]
        lc -= l_shift[None, start:]
        kc *= lc
        local = np.arange(width)
        kc[local, local] = 0.0
        squares += dot_all(kc[:, :width], kc[:, :width]) + 2.0 * dot_all(kc[:, width:],
                                                                         kc[:, width:])
    mu_x = (sums.k_rows.sum() - sums.k_diag.sum()) / (n * (n - 1))
    mu_y = (sums.l_rows.sum() - sums.l_diag.sum()) / (n * (n - 1))
    # Gretton's (1 + mu_x mu_y - mu_x - mu_y) / n, written for any kernel diagonal
    mean = (sums.k_diag.mean() - mu_x) * (sums.l_diag.mean() - mu_y) / n
    variance = (2.0 * (n - 4) * (n - 5) / (n * (n - 1) * (n - 2) * (n - 3))
                * squares / (n * (n - 1)))
    if not (mean > 0 and variance > 0):
        raise ValueError(f"the gamma null is degenerate (mean {mean:.3g}, variance "
                         f"{variance:.3g}): a variable is constant under its kernel")
    return {"statistic": float(sums.hsic_biased()), "shape": float(mean**2 / variance),
            "scale": float(n * variance / mean),
            "null_mean": float(mean), "null_variance": float(variance),
            "hsic_unbiased": float(sums.hsic_unbiased()), "cka": float(sums.cka())}


def permutation_statistics(x: np.ndarray, y: np.ndarray, kx: Kernel, ky: Kernel,
                           permutations: np.ndarray, block_rows: int | None = None
                           ) -> tuple[float, np.ndarray]:
    """HSIC_b of (x, y) and of (x, y[p]) for every row ``p`` of ``permutations``.

    Uses ``tr(H K H L_p) = sum(Kc * L[p][:, p])`` on stored matrices, a batch of permutations
    at a time; above ``DENSE_BYTES`` it recomputes a row-blocked pass per permutation.
    """
    n = len(x)
    if not _dense(n):
        statistic = kernel_sums(x, y, kx, ky, block_rows).hsic_biased()
        null = np.array([kernel_sums(x, y[p], kx, ky, block_rows).hsic_biased()
                         for p in permutations])
        return statistic, null
    k = center_matrix(kx(x, x))
    l_full = ky(y, y)
    statistic = dot_all(k, l_full) / n**2
    batch = max(1, PERMUTATION_BATCH_BYTES // (8 * n * n))
    null = np.empty(len(permutations))
    for start in range(0, len(permutations), batch):
        perm = permutations[start:start + batch]
        permuted = l_full[perm[:, :, None], perm[:, None, :]]
        null[start:start + batch] = np.einsum("ij,bij->b", k, permuted) / n**2
    return statistic, null


RandomState = int | np.random.Generator | None


def check_not_constant(*named: tuple[str, np.ndarray]) -> None:
    """Raise ValueError for a constant variable: its HSIC is 0, but no test is defined."""
    for name, values in named:
        if np.all(values == values[:1]):
            raise ValueError(f"`{name}` is constant (every row equal); its HSIC is 0 and an "
                             "independence test is undefined")


def generator_and_seed(rng: RandomState) -> tuple[np.random.Generator, int | None]:
    """A Generator from ``rng`` and the integer seed to report (drawn when ``rng`` is None)."""
    if rng is None:
        rng = int(np.random.SeedSequence().entropy % 2**63)
    generator = check_random_state(rng, "rng")
    return generator, (int(rng) if isinstance(rng, numbers.Integral) else None)


def hsic_test(x: object, y: object, method: str = "gamma", *,
              kernel_x: KernelSpec = "gaussian", kernel_y: KernelSpec = None,
              bandwidth_x: float | None = None, bandwidth_y: float | None = None,
              n_permutations: int = 1000, rng: RandomState = None,
              block_rows: int | None = None) -> HSICTestResult:
    """Test independence of x and y with HSIC.

    Args:
        x: samples of the first variable, shape (n,) or (n, dx).
        y: samples of the second variable, shape (n,) or (n, dy).
        method: "gamma" (Gretton et al. 2007, O(n^2), needs n >= 6; designed for Gaussian
            and Laplacian kernels) or "permutation" (exact level, any kernel).
        kernel_x: "gaussian" (median heuristic per variable), "laplacian", "linear",
            "polynomial", a Kernel or a callable ``f(a, b)``.
        kernel_y: kernel for y; None reuses ``kernel_x``'s specification, fitted to y.
        bandwidth_x: Gaussian/Laplacian bandwidth of x (None = median heuristic).
        bandwidth_y: the same for y.
        n_permutations: permutations for the permutation test.
        rng: randomness of the permutations: a seed, a ``numpy.random.Generator``, or
            None (a seed is drawn and reported in ``details["seed"]``).
        block_rows: rows of the kernel matrices held at once (large n).

    Returns:
        An :class:`HSICTestResult`.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> x = rng.standard_normal(300)
        >>> hsic_test(x, x**2 + 0.5 * rng.standard_normal(300)).pvalue < 0.01
        True
        >>> y = rng.standard_normal(300)
        >>> a = hsic_test(x, y, "permutation", n_permutations=199, rng=7)
        >>> b = hsic_test(x, y, "permutation", n_permutations=199, rng=7)
        >>> a.pvalue == b.pvalue, a.details["seed"]
        (True, 7)
    """
    method = check_choice(method, "method", METHODS)
    xs, ys, kx, ky = prepare(x, y, kernel_x, kernel_y, 6 if method == "gamma" else 4,
                             f"hsic_test(method={method!r})", bandwidth_x=bandwidth_x,
                             bandwidth_y=bandwidth_y)
    check_not_constant(("x", xs), ("y", ys))
    n = len(xs)
    if method == "gamma":
        from scipy import stats

        params = gamma_parameters(xs, ys, kx, ky, block_rows)
        statistic = params.pop("statistic")
        p_value = float(stats.gamma.sf(n * statistic, params["shape"], scale=params["scale"]))
        return HSICTestResult(statistic, p_value, "gamma", n, kx.describe(), ky.describe(),
                              params)
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    check_memory(8 * n_permutations * n, "n_permutations", n_permutations,
                 "for the permutation indices")
    generator, seed = generator_and_seed(rng)
    permutations = generator.permuted(np.tile(np.arange(n), (int(n_permutations), 1)), axis=1)
    statistic, null = permutation_statistics(xs, ys, kx, ky, permutations, block_rows)
    exceed = int(np.count_nonzero(null >= statistic - 1e-12 * abs(statistic)))
    p_value = (1 + exceed) / (1 + len(null))
    return HSICTestResult(statistic, p_value, "permutation", n, kx.describe(), ky.describe(),
                          {"n_permutations": int(n_permutations), "seed": seed},
                          null)


ESTIMATORS = ("biased", "unbiased", "cka")


class HSIC:
    """HSIC as an object with ``statistic(x, y)`` and ``test(x, y)`` (hyppo/scikit-learn style).

    Args:
        kernel: kernel of x (and of y unless ``kernel_y`` is given): name, Kernel or callable.
        kernel_y: kernel of y; None reuses ``kernel``'s specification, fitted to y.
        estimator: "biased", "unbiased" (Song et al. 2012) or "cka" for ``statistic``.
        block_rows: rows of the kernel matrices held at once.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(200)
        >>> h = HSIC(kernel="gaussian", estimator="cka")
        >>> round(h.statistic(x, np.sin(3 * x)), 3)
        0.221
        >>> h.test(x, np.sin(3 * x), method="permutation", n_permutations=99, rng=0).pvalue
        0.01
    """

    def __init__(self, kernel: KernelSpec = "gaussian", kernel_y: KernelSpec = None,
                 estimator: str = "biased", block_rows: int | None = None) -> None:
        estimator = check_choice(estimator, "estimator", ESTIMATORS)
        self.kernel = kernel
        self.kernel_y = kernel_y
        self.estimator = estimator
        self.block_rows = block_rows

    def __repr__(self) -> str:
        return (f"HSIC(kernel={self.kernel!r}, kernel_y={self.kernel_y!r}, "
                f"estimator={self.estimator!r})")

    def statistic(self, x: object, y: object) -> float:
        """The chosen estimator of HSIC between x and y."""
        min_n = 2 if self.estimator == "biased" else 4
        xs, ys, kx, ky = prepare(x, y, self.kernel, self.kernel_y, min_n, "HSIC.statistic")
        sums = kernel_sums(xs, ys, kx, ky, self.block_rows)
        if self.estimator == "biased":
            return sums.hsic_biased()
        if self.estimator == "unbiased":
            return sums.hsic_unbiased()
        return sums.cka()

    def test(self, x: object, y: object, method: str = "gamma", n_permutations: int = 1000,
             rng: RandomState = None) -> HSICTestResult:
        """Independence test of x and y (see :func:`hsic_test`)."""
        return hsic_test(x, y, method, kernel_x=self.kernel, kernel_y=self.kernel_y,
                         n_permutations=n_permutations, rng=rng, block_rows=self.block_rows)

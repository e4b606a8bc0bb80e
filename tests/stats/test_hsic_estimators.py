"""Exact HSIC estimators against dense textbook formulas, hyppo, and the article's numbers."""

import math
import tracemalloc

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

from kexue.stats import (
    HSIC,
    CallableKernel,
    GaussianKernel,
    LaplacianKernel,
    LinearKernel,
    PolynomialKernel,
    cka,
    hsic_biased,
    hsic_unbiased,
    median_heuristic,
)


def dense_gaussian(a, sigma):
    return np.exp(-cdist(a, a, "sqeuclidean") / (2 * sigma**2))


def dense_estimators(k, l_mat):
    """The matrix formulas of Gretton (2005) and Song et al. (2012), O(n^3), as written."""
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    biased = np.trace(k @ h @ l_mat @ h) / n**2
    kt = k - np.diag(np.diag(k))
    lt = l_mat - np.diag(np.diag(l_mat))
    one = np.ones(n)
    unbiased = (np.trace(kt @ lt) + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
                - 2 / (n - 2) * one @ kt @ lt @ one) / (n * (n - 3))
    kc, lc = h @ k @ h, h @ l_mat @ h
    alignment = np.trace(kc @ lc) / math.sqrt(np.trace(kc @ kc) * np.trace(lc @ lc))
    return biased, unbiased, alignment


@pytest.fixture
def dependent():
    rng = np.random.default_rng(42)
    x = rng.standard_normal((150, 3))
    y = np.column_stack([np.sin(x[:, 0]) + 0.3 * rng.standard_normal(150),
                         x[:, 1] ** 2])
    return x, y


def test_median_heuristic_is_gretton_convention():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((101, 2))
    expected = math.sqrt(np.median(pdist(x, "sqeuclidean")) / 2)
    assert median_heuristic(x) == pytest.approx(expected, rel=1e-12)
    fitted = GaussianKernel().fit(x)
    np.testing.assert_allclose(fitted(x, x), np.exp(-cdist(x, x, "sqeuclidean")
                                                    / np.median(pdist(x, "sqeuclidean"))))


@pytest.mark.parametrize("block_rows", [None, 1, 7, 150])
def test_gaussian_estimators_equal_dense_formulas(dependent, block_rows):
    x, y = dependent
    k = dense_gaussian(x, median_heuristic(x))
    l_mat = dense_gaussian(y, median_heuristic(y))
    biased, unbiased, alignment = dense_estimators(k, l_mat)
    assert hsic_biased(x, y, block_rows=block_rows) == pytest.approx(biased, rel=1e-10)
    assert hsic_unbiased(x, y, block_rows=block_rows) == pytest.approx(unbiased, rel=1e-10)
    assert cka(x, y, block_rows=block_rows) == pytest.approx(alignment, rel=1e-10)


@pytest.mark.parametrize("kernel, dense", [
    (LaplacianKernel(bandwidth=1.3), lambda a: np.exp(-cdist(a, a) / 1.3)),
    (LinearKernel(), lambda a: a @ a.T),
    (PolynomialKernel(degree=3, gamma=0.5, coef0=2.0), lambda a: (0.5 * a @ a.T + 2.0) ** 3),
    (CallableKernel(lambda a, b: 1.0 / (1.0 + cdist(a, b, "sqeuclidean"))),
     lambda a: 1.0 / (1.0 + cdist(a, a, "sqeuclidean"))),
])
def test_other_kernels_equal_dense_formulas(dependent, kernel, dense):
    x, y = dependent
    biased, unbiased, alignment = dense_estimators(dense(x), dense(y))
    assert hsic_biased(x, y, kernel, block_rows=11) == pytest.approx(biased, rel=1e-9)
    assert hsic_unbiased(x, y, kernel, block_rows=11) == pytest.approx(unbiased, rel=1e-9)
    assert cka(x, y, kernel, block_rows=11) == pytest.approx(alignment, rel=1e-9)


def test_linear_kernel_hsic_is_squared_covariance_norm(dependent):
    x, y = dependent
    cov = (x - x.mean(0)).T @ (y - y.mean(0)) / len(x)
    assert hsic_biased(x, y, "linear") == pytest.approx(np.sum(cov**2), rel=1e-10)


def test_cka_equals_hyppo_biased_statistic_squared(dependent):
    hyppo = pytest.importorskip("hyppo.independence")
    x, y = dependent
    sx, sy = median_heuristic(x), median_heuristic(y)
    precomputed = hyppo.Hsic(compute_kernel="precomputed", bias=True).statistic(
        dense_gaussian(x, sx), dense_gaussian(y, sy))
    ours = cka(x, y, GaussianKernel(sx), GaussianKernel(sy))
    assert ours == pytest.approx(precomputed**2, rel=1e-9)
    # hyppo's own Gaussian kernel with one shared gamma = 1 / (2 sigma^2)
    shared = hyppo.Hsic(compute_kernel="gaussian", bias=True, gamma=1 / (2 * sx**2)).statistic(
        x, y)
    assert cka(x, y, GaussianKernel(sx)) == pytest.approx(shared**2, rel=1e-9)


def test_bandwidths_are_per_variable_so_scaling_y_changes_nothing(dependent):
    x, y = dependent
    base = hsic_biased(x, y)
    assert hsic_biased(x, 100 * y) == pytest.approx(base, rel=1e-10)
    assert hsic_biased(100 * y, x) == pytest.approx(base, rel=1e-10)


def test_unbiased_mean_is_zero_under_independence_and_biased_is_not():
    rng = np.random.default_rng(7)
    draws = 300
    unbiased = np.empty(draws)
    biased = np.empty(draws)
    for i in range(draws):
        x, y = rng.standard_normal((2, 40))
        unbiased[i] = hsic_unbiased(x, y)
        biased[i] = hsic_biased(x, y)
    standard_error = unbiased.std(ddof=1) / math.sqrt(draws)
    assert abs(unbiased.mean()) < 3.5 * standard_error
    assert biased.mean() > 10 * biased.std(ddof=1) / math.sqrt(draws)


def test_article_experiment_reproduces():
    """kexue.fm/archives/6910: n = 1000, exp(-d^2) (sigma = 1, no factor 2), 1/(n-1)^2."""
    n = 1000
    article_kernel = GaussianKernel(bandwidth=math.sqrt(0.5))
    independent, dependent_values = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x, y, noise = rng.standard_normal((3, n))
        scale = n**2 / (n - 1) ** 2
        independent.append(hsic_biased(x, y, article_kernel) * scale)
        dependent_values.append(hsic_biased(x, x + 0.1 * noise, article_kernel) * scale)
    assert 0 < np.mean(independent) < 0.0006  # article: ~0.0002
    assert np.mean(dependent_values) == pytest.approx(0.096, abs=0.006)  # article: ~0.096
    # the article's own O(n^3) formula, on a smaller sample
    rng = np.random.default_rng(3)
    x, noise = rng.standard_normal((2, 200))
    k = np.exp(-np.subtract.outer(x, x) ** 2)
    l_mat = np.exp(-np.subtract.outer(x + 0.1 * noise, x + 0.1 * noise) ** 2)
    h = np.eye(200) - 1 / 200
    article = np.trace(k @ h @ l_mat @ h) / 199**2
    ours = hsic_biased(x, x + 0.1 * noise, article_kernel) * 200**2 / 199**2
    assert ours == pytest.approx(article, rel=1e-10)


def test_blocked_pass_never_holds_a_full_kernel_matrix():
    n = 3000
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, n))
    tracemalloc.start()
    try:
        hsic_biased(x, y, GaussianKernel(1.0), block_rows=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n * n * 8 / 4  # one full float64 matrix would be 72 MB


@pytest.mark.slow
def test_exact_hsic_at_n_20000_under_4_gb():
    n = 20_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n)
    y = x + rng.standard_normal(n)
    tracemalloc.start()
    try:
        value = hsic_biased(x, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 * 2**30
    assert value > 0


def test_hsic_object_statistic(dependent):
    x, y = dependent
    assert HSIC().statistic(x, y) == pytest.approx(hsic_biased(x, y))
    assert HSIC(estimator="unbiased").statistic(x, y) == pytest.approx(hsic_unbiased(x, y))
    assert HSIC("laplacian", estimator="cka").statistic(x, y) == pytest.approx(
        cka(x, y, "laplacian"))
    assert "laplacian" in repr(HSIC("laplacian"))


@pytest.mark.parametrize("call, message", [
    (lambda: hsic_biased([1.0, np.nan, 2.0], [1.0, 2.0, 3.0]), "x contains nan at row 1"),
    (lambda: hsic_biased([1.0, 2.0, 3.0], [[1.0], [2.0], [np.inf]]), "y contains inf at row 2"),
    (lambda: hsic_biased(np.arange(5.0), np.arange(4.0)), "same number of rows"),
    (lambda: hsic_unbiased(np.arange(3.0), np.arange(3.0)), "at least 4 samples, got n = 3"),
    (lambda: hsic_biased(np.arange(10.0), np.zeros((10, 0))), "at least one column"),
    (lambda: hsic_biased(np.arange(10.0), np.arange(10.0), "cosine"), "kernel_x must be one of"),
    (lambda: GaussianKernel(bandwidth=-1.0), "bandwidth must be a positive"),
    (lambda: HSIC(estimator="median"), "`estimator` must be one of"),
    (lambda: hsic_biased(np.zeros((2, 2, 2)), np.zeros(2)), "shape (n,) or (n, d)"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_constant_variable_gives_zero_not_an_error():
    # as on the keras.ops path: a constant is independent of everything
    assert hsic_biased(np.ones(10), np.arange(10.0)) == pytest.approx(0.0, abs=1e-15)
    assert cka(np.arange(10.0), np.ones(10), "linear") == 0.0

"""Large-n HSIC: random Fourier features, Nystrom and block HSIC against exact HSIC."""

import numpy as np
import pytest

from kexue.stats import (
    GaussianKernel,
    LaplacianKernel,
    PolynomialKernel,
    block_hsic,
    hsic_biased,
    hsic_unbiased,
    nystrom_hsic,
    rff_hsic,
)


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1000, 2))
    y = np.sin(2 * x[:, :1]) + x[:, 1:] ** 2 * 0.3 + 0.5 * rng.standard_normal((1000, 1))
    return x, y


@pytest.fixture(autouse=True)
def one_blas_thread():
    """OpenBLAS threads stall on a busy machine; the feature maths is the same either way."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def _relative_errors(function, x, y, sizes, exact, seeds=3, **kwargs):
    return [np.mean([abs(function(x, y, size, rng=seed, **kwargs).statistic - exact) / exact
                     for seed in range(seeds)]) for size in sizes]


@pytest.mark.parametrize("kernel, limit", [("gaussian", 0.05), (LaplacianKernel(), 0.1)])
def test_rff_converges_to_exact_as_features_grow(sample, kernel, limit):
    x, y = sample
    exact = hsic_biased(x[:600], y[:600], kernel)
    errors = _relative_errors(rff_hsic, x[:600], y[:600], [16, 1024], exact, seeds=5,
                              kernel_x=kernel)
    assert errors[1] < errors[0] / 2
    assert errors[1] < limit


def test_nystrom_converges_and_is_exact_with_all_landmarks(sample):
    x, y = sample
    exact = hsic_biased(x, y)
    errors = _relative_errors(nystrom_hsic, x, y, [5, 40, 300], exact)
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3
    small_x, small_y = x[:150], y[:150]
    full = nystrom_hsic(small_x, small_y, 150, kernel_x=PolynomialKernel(degree=2))
    assert full.statistic == pytest.approx(
        hsic_biased(small_x, small_y, PolynomialKernel(degree=2)), rel=1e-8)


def test_block_hsic_is_mean_of_unbiased_block_statistics(sample):
    x, y = sample
    kernel_x, kernel_y = GaussianKernel().fit(x), GaussianKernel().fit(y)
    result = block_hsic(x[:950], y[:950], 100, kernel_x=kernel_x, kernel_y=kernel_y)
    blocks = [hsic_unbiased(x[i:i + 100], y[i:i + 100], kernel_x, kernel_y)
              for i in range(0, 900, 100)]
    assert result.statistic == pytest.approx(np.mean(blocks), rel=1e-10)
    assert result.details["blocks"] == 9
    assert result.pvalue < 1e-6


@pytest.mark.parametrize("method, size", [(rff_hsic, 40), (nystrom_hsic, 30), (block_hsic, 25)])
def test_large_scale_null_is_roughly_calibrated(method, size):
    rng = np.random.default_rng(17)
    p_values = np.array([method(*rng.standard_normal((2, 500)), size, rng=draw).pvalue
                         for draw in range(100)])
    assert 0.01 <= np.mean(p_values <= 0.05) <= 0.11
    assert 0.35 < p_values.mean() < 0.65


@pytest.mark.parametrize("method", [rff_hsic, nystrom_hsic, block_hsic])
def test_large_scale_detects_dependence_and_honours_seed(method):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(20_000)
    y = np.abs(x) + rng.standard_normal(20_000)
    first = method(x, y, 50, rng=1)
    assert first.pvalue < 1e-4
    assert method(x, y, 50, rng=1).statistic == first.statistic
    assert first.details["seed"] == 1


def test_rff_and_nystrom_handle_a_million_rows_quickly():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1_000_000)
    y = 0.1 * x + rng.standard_normal(1_000_000)
    assert rff_hsic(x, y, 20).pvalue < 1e-6
    assert nystrom_hsic(x, y, 20).pvalue < 1e-6


@pytest.mark.parametrize("call, message", [
    (lambda x: rff_hsic(x, x, 7), "n_features must be even"),
    (lambda x: rff_hsic(x, x, 10, kernel_x="linear"), "shift-invariant kernel"),
    (lambda x: nystrom_hsic(x, x, 500), "`n_landmarks` must be at most n = 100"),
    (lambda x: nystrom_hsic(x, x, 0), "`n_landmarks` must be an integer >= 1"),
    (lambda x: block_hsic(x, x, 60), r"needs at least 120 samples, got n = 100"),
    (lambda x: block_hsic(x, np.ones(100), 10), "`y` is constant"),
])
def test_large_scale_errors(call, message):
    x = np.random.default_rng(0).standard_normal(100)
    with pytest.raises(ValueError, match=message):
        call(x)

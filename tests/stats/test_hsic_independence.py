"""HSIC independence tests: gamma against a naive Gretton (2007) implementation, seeded
permutations, calibration under the null."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist, pdist

from kexue.stats import HSIC, GaussianKernel, hsic_biased, hsic_test
from kexue.stats import independence as independence_module


def naive_gretton_gamma(x, y):
    """Gretton et al. 2007 gamma test written from the paper with dense n x n matrices."""
    x = x.reshape(len(x), -1)
    y = y.reshape(len(y), -1)
    n = len(x)
    k = np.exp(-cdist(x, x, "sqeuclidean") / np.median(pdist(x, "sqeuclidean")))
    l_mat = np.exp(-cdist(y, y, "sqeuclidean") / np.median(pdist(y, "sqeuclidean")))
    h = np.eye(n) - 1.0 / n
    kc, lc = h @ k @ h, h @ l_mat @ h
    statistic = np.sum(kc * lc) / n  # n * HSIC_b
    var = (kc * lc / 6) ** 2
    var = (var.sum() - np.trace(var)) / n / (n - 1)
    var = var * 72 * (n - 4) * (n - 5) / n / (n - 1) / (n - 2) / (n - 3)
    k_off = k - np.diag(np.diag(k))
    l_off = l_mat - np.diag(np.diag(l_mat))
    mu_x = k_off.sum() / n / (n - 1)
    mu_y = l_off.sum() / n / (n - 1)
    mean = (1 + mu_x * mu_y - mu_x - mu_y) / n
    shape = mean**2 / var
    scale = var * n / mean
    return statistic / n, 1 - stats.gamma.cdf(statistic, shape, scale=scale), shape, scale


@pytest.mark.parametrize("case", ["independent", "weak", "multivariate"])
def test_gamma_p_value_equals_naive_gretton(case):
    rng = np.random.default_rng(11)
    n = 120
    x = rng.standard_normal(n)
    if case == "independent":
        y = rng.standard_normal(n)
    elif case == "weak":
        y = 0.25 * x**2 + rng.standard_normal(n)
    else:
        x = rng.standard_normal((n, 3))
        y = np.column_stack([x[:, 0] * x[:, 1], rng.standard_normal(n)]) * 0.3 \
            + rng.standard_normal((n, 2))
    statistic, p_value, shape, scale = naive_gretton_gamma(x, y)
    result = hsic_test(x, y, "gamma", block_rows=17)
    assert result.statistic == pytest.approx(statistic, rel=1e-10)
    assert result.pvalue == pytest.approx(p_value, rel=1e-7, abs=1e-12)
    assert result.details["shape"] == pytest.approx(shape, rel=1e-9)
    assert result.details["scale"] == pytest.approx(scale, rel=1e-9)
    assert result.method == "gamma" and result.n == n


def test_gamma_detects_dependence_and_reports_kernels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300)
    result = hsic_test(x, np.cos(2 * x) + 0.3 * rng.standard_normal(300))
    assert result.pvalue < 1e-6
    assert result.kernel_x["name"] == "gaussian"
    assert result.kernel_x["bandwidth"] != result.kernel_y["bandwidth"]
    assert set(result.to_dict()) >= {"statistic", "pvalue", "method", "details"}


def test_permutation_seed_is_honoured_and_null_is_exact():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(60)
    y = 0.3 * x + rng.standard_normal(60)
    first = hsic_test(x, y, "permutation", n_permutations=150, rng=123)
    again = hsic_test(x, y, "permutation", n_permutations=150, rng=123)
    other = hsic_test(x, y, "permutation", n_permutations=150, rng=124)
    assert first.pvalue == again.pvalue
    np.testing.assert_array_equal(first.null_distribution, again.null_distribution)
    assert not np.array_equal(first.null_distribution, other.null_distribution)
    assert first.details == {"n_permutations": 150, "seed": 123}
    # every null value is HSIC_b of (x, y permuted); the p-value counts them
    permutations = np.random.default_rng(123).permuted(np.tile(np.arange(60), (150, 1)), axis=1)
    naive = np.array([hsic_biased(x, y[p]) for p in permutations[:20]])
    np.testing.assert_allclose(first.null_distribution[:20], naive, rtol=1e-10)
    assert first.statistic == pytest.approx(hsic_biased(x, y), rel=1e-12)
    expected = (1 + np.sum(first.null_distribution >= first.statistic * (1 - 1e-12))) / 151
    assert first.pvalue == pytest.approx(expected)


def test_permutation_without_seed_reports_the_seed_it_drew():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 40))
    result = hsic_test(x, y, "permutation", n_permutations=50)
    replay = hsic_test(x, y, "permutation", n_permutations=50, rng=result.details["seed"])
    assert replay.pvalue == result.pvalue


def test_permutation_large_n_path_equals_dense_path(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(80)
    y = np.sin(x) + rng.standard_normal(80)
    dense = hsic_test(x, y, "permutation", n_permutations=30, rng=9)
    monkeypatch.setattr(independence_module, "DENSE_BYTES", 1000)
    blocked = hsic_test(x, y, "permutation", n_permutations=30, rng=9, block_rows=13)
    np.testing.assert_allclose(blocked.null_distribution, dense.null_distribution, rtol=1e-10)
    assert blocked.pvalue == dense.pvalue


def test_permutation_works_with_any_kernel_and_object_api():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100)
    y = x**2 + 0.5 * rng.standard_normal(100)
    result = HSIC(kernel="polynomial").test(x, y, method="permutation", n_permutations=99,
                                            rng=0)
    assert result.pvalue == 0.01
    assert HSIC(GaussianKernel(1.0)).test(x, y).kernel_x == {"name": "gaussian",
                                                             "bandwidth": 1.0}


def test_null_p_values_are_roughly_uniform_quick():
    rng = np.random.default_rng(2024)
    p_gamma = [hsic_test(*rng.standard_normal((2, 60))).pvalue for _ in range(150)]
    assert 0.35 < np.mean(p_gamma) < 0.65
    assert np.mean(np.array(p_gamma) <= 0.05) < 0.12


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gamma", "permutation"])
def test_calibration_under_the_null(method):
    rng = np.random.default_rng(99 if method == "gamma" else 100)
    draws = 1000
    rejections = 0
    for draw in range(draws):
        x = rng.standard_normal(200)
        y = rng.standard_normal(200)
        result = hsic_test(x, y, method, n_permutations=199, rng=draw)
        rejections += result.pvalue <= 0.05
    assert 0.035 <= rejections / draws <= 0.065


@pytest.mark.parametrize("call, message", [
    (lambda x: hsic_test(x, x, "spectral"), "`method` must be one of 'gamma', 'permutation'"),
    (lambda x: hsic_test(x[:5], x[:5]), r"needs at least 6 samples, got n = 5"),
    (lambda x: hsic_test(x, x, "permutation", n_permutations=0),
     "`n_permutations` must be a positive integer"),
    (lambda x: hsic_test(x, np.zeros(30), kernel_x="linear"), "`y` is constant"),
    (lambda x: hsic_test(np.where(np.arange(30) == 4, np.nan, x), x), "x contains nan at row 4"),
    (lambda x: hsic_test(x, np.full(30, 2.0)), "`y` is constant"),
])
def test_test_errors(call, message):
    x = np.random.default_rng(0).standard_normal(30)
    with pytest.raises(ValueError, match=message):
        call(x)


def test_gamma_without_kept_blocks_equals_gamma_with_them(monkeypatch):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((90, 2))
    y = np.cos(x[:, :1]) + rng.standard_normal((90, 1))
    kept = hsic_test(x, y, block_rows=8)
    monkeypatch.setattr(independence_module, "DENSE_BYTES", 1000)
    recomputed = hsic_test(x, y, block_rows=8)
    assert recomputed.statistic == pytest.approx(kept.statistic, rel=1e-12)
    assert recomputed.pvalue == pytest.approx(kept.pvalue, rel=1e-9)
    assert recomputed.details == pytest.approx(kept.details, rel=1e-9)

"""HSIC at extreme magnitudes: scale-invariant data-driven bandwidths, named overflows."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.stats import estimators
from kexue.stats.estimators import hsic_biased, hsic_unbiased, prepare
from kexue.stats.independence import hsic_test
from kexue.stats.kernels import GaussianKernel, LaplacianKernel
from kexue.stats.large_scale import feature_memory, rff_hsic

runner = CliRunner()
rng = np.random.default_rng(3)
X = rng.standard_normal((120, 2))
Y = X[:, :1] ** 2 + 0.3 * rng.standard_normal((120, 1))


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian"])
@pytest.mark.parametrize("scale", [2.0**-1000, 1e-300, 1e-150, 1e150, 1e300, 2.0**1000])
def test_scaled_data_give_the_unscaled_statistic(kernel, scale):
    # Multiplying by a power of two is exact, so those must agree to the last bit; a
    # decimal factor rounds every input once (relative 1e-16).
    exact = np.log2(scale).is_integer()
    tolerance = 0 if exact else 1e-12
    for function in (hsic_biased, hsic_unbiased):
        base = function(X, Y, kernel)
        assert function(X * scale, Y / scale, kernel) == pytest.approx(base, rel=tolerance,
                                                                       abs=0)
    assert hsic_test(X * scale, Y, kernel_x=kernel).pvalue == pytest.approx(
        hsic_test(X, Y, kernel_x=kernel).pvalue, rel=1e-9)


def test_reported_bandwidth_is_in_the_data_units():
    _, _, kx, _ = prepare(X, Y, "gaussian", None, 2, "t")
    _, _, big, _ = prepare(X * 1e300, Y, "gaussian", None, 2, "t")
    assert big.describe()["bandwidth"] == pytest.approx(kx.describe()["bandwidth"] * 1e300,
                                                        rel=1e-12)


@pytest.mark.parametrize("bandwidth, word", [(1e200, "overflows"), (1e-300, "underflows"),
                                             (1e20, "overflows"), (1e-9, "underflows")])
def test_explicit_bandwidth_that_degenerates_the_kernel_is_named(bandwidth, word):
    for kernel in (GaussianKernel(bandwidth), LaplacianKernel(bandwidth)):
        with pytest.raises(ValueError, match=f"`kernel_x.bandwidth` = .* {word}"):
            hsic_biased(X, Y, kernel, "gaussian")
    # The same bandwidth relative to the data is fine at any scale.
    assert hsic_biased(X * bandwidth, Y, GaussianKernel(bandwidth), "gaussian") == \
        pytest.approx(hsic_biased(X, Y, GaussianKernel(1.0), "gaussian"), rel=1e-12)


def test_cli_names_the_bandwidth_flag(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n" + "\n".join(f"{a},{b}" for a, b in zip(X[:, 0], Y[:, 0],
                                                                   strict=True)) + "\n")
    for flag, value in (("--bandwidth-x", "1e200"), ("--bandwidth-y", "1e-300")):
        result = runner.invoke(app, ["hsic", str(path), "--x", "a", "--y", "b", flag, value])
        assert result.exit_code == 2 and flag in result.stderr, result.output


def test_api_surprises_are_errors():
    for bad in (-1, 0):
        with pytest.raises(ValueError, match="block_rows"):
            hsic_biased(X, Y, block_rows=bad)
    with pytest.raises(TypeError, match="block_rows"):
        hsic_biased(X, Y, block_rows=True)
    with pytest.raises(TypeError, match="complex"):
        hsic_biased(X + 1j, Y)


def test_memory_is_estimated_before_allocating(monkeypatch):
    assert feature_memory(1000, 100_000) > 300 * 2**30
    monkeypatch.setattr(estimators, "available_memory", lambda: 2**30)
    with pytest.raises(ValueError, match="`n_features` = 20000 needs about .* GiB"):
        rff_hsic(X, Y, 20_000)
    with pytest.raises(ValueError, match="`n_permutations`"):
        hsic_test(X, Y, "permutation", n_permutations=10**7)


def test_cli_options_the_test_does_not_use_are_errors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,c\n" + "\n".join(f"{a},{b},x" for a, b in zip(X[:, 0], Y[:, 0],
                                                                     strict=True)) + "\n")
    base = ["hsic", str(path), "--x", "a", "--y", "b"]
    result = runner.invoke(app, [*base, "--permutations", "10"])
    assert result.exit_code == 2 and "--permutations" in result.stderr
    result = runner.invoke(app, [*base, "--test", "permutation", "--features", "10"])
    assert result.exit_code == 2 and "--features" in result.stderr
    result = runner.invoke(app, ["hsic", str(path), "--x", "a", "--y", "a,b"])
    assert result.exit_code == 2 and "share" in result.stderr
    # The text column c is never selected, so it does not matter.
    result = runner.invoke(app, [*base, "--json"])
    assert result.exit_code == 0, result.output

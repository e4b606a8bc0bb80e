"""One API across the statistics: SciPy-shaped results, one `rng` argument, one signature and
one behaviour (constant data) on the NumPy and the keras.ops paths."""

import inspect
import warnings

import numpy as np
import pytest
from keras import ops

import kexue.stats as ks
from kexue.stats import keras_hsic

pytestmark = pytest.mark.backend

ESTIMATORS = ["hsic_biased", "hsic_unbiased", "cka"]


def test_result_reads_like_scipy_and_p_value_is_a_deprecated_alias():
    x = np.random.default_rng(0).standard_normal(60)
    result = ks.hsic_test(x, x**2)
    assert 0.0 <= result.pvalue <= 1.0 and result.statistic > 0
    with pytest.warns(DeprecationWarning, match="use .pvalue"):
        assert result.p_value == result.pvalue
    assert "pvalue" in result.to_dict() and "p_value" not in result.to_dict()


@pytest.mark.parametrize("test", [
    lambda x, y, rng: ks.hsic_test(x, y, "permutation", n_permutations=49, rng=rng),
    lambda x, y, rng: ks.rff_hsic(x, y, 20, rng=rng),
    lambda x, y, rng: ks.nystrom_hsic(x, y, 20, rng=rng),
    lambda x, y, rng: ks.block_hsic(x, y, 20, rng=rng),
])
def test_rng_takes_a_seed_or_a_generator(test):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 200))
    by_seed = test(x, y, 5)
    by_generator = test(x, y, np.random.default_rng(5))
    assert by_seed.details["seed"] == 5 and by_generator.details["seed"] is None
    # the same seed gives the same draws whether passed as a seed or a fresh Generator
    assert by_generator.pvalue == by_seed.pvalue
    with pytest.raises(TypeError, match="`rng` must be None, a non-negative integer seed"):
        test(x, y, 2.5)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_numpy_and_keras_estimators_share_one_signature(name):
    numpy_params = inspect.signature(getattr(ks, name)).parameters
    keras_params = inspect.signature(getattr(keras_hsic, name)).parameters
    shared = [p for p in numpy_params.values() if p.name != "block_rows"]
    assert [(p.name, p.kind, p.default) for p in shared] == [
        (p.name, p.kind, p.default) for p in keras_params.values()]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("kernel", ["gaussian", "laplacian", "linear"])
def test_numpy_and_keras_agree_including_constant_data(name, kernel):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 2))
    y = np.c_[np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(40)]
    constant = np.full((40, 1), 3.0)
    for a, b in ((x, y), (constant, y), (x, constant)):
        expected = getattr(ks, name)(a, b, kernel)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no division by zero either
            got = float(ops.convert_to_numpy(getattr(keras_hsic, name)(
                a.astype("float32"), b.astype("float32"), kernel)))
        assert np.isfinite(expected) and np.isfinite(got)
        assert got == pytest.approx(expected, rel=2e-3, abs=1e-6)
    assert getattr(ks, name)(constant, y, kernel) == pytest.approx(0.0, abs=1e-12)


def test_explicit_bandwidths_on_both_paths():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2, 50, 1))
    expected = ks.hsic_biased(x, x + y, bandwidth_x=0.7, bandwidth_y=2.0)
    got = float(ops.convert_to_numpy(keras_hsic.hsic_biased(
        x.astype("float32"), (x + y).astype("float32"), bandwidth_x=0.7, bandwidth_y=2.0)))
    assert got == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="`bandwidth_x` applies to gaussian/laplacian"):
        ks.hsic_biased(x, y, "linear", bandwidth_x=1.0)
    with pytest.raises(ValueError, match="`bandwidth_x` must be a finite number > 0"):
        ks.hsic_biased(x, y, bandwidth_x=-1.0)


def test_keras_objectives_are_exported_from_kexue_stats():
    from kexue.stats.losses import HSICLoss, HSICPenalty

    assert ks.HSICLoss is HSICLoss and ks.HSICPenalty is HSICPenalty


def test_import_stays_light():
    import subprocess
    import sys

    code = ("import sys, kexue, kexue.stats\n"
            "heavy = {'sklearn', 'keras', 'jax', 'tensorflow', 'torch'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

"""kexue.stats.keras_hsic and kexue.stats.losses against dense float64 NumPy formulas."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kexue.stats import keras_hsic as ko
from kexue.stats import losses

pytestmark = pytest.mark.backend


# ---------------------------------------------------------------- float64 references (dense)
def ref_sqdist(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)


def ref_median_bandwidth(x: np.ndarray) -> float:
    d2 = ref_sqdist(x)
    i, j = np.triu_indices(len(d2), 1)
    return float(np.sqrt(np.median(d2[i, j]) / 2.0))


def ref_gaussian(x: np.ndarray, s: float | None = None) -> np.ndarray:
    s = ref_median_bandwidth(x) if s is None else s
    return np.exp(-ref_sqdist(x) / (2.0 * s**2))


def ref_laplacian(x: np.ndarray, s: float | None = None) -> np.ndarray:
    d2 = ref_sqdist(x)
    if s is None:
        i, j = np.triu_indices(len(d2), 1)
        s = float(np.sqrt(np.median(d2[i, j])))
    return np.exp(-np.sqrt(d2) / s)


def ref_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return x @ x.T


def ref_polynomial(x: np.ndarray) -> np.ndarray:
    return (ref_linear(x) + 1.0) ** 2


def ref_hsic_biased(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    n = len(k)
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(k @ h @ l @ h) / n**2)


def ref_hsic_unbiased(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    """Song et al. 2012, eq. (5), literally."""
    n = len(k)
    kt = k - np.diag(np.diag(k))
    lt = l - np.diag(np.diag(l))
    one = np.ones(n)
    value = (
        np.trace(kt @ lt)
        + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ kt @ lt @ one)
    )
    return float(value / (n * (n - 3)))


def ref_cka(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    return ref_hsic_biased(k, l) / np.sqrt(ref_hsic_biased(k, k) * ref_hsic_biased(l, l))


def ref_cka_unbiased(k: np.ndarray, l: np.ndarray) -> float:  # noqa: E741
    return ref_hsic_unbiased(k, l) / np.sqrt(ref_hsic_unbiased(k, k) * ref_hsic_unbiased(l, l))


REF_KERNELS = {
    "gaussian": ref_gaussian,
    "laplacian": ref_laplacian,
    "linear": ref_linear,
    "polynomial": ref_polynomial,
}
REF_ESTIMATORS = {"biased": ref_hsic_biased, "unbiased": ref_hsic_unbiased, "cka": ref_cka}
KERAS_ESTIMATORS = {"biased": ko.hsic_biased, "unbiased": ko.hsic_unbiased, "cka": ko.cka}


def sample(n: int, dx: int, dy: int, dependence: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dx))
    y = rng.normal(size=(n, dy))
    y[:, 0] += dependence * np.sin(2.0 * x[:, 0]) + dependence * x[:, -1]
    return x.astype(np.float32), y.astype(np.float32)


def to_numpy(t) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(t), dtype=np.float64)


# ------------------------------------------------------------- per-backend gradient helper
def gradients(fn, *arrays: np.ndarray) -> list[np.ndarray]:
    """d fn(*arrays) / d arrays with the running backend's autodiff (test-only helper)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        grads = jax.grad(fn, argnums=tuple(range(len(arrays))))(*arrays)
    elif backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in arrays]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            value = fn(*tensors)
        grads = tape.gradient(value, tensors)
    elif backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        fn(*tensors).backward()
        grads = [t.grad for t in tensors]
    else:  # pragma: no cover - numpy/openvino backends have no autodiff
        pytest.skip(f"no autodiff on backend {backend}")
    return [to_numpy(g) for g in grads]


def finite_difference(fn, array: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of a float64 function of one array."""
    base = np.asarray(array, dtype=np.float64)
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (fn(up) - fn(down)) / (2.0 * step)
    return grad


# ------------------------------------------------------------------------------- values
@pytest.mark.parametrize("n", [2, 3, 9, 10, 57])
def test_median_bandwidth_matches_numpy_median_over_pairs(n):
    x = np.random.default_rng(n).normal(size=(n, 3)).astype(np.float32)
    assert float(to_numpy(ko.median_bandwidth(x))) == pytest.approx(
        ref_median_bandwidth(x), rel=1e-5
    )


@pytest.mark.parametrize("kernel", sorted(REF_KERNELS))
def test_kernel_matrices_match_reference(kernel):
    x, _ = sample(40, 3, 1, 0.0, seed=1)
    x = x * 0.5  # keep the polynomial kernel's float32 magnitudes moderate
    got = to_numpy(ko.kernel_matrix(x, kernel))
    want = REF_KERNELS[kernel](x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_pairwise_squared_distances_survive_a_large_offset():
    # |a|^2 + |b|^2 - 2ab cancels badly in float32 far from the origin; centring first fixes it.
    x, _ = sample(30, 2, 1, 0.0, seed=2)
    got = to_numpy(ko.pairwise_squared_distances(x + 1000.0))
    np.testing.assert_allclose(got, ref_sqdist(x), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("estimator", sorted(REF_ESTIMATORS))
@pytest.mark.parametrize("kernel", ["gaussian", "laplacian", "linear"])
@pytest.mark.parametrize(("n", "dependence"), [(12, 1.0), (150, 0.0), (150, 0.5)])
def test_estimators_match_float64_reference(estimator, kernel, n, dependence):
    x, y = sample(n, 3, 2, dependence, seed=n)
    kx, ky = REF_KERNELS[kernel](x), REF_KERNELS[kernel](y)
    want = REF_ESTIMATORS[estimator](kx, ky)
    got = float(to_numpy(KERAS_ESTIMATORS[estimator](x, y, kernel_x=kernel, kernel_y=kernel)))
    # float32 tolerance relative to the statistic's natural scale sqrt(HSIC(x,x) HSIC(y,y)).
    scale = 1.0
    if estimator != "cka":
        scale = np.sqrt(ref_hsic_biased(kx, kx) * ref_hsic_biased(ky, ky))
    assert abs(got - want) <= 1e-5 * scale + 1e-4 * abs(want), (got, want)


def test_from_kernels_and_given_bandwidths_match_reference():
    x, y = sample(60, 1, 1, 0.8, seed=3)
    kx, ky = ref_gaussian(x, 0.7), ref_gaussian(y, 2.0)
    k32, l32 = kx.astype(np.float32), ky.astype(np.float32)
    pairs = [
        (ko.hsic_biased_from_kernels, ref_hsic_biased, ko.hsic_biased),
        (ko.hsic_unbiased_from_kernels, ref_hsic_unbiased, ko.hsic_unbiased),
        (ko.cka_from_kernels, ref_cka, ko.cka),
    ]
    for from_kernels, reference, from_data in pairs:
        want = reference(kx, ky)
        assert float(to_numpy(from_kernels(k32, l32))) == pytest.approx(want, rel=1e-4)
        got = from_data(x, y, bandwidth_x=0.7, bandwidth_y=2.0)
        assert float(to_numpy(got)) == pytest.approx(want, rel=1e-4)


def test_unbiased_cka_and_callable_kernels_match_reference():
    x, y = sample(40, 2, 3, 0.7, seed=9)
    want = ref_cka_unbiased(ref_gaussian(x), ref_gaussian(y))
    assert float(to_numpy(ko.cka(x, y, unbiased=True))) == pytest.approx(want, rel=1e-4)

    def cubic(a, b):  # a callable kernel k(a_i, b_j) = (a_i . b_j)^3 in keras.ops
        return keras.ops.power(keras.ops.matmul(a, keras.ops.transpose(b)), 3)

    want = ref_hsic_biased(ref_linear(x) ** 3, ref_linear(y))
    got = float(to_numpy(ko.hsic_biased(x, y, kernel_x=cubic, kernel_y="linear")))
    assert got == pytest.approx(want, rel=1e-4)


def test_each_variable_gets_its_own_median_bandwidth():
    # hyppo reuses x's bandwidth for y; here rescaling either argument leaves HSIC unchanged.
    x, y = sample(80, 1, 1, 1.0, seed=4)
    base = float(to_numpy(ko.hsic_biased(x, y)))
    assert float(to_numpy(ko.hsic_biased(x, 100.0 * y))) == pytest.approx(base, rel=1e-4)
    assert float(to_numpy(ko.hsic_biased(100.0 * x, y))) == pytest.approx(base, rel=1e-4)
    assert float(to_numpy(ko.hsic_biased(y, x))) == pytest.approx(base, rel=1e-4)


def test_article_experiment_orders_of_magnitude():
    # Su's article (n = 1000, kernel exp(-d^2), (n-1)^2 scaling): independent ~0.0002,
    # y = x + 0.1 eps ~0.096. Our biased estimator divides by n^2 instead of (n-1)^2.
    rng = np.random.default_rng(0)
    n = 1000
    x = rng.normal(size=(n, 1)).astype(np.float32)
    noise = rng.normal(size=(n, 1)).astype(np.float32)
    s = np.sqrt(0.5)  # exp(-d^2 / (2 s^2)) = exp(-d^2)
    scale = n**2 / (n - 1) ** 2
    dependent = scale * float(to_numpy(ko.hsic_biased(x, x + 0.1 * noise, bandwidth_x=s,
                                                      bandwidth_y=s)))
    independent = scale * float(to_numpy(ko.hsic_biased(x, noise, bandwidth_x=s, bandwidth_y=s)))
    assert 0.088 < dependent < 0.100
    assert 0.0 < independent < 0.0006


def test_unbiased_estimator_is_centred_under_independence():
    values = []
    for seed in range(40):
        x, y = sample(30, 1, 1, 0.0, seed=1000 + seed)
        values.append(float(to_numpy(ko.hsic_unbiased(x, y, bandwidth_x=1.0, bandwidth_y=1.0))))
    values = np.array(values)
    biased_mean = np.mean(
        [
            float(to_numpy(ko.hsic_biased(*sample(30, 1, 1, 0.0, seed=1000 + s),
                                          bandwidth_x=1.0, bandwidth_y=1.0)))
            for s in range(40)
        ]
    )
    assert abs(values.mean()) < 3 * values.std() / np.sqrt(len(values))
    assert biased_mean > 5 * values.std() / np.sqrt(len(values))  # the O(1/n) bias is visible


def test_cka_is_one_for_rescaled_copies_and_zero_for_constant():
    x, _ = sample(50, 4, 1, 0.0, seed=5)
    assert float(to_numpy(ko.cka(x, 3.0 * x))) == pytest.approx(1.0, abs=1e-5)
    assert float(to_numpy(ko.cka(x, np.ones((50, 1), np.float32), kernel_y="linear"))) == 0.0


@pytest.mark.parametrize("kernel", ["gaussian", "laplacian", "linear", "polynomial"])
def test_agrees_with_the_numpy_float64_path_of_kexue_stats(kernel):
    from kexue import stats

    x, y = sample(300, 2, 1, 0.6, seed=10)
    pairs = [
        (ko.hsic_biased, stats.hsic_biased, {}),
        (ko.hsic_unbiased, stats.hsic_unbiased, {}),
        (ko.cka, stats.cka, {}),
        (ko.cka, stats.cka, {"unbiased": True}),
    ]
    for ours, theirs, options in pairs:
        want = theirs(x.astype(np.float64), y.astype(np.float64), kernel, kernel, **options)
        got = float(to_numpy(ours(x, y, kernel_x=kernel, kernel_y=kernel, **options)))
        scale = 1.0
        if ours is not ko.cka:
            scale = np.sqrt(stats.hsic_biased(x, x, kernel, kernel)
                            * stats.hsic_biased(y, y, kernel, kernel))
        assert abs(got - want) <= 1e-4 * abs(want) + 1e-5 * scale, (ours.__name__, got, want)


# ---------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("estimator", sorted(REF_ESTIMATORS))
def test_gradients_match_finite_differences_of_float64_reference(estimator):
    x, y = sample(9, 2, 1, 1.0, seed=6)
    sx, sy = 1.3, 0.9

    def keras_value(a, b):
        return KERAS_ESTIMATORS[estimator](a, b, bandwidth_x=sx, bandwidth_y=sy)

    grad_x, grad_y = gradients(keras_value, x, y)
    reference = REF_ESTIMATORS[estimator]
    want_x = finite_difference(lambda a: reference(ref_gaussian(a, sx), ref_gaussian(y, sy)), x)
    want_y = finite_difference(lambda b: reference(ref_gaussian(x, sx), ref_gaussian(b, sy)), y)
    for got, want in ((grad_x, want_x), (grad_y, want_y)):
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-4 * np.abs(want).max())


@pytest.mark.parametrize("kernel", ["laplacian", "linear", "polynomial"])
def test_gradients_of_other_kernels_match_finite_differences(kernel):
    x, y = sample(8, 2, 2, 1.0, seed=7)
    x = x * 0.5

    def keras_value(a):
        return ko.hsic_biased(a, y, kernel_x=kernel, kernel_y="linear")

    (got,) = gradients(keras_value, x)
    i, j = np.triu_indices(len(x), 1)
    s = float(np.sqrt(np.median(ref_sqdist(x)[i, j])))  # the median is held constant

    def reference(a):
        kx = ref_laplacian(a, s) if kernel == "laplacian" else REF_KERNELS[kernel](a)
        return ref_hsic_biased(kx, ref_linear(y))

    want = finite_difference(reference, x)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-4 * np.abs(want).max())


def test_median_bandwidth_is_a_constant_for_gradients():
    x, y = sample(10, 2, 1, 1.0, seed=8)
    sx, sy = ref_median_bandwidth(x), ref_median_bandwidth(y)
    (auto,) = gradients(lambda a: ko.hsic_unbiased(a, y), x)
    (fixed,) = gradients(lambda a: ko.hsic_unbiased(a, y, bandwidth_x=sx, bandwidth_y=sy), x)
    np.testing.assert_allclose(auto, fixed, rtol=1e-4, atol=1e-7)
    assert np.abs(auto).max() > 0


# ------------------------------------------------------------------------ training demos
def _train_with_penalty(weight: float, seed: int = 0) -> tuple[float, float, float]:
    """Regress t = s + u from x = [s, u] through a 1-unit representation z = w.x + b,
    optionally penalising HSIC(z, s). Returns (HSIC_b(z, s) in float64, |corr(z, s)|, MSE).

    One unit on purpose: a wider z could hide s in a low-variance direction that a
    median-bandwidth kernel barely sees while the next layer scales it back up."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    n = 512
    x = rng.normal(size=(n, 2)).astype(np.float32)
    t = (x[:, :1] + x[:, 1:]).astype(np.float32)
    inputs = keras.Input((2,))
    z = keras.layers.Dense(1, name="representation")(inputs)
    z = losses.HSICPenalty(weight=weight, estimator="cka")([z, inputs[:, :1]])
    model = keras.Model(inputs, keras.layers.Dense(1)(z))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(x, t, batch_size=128, epochs=20, verbose=0, shuffle=True)
    encoder = keras.Model(inputs, model.get_layer("representation").output)
    features = to_numpy(encoder.predict(x, verbose=0))
    mse = float(np.mean((to_numpy(model.predict(x, verbose=0)) - t) ** 2))
    dependence = ref_hsic_biased(ref_gaussian(features), ref_gaussian(x[:, :1]))
    correlation = abs(float(np.corrcoef(features[:, 0], x[:, 0])[0, 1]))
    return dependence, correlation, mse


def test_hsic_penalty_layer_makes_representation_independent():
    free_dependence, free_correlation, free_mse = _train_with_penalty(weight=0.0)
    dependence, correlation, mse = _train_with_penalty(weight=200.0)
    assert free_mse < 0.05 and free_correlation > 0.6  # unpenalised, z = s + u
    assert dependence < 0.1 * free_dependence
    assert correlation < 0.1
    # Independent of s, z can only carry u: the error is var(s) = 1, the price of the penalty.
    assert 0.8 < mse < 1.3


def test_hsic_loss_in_compile_increases_dependence():
    # maximize=True: train a 1-unit projection of x to depend on y = sin(2 x_2).
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3)).astype(np.float32)  # a last batch of 116: a second shape
    y = np.sin(2.0 * x[:, 2:3]).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].set_weights([np.array([[1.0], [1.0], [0.3]], np.float32)])
    model.compile(optimizer=keras.optimizers.Adam(0.1),
                  loss=losses.HSICLoss(estimator="cka", maximize=True))
    before = ref_cka(ref_gaussian(to_numpy(model.predict(x, verbose=0))), ref_gaussian(y))
    model.fit(x, y, batch_size=128, epochs=20, verbose=0)
    after = ref_cka(ref_gaussian(to_numpy(model.predict(x, verbose=0))), ref_gaussian(y))
    weights = np.abs(model.layers[0].get_weights()[0].ravel())
    assert after > before + 0.2
    assert weights[2] > 5 * max(weights[0], weights[1])


def test_loss_and_layer_configs_round_trip():
    loss = losses.HSICLoss(estimator="unbiased", maximize=True, bandwidth_true=2.0)
    again = losses.HSICLoss.from_config(loss.get_config())
    assert (again.estimator, again.maximize, again.bandwidth_true) == ("unbiased", True, 2.0)
    layer = losses.HSICPenalty(weight=3.0, estimator="cka", kernel_s="linear")
    clone = losses.HSICPenalty.from_config(layer.get_config())
    assert (clone.weight, clone.estimator, clone.kernel_s) == (3.0, "cka", "linear")


# ----------------------------------------------------------------------------- bad input
def test_bad_input_messages_name_the_argument():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="`x` and `y` must have the same number of samples"):
        ko.hsic_biased(x, np.zeros((9, 1), np.float32))
    with pytest.raises(ValueError, match="at least 4 samples in `x`; received 3"):
        ko.hsic_unbiased(x[:3], x[:3])
    with pytest.raises(ValueError, match="`kernel_x`|`kernel`"):
        ko.hsic_biased(x, x, kernel_x="cosine")
    with pytest.raises(ValueError, match="`bandwidth"):
        ko.hsic_biased(x, x, bandwidth_x=-1.0)
    with pytest.raises(ValueError, match="`estimator`"):
        ko.hsic_penalty(x, x, estimator="hsic")
    with pytest.raises(ValueError, match="`k_x` must be a square"):
        ko.hsic_biased_from_kernels(np.zeros((3, 4), np.float32), np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="`weight`"):
        losses.HSICPenalty(weight=-1.0)
    with pytest.raises(ValueError, match="`kernel_pred`"):
        losses.HSICLoss(kernel_pred="cosine")

"""Lookahead: trajectory vs NumPy and optax references, sync timing, wrappers, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from kexue.optimizers import Lazy, Lookahead, SlowWeightsEvaluation

pytestmark = pytest.mark.backend

BACKEND = keras.backend.backend()
LR, B1, B2, EPS = 0.05, 0.9, 0.999, 1e-7


def problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A least-squares problem 0.5·||A w − b||², gradient Aᵀ(A w − b)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(12, 6)).astype("float32")
    b = rng.normal(size=(12, 3)).astype("float32")
    w0 = rng.normal(size=(6, 3)).astype("float32")
    return a, b, w0


def gradient(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    return a.T @ (a @ w - b)


def numpy_lookahead_adam(a, b, w0, steps, k, alpha):
    """Reference: Adam (Keras form, ε outside the bias correction) + Lookahead (paper)."""
    w = w0.astype("float64")
    slow = w.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    history = []
    for t in range(1, steps + 1):
        g = gradient(a, b, w)
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * g * g
        w = w - LR * np.sqrt(1 - B2**t) / (1 - B1**t) * m / (np.sqrt(v) + EPS)
        if t % k == 0:
            slow = slow + alpha * (w - slow)
            w = slow.copy()
        history.append((w.copy(), slow.copy()))
    return history


def to_numpy(x) -> np.ndarray:
    if isinstance(x, keras.Variable):
        x = x.value
    return np.asarray(ops.convert_to_numpy(x))


_JITTED = {}


def step(optimizer, grads, variables, jit=BACKEND == "jax"):
    """One optimizer step as a custom loop does it: `apply`, or on JAX a jitted
    `stateless_apply` (the JAX trainer's path; Keras' LossScaleOptimizer only supports that)."""
    if not jit:
        optimizer.apply(grads, variables)
        return
    import jax

    if not optimizer.built:
        optimizer.build(variables)
    function = _JITTED.setdefault(id(optimizer), jax.jit(optimizer.stateless_apply))
    new_variables, new_state = function(
        [v.value for v in optimizer.variables], grads, [v.value for v in variables]
    )
    for variable, value in zip(variables, new_variables, strict=True):
        variable.assign(value)
    for variable, value in zip(optimizer.variables, new_state, strict=True):
        variable.assign(value)


def custom_loop(optimizer, a, b, w0, steps, jit=BACKEND == "jax"):
    """Custom loop: gradients computed in NumPy, applied with `step`."""
    w = keras.Variable(w0, name="w")
    out = []
    for _ in range(steps):
        g = ops.convert_to_tensor(gradient(a, b, to_numpy(w)))
        step(optimizer, [g], [w], jit=jit)
        out.append(to_numpy(w))
    return w, out


# On JAX the jitted `stateless_apply` path for every case, the eager `apply` path for one
# (eager JAX dispatches op by op and is slow).
TRAJECTORY_CASES = [(5, 0.5, False), (3, 0.8, False), (1, 1.0, False)]
if BACKEND == "jax":
    TRAJECTORY_CASES = [(k, alpha, True) for k, alpha, _ in TRAJECTORY_CASES] + [(5, 0.5, False)]


@pytest.mark.parametrize("k,alpha,jit", TRAJECTORY_CASES)
def test_trajectory_matches_numpy_reference(k, alpha, jit):
    a, b, w0 = problem()
    steps = 60
    reference = numpy_lookahead_adam(a, b, w0, steps, k, alpha)
    optimizer = Lookahead(keras.optimizers.Adam(LR, epsilon=EPS), k, alpha)
    _, trajectory = custom_loop(optimizer, a, b, w0, steps, jit=jit)
    for t, (got, (want, _)) in enumerate(zip(trajectory, reference, strict=True), start=1):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5, err_msg=f"step {t}")
    np.testing.assert_allclose(to_numpy(optimizer.slow_weights[0]), reference[-1][1], atol=2e-5)


def test_sync_timing_step_by_step():
    a, b, w0 = problem(1)
    k = 4
    optimizer = Lookahead(keras.optimizers.SGD(0.01, momentum=0.9), sync_period=k)
    w = keras.Variable(w0)
    previous_slow = w0.copy()
    for t in range(1, 21):
        step(optimizer, [ops.convert_to_tensor(gradient(a, b, to_numpy(w)))], [w])
        slow = to_numpy(optimizer.slow_weights[0])
        if t % k == 0:
            np.testing.assert_array_equal(to_numpy(w), slow)  # fast jumps back to slow
            assert not np.array_equal(slow, previous_slow)
        else:
            np.testing.assert_array_equal(slow, previous_slow)  # slow waits
            assert not np.array_equal(to_numpy(w), slow)
        previous_slow = slow


def test_slow_weights_start_at_build_values_and_memory_is_one_copy():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7), keras.layers.Dense(2)])
    optimizer = Lookahead(keras.optimizers.Adam())
    optimizer.build(model.trainable_variables)
    for slow, variable in zip(optimizer.slow_weights, model.trainable_variables, strict=True):
        np.testing.assert_array_equal(to_numpy(slow), to_numpy(variable))
    own = [
        v
        for v in optimizer._variables
        if v is not optimizer._iterations and "learning_rate" not in v.name
    ]
    extra = sum(int(np.prod(v.shape)) for v in own)
    assert extra == sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_gradient_accumulation_counts_real_inner_steps():
    a, b, w0 = problem(2)
    inner = keras.optimizers.SGD(0.01, gradient_accumulation_steps=2)
    optimizer = Lookahead(inner, sync_period=2, slow_step_size=0.5)
    w = keras.Variable(w0)
    optimizer.build([w])
    slow_moved = []
    for _ in range(12):
        slow_before = to_numpy(optimizer.slow_weights[0])
        step(optimizer, [ops.convert_to_tensor(gradient(a, b, to_numpy(w)))], [w])
        slow = to_numpy(optimizer.slow_weights[0])
        slow_moved.append(not np.array_equal(slow, slow_before))
        if slow_moved[-1]:
            np.testing.assert_array_equal(to_numpy(w), slow)
    # 2 micro-steps per inner step, sync every 2 inner steps: after micro-steps 4, 8, 12.
    assert [i + 1 for i, moved in enumerate(slow_moved) if moved] == [4, 8, 12]


def test_loss_scale_optimizer_skipped_steps_are_not_counted():
    w0 = np.ones((3,), "float32")
    lso = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=1.0)
    optimizer = Lookahead(lso, sync_period=2, slow_step_size=0.5)
    w = keras.Variable(w0)
    good = ops.ones((3,))
    bad = ops.convert_to_tensor(np.array([np.inf, 1.0, 1.0], "float32"))
    step(optimizer, [good], [w])  # inner step 1
    step(optimizer, [bad], [w])  # skipped by the LossScaleOptimizer
    np.testing.assert_array_equal(to_numpy(optimizer.slow_weights[0]), w0)
    # The skip halved the loss scale: a gradient of the scaled loss is now 0.5 * true.
    step(optimizer, [0.5 * good], [w])  # inner step 2: sync
    np.testing.assert_allclose(to_numpy(w), w0 - 0.5 * 0.2, rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(w), to_numpy(optimizer.slow_weights[0]))


def test_reset_state_zeroes_inner_moments_at_sync():
    a, b, w0 = problem(3)
    inner = keras.optimizers.Adam(LR)
    optimizer = Lookahead(inner, sync_period=3, reset_state=True)
    w = keras.Variable(w0)
    for t in range(1, 7):
        step(optimizer, [ops.convert_to_tensor(gradient(a, b, to_numpy(w)))], [w])
        moments = [to_numpy(v) for v in inner.variables if v.shape == w.shape]
        assert len(moments) == 2
        if t % 3 == 0:
            assert all(not m.any() for m in moments)
        else:
            assert all(m.any() for m in moments)


def small_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(40, 8),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )


def data(seed: int = 0, rows: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 30, size=(rows, 6)).astype("int32")
    y = (x.mean(axis=1, keepdims=True) / 30.0).astype("float32")
    return x, y


@pytest.mark.parametrize(
    "make_inner",
    [
        lambda: keras.optimizers.Adam(1e-2),
        lambda: keras.optimizers.AdamW(1e-2, weight_decay=0.01),
        lambda: keras.optimizers.Lion(1e-3),
        lambda: keras.optimizers.Adam(1e-2, use_ema=True, ema_overwrite_frequency=3),
        lambda: keras.optimizers.SGD(1e-2, momentum=0.9, gradient_accumulation_steps=2),
        lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2)),
        lambda: Lazy(keras.optimizers.Adam(1e-2)),
    ],
    ids=["adam", "adamw", "lion", "ema", "accumulation", "lso-inside", "lazy-inside"],
)
def test_fit_with_many_inner_optimizers(make_inner):
    model = small_model()
    x, y = data()
    optimizer = Lookahead(make_inner(), sync_period=3)
    model.compile(optimizer=optimizer, loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert np.isfinite(after) and after < before
    assert int(to_numpy(optimizer.iterations)) > 0


def test_around_loss_scale_optimizer_fit():
    model = small_model()
    x, y = data()
    optimizer = keras.optimizers.LossScaleOptimizer(Lookahead(keras.optimizers.Adam(1e-2)))
    model.compile(optimizer=optimizer, loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_slow_weights_swap_and_callback():
    model = small_model(1)
    x, y = data(1)
    optimizer = Lookahead(keras.optimizers.Adam(1e-2), sync_period=4)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # 6 steps: mid-period
    fast = [to_numpy(v) for v in model.trainable_variables]
    slow = [to_numpy(v) for v in optimizer.slow_weights]
    assert any(not np.array_equal(f, s) for f, s in zip(fast, slow, strict=True))

    reference = small_model(1)
    reference.compile(loss="mse")
    reference.set_weights([to_numpy(v) for v in model.weights])
    for variable, value in zip(reference.trainable_variables, slow, strict=True):
        variable.assign(value)
    slow_loss = reference.evaluate(x, y, verbose=0)
    with optimizer.slow_weights_swapped_in():
        assert model.evaluate(x, y, verbose=0) == pytest.approx(slow_loss, rel=1e-6)
    for variable, value in zip(model.trainable_variables, fast, strict=True):
        np.testing.assert_array_equal(to_numpy(variable), value)

    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=1,
        shuffle=False,
        verbose=0,
        validation_data=(x, y),
        callbacks=[SlowWeightsEvaluation()],
    )
    slow_now = [to_numpy(v) for v in optimizer.slow_weights]
    for variable, value in zip(reference.trainable_variables, slow_now, strict=True):
        variable.assign(value)
    assert history.history["val_loss"][0] == pytest.approx(
        reference.evaluate(x, y, verbose=0), rel=1e-5
    )


def test_config_round_trip():
    inner = keras.optimizers.AdamW(3e-3, weight_decay=0.02, clipnorm=1.0)
    optimizer = Lookahead(inner, sync_period=7, slow_step_size=0.3, reset_state=True, name="la")
    config = keras.saving.serialize_keras_object(optimizer)
    clone = keras.saving.deserialize_keras_object(config)
    assert isinstance(clone, Lookahead)
    assert (clone.sync_period, clone.slow_step_size, clone.reset_state, clone.name) == (
        7,
        0.3,
        True,
        "la",
    )
    assert isinstance(clone.inner_optimizer, keras.optimizers.AdamW)
    assert clone.inner_optimizer.get_config() == inner.get_config()


def test_checkpoint_equivalence(tmp_path):
    n = 5  # not a multiple of the sync period: the save happens mid-period
    x, y = data(2, rows=2 * n * 8)

    def make():
        model = small_model(3)
        model.compile(optimizer=Lookahead(keras.optimizers.Adam(1e-2), sync_period=3), loss="mse")
        return model

    straight = make()
    straight.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    half = make()
    half.fit(x[: 8 * n], y[: 8 * n], batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "lookahead.keras"
    half.save(path)
    resumed = keras.saving.load_model(path)
    assert isinstance(resumed.optimizer, Lookahead)
    resumed.fit(x[8 * n :], y[8 * n :], batch_size=8, epochs=1, shuffle=False, verbose=0)

    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables, strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6)
    for a, b in zip(straight.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(optimizer="adam"), TypeError, "`optimizer` must be a keras.optimizers.Optimizer"),
        (dict(sync_period=0), ValueError, "`sync_period` must be a positive integer; received 0"),
        (dict(sync_period=2.5), TypeError, "`sync_period` must be a positive integer; received 2"),
        (
            dict(slow_step_size=0.0),
            ValueError,
            r"`slow_step_size` must be a finite number > 0.0 and <= 1.0; received 0.0",
        ),
        (dict(slow_step_size=1.5), ValueError, r"`slow_step_size` must be .* <= 1.0; received 1.5"),
        (dict(reset_state=1), TypeError, r"`reset_state` must be True or False; received 1"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    kwargs = {"optimizer": keras.optimizers.Adam(), **kwargs}
    with pytest.raises(error, match=match):
        Lookahead(**kwargs)


def test_built_inner_optimizer_is_refused():
    inner = keras.optimizers.Adam()
    inner.build([keras.Variable(np.zeros(3, "float32"))])
    with pytest.raises(ValueError, match="must not be built"):
        Lookahead(inner)


def test_callback_without_lookahead_errors():
    model = small_model()
    x, y = data()
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    with pytest.raises(ValueError, match="has no Lookahead"):
        model.fit(
            x, y, epochs=1, validation_data=(x, y), callbacks=[SlowWeightsEvaluation()], verbose=0
        )


@pytest.mark.skipif(BACKEND != "jax", reason="optax reference runs on JAX")
@pytest.mark.parametrize("k,alpha", [(5, 0.5), (4, 0.7)])
def test_trajectory_matches_optax_lookahead(k, alpha):
    import jax.numpy as jnp
    import optax

    a, b, w0 = problem(4)
    steps = 60
    reference = optax.lookahead(optax.adam(LR, b1=B1, b2=B2, eps=EPS), k, alpha)
    params = optax.LookaheadParams.init_synced(jnp.asarray(w0))
    state = reference.init(params)
    optimizer = Lookahead(keras.optimizers.Adam(LR, beta_1=B1, beta_2=B2, epsilon=EPS), k, alpha)
    w = keras.Variable(w0)
    for t in range(1, steps + 1):
        optax_slow_before = np.asarray(params.slow)
        slow_before = to_numpy(optimizer.slow_weights[0]) if optimizer.built else w0
        grad = gradient(a, b, np.asarray(params.fast))
        updates, state = reference.update(jnp.asarray(grad), state, params)
        params = optax.apply_updates(params, updates)
        step(optimizer, [ops.convert_to_tensor(gradient(a, b, to_numpy(w)))], [w], jit=True)
        np.testing.assert_allclose(
            to_numpy(w), params.fast, rtol=1e-4, atol=1e-5, err_msg=f"fast, step {t}"
        )
        np.testing.assert_allclose(
            to_numpy(optimizer.slow_weights[0]),
            params.slow,
            rtol=1e-4,
            atol=1e-5,
            err_msg=f"slow, step {t}",
        )
        synced_optax = not np.array_equal(np.asarray(params.slow), optax_slow_before)
        synced_here = not np.array_equal(to_numpy(optimizer.slow_weights[0]), slow_before)
        assert synced_optax == synced_here == (t % k == 0), f"sync timing differs at step {t}"


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.function custom loop")
def test_tf_function_custom_loop_matches_numpy_reference():
    import tensorflow as tf

    a, b, w0 = problem(5)
    k, alpha, steps = 5, 0.5, 50
    reference = numpy_lookahead_adam(a, b, w0, steps, k, alpha)
    optimizer = Lookahead(keras.optimizers.Adam(LR, epsilon=EPS), k, alpha)
    w = keras.Variable(w0)
    a_t, b_t = tf.constant(a), tf.constant(b)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = 0.5 * tf.reduce_sum(tf.square(tf.matmul(a_t, w.value) - b_t))
        optimizer.apply(tape.gradient(loss, [w.value]), [w])

    for t in range(steps):
        train_step()
        np.testing.assert_allclose(to_numpy(w), reference[t][0], rtol=2e-4, atol=2e-5)


@pytest.mark.skipif(BACKEND != "torch", reason="torch autograd custom loop")
def test_torch_autograd_custom_loop_matches_numpy_reference():
    import torch

    a, b, w0 = problem(6)
    k, alpha, steps = 5, 0.5, 50
    reference = numpy_lookahead_adam(a, b, w0, steps, k, alpha)
    optimizer = Lookahead(keras.optimizers.Adam(LR, epsilon=EPS), k, alpha)
    w = keras.Variable(w0)
    a_t, b_t = torch.tensor(a), torch.tensor(b)
    for t in range(steps):
        loss = 0.5 * ((a_t @ w.value - b_t) ** 2).sum()
        w.value.grad = None
        loss.backward()
        with torch.no_grad():
            optimizer.apply([w.value.grad], [w])
        np.testing.assert_allclose(to_numpy(w), reference[t][0], rtol=2e-4, atol=2e-5)

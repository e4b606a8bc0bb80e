"""Lazy / LazyAdam: NumPy reference of TFA LazyAdam, the article's step mask, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from kexue.optimizers import Lazy, LazyAdam, Lookahead

pytestmark = pytest.mark.backend

BACKEND = keras.backend.backend()
LR, B1, B2, EPS = 0.01, 0.9, 0.999, 1e-7
ROWS, DIM = 20, 4


def to_numpy(x) -> np.ndarray:
    if isinstance(x, keras.Variable):
        x = x.value
    return np.asarray(ops.convert_to_numpy(x))


_JITTED = {}


def step(optimizer, grads, variables):
    """`apply`, or on JAX a jitted `stateless_apply` (the JAX trainer's path)."""
    if BACKEND != "jax":
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


def batches(steps: int, seed: int = 0):
    """Per step: the row indices present (with duplicates) and dense gradients.

    The embedding gradient is the sum of per-occurrence gradients (duplicates summed), zero
    on absent rows; rows 15..19 never occur.
    """
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        indices = rng.integers(0, 15, size=6)
        per_occurrence = rng.normal(size=(6, DIM)).astype("float32")
        embedding_grad = np.zeros((ROWS, DIM), "float32")
        np.add.at(embedding_grad, indices, per_occurrence)
        dense_grad = rng.normal(size=(DIM, 3)).astype("float32")
        yield indices, per_occurrence, embedding_grad, dense_grad


def numpy_tfa_lazy_adam(var, steps_data):
    """TF Addons LazyAdam (``_resource_apply_sparse``), row by row, float64."""
    var = var.astype("float64")
    m = np.zeros_like(var)
    v = np.zeros_like(var)
    for t, (indices, per_occurrence, _, _) in enumerate(steps_data, start=1):
        lr_t = LR * np.sqrt(1 - B2**t) / (1 - B1**t)
        rows = {}
        for i, g in zip(indices, per_occurrence, strict=True):  # duplicate indices are summed
            rows[int(i)] = rows.get(int(i), 0.0) + g.astype("float64")
        for i, g in rows.items():
            m[i] = B1 * m[i] + (1 - B1) * g
            v[i] = B2 * v[i] + (1 - B2) * g * g
            var[i] = var[i] - lr_t * m[i] / (np.sqrt(v[i]) + EPS)
    return var, m, v


def numpy_step_mask_adam(var, steps_data):
    """The article's rule: Adam moments everywhere, parameter step only where g != 0."""
    var = var.astype("float64")
    m = np.zeros_like(var)
    v = np.zeros_like(var)
    for t, (_, _, g, _) in enumerate(steps_data, start=1):
        g = g.astype("float64")
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * g * g
        present = np.any(g != 0, axis=-1, keepdims=True)
        update = LR * np.sqrt(1 - B2**t) / (1 - B1**t) * m / (np.sqrt(v) + EPS)
        var = var - np.where(present, update, 0.0)
    return var, m, v


def make_variables(seed: int = 0):
    rng = np.random.default_rng(seed)
    embeddings = keras.Variable(rng.normal(size=(ROWS, DIM)).astype("float32"), name="embeddings")
    kernel = keras.Variable(rng.normal(size=(DIM, 3)).astype("float32"), name="kernel")
    return embeddings, kernel


def slot(optimizer, reference, kind):
    inner = optimizer.inner_optimizer
    return (
        inner._momentums[inner._get_variable_index(reference)]
        if kind == "m"
        else (inner._velocities[inner._get_variable_index(reference)])
    )


def train_beside_plain(optimizer, plain, steps_data, embeddings, kernel):
    """Step ``optimizer`` on (embeddings, kernel) and ``plain`` on a copy of the kernel
    alone; returns the copy (the kernel as the bare inner optimizer would leave it)."""
    kernel_plain = keras.Variable(to_numpy(kernel), name="kernel")
    for _, _, g_embeddings, g_dense in steps_data:
        step(
            optimizer,
            [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
            [embeddings, kernel],
        )
        step(plain, [ops.convert_to_tensor(g_dense)], [kernel_plain])
    return kernel_plain


class SubclassedAdam(keras.optimizers.Adam):
    """Not exactly Adam, so Lazy takes its generic snapshot-and-restore path."""


@pytest.mark.parametrize("how", ["LazyAdam", "Lazy(Adam)", "Lazy(generic)"])
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_lazy_adam_matches_numpy_reference(mode, how):
    steps_data = list(batches(12))
    embeddings, kernel = make_variables()
    start = to_numpy(embeddings)
    if how == "LazyAdam":  # masks fused into Adam's update
        optimizer = LazyAdam(LR, mode=mode)
    elif how == "Lazy(Adam)":  # a plain Adam is the template of the same fused update
        adam = keras.optimizers.Adam(LR)
        optimizer = Lazy(adam, mode=mode)
        # The wrapper runs its own copy built from the config; `adam` itself stays unused.
        assert optimizer.inner_optimizer is not adam
        assert isinstance(optimizer.inner_optimizer, keras.optimizers.Adam)
        assert optimizer.inner_optimizer.get_config() == adam.get_config()
    else:  # the generic wrapper: snapshot, inner step, restore absent rows
        adam = SubclassedAdam(LR)
        optimizer = Lazy(adam, mode=mode)
        assert optimizer.inner_optimizer is adam  # wrapped and delegated to as given
    # The fused copy is an Adam subclass too, so on torch every route runs Keras' generic
    # Adam `update_step`, not the `_foreach` one: compare like with like.
    plain = SubclassedAdam(LR)
    kernel_plain = train_beside_plain(optimizer, plain, steps_data, embeddings, kernel)
    reference = numpy_tfa_lazy_adam if mode == "sparse" else numpy_step_mask_adam
    want_var, want_m, want_v = reference(start, steps_data)
    np.testing.assert_allclose(to_numpy(embeddings), want_var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(slot(optimizer, embeddings, "m")), want_m, atol=1e-6)
    np.testing.assert_allclose(to_numpy(slot(optimizer, embeddings, "v")), want_v, atol=1e-6)
    # Never-seen rows never move; the non-embedding variable follows plain Adam exactly.
    np.testing.assert_array_equal(to_numpy(embeddings)[15:], start[15:])
    np.testing.assert_array_equal(to_numpy(kernel), to_numpy(kernel_plain))


def test_sparse_absent_rows_bit_identical_each_step():
    embeddings, kernel = make_variables(1)
    optimizer = LazyAdam(LR, mode="sparse")
    for indices, _, g_embeddings, g_dense in batches(8, seed=1):
        tracked = [
            embeddings,
            slot_or_none(optimizer, embeddings, "m"),
            slot_or_none(optimizer, embeddings, "v"),
        ]
        before = [to_numpy(x) if x is not None else None for x in tracked]
        step(
            optimizer,
            [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
            [embeddings, kernel],
        )
        absent = np.setdiff1d(np.arange(ROWS), indices)
        present = np.unique(indices)
        after_var = to_numpy(embeddings)
        np.testing.assert_array_equal(after_var[absent], before[0][absent])
        assert (after_var[present] != before[0][present]).all(axis=-1).all()
        for x, old in zip(tracked[1:], before[1:], strict=True):
            if old is not None:
                np.testing.assert_array_equal(to_numpy(x)[absent], old[absent])


def slot_or_none(optimizer, reference, kind):
    return slot(optimizer, reference, kind) if optimizer.built else None


def test_step_mode_moves_moments_of_absent_rows_but_not_the_rows():
    embeddings, kernel = make_variables(2)
    optimizer = LazyAdam(LR, mode="step")
    data = list(batches(3, seed=2))
    for _, _, g_embeddings, g_dense in data[:2]:
        step(
            optimizer,
            [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
            [embeddings, kernel],
        )
    indices, _, g_embeddings, g_dense = data[2]
    seen_before = np.unique(np.concatenate([d[0] for d in data[:2]]))
    absent_now = np.setdiff1d(seen_before, indices)
    assert absent_now.size
    m_before = to_numpy(slot(optimizer, embeddings, "m"))
    var_before = to_numpy(embeddings)
    step(
        optimizer,
        [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
        [embeddings, kernel],
    )
    m_after = to_numpy(slot(optimizer, embeddings, "m"))
    np.testing.assert_allclose(m_after[absent_now], B1 * m_before[absent_now], rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(embeddings)[absent_now], var_before[absent_now])


MOMENTUM = 0.9


def numpy_lazy_sgd(var, steps_data, momentum, nesterov, mode):
    """Keras SGD's rule, float64, on present rows only ("sparse") or with only the
    parameter step masked ("step"); a row is present when its summed gradient is non-zero."""
    var = var.astype("float64")
    m = np.zeros_like(var)
    for _, _, g, _ in steps_data:
        g = g.astype("float64")
        present = np.any(g != 0, axis=-1, keepdims=True)
        new_m = momentum * m - LR * g
        step = (momentum * new_m - LR * g) if nesterov else new_m
        m = np.where(present, new_m, m) if mode == "sparse" else new_m
        var = var + np.where(present, step, 0.0)
    return var, m


class SubclassedSGD(keras.optimizers.SGD):
    """Not exactly SGD, so Lazy takes its generic snapshot-and-restore path."""


class SubclassedRMSprop(keras.optimizers.RMSprop):
    """Not exactly RMSprop (whose plain instances Lazy fuses): the generic path."""


@pytest.mark.parametrize("route", ["fused", "generic"])
@pytest.mark.parametrize("momentum,nesterov", [(MOMENTUM, False), (MOMENTUM, True), (0.0, False)])
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_lazy_sgd_matches_numpy_reference(mode, momentum, nesterov, route):
    steps_data = list(batches(10, seed=6))
    embeddings, kernel = make_variables(6)
    start = to_numpy(embeddings)
    cls = keras.optimizers.SGD if route == "fused" else SubclassedSGD
    sgd = cls(LR, momentum=momentum, nesterov=nesterov)
    optimizer = Lazy(sgd, mode=mode)
    inner = optimizer.inner_optimizer
    assert isinstance(inner, keras.optimizers.SGD)
    # Fused: a copy built from the config (the template stays unused); generic: as given.
    assert (inner is sgd) == (route == "generic")
    # Both routes run Keras' generic SGD `update_step` for the other variables (on torch
    # not the `_foreach` one, which rounds differently): compare like with like.
    plain = SubclassedSGD(LR, momentum=momentum, nesterov=nesterov)
    kernel_plain = train_beside_plain(optimizer, plain, steps_data, embeddings, kernel)
    want_var, want_m = numpy_lazy_sgd(start, steps_data, momentum, nesterov, mode)
    np.testing.assert_allclose(to_numpy(embeddings), want_var, rtol=1e-5, atol=1e-6)
    if momentum:
        inner = optimizer.inner_optimizer
        m = inner.momentums[inner._get_variable_index(embeddings)]
        np.testing.assert_allclose(to_numpy(m), want_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(embeddings)[15:], start[15:])
    np.testing.assert_array_equal(to_numpy(kernel), to_numpy(kernel_plain))


@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_lazy_sgd_bit_equal_to_keras_sgd_where_it_should_be(mode):
    """First step: present rows equal Keras' own SGD bit for bit and absent rows do not
    move; in "step" mode the momentum equals Keras' on every row at every step."""
    embeddings, kernel = make_variables(7)
    start = to_numpy(embeddings)
    twin = keras.Variable(start, name="embeddings")
    optimizer = Lazy(keras.optimizers.SGD(LR, momentum=MOMENTUM, nesterov=True), mode=mode)
    # Keras' generic SGD rule (on torch a subclass avoids the `_foreach` kernel, which adds
    # −lr·g and momentum·m to θ one after the other and so differs by 1 ulp).
    plain = SubclassedSGD(LR, momentum=MOMENTUM, nesterov=True)
    for t, (indices, _, g_embeddings, g_dense) in enumerate(batches(3, seed=7)):
        step(
            optimizer,
            [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
            [embeddings, kernel],
        )
        step(plain, [ops.convert_to_tensor(g_embeddings)], [twin])
        if t == 0:
            present = np.unique(indices)
            absent = np.setdiff1d(np.arange(ROWS), present)
            np.testing.assert_array_equal(to_numpy(embeddings)[present], to_numpy(twin)[present])
            np.testing.assert_array_equal(to_numpy(embeddings)[absent], start[absent])
        if mode == "step":
            inner = optimizer.inner_optimizer
            np.testing.assert_array_equal(
                to_numpy(inner.momentums[inner._get_variable_index(embeddings)]),
                to_numpy(plain.momentums[0]),
            )


@pytest.mark.parametrize(
    "make,fused",
    [
        (lambda: keras.optimizers.Adam(LR, beta_2=0.99), True),
        (lambda: keras.optimizers.SGD(LR, momentum=MOMENTUM, nesterov=True), True),
        (lambda: keras.optimizers.Adam(LR, amsgrad=True), False),
    ],
    ids=["Adam", "SGD", "Adam-amsgrad"],
)
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_callers_optimizer_is_not_mutated(make, fused, mode):
    """`Lazy(opt)` and training through it leave `opt` as it was: same class, same
    attributes (the same objects), same config, never built, no step counted."""
    optimizer = make()
    cls, attributes, config = type(optimizer), dict(vars(optimizer)), optimizer.get_config()
    lazy = Lazy(optimizer, mode=mode)
    assert (lazy.inner_optimizer is not optimizer) == fused
    embeddings, kernel = make_variables(8)
    for _, _, g_embeddings, g_dense in batches(3, seed=8):
        step(
            lazy,
            [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
            [embeddings, kernel],
        )
    if lazy.inner_optimizer is optimizer:  # the generic path wraps it, as LossScaleOptimizer
        assert type(optimizer) is cls and isinstance(optimizer, keras.optimizers.Adam)
        assert not isinstance(optimizer, Lazy) and optimizer.built  # built by delegation
        assert int(to_numpy(optimizer.iterations)) == 3
        return
    assert type(optimizer) is cls
    assert vars(optimizer).keys() == attributes.keys()
    for key, value in attributes.items():
        assert vars(optimizer)[key] is value, key
    assert optimizer.get_config() == config and not optimizer.built
    assert int(to_numpy(optimizer.iterations)) == 0
    assert int(to_numpy(lazy.iterations)) == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda: SubclassedRMSprop(0.05, momentum=0.5),
        lambda: keras.optimizers.Adagrad(0.05),
        lambda: keras.optimizers.Lion(0.01),
    ],
)
def test_lazy_wraps_other_optimizers_and_keeps_non_embeddings_exact(make):
    """The generic snapshot-and-restore path: seen rows move, never-seen rows do not, the
    other variable follows the bare optimizer exactly."""
    embeddings, kernel = make_variables(3)
    start = to_numpy(embeddings)
    optimizer = Lazy(make(), mode="sparse")
    data = list(batches(5, seed=3))
    kernel_plain = train_beside_plain(optimizer, make(), data, embeddings, kernel)
    np.testing.assert_array_equal(to_numpy(kernel), to_numpy(kernel_plain))
    np.testing.assert_array_equal(to_numpy(embeddings)[15:], start[15:])
    assert (to_numpy(embeddings)[:15] != start[:15]).any()
    assert optimizer.lazy_variable_paths == ["embeddings"]


def text_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            keras.layers.Embedding(40, 8, name="tokens"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(8, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="out"),
        ]
    )


def text_data(seed: int = 0, rows: int = 48):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 30, size=(rows, 6)).astype("int32")  # rows 30..39 never occur
    y = (x.mean(axis=1, keepdims=True) / 30.0).astype("float32")
    return x, y


@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_fit_keeps_unseen_rows_and_learns(mode):
    model = text_model()
    x, y = text_data()
    optimizer = LazyAdam(1e-2, mode=mode)
    model.compile(optimizer=optimizer, loss="mse")
    start = to_numpy(model.get_layer("tokens").embeddings)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    after = to_numpy(model.get_layer("tokens").embeddings)
    np.testing.assert_array_equal(after[30:], start[30:])
    assert (after[:30] != start[:30]).any(axis=-1).all()
    [path] = optimizer.lazy_variable_paths
    assert path.endswith("tokens/embeddings")


def test_name_patterns_choose_variables_and_composition_with_lookahead():
    model = text_model(1)
    x, y = text_data(1)
    optimizer = Lookahead(Lazy(keras.optimizers.Adam(1e-2), variables=[r"hidden/kernel$"]))
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    [path] = optimizer.inner_optimizer.lazy_variable_paths
    assert path.endswith("hidden/kernel")


def test_pattern_matching_nothing_errors():
    model = text_model()
    x, y = text_data()
    model.compile(optimizer=LazyAdam(variables="no_such_layer"), loss="mse")
    with pytest.raises(ValueError, match="'no_such_layer' in argument `variables` matches no"):
        model.fit(x, y, epochs=1, verbose=0)


def test_no_embedding_warns():
    optimizer = LazyAdam()
    with pytest.warns(UserWarning, match="no variable named 'embeddings'"):
        optimizer.build([keras.Variable(np.zeros((3, 2), "float32"), name="kernel")])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(optimizer=object()), "`optimizer` must be a keras.optimizers.Optimizer"),
        (dict(mode="dense"), r"`mode` must be one of 'sparse', 'step'; received 'dense'"),
        (dict(variables=3), "`variables` must be None, a regular expression string"),
        (dict(variables="("), "`variables` holds an invalid regular expression"),
        (
            dict(optimizer=keras.optimizers.Adam(gradient_accumulation_steps=2)),
            "must not use `gradient_accumulation_steps`",
        ),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"optimizer": keras.optimizers.Adam(), **kwargs}
    wrong_type = not isinstance(kwargs["optimizer"], keras.optimizers.Optimizer)
    error = TypeError if wrong_type else ValueError
    with pytest.raises(error, match=match):
        Lazy(**kwargs)


@pytest.mark.parametrize("which", ["LazyAdam", "Lazy(AdamW)"])
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_weight_decay_does_not_move_absent_rows(which, mode):
    embeddings, kernel = make_variables(4)
    start = to_numpy(embeddings)
    if which == "LazyAdam":
        optimizer = LazyAdam(LR, weight_decay=0.5, mode=mode)
    else:
        optimizer = Lazy(keras.optimizers.AdamW(LR, weight_decay=0.5), mode=mode)
    seen = set()
    for indices, _, g_embeddings, g_dense in batches(4, seed=4):
        seen.update(int(i) for i in indices)
        step(
            optimizer,
            [ops.convert_to_tensor(g_embeddings), ops.convert_to_tensor(g_dense)],
            [embeddings, kernel],
        )
    never = sorted(set(range(ROWS)) - seen)
    np.testing.assert_array_equal(to_numpy(embeddings)[never], start[never])
    assert (to_numpy(embeddings)[sorted(seen)] != start[sorted(seen)]).all()


def test_config_round_trip():
    optimizer = LazyAdam(2e-3, beta_1=0.8, epsilon=1e-6, mode="step", variables=["tok"])
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert isinstance(clone, LazyAdam)
    assert (clone.mode, clone.lazy_variables) == ("step", ["tok"])
    config, expected = clone.inner_optimizer.get_config(), optimizer.inner_optimizer.get_config()
    config.pop("name"), expected.pop("name")
    assert config == expected
    fused = Lazy(keras.optimizers.Adam(3e-3, beta_2=0.99), mode="step")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(fused))
    assert isinstance(clone.inner_optimizer, keras.optimizers.Adam)
    assert fused.get_config()["optimizer"]["class_name"] == "Adam"
    assert float(clone.inner_optimizer.beta_2) == 0.99
    sgd = Lazy(keras.optimizers.SGD(1e-2, momentum=0.8, nesterov=True))
    assert sgd.get_config()["optimizer"]["class_name"] == "SGD"
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(sgd))
    assert isinstance(clone.inner_optimizer, keras.optimizers.SGD)
    assert float(clone.inner_optimizer.momentum) == 0.8 and clone.inner_optimizer.nesterov
    wrapped = Lazy(keras.optimizers.RMSprop(1e-3), mode="sparse")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(wrapped))
    assert isinstance(clone.inner_optimizer, keras.optimizers.RMSprop)


@pytest.mark.parametrize("make", [lambda: LazyAdam(1e-2), lambda: Lookahead(LazyAdam(1e-2), 3)])
def test_checkpoint_equivalence(tmp_path, make):
    n = 5
    x, y = text_data(2, rows=2 * n * 8)

    def fresh():
        model = text_model(3)
        model.compile(optimizer=make(), loss="mse")
        return model

    straight = fresh()
    straight.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    half = fresh()
    half.fit(x[: 8 * n], y[: 8 * n], batch_size=8, epochs=1, shuffle=False, verbose=0)
    half.save(tmp_path / "lazy.keras")
    resumed = keras.saving.load_model(tmp_path / "lazy.keras")
    resumed.fit(x[8 * n :], y[8 * n :], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(straight.optimizer.variables, resumed.optimizer.variables, strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6)
    for a, b in zip(straight.weights, resumed.weights, strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6)


def train_on_tf_slices(optimizer, embeddings, kernel, steps_data) -> None:
    """TensorFlow: a `tf.function` step whose embedding gradient is `tf.IndexedSlices`."""
    import tensorflow as tf

    seen_types = []

    @tf.function
    def train_step(indices, weights):
        with tf.GradientTape() as tape:
            rows = tf.gather(embeddings.value, indices)  # duplicates: gradients are summed
            loss = tf.reduce_sum(rows * weights) + tf.reduce_sum(kernel.value) * 0.0
        grads = tape.gradient(loss, [embeddings.value, kernel.value])
        seen_types.append(type(grads[0]).__name__)
        optimizer.apply(grads, [embeddings, kernel])

    for indices, per_occurrence, _, _ in steps_data:
        train_step(tf.constant(indices, tf.int32), tf.constant(per_occurrence))
    assert seen_types and set(seen_types) == {"IndexedSlices"}


@pytest.mark.skipif(BACKEND != "tensorflow", reason="IndexedSlices are TensorFlow's")
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_tf_indexed_slices_in_tf_function_match_tfa_reference(mode):
    steps_data = list(batches(10, seed=4))
    embeddings, kernel = make_variables(4)
    start = to_numpy(embeddings)
    optimizer = LazyAdam(LR, mode=mode)
    train_on_tf_slices(optimizer, embeddings, kernel, steps_data)
    reference = numpy_tfa_lazy_adam if mode == "sparse" else numpy_step_mask_adam
    want_var, want_m, want_v = reference(start, steps_data)
    np.testing.assert_allclose(to_numpy(embeddings), want_var, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(slot(optimizer, embeddings, "m")), want_m, atol=1e-6)
    np.testing.assert_allclose(to_numpy(slot(optimizer, embeddings, "v")), want_v, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(embeddings)[15:], start[15:])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="IndexedSlices are TensorFlow's")
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_tf_indexed_slices_lazy_sgd_in_tf_function(mode):
    steps_data = list(batches(8, seed=9))
    embeddings, kernel = make_variables(9)
    start = to_numpy(embeddings)
    optimizer = Lazy(keras.optimizers.SGD(LR, momentum=MOMENTUM), mode=mode)
    train_on_tf_slices(optimizer, embeddings, kernel, steps_data)
    want_var, want_m = numpy_lazy_sgd(start, steps_data, MOMENTUM, False, mode)
    np.testing.assert_allclose(to_numpy(embeddings), want_var, rtol=1e-5, atol=1e-6)
    inner = optimizer.inner_optimizer
    m = inner.momentums[inner._get_variable_index(embeddings)]
    np.testing.assert_allclose(to_numpy(m), want_m, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(embeddings)[15:], start[15:])


@pytest.mark.skipif(BACKEND != "torch", reason="torch autograd custom loop")
def test_torch_autograd_custom_loop():
    import torch

    model = text_model(5)
    x, y = text_data(5)
    optimizer = LazyAdam(1e-2, mode="sparse")
    start = to_numpy(model.get_layer("tokens").embeddings)
    variables = model.trainable_variables
    for i in range(0, 48, 8):
        for v in variables:
            v.value.grad = None
        prediction = model(torch.tensor(x[i : i + 8]))
        loss = ((prediction - torch.tensor(y[i : i + 8])) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            optimizer.apply([v.value.grad for v in variables], variables)
    after = to_numpy(model.get_layer("tokens").embeddings)
    np.testing.assert_array_equal(after[30:], start[30:])
    assert (after[:30] != start[:30]).any()


def test_present_rows_rule():
    """A row is present when any entry is non-zero: negative-only and NaN rows count,
    rows of zeros and of negative zeros do not (the PyTorch path uses max and min)."""
    from kexue.optimizers.lazy import _present_rows

    grad = np.zeros((6, 3), "float32")
    grad[1] = [0.0, -2.0, 0.0]  # negative only
    grad[2] = [0.0, 0.0, 3.0]
    grad[3] = [-0.0, -0.0, -0.0]
    grad[4] = [np.nan, 0.0, 0.0]
    grad[5] = [1e-30, -1e-30, 0.0]
    variable = keras.Variable(np.zeros((6, 3), "float32"), name="embeddings")
    present = to_numpy(_present_rows(ops.convert_to_tensor(grad), variable))
    assert present.shape == (6, 1)
    np.testing.assert_array_equal(present[:, 0], [False, True, True, False, True, True])

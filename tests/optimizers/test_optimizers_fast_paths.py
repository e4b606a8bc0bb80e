"""Fused lazy RMSprop against NumPy, and the PyTorch fast paths against the keras.ops route.

The PyTorch route of the fused rules and of the generic snapshot path writes rows in place
(``kexue.optimizers._torch_rows``); the ``keras.ops`` route is the reference: both must
leave identical bits in the variables and every optimizer state, in both modes.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from kexue.optimizers import Lazy
from kexue.optimizers import lazy as lazy_module

pytestmark = pytest.mark.backend

BACKEND = keras.backend.backend()
ROWS, DIM = 30, 5


def to_numpy(x) -> np.ndarray:
    if isinstance(x, keras.Variable):
        x = x.value
    return np.asarray(ops.convert_to_numpy(x))


def gradients(steps: int, seed: int):
    """Dense embedding gradients (rows 20..29 never present) and a dense kernel gradient."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        grad = np.zeros((ROWS, DIM), "float32")
        rows = rng.choice(20, size=7, replace=False)
        grad[rows] = rng.normal(size=(7, DIM)).astype("float32")
        grad[rows[0], :2] = 0.0  # a present row with some exact zeros
        yield grad, rng.normal(size=(DIM, 2)).astype("float32")


def as_slices(dense: np.ndarray):
    """The dense gradient as tf.IndexedSlices with duplicate indices (as Embedding gives)."""
    import tensorflow as tf

    rows = np.flatnonzero(np.any(dense != 0, axis=1))
    indices = np.concatenate([rows, rows[:2]]).astype("int32")
    values = dense[indices].copy()
    values[len(rows) :] = 0.25 * dense[rows[:2]]  # the duplicate occurrences' share
    values[:2] = dense[rows[:2]] - values[len(rows) :]
    return tf.IndexedSlices(tf.constant(values), tf.constant(indices), tf.constant(dense.shape))


def run(make, mode: str, steps: int = 4, seed: int = 0, slices: bool = False):
    rng = np.random.default_rng(seed)
    embeddings = keras.Variable(rng.normal(size=(ROWS, DIM)).astype("float32"), name="embeddings")
    kernel = keras.Variable(rng.normal(size=(DIM, 2)).astype("float32"), name="kernel")
    optimizer = Lazy(make(), mode=mode)
    if slices:
        import tensorflow as tf

        apply = tf.function(lambda g, k: optimizer.apply([g, k], [embeddings, kernel]))
    for g_emb, g_kernel in gradients(steps, seed):
        grads = [ops.convert_to_tensor(g_emb), ops.convert_to_tensor(g_kernel)]
        if slices:
            apply(as_slices(g_emb), grads[1])
        elif BACKEND == "jax":
            if not optimizer.built:
                optimizer.build([embeddings, kernel])
            new_vars, new_state = optimizer.stateless_apply(
                [v.value for v in optimizer.variables], grads, [embeddings.value, kernel.value]
            )
            for variable, new in zip([embeddings, kernel], new_vars, strict=True):
                variable.assign(new)
            for variable, new in zip(optimizer.variables, new_state, strict=True):
                variable.assign(new)
        else:
            optimizer.apply(grads, [embeddings, kernel])
    return embeddings, kernel, optimizer


MAKERS = {
    "Adam": lambda: keras.optimizers.Adam(0.01),
    "SGD momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "SGD nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "SGD": lambda: keras.optimizers.SGD(0.05),
    "RMSprop": lambda: keras.optimizers.RMSprop(0.01),
    "RMSprop centered momentum": lambda: keras.optimizers.RMSprop(
        0.01, momentum=0.5, centered=True
    ),
    "Adagrad (generic path)": lambda: keras.optimizers.Adagrad(0.05),
    "Adam amsgrad (generic path)": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
}


@pytest.mark.skipif(BACKEND == "jax", reason="JAX has no fast path of its own")
@pytest.mark.parametrize("mode", ["sparse", "step"])
@pytest.mark.parametrize("name", list(MAKERS))
def test_fast_path_bit_identical_to_keras_ops_route(name, mode, monkeypatch):
    """PyTorch: in-place row writes (whole-table passes in blocks of 3 rows here, so
    several blocks and a short last one); TensorFlow: rows gathered by sparse reads of the
    variables, with IndexedSlices gradients in a tf.function (the trainer's path)."""
    slices = BACKEND == "tensorflow"
    if BACKEND == "torch":
        from kexue.optimizers import _torch_rows

        monkeypatch.setattr(_torch_rows, "_BLOCK_ELEMENTS", 3 * DIM + 1)
    fast = run(MAKERS[name], mode, slices=slices)
    previous = lazy_module._use_fast_paths(False)
    try:
        reference = run(MAKERS[name], mode, slices=slices)
    finally:
        lazy_module._use_fast_paths(previous)
    fused = not name.endswith("(generic path)")
    assert isinstance(fast[2].inner_optimizer, lazy_module._RowMasked) == fused
    for a, b in zip(fast[:2], reference[:2], strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    state_fast, state_ref = fast[2].variables, reference[2].variables
    assert len(state_fast) == len(state_ref) > 1
    for a, b in zip(state_fast, state_ref, strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=a.path)


@pytest.mark.skipif(BACKEND != "torch", reason="the in-place fast path is PyTorch's")
def test_torch_present_rows_match_reference_rule():
    from kexue.optimizers import _torch_rows

    grad = np.zeros((6, 3), "float32")
    grad[1, 2] = -0.5
    grad[3] = [np.nan, 0.0, 0.0]
    grad[4, 0] = 1e-40  # a subnormal is not zero
    variable = keras.Variable(np.zeros((6, 3), "float32"))
    mask = to_numpy(lazy_module._present_rows(ops.convert_to_tensor(grad), variable))[:, 0]
    rows = to_numpy(_torch_rows.present_row_indices(ops.convert_to_tensor(grad)))
    np.testing.assert_array_equal(rows, np.flatnonzero(mask))
    np.testing.assert_array_equal(rows, [1, 3, 4])


def numpy_rmsprop(var, grads, mode, lr, rho, eps, momentum, centered):
    """Keras' RMSprop in float64, lazy: "sparse" holds absent rows' state, "step" only θ."""
    var = var.astype("float64")
    s, a, m = np.zeros_like(var), np.zeros_like(var), np.zeros_like(var)
    for g in grads:
        g = g.astype("float64")
        present = np.any(g != 0, axis=1, keepdims=True)
        new_s = rho * s + (1 - rho) * g * g
        new_a = rho * a + (1 - rho) * g
        denominator = new_s - new_a**2 + eps if centered else new_s + eps
        increment = lr * g / np.sqrt(denominator)
        new_m = momentum * m + increment
        new_var = var - (new_m if momentum else increment)
        keep = present if mode == "sparse" else np.ones_like(present)
        s, a, m = (np.where(keep, new, old) for new, old in ((new_s, s), (new_a, a), (new_m, m)))
        var = np.where(present, new_var, var)
    return var, s


@pytest.mark.parametrize("mode", ["sparse", "step"])
@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, True)])
def test_fused_rmsprop_matches_numpy_and_keeps_absent_rows(mode, momentum, centered):
    def make():
        return keras.optimizers.RMSprop(0.01, rho=0.9, momentum=momentum, centered=centered)

    rng = np.random.default_rng(0)
    start = rng.normal(size=(ROWS, DIM)).astype("float32")
    embeddings, _, optimizer = run(make, mode, steps=5)
    assert isinstance(optimizer.inner_optimizer, lazy_module._RowMaskedRMSprop)
    grads = [g for g, _ in gradients(5, 0)]
    want_var, want_s = numpy_rmsprop(start, grads, mode, 0.01, 0.9, 1e-7, momentum, centered)
    np.testing.assert_allclose(to_numpy(embeddings), want_var, rtol=2e-5, atol=2e-6)
    inner = optimizer.inner_optimizer
    velocity = inner._velocities[inner._get_variable_index(embeddings)]
    np.testing.assert_allclose(to_numpy(velocity), want_s, rtol=2e-5, atol=1e-7)
    np.testing.assert_array_equal(to_numpy(embeddings)[20:], start[20:])


@pytest.mark.skipif(BACKEND == "jax", reason="PyTorch and TensorFlow fuse the sync")
def test_fused_lookahead_sync_equals_the_keras_ops_route():
    from kexue.optimizers import Lookahead
    from kexue.optimizers import lookahead as lookahead_module

    def trajectory():
        rng = np.random.default_rng(5)
        weights = keras.Variable(rng.normal(size=(8, 3)).astype("float32"))
        optimizer = Lookahead(keras.optimizers.Adam(0.05), sync_period=2, slow_step_size=0.3)
        for _ in range(5):
            grad = ops.convert_to_tensor(rng.normal(size=(8, 3)).astype("float32"))
            optimizer.apply([grad], [weights])
        return to_numpy(weights), to_numpy(optimizer.slow_weights[0])

    fast = trajectory()
    lookahead_module._KERAS_OPS_ONLY[0] = True
    try:
        reference = trajectory()
    finally:
        lookahead_module._KERAS_OPS_ONLY[0] = False
    for a, b in zip(fast, reference, strict=True):
        if BACKEND == "torch":  # the same operations in place: the same bits
            np.testing.assert_array_equal(a, b)
        else:  # TensorFlow's sync is XLA-fused (contracted multiply-adds): the last bit
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(fast[0], fast[1])  # step 5 is not a sync: fast != slow


@pytest.mark.skipif(BACKEND != "tensorflow", reason="XLA-compiled TensorFlow train step")
@pytest.mark.parametrize("mode", ["sparse", "step"])
def test_tensorflow_xla_train_step_equals_the_graph_step(mode):
    # the fast path takes variables out of copy-on-read mode after its row writes; XLA has
    # no such op (nor the mode), so under jit_compile the path must leave it out
    from kexue.optimizers import LazyAdam

    ids = np.random.default_rng(3).integers(0, 40, (64, 6))
    target = np.random.default_rng(4).normal(size=(64, 1)).astype("float32")
    weights = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((6,), dtype="int32"),
                                  keras.layers.Embedding(40, 4),
                                  keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
        model.compile(optimizer=LazyAdam(1e-2, mode=mode), loss="mse", jit_compile=jit)
        model.fit(ids, target, batch_size=16, epochs=2, shuffle=False, verbose=0)
        weights.append(to_numpy(model.layers[0].embeddings))
    np.testing.assert_allclose(weights[1], weights[0], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(BACKEND != "torch", reason="PyTorch in-place Lookahead sync")
def test_torch_lookahead_sync_of_a_large_table_is_blockwise_exact():
    # tables above one block (2**20 elements) are synchronised block by block; the result
    # must be the bits of φ + α(θ − φ) computed operation by operation, as float32 NumPy does
    import torch

    from kexue.optimizers import _torch_rows

    rng = np.random.default_rng(7)
    slow = rng.normal(size=(9000, 130)).astype("float32")  # 1.17 M elements: 2 blocks
    fast = rng.normal(size=(9000, 130)).astype("float32")
    alpha = np.float32(0.3)
    expected = slow + (fast - slow) * alpha
    s, f = torch.from_numpy(slow.copy()), torch.from_numpy(fast.copy())
    _torch_rows.lookahead_sync([s], [f], float(alpha))
    np.testing.assert_array_equal(s.numpy(), expected)
    np.testing.assert_array_equal(f.numpy(), expected)

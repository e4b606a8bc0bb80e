"""Padding invariance, property-based: every layer's valid outputs equal the unpadded run."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from keras import ops

import kexue.layers as kl

pytestmark = pytest.mark.backend

FEATURES = 4
ATOL = 1e-5


def to_numpy(x):
    return ops.convert_to_numpy(x)


def _floats(low: float, high: float):
    return st.floats(low, high, width=32, allow_subnormal=False)


@st.composite
def padded_batches(draw):
    """Three lengths (0 = an all-padding row), padded to 6 or 8 steps, with drawn values.

    The data itself is drawn (not a seed), so Hypothesis can shrink a failure to the smallest
    values. Few distinct shapes keep the eager per-shape compilation of JAX cheap.
    """
    lengths = draw(st.lists(st.integers(0, 6), min_size=3, max_size=3))
    steps = draw(st.sampled_from([6, 8]))
    shape = (len(lengths), steps, FEATURES)
    x = draw(arrays(np.float32, shape, elements=_floats(-3, 3)))
    garbage = draw(arrays(np.float32, shape, elements=_floats(-1e3, 1e3)))
    mask = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    # Garbage at padding positions: a mask-correct layer must never read it.
    x = np.where(mask[..., None], x, garbage)
    return {
        "lengths": lengths,
        "x": x,
        "mask": mask,
        "vector": draw(arrays(np.float32, (len(lengths), FEATURES), elements=_floats(-3, 3))),
        "sequence": draw(arrays(np.float32, shape, elements=_floats(-3, 3))),
        "ids": np.where(mask, draw(arrays(np.int32, mask.shape, elements=st.integers(1, 19))), 0),
        "words": draw(arrays(np.float32, mask.shape + (6,), elements=_floats(-3, 3))),
    }


def make_batch(lengths, steps, rng, features=FEATURES):
    x = rng.normal(size=(len(lengths), steps, features)).astype("float32")
    mask = np.arange(steps)[None, :] < np.asarray(lengths)[:, None]
    # Garbage at padding positions: a mask-correct layer must never read it.
    x[~mask] = 1e3 * rng.normal(size=(int((~mask).sum()), features))
    return x, mask


def sequence_layers():
    """(name, layer, runner(layer, tensors, mask) -> sequence output, extra inputs)."""
    return {
        "dgcnn": (kl.DilatedGatedConv1D(kernel_size=3, dilation_rate=2, seed=1), "x"),
        "dgcnn_projection": (kl.DilatedGatedConv1D(filters=6, dilation_rate=1), "x"),
        "conv_same": (kl.MaskedConv1D(5, 3, dilation_rate=2, activation="tanh"), "x"),
        "conv_causal": (kl.MaskedConv1D(5, 3, padding="causal"), "x"),
        "cln": (kl.ConditionalLayerNormalization(hidden_units=3), "x_cond"),
        "causal_attention": (kl.CausalCrossAttention(2, 3), "query_value"),
        "cross_attention": (kl.CausalCrossAttention(2, 3, causal=False), "query_value"),
        "add": (kl.MaskedAdd(), "x_vector"),
        "concatenate": (kl.MaskedConcatenate(), "x_vector"),
    }


SEQUENCE_LAYERS = sequence_layers()
POOLING_LAYERS = {
    "max": kl.MaskedGlobalMaxPooling1D(),
    "mean": kl.MaskedGlobalAveragePooling1D(),
    "attention": kl.AttentionPooling1D(units=5),
}


def run(layer, kind, x, mask, other):
    """Call ``layer`` on the batch ``x`` (``mask`` None = unpadded); ``other`` = extra input."""
    if kind == "x":
        return layer(x, mask=mask)
    if kind == "x_cond":
        return layer([x, other], mask=None if mask is None else [mask, None])
    if kind == "x_vector":
        return layer([x, other], mask=None if mask is None else [mask, None])
    if kind == "query_value":
        return layer(x, other, query_mask=mask, value_mask=mask)
    raise AssertionError(kind)


def extra_input(kind, batch):
    if kind in ("x_cond", "x_vector"):
        return batch["vector"]
    if kind == "query_value":
        return batch["sequence"].copy()
    return None


def row(other, i, length):
    if other is None:
        return None
    return other[i : i + 1, :length] if other.ndim == 3 else other[i : i + 1]


@pytest.mark.parametrize("name", sorted(SEQUENCE_LAYERS))
@settings(max_examples=10, deadline=None)
@given(batch=padded_batches())
def test_sequence_layer_padding_invariance(name, batch):
    layer, kind = SEQUENCE_LAYERS[name]
    lengths, x, mask = batch["lengths"], batch["x"], batch["mask"]
    other = extra_input(kind, batch)
    if kind == "query_value":
        other[~mask] = 1e3
    padded = to_numpy(run(layer, kind, x, mask, other))
    assert np.all(np.isfinite(padded))
    assert np.all(padded[~mask] == 0.0), "padding outputs must be exactly zero"
    for i, length in enumerate(lengths):
        if length == 0:
            continue
        alone = to_numpy(run(layer, kind, x[i : i + 1, :length], None, row(other, i, length)))
        np.testing.assert_allclose(padded[i, :length], alone[0], atol=ATOL, rtol=ATOL)


@pytest.mark.parametrize("name", sorted(POOLING_LAYERS))
@settings(max_examples=10, deadline=None)
@given(batch=padded_batches())
def test_pooling_padding_invariance(name, batch):
    layer = POOLING_LAYERS[name]
    lengths, x, mask = batch["lengths"], batch["x"], batch["mask"]
    pooled = to_numpy(layer(x, mask=mask))
    assert pooled.shape == (len(lengths), FEATURES)
    for i, length in enumerate(lengths):
        if length == 0:
            assert np.all(pooled[i] == 0.0), "an all-padding row pools to zeros"
            continue
        alone = to_numpy(layer(x[i : i + 1, :length]))
        np.testing.assert_allclose(pooled[i], alone[0], atol=ATOL, rtol=ATOL)


@settings(max_examples=10, deadline=None)
@given(batch=padded_batches())
def test_mixed_embedding_padding_invariance(batch):
    layer = MIXED
    lengths, mask, ids, words = batch["lengths"], batch["mask"], batch["ids"], batch["words"]
    padded = to_numpy(layer([ids, words]))
    assert np.all(padded[~mask] == 0.0)
    np.testing.assert_array_equal(to_numpy(layer.compute_mask([ids, words])), mask)
    for i, length in enumerate(lengths):
        if length:
            alone = to_numpy(layer([ids[i : i + 1, :length], words[i : i + 1, :length]]))
            np.testing.assert_allclose(padded[i, :length], alone[0], atol=ATOL, rtol=ATOL)


MIXED = kl.MixedEmbedding(20, FEATURES)


def test_all_padding_gradients_are_finite():
    """Backward through every layer with an all-padding row: no NaN in any gradient."""
    rng = np.random.default_rng(0)
    x, mask = make_batch([0, 3], 5, rng)
    vec = rng.normal(size=(2, FEATURES)).astype("float32")
    inputs = keras.Input((5, FEATURES))
    mask_in = keras.Input((5,), dtype="bool")
    vec_in = keras.Input((FEATURES,))
    h = kl.DilatedGatedConv1D()(inputs, mask=mask_in)
    h = kl.MaskedConv1D(FEATURES, 3)(h, mask=mask_in)
    h = kl.ConditionalLayerNormalization()([h, vec_in], mask=[mask_in, None])
    h = kl.CausalCrossAttention(2, 2)(h, h, query_mask=mask_in, value_mask=mask_in)
    h = kl.MaskedConcatenate()([h, vec_in], mask=[mask_in, None])
    pooled = ops.concatenate([
        kl.MaskedGlobalMaxPooling1D()(h, mask=mask_in),
        kl.MaskedGlobalAveragePooling1D()(h, mask=mask_in),
        kl.AttentionPooling1D()(h, mask=mask_in),
    ], axis=-1)
    model = keras.Model([inputs, mask_in, vec_in], pooled)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    target = np.ones((2, pooled.shape[-1]), "float32")
    model.train_on_batch([x, mask, vec], target)
    out = to_numpy(model([x, mask, vec]))
    assert np.all(np.isfinite(out))
    assert np.all(out[0] == 0.0)
    for weight in model.weights:
        assert np.all(np.isfinite(to_numpy(weight.value))), weight.path


def test_inf_and_nan_at_padding_never_reach_valid_outputs():
    rng = np.random.default_rng(4)
    x, mask = make_batch([3, 5], 6, rng)
    x[0, 3:] = np.nan
    x[1, 5] = np.inf
    for layer in (kl.DilatedGatedConv1D(dilation_rate=2), kl.MaskedConv1D(3, 3),
                  kl.MaskedGlobalMaxPooling1D(), kl.MaskedGlobalAveragePooling1D(),
                  kl.AttentionPooling1D()):
        out = to_numpy(layer(x, mask=mask))
        assert np.all(np.isfinite(out)), type(layer).__name__
        alone = to_numpy(layer(x[1:, :5]))
        np.testing.assert_allclose(out[1:, :5] if out.ndim == 3 else out[1:], alone,
                                   atol=ATOL, rtol=ATOL)

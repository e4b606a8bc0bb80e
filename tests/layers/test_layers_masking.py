"""Masking functions against NumPy references (np.ma and explicit loops)."""

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from keras import ops

import kexue.layers as kl

pytestmark = pytest.mark.backend


def to_numpy(x):
    return ops.convert_to_numpy(x)


@st.composite
def tensors_with_masks(draw):
    """x of rank 2-4 (small fixed sizes), a reduction axis >= 1, a (batch, len) mask."""
    shape = draw(st.sampled_from([(3, 5), (2, 4, 3), (2, 3, 4, 2)]))
    axis = draw(st.integers(1, len(shape) - 1))
    # The data itself is drawn (not a seed), so that Hypothesis can shrink a failure.
    x = draw(arrays(np.float32, shape,
                    elements=st.floats(-10, 10, width=32, allow_subnormal=False)))
    mask = draw(arrays(np.bool_, (shape[0], shape[axis])))
    mask[0] = False  # always one all-padding row
    return x, mask, axis


def numpy_mask(x, mask, axis):
    shape = [1] * x.ndim
    shape[0], shape[axis] = mask.shape
    return np.broadcast_to(mask.reshape(shape), x.shape)


@settings(max_examples=10, deadline=None)
@given(data=tensors_with_masks())
def test_reductions_match_numpy_masked_arrays(data):
    x, mask, axis = data
    full = numpy_mask(x, mask, axis)
    masked = np.ma.masked_array(x, mask=~full)
    empty = ~full.any(axis=axis)
    np.testing.assert_allclose(
        to_numpy(kl.masked_sum(x, mask, axis)), masked.sum(axis=axis).filled(0), atol=1e-4)
    np.testing.assert_allclose(
        to_numpy(kl.masked_mean(x, mask, axis)), masked.mean(axis=axis).filled(0), atol=1e-4)
    np.testing.assert_array_equal(
        to_numpy(kl.masked_max(x, mask, axis)), masked.max(axis=axis).filled(0))
    np.testing.assert_array_equal(
        to_numpy(kl.masked_min(x, mask, axis)), masked.min(axis=axis).filled(0))
    assert np.all(to_numpy(kl.masked_mean(x, mask, axis))[empty] == 0)
    kept = to_numpy(kl.masked_mean(x, mask, axis, keepdims=True))
    assert kept.shape == tuple(1 if d == axis else n for d, n in enumerate(x.shape))


@settings(max_examples=10, deadline=None)
@given(data=tensors_with_masks())
def test_softmax_matches_softmax_of_valid_entries(data):
    x, mask, axis = data
    weights = to_numpy(kl.masked_softmax(x, mask, axis=axis))
    full = numpy_mask(x, mask, axis)
    assert np.all(weights[~full] == 0.0)
    moved_x, moved_m = np.moveaxis(x, axis, -1), np.moveaxis(full, axis, -1)
    moved_w = np.moveaxis(weights, axis, -1)
    for index in np.ndindex(moved_x.shape[:-1]):
        valid = moved_m[index]
        if not valid.any():
            assert np.all(moved_w[index] == 0.0)
            continue
        logits = moved_x[index][valid].astype("float64")
        expected = np.exp(logits - logits.max())
        np.testing.assert_allclose(moved_w[index][valid], expected / expected.sum(), atol=1e-6)


def test_mean_example_from_the_article():
    x = np.array([[1.0, 0.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0]], "float32")
    mask = x != 0
    mask[0, 1] = True  # the 0 at position 1 is a real token
    assert float(to_numpy(kl.masked_mean(x, mask))[0]) == pytest.approx(2.6)
    assert float(np.mean(x)) == pytest.approx(1.625)


def test_masks_as_float_column_and_full_rank():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]])
    reference = to_numpy(kl.masked_max(x, mask.astype(bool)))
    np.testing.assert_array_equal(to_numpy(kl.masked_max(x, mask[..., None].astype("float32"))),
                                  reference)
    np.testing.assert_array_equal(to_numpy(kl.masked_max(x, np.repeat(mask[..., None], 3, -1))),
                                  reference)
    scores = rng.normal(size=(2, 4, 4)).astype("float32")
    attention = to_numpy(kl.causal_mask(4))[None] & (mask[:, None, :] == 1)
    weights = to_numpy(kl.masked_softmax(scores, attention, axis=-1))
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[~attention] == 0.0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_large_negative_is_safe_in_every_float_dtype(dtype):
    big = kl.large_number(dtype)
    np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    assert np.isfinite(np.array(-big, np_dtype))
    assert np.isfinite(np.array(-big, np_dtype) - np.array(100, np_dtype))
    x = ops.cast(np.array([[8.0, -5.0, 100.0, 3.0]], "float32"), dtype)
    mask = np.array([[True, True, False, False]])
    filled = to_numpy(ops.cast(kl.sequence_masking(x, mask, "-inf"), "float32"))
    assert np.all(np.isfinite(filled)) and filled[0, 2] < -1e4
    weights = to_numpy(ops.cast(kl.masked_softmax(x, mask), "float32"))
    np.testing.assert_allclose(weights[0], [1 / (1 + np.exp(-13.0)), np.exp(-13.0) /
                                            (1 + np.exp(-13.0)), 0, 0], rtol=1e-2, atol=1e-3)
    assert float(to_numpy(ops.cast(kl.masked_max(x, mask), "float32"))[0]) == 8.0
    assert float(to_numpy(ops.cast(kl.masked_max(x, ~mask & False), "float32"))[0]) == 0.0


def test_sequence_masking_values():
    x = np.ones((1, 3, 2), "float32")
    mask = np.array([[1, 0, 1]])
    assert to_numpy(kl.sequence_masking(x, mask))[0, 1].tolist() == [0.0, 0.0]
    assert to_numpy(kl.sequence_masking(x, mask, "inf"))[0, 1, 0] == 1e9
    assert to_numpy(kl.sequence_masking(x, mask, -7.0))[0, 1, 0] == -7.0
    # along axis 2: the mask runs over the last axis
    along = to_numpy(kl.sequence_masking(np.ones((1, 2, 3), "float32"), mask, 5.0, axis=2))
    assert along[0, :, 1].tolist() == [5.0, 5.0] and along[0, :, 0].tolist() == [1.0, 1.0]
    assert kl.sequence_masking(x, None) is not None


def test_padding_and_causal_masks():
    ids = np.array([[4, 9, 0], [0, 0, 0]])
    np.testing.assert_array_equal(to_numpy(kl.padding_mask(ids)), ids != 0)
    np.testing.assert_array_equal(to_numpy(kl.padding_mask(ids, pad_id=9)), ids != 9)
    np.testing.assert_array_equal(to_numpy(kl.causal_mask(4)), np.tril(np.ones((4, 4), bool)))
    np.testing.assert_array_equal(to_numpy(kl.causal_mask(2, 3)), np.tril(np.ones((2, 3), bool)))


def test_reverse_sequence_reverses_only_the_valid_prefix():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    lengths = [5, 2, 0]
    mask = np.arange(5)[None] < np.array(lengths)[:, None]
    reversed_ = to_numpy(kl.reverse_sequence(x, mask))
    for i, n in enumerate(lengths):
        np.testing.assert_array_equal(reversed_[i, :n], x[i, :n][::-1])
        np.testing.assert_array_equal(reversed_[i, n:], x[i, n:])
    np.testing.assert_array_equal(to_numpy(kl.reverse_sequence(reversed_, mask)), x)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: kl.masked_mean(x, np.ones((2, 5), bool)), r"must have shape \(2, 4\).*"
                                                             r"received shape \(2, 5\)"),
        (lambda x: kl.masked_softmax(x, np.ones((3, 4), bool), axis=1),
         r"must have shape \(2, 4\).*received shape \(3, 4\)"),
        (lambda x: kl.sequence_masking(x, np.ones((2, 4, 2), bool)),
         r"broadcastable to x's shape \(2, 4, 3\); received shape \(2, 4, 2\)"),
        (lambda x: kl.sequence_masking(x, np.ones((2, 4), bool), "big"), r"`value`"),
        (lambda x: kl.masked_max(x, np.ones((2, 4), bool), axis=3), r"`axis`.*received 3"),
        (lambda x: kl.reverse_sequence(np.ones(3), np.ones(3)), r"rank >= 2.*received shape"),
        (lambda x: kl.causal_mask(0), r"`query_length`"),
    ],
)
def test_bad_input_names_expected_and_received(call, message):
    x = np.zeros((2, 4, 3), "float32")
    with pytest.raises(ValueError, match=message):
        call(x)

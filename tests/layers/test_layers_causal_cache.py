"""CausalCrossAttention's key/value cache and step offset: step-by-step == whole sequence."""

import numpy as np
import pytest
from keras import ops

import kexue.layers as kl

pytestmark = pytest.mark.backend


def _np(x):
    return ops.convert_to_numpy(x)


def _data(seed=0, batch=3, steps=6, width=12):
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, steps, width)).astype("float32")
    value = rng.normal(size=(batch, steps, width)).astype("float32")
    return query, value


@pytest.mark.parametrize("value_dim,output_dim", [(None, None), (None, 7)])
def test_cached_steps_equal_whole_sequence(value_dim, output_dim):
    query, value = _data()
    layer = kl.CausalCrossAttention(3, 4, value_dim=value_dim, output_dim=output_dim)
    whole = _np(layer(query, value))
    cache = layer.init_cache(batch_size=3, max_length=6)
    for t in range(6):
        cache = layer.update_cache(cache, value[:, t:t + 1], t)
        step = _np(layer.call_cached(query[:, t:t + 1], cache, t))
        np.testing.assert_allclose(step[:, 0], whole[:, t], atol=1e-5)


def test_query_offset_equals_whole_sequence():
    query, value = _data(1)
    layer = kl.CausalCrossAttention(2, 4)
    whole = _np(layer(query, value))
    for t in range(6):
        step = _np(layer(query[:, t:t + 1], value, query_offset=t))
        np.testing.assert_allclose(step[:, 0], whole[:, t], atol=1e-5)


def test_precomputed_cache_equals_masked_cross_attention():
    query, value = _data(2)
    mask = np.ones((3, 6), bool)
    mask[0, 4:] = False
    mask[2, 1:] = False
    layer = kl.CausalCrossAttention(2, 4, causal=False)
    whole = _np(layer(query, value, value_mask=mask))
    cache = layer.precompute_cache(value, value_mask=mask)
    for t in range(6):
        step = _np(layer.call_cached(query[:, t:t + 1], cache))
        np.testing.assert_allclose(step[:, 0], whole[:, t], atol=1e-5)
    # several query steps at once, offset into a causal cache
    causal = kl.CausalCrossAttention(2, 4)
    whole = _np(causal(query, value))
    cache = causal.precompute_cache(value)
    np.testing.assert_allclose(_np(causal.call_cached(query[:, 2:5], cache, 2)), whole[:, 2:5],
                               atol=1e-5)


def test_unfilled_cache_positions_are_invisible():
    query, value = _data(3)
    layer = kl.CausalCrossAttention(2, 4)
    layer(query, value)
    cache = layer.init_cache(batch_size=3, max_length=6)
    cache = layer.update_cache(cache, value[:, :1], 0)
    # a query at position 4 sees only the one filled position, like attending over value[:, :1]
    expected = _np(layer(query[:, 4:5], value[:, :1], query_offset=4))
    np.testing.assert_allclose(_np(layer.call_cached(query[:, 4:5], cache, 4)), expected,
                               atol=1e-5)
    empty = layer.init_cache(batch_size=3, max_length=6)
    assert np.all(_np(layer.call_cached(query[:, :1], empty, 0)) == 0)

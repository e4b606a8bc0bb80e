"""Title models: cached step decoding == whole-sequence model, padding invariance,
.keras round trip, copy prior."""

import keras
import numpy as np
import pytest
from keras import ops

import kexue.layers as kl
from kexue.tasks.title.decode import TitleDecoder
from kexue.tasks.title.model import build_title_model

V = 30
TINY = dict(embedding_dim=8, encoder_units=4, decoder_units=8, attention_heads=2,
            attention_key_dim=4, hidden_units=8)


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(4, V, (3, 10)).astype("int32")
    source[1, 6:] = 0
    l2r = np.concatenate([np.full((3, 1), 2), rng.integers(4, V, (3, 5))], 1).astype("int32")
    r2l = np.concatenate([np.full((3, 1), 3), rng.integers(4, V, (3, 5))], 1).astype("int32")
    return source, l2r, r2l


@pytest.fixture(scope="module")
def bi_model():
    keras.utils.set_random_seed(1)
    return build_title_model(V, **TINY)


def _log_softmax(x):
    return ops.convert_to_numpy(ops.log_softmax(x, axis=-1))


@pytest.mark.parametrize("pairing", ["diagonal", "all"])
def test_cached_bidirectional_steps_equal_whole_model(bi_model, pairing):
    source, l2r, r2l = _batch()
    whole = bi_model({"source": source, "l2r_input": l2r, "r2l_input": r2l})
    decoder = TitleDecoder(bi_model)  # compiled steps (the unidirectional test runs eagerly)
    cache = decoder._encode(source, 1, 8)
    for t in range(l2r.shape[1]):
        a, b, cache = decoder.next_bidirectional(l2r, r2l, cache, t, beam=1, pairing=pairing)
        np.testing.assert_allclose(a, _log_softmax(whole["l2r"])[:, t], atol=1e-4)
        np.testing.assert_allclose(b, _log_softmax(whole["r2l"])[:, t], atol=1e-4)


def test_cached_unidirectional_steps_equal_whole_model():
    keras.utils.set_random_seed(2)
    model = build_title_model(V, directions=("r2l",), **TINY)
    source, _, r2l = _batch(1)
    whole = _log_softmax(model({"source": source, "r2l_input": r2l})["r2l"])
    decoder = TitleDecoder(model, compiled=False)
    cache = decoder._encode(source, 1, 8)
    for t in range(r2l.shape[1]):
        log_probs, cache = decoder.next_unidirectional(r2l, cache, t)
        np.testing.assert_allclose(log_probs, whole[:, t], atol=1e-4)


def test_kxk_partner_average_on_device_equals_the_host_average(bi_model):
    # the k×k step averages over live partners in float32 on the device; the search's
    # float64 host average (used for steps that return every pairing) is the reference
    source, _, _ = _batch(4)
    device = TitleDecoder(bi_model)
    host = TitleDecoder(bi_model)
    host.average_on_device = False
    a = device.generate(source, decoder="bi", beam=3, max_length=5, n_best=2)
    b = host.generate(source, decoder="bi", beam=3, max_length=5, n_best=2)
    assert [[h.tokens for h in hs] for hs in a] == [[h.tokens for h in hs] for hs in b]
    np.testing.assert_allclose([[h.score for h in hs] for hs in a],
                               [[h.score for h in hs] for hs in b], rtol=1e-5)


@pytest.mark.backend
def test_cached_encoder_attention_with_several_query_steps_equals_the_whole_call():
    # the decoders attend over one cached encoder row per source with all of the source's
    # hypotheses as query steps (non-causal); padding keys stay hidden
    rng = np.random.default_rng(5)
    query = rng.normal(size=(2, 3, 8)).astype("float32")
    value = rng.normal(size=(2, 6, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    layer = kl.CausalCrossAttention(2, 4, causal=False)
    whole = ops.convert_to_numpy(layer(query, value, value_mask=mask))
    cached = layer.call_cached(query, layer.precompute_cache(value, mask))
    np.testing.assert_allclose(ops.convert_to_numpy(cached), whole, atol=1e-5)


def test_encoder_padding_invariance(bi_model):
    source, l2r, r2l = _batch(2)
    longer = np.concatenate([source, np.zeros((3, 7), "int32")], axis=1)
    a = bi_model({"source": source, "l2r_input": l2r, "r2l_input": r2l})
    b = bi_model({"source": longer, "l2r_input": l2r, "r2l_input": r2l})
    for d in ("l2r", "r2l"):
        np.testing.assert_allclose(ops.convert_to_numpy(a[d]), ops.convert_to_numpy(b[d]),
                                   atol=1e-5)


@pytest.mark.slow
def test_keras_round_trip_gives_identical_generations(bi_model, tmp_path):
    source, _, _ = _batch(3)
    path = tmp_path / "model.keras"
    bi_model.save(path)
    loaded = keras.models.load_model(path)
    for decoder in ("bi", "sb-half"):
        before = TitleDecoder(bi_model).generate(source, decoder=decoder, beam=2, max_length=5)
        after = TitleDecoder(loaded).generate(source, decoder=decoder, beam=2, max_length=5)
        assert [h[0].tokens for h in before] == [h[0].tokens for h in after]
        assert [h[0].score for h in before] == pytest.approx([h[0].score for h in after])


def test_decoder_errors(bi_model):
    source, _, _ = _batch()
    with pytest.raises(ValueError, match="`beam` must be"):
        TitleDecoder(bi_model).generate(source, beam=0)
    uni = build_title_model(V, directions=("l2r",), **TINY)
    with pytest.raises(ValueError, match="needs a bidirectional model"):
        TitleDecoder(uni).generate(source, decoder="bi")
    with pytest.raises(ValueError, match="`directions`"):
        build_title_model(V, directions=("l2r", "l2r"))


def test_copy_prior_is_scale_shift_of_source_multi_hot():
    ids = np.array([[5, 7, 7, 0, 0], [0, 0, 0, 0, 0], [1, 2, 3, 9, 9]])
    layer = kl.CopyPrior(10)
    layer.build(ids.shape)
    layer.scale.assign(np.arange(10, dtype="float32"))
    layer.shift.assign(np.full(10, 0.5, "float32"))
    expected = np.zeros((3, 10), "float32")
    for row, tokens in enumerate(ids):
        for t in set(tokens.tolist()) - {0}:
            expected[row, t] = 1.0
    np.testing.assert_allclose(ops.convert_to_numpy(layer(ids)),
                               expected * np.arange(10) + 0.5)
    assert kl.CopyPrior.from_config(layer.get_config()).vocabulary_size == 10
    with pytest.raises(ValueError, match="`pad_id`"):
        kl.CopyPrior(4, pad_id=4)

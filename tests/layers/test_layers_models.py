"""Layers inside models: implicit masks, .keras round trips, mixed precision, bad input."""

import keras
import numpy as np
import pytest
from keras import ops

import kexue.layers as kl

pytestmark = pytest.mark.backend

VOCAB, WIDTH, STEPS = 30, 8, 7


def to_numpy(x):
    return ops.convert_to_numpy(x)


def token_ids(seed=0, lengths=(7, 4, 1, 0)):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, size=(len(lengths), STEPS))
    ids[np.arange(STEPS)[None] >= np.array(lengths)[:, None]] = 0
    return ids


def encoder(ids_input, embedding, question, blocks, explicit_mask=None):
    """DGCNN-style encoder; ``explicit_mask`` None means Keras' implicit masks."""
    kw = {} if explicit_mask is None else {"mask": explicit_mask}
    h = embedding(ids_input)
    for block in blocks[:2]:
        h = block(h, **kw)
    merge_kw = {} if explicit_mask is None else {"mask": [explicit_mask, None]}
    h = blocks[2]([h, question], **merge_kw)
    h = blocks[3](h, **kw)
    h = blocks[4]([h, question], **merge_kw)
    return ops.concatenate([blocks[5](h, **kw), blocks[6](h, **kw), blocks[7](h, **kw)], -1)


def make_blocks():
    return [
        kl.DilatedGatedConv1D(dilation_rate=1, seed=0),
        kl.DilatedGatedConv1D(dilation_rate=2, seed=0),
        kl.MaskedConcatenate(),
        kl.DilatedGatedConv1D(filters=WIDTH, dilation_rate=4, seed=0),
        kl.ConditionalLayerNormalization(),
        kl.MaskedGlobalMaxPooling1D(),
        kl.MaskedGlobalAveragePooling1D(),
        kl.AttentionPooling1D(),
    ]


def test_implicit_masks_equal_explicit_masks():
    ids_in = keras.Input((STEPS,), dtype="int32")
    q_in = keras.Input((WIDTH,))
    blocks = make_blocks()
    implicit_embedding = keras.layers.Embedding(VOCAB, WIDTH, mask_zero=True)
    implicit = keras.Model([ids_in, q_in],
                           encoder(ids_in, implicit_embedding, q_in, blocks))
    plain_embedding = keras.layers.Embedding(VOCAB, WIDTH)
    plain_embedding.build((None, STEPS))
    plain_embedding.set_weights(implicit_embedding.get_weights())
    explicit = keras.Model(
        [ids_in, q_in],
        encoder(ids_in, plain_embedding, q_in, blocks, explicit_mask=kl.padding_mask(ids_in)))
    ids = token_ids()
    question = np.random.default_rng(1).normal(size=(len(ids), WIDTH)).astype("float32")
    got, want = to_numpy(implicit([ids, question])), to_numpy(explicit([ids, question]))
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.all(got[-1] == 0.0), "an all-padding row pools to zeros"
    # and the unmasked model would differ: the masks really are in effect
    unmasked = keras.Model([ids_in, q_in], encoder(ids_in, plain_embedding, q_in, blocks))
    assert not np.allclose(to_numpy(unmasked([ids, question]))[1], got[1], atol=1e-4)


def all_layers_model():
    """Every layer, on sequences of unknown (dynamic) length."""
    ids_in = keras.Input((None,), dtype="int32")
    words_in = keras.Input((None, 5))
    q_in = keras.Input((WIDTH,))
    h = kl.MixedEmbedding(VOCAB, WIDTH, name="mixed")([ids_in, words_in])
    h = kl.DilatedGatedConv1D(filters=12, dilation_rate=2, name="dgcnn")(h)
    h = kl.MaskedConv1D(WIDTH, 3, activation="relu", name="conv")(h)
    h = kl.ConditionalLayerNormalization(hidden_units=4, name="cln")([h, q_in])
    h = kl.MaskedAdd(name="add")([h, q_in])
    h = kl.CausalCrossAttention(2, 4, name="attention")(h, h)
    h = kl.MaskedConcatenate(name="concat")([h, q_in])
    pooled = [kl.MaskedGlobalMaxPooling1D()(h), kl.MaskedGlobalAveragePooling1D()(h),
              kl.AttentionPooling1D(units=6)(h)]
    return keras.Model([ids_in, words_in, q_in], [h] + pooled)


def model_inputs(seed=0, scale=1.0):
    ids = token_ids(seed)
    rng = np.random.default_rng(seed)
    words = (scale * rng.normal(size=(len(ids), STEPS, 5))).astype("float32")
    question = (scale * rng.normal(size=(len(ids), WIDTH))).astype("float32")
    return [ids, words, question]


def test_keras_save_and_load_give_identical_outputs(tmp_path):
    model = all_layers_model()
    inputs = model_inputs()
    before = [to_numpy(y) for y in model(inputs)]
    path = tmp_path / "layers.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    after = [to_numpy(y) for y in loaded(inputs)]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(b, a)
    sequence = before[0]
    assert np.all(sequence[inputs[0] == 0] == 0.0)
    assert {type(layer).__module__.split(".")[0] for layer in loaded.layers} >= {"kexue"}


@pytest.mark.parametrize("layer", [
    kl.AttentionPooling1D(units=3, kernel_initializer="he_normal"),
    kl.CausalCrossAttention(4, 8, value_dim=6, dropout=0.1, use_bias=False, output_dim=10,
                            causal=False),
    kl.ConditionalLayerNormalization(epsilon=1e-5, center=False, hidden_units=7,
                                     hidden_activation="relu"),
    kl.DilatedGatedConv1D(filters=9, kernel_size=5, dilation_rate=3, gate_dropout=0.2,
                          seed=4, bias_initializer="ones"),
    kl.MaskedAdd(name="merge"),
    kl.MaskedConcatenate(),
    kl.MaskedConv1D(3, 2, dilation_rate=2, padding="causal", activation="gelu",
                    use_bias=False),
    kl.MaskedGlobalAveragePooling1D(keepdims=True),
    kl.MaskedGlobalMaxPooling1D(keepdims=True),
    kl.MixedEmbedding(50, 6, mask_zero=False, embeddings_initializer="normal"),
], ids=lambda layer: type(layer).__name__)
def test_get_config_round_trips_every_argument(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer) and revived.get_config() == config


def run_with_policy(policy, train):
    """Outputs (float32) of all_layers_model under ``policy``, same weights as in float32."""
    reference = all_layers_model()
    inputs = model_inputs(seed=3, scale=30.0)
    want = [to_numpy(y) for y in reference(inputs)]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = all_layers_model()
        model.set_weights(reference.get_weights())
        outputs = model(inputs)
        compute = policy.split("_")[1]
        assert all(keras.backend.standardize_dtype(y.dtype) == compute for y in outputs)
        got = [to_numpy(ops.cast(y, "float32")) for y in outputs]
        if train:
            model.compile(optimizer="sgd", loss="mse")
            loss = model.train_on_batch(inputs, [np.zeros_like(w) for w in want])
            assert np.all(np.isfinite(loss))
            assert all(np.all(np.isfinite(to_numpy(w.value))) for w in model.weights)
    finally:
        keras.config.set_dtype_policy(previous)
    return inputs, got, want


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_runs_without_overflow(policy):
    inputs, got, want = run_with_policy(policy, train=False)
    for g, w in zip(got, want, strict=True):
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, w, atol=0.15 * (1 + np.abs(w).max()))
    assert np.all(got[0][inputs[0] == 0] == 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_training_step_is_finite(policy):
    if keras.backend.backend() == "jax" and policy == "mixed_float16":
        pytest.skip("JAX on CPU cannot differentiate Keras' MultiHeadAttention in float16 "
                    "(dot_general precision F16_F16_F32 unsupported on CPU)")
    run_with_policy(policy, train=True)


def test_dropout_keeps_padding_zero_in_training():
    ids = token_ids()
    x = np.random.default_rng(0).normal(size=(len(ids), STEPS, WIDTH)).astype("float32")
    block = kl.DilatedGatedConv1D(gate_dropout=0.5, seed=3)
    y = to_numpy(block(x, mask=ids != 0, training=True))
    assert np.all(y[ids == 0] == 0.0)
    assert not np.allclose(y, to_numpy(block(x, mask=ids != 0, training=False)))


def test_bidirectional_rnn_matches_unpadded_runs():
    """Keras' Bidirectional starts the backward RNN at the last real token; so does
    reverse_sequence + a forward RNN."""
    rng = np.random.default_rng(5)
    lengths = [6, 3, 1]
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.arange(6)[None] < np.array(lengths)[:, None]
    rnn = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))
    padded = to_numpy(rnn(x, mask=mask))
    backward = keras.layers.GRU(3, return_sequences=True)
    manual = to_numpy(kl.reverse_sequence(backward(kl.reverse_sequence(x, mask), mask=mask),
                                          mask))
    for i, n in enumerate(lengths):
        alone = to_numpy(rnn(x[i : i + 1, :n]))
        np.testing.assert_allclose(padded[i, :n], alone[0], atol=1e-5)
        reverse_alone = to_numpy(backward(x[i : i + 1, :n][:, ::-1]))[0, ::-1]
        np.testing.assert_allclose(manual[i, :n], reverse_alone, atol=1e-5)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: kl.DilatedGatedConv1D()(np.zeros((2, 5), "float32")),
         r"dilated_gated_conv1d.*expected ndim=3, found ndim=2"),
        (lambda: kl.DilatedGatedConv1D()(np.zeros((2, 5, 3), "float32"),
                                         mask=np.ones((2, 4), bool)),
         r"`mask` must have shape \(2, 5\).*received shape \(2, 4\)"),
        (lambda: kl.MaskedGlobalMaxPooling1D()(np.zeros((2, 5, 3, 1), "float32")),
         r"expected ndim=3, found ndim=4"),
        (lambda: kl.AttentionPooling1D()(np.zeros((2, 5, 3), "float32"),
                                         mask=np.ones((3, 5), bool)),
         r"must have shape \(2, 5\).*received shape \(3, 5\)"),
        (lambda: kl.MaskedAdd()([np.zeros((2, 5, 3), "float32"), np.zeros((2, 5, 4), "float32")]),
         r"MaskedAdd: `inputs` must have equal feature dimensions"),
        (lambda: kl.MaskedConcatenate()([np.zeros((2, 5, 3), "float32"),
                                         np.zeros((2, 4, 4), "float32")]),
         r"must be sequences of one length; received shapes \[\(2, 5, 3\), \(2, 4, 4\)\]"),
        (lambda: kl.MaskedConcatenate()([np.zeros((2, 5, 3), "float32")]),
         r"must be a list of at least 2 tensors"),
        (lambda: kl.ConditionalLayerNormalization()([np.zeros((2, 5, 3), "float32"),
                                                     np.zeros((2, 5, 3), "float32")]),
         r"`inputs\[1\]` must be a rank-2 condition.*received shape \(2, 5, 3\)"),
        (lambda: kl.MixedEmbedding(10, 4)([np.zeros((2, 5), "int32"),
                                           np.zeros((2, 6, 3), "float32")]),
         r"one length; received shapes \(2, 5\) and \(2, 6, 3\)"),
        (lambda: kl.CausalCrossAttention(2, 4)(np.zeros((2, 5), "float32"),
                                               np.zeros((2, 5, 3), "float32")),
         r"`query` must be a rank-3.*received shape \(2, 5\)"),
        (lambda: kl.MaskedConv1D(3, 3, padding="valid"), r"`padding`.*received 'valid'"),
        (lambda: kl.DilatedGatedConv1D(gate_dropout=1.5), r"`gate_dropout`.*received 1.5"),
    ],
)
def test_bad_input_raises_value_error_with_shapes(build, message):
    with pytest.raises(ValueError, match=message):
        build()

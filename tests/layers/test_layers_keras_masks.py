"""Which Keras 3 layers keep or drop the mask: measured, and checked against docs/layers.md."""

import functools
import re
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

import kexue.layers as kl

pytestmark = pytest.mark.backend

DOCS = Path(__file__).resolve().parents[2] / "docs" / "layers.md"
STEPS, WIDTH = 6, 8

# name -> f(masked_sequence, unmasked_sequence) -> sequence; the table of docs/layers.md
CASES = {
    "Dense": lambda h, u: keras.layers.Dense(WIDTH)(h),
    "Conv1D": lambda h, u: keras.layers.Conv1D(WIDTH, 3, padding="same")(h),
    "Dropout": lambda h, u: keras.layers.Dropout(0.1)(h),
    "LayerNormalization": lambda h, u: keras.layers.LayerNormalization()(h),
    "Activation": lambda h, u: keras.layers.Activation("relu")(h),
    "TimeDistributed(Dense)": lambda h, u: keras.layers.TimeDistributed(
        keras.layers.Dense(WIDTH))(h),
    "LSTM(return_sequences=True)": lambda h, u: keras.layers.LSTM(
        WIDTH, return_sequences=True)(h),
    "Bidirectional(LSTM)": lambda h, u: keras.layers.Bidirectional(
        keras.layers.LSTM(WIDTH // 2, return_sequences=True))(h),
    "MultiHeadAttention": lambda h, u: keras.layers.MultiHeadAttention(2, 4)(h, h),
    "Lambda": lambda h, u: keras.layers.Lambda(lambda t: 2.0 * t)(h),
    "keras.ops on a KerasTensor (h * 2)": lambda h, u: h * 2.0,
    "Add (both masked)": lambda h, u: keras.layers.Add()([h, h]),
    "Add (one unmasked)": lambda h, u: keras.layers.Add()([h, u]),
    "Multiply (one unmasked)": lambda h, u: keras.layers.Multiply()([h, u]),
    "Concatenate (both masked)": lambda h, u: keras.layers.Concatenate()([h, h]),
    "Concatenate (one unmasked)": lambda h, u: keras.layers.Concatenate()([h, u]),
    "kexue MaskedAdd (one unmasked)": lambda h, u: kl.MaskedAdd()([h, u]),
    "kexue MaskedConcatenate (one unmasked)": lambda h, u: kl.MaskedConcatenate()([h, u]),
    "kexue MaskedConv1D": lambda h, u: kl.MaskedConv1D(WIDTH, 3)(h),
    "kexue DilatedGatedConv1D": lambda h, u: kl.DilatedGatedConv1D()(h),
}


@functools.cache
def measured_verdicts():
    """name -> 'keeps' if a masked mean downstream of the layer sees the padding mask.

    One model holds every case as a branch from the same masked embedding.
    """
    ids_in = keras.Input((STEPS,), dtype="int32")
    other_in = keras.Input((STEPS, WIDTH))
    h = keras.layers.Embedding(20, WIDTH, mask_zero=True)(ids_in)
    names = sorted(CASES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = []
        for name in names:
            out = CASES[name](h, other_in)
            outputs += [out, kl.MaskedGlobalAveragePooling1D()(out)]
        model = keras.Model([ids_in, other_in], outputs)
        ids = np.array([[3, 4, 5, 0, 0, 0], [7, 1, 2, 9, 0, 0]])
        other = np.random.default_rng(0).normal(size=(2, STEPS, WIDTH)).astype("float32")
        results = [ops.convert_to_numpy(y) for y in model([ids, other])]
    verdicts = {}
    for i, name in enumerate(names):
        sequence, pooled = results[2 * i], results[2 * i + 1]
        masked = ops.convert_to_numpy(kl.masked_mean(sequence, ids != 0))
        if np.allclose(pooled, masked, atol=1e-6):
            verdicts[name] = "keeps"
        elif np.allclose(pooled, sequence.mean(axis=1), atol=1e-6):
            verdicts[name] = "drops"
        else:
            verdicts[name] = "neither"
    return verdicts


def documented_verdicts():
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- mask-table:start -->")[1].split("<!-- mask-table:end -->")[0]
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|\s*(keeps|drops)\b", block, flags=re.M)
    return dict(rows)


def test_documented_table_covers_every_case():
    assert set(documented_verdicts()) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_documented_verdict_matches_keras(name):
    assert measured_verdicts()[name] == documented_verdicts()[name]


def test_global_max_pooling_ignores_the_mask_and_average_pooling_gives_nan():
    x = np.array([[[-3.0], [-2.0], [0.0]], [[1.0], [2.0], [3.0]]], "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    inputs = keras.Input((3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        masked = keras.layers.Masking(mask_value=0.0)(inputs)  # the same mask as `mask`[0]
        keras_max = keras.Model(inputs, keras.layers.GlobalMaxPooling1D()(masked))
    assert ops.convert_to_numpy(keras_max(x[:1]))[0, 0] == 0.0  # the padding value won
    ours = ops.convert_to_numpy(kl.MaskedGlobalMaxPooling1D()(x, mask=mask))
    assert ours.tolist() == [[-2.0], [0.0]]
    keras_mean = ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(x, mask=mask))
    assert keras_mean[0, 0] == -2.5 and np.isnan(keras_mean[1, 0])
    ours = ops.convert_to_numpy(kl.MaskedGlobalAveragePooling1D()(x, mask=mask))
    assert ours.tolist() == [[-2.5], [0.0]]

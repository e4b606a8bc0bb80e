"""The joint mention-filter / disambiguator network of kexue.fm/archives/6919.

One Keras model with three outputs trained together (binary cross-entropy on each):

- mention filter: ``MixedEmbedding`` (characters + projected word vectors) with the
  dictionary's maximum-matching start / end flags → BiLSTM → ``MaskedConv1D`` →
  start and end sigmoids, each multiplied by its flag (the network only filters
  dictionary matches);
- disambiguator: the BiLSTM encoding with the four extra channels (mention span, char /
  word occurs in the description, short-object hit) → BiLSTM; the description through the
  same embedding → BiLSTM; multi-head attention text → description and description → text,
  each max-pooled, plus the mean over the mention span → Dense(relu) → sigmoid "is this the
  entity".

:func:`detector` and :func:`linker` cut the two inference sub-models out of the joint model
(they share its layers and weights).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_model", "detector", "linker", "INPUTS"]

#: the joint model's inputs, in order.
INPUTS = ("chars", "words", "start_flags", "end_flags", "span", "overlap",
          "description_chars", "description_words")


def build_model(vocabulary_size: int, word_dim: int, *, embedding_dim: int = 64,
                lstm_units: int = 64, conv_filters: int = 128, heads: int = 8,
                head_size: int = 16, hidden: int = 128) -> Any:
    """Build the joint model (uncompiled).

    Args:
        vocabulary_size: character vocabulary size (id 0 is padding).
        word_dim: word-vector width.
        embedding_dim: embedding width.
        lstm_units: units per direction of each BiLSTM (the article's 64).
        conv_filters: filters of the detector's kernel-3 convolution (the article's 128).
        heads: attention heads (8) of ``head_size`` (16) each.
        hidden: width of the disambiguator's dense layer (128).

    Initial weights come from Keras' global seed (``keras.utils.set_random_seed``, which
    :func:`kexue.tasks.linking.train.train` sets from its settings).

    Example:
        >>> INPUTS[:4]  # the model's first inputs; building it compiles (tests do that)
        ('chars', 'words', 'start_flags', 'end_flags')
    """
    import keras

    from kexue._validation import check_positive_int
    from kexue.layers import (
        MaskedConv1D,
        MaskedGlobalAveragePooling1D,
        MaskedGlobalMaxPooling1D,
        MixedEmbedding,
    )

    for name, value in (("vocabulary_size", vocabulary_size), ("word_dim", word_dim),
                        ("embedding_dim", embedding_dim), ("lstm_units", lstm_units),
                        ("conv_filters", conv_filters), ("heads", heads),
                        ("head_size", head_size), ("hidden", hidden)):
        check_positive_int(value, name)
    layers = keras.layers
    chars = keras.Input((None,), dtype="int32", name="chars")
    words = keras.Input((None, word_dim), name="words")
    start_flags = keras.Input((None, 1), name="start_flags")
    end_flags = keras.Input((None, 1), name="end_flags")
    span = keras.Input((None, 1), name="span")
    overlap = keras.Input((None, 3), name="overlap")
    description_chars = keras.Input((None,), dtype="int32", name="description_chars")
    description_words = keras.Input((None, word_dim), name="description_words")

    embedding = MixedEmbedding(vocabulary_size, embedding_dim, name="embedding")
    x = embedding([chars, words])
    x = layers.Concatenate(name="with_flags")([x, start_flags, end_flags])
    x = layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True), name="text_lstm")(x)
    h = MaskedConv1D(conv_filters, 3, activation="relu", name="text_conv")(x)
    start = layers.Dense(1, activation="sigmoid", name="start_logit")(h)
    end = layers.Dense(1, activation="sigmoid", name="end_logit")(h)
    start = layers.Multiply(name="start")([start, start_flags])
    end = layers.Multiply(name="end")([end, end_flags])

    q = layers.Concatenate(name="with_channels")([x, span, overlap])
    q = layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True), name="pair_lstm")(q)
    d = embedding([description_chars, description_words])
    d = layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True),
                             name="description_lstm")(d)
    text_to_description = layers.MultiHeadAttention(
        heads, head_size, name="text_to_description")(q, d)
    description_to_text = layers.MultiHeadAttention(
        heads, head_size, name="description_to_text")(d, q)
    pooled = [
        MaskedGlobalMaxPooling1D(name="pool_text")(text_to_description),
        MaskedGlobalMaxPooling1D(name="pool_description")(description_to_text),
        MaskedGlobalAveragePooling1D(name="pool_mention")(q, mask=span),
    ]
    z = layers.Concatenate(name="pooled")(pooled)
    z = layers.Dense(hidden, activation="relu", name="pair_dense")(z)
    link = layers.Dense(1, activation="sigmoid", name="link")(z)
    inputs = [chars, words, start_flags, end_flags, span, overlap, description_chars,
              description_words]
    return keras.Model(inputs, [start, end, link], name="entity_linker")


def detector(model: Any) -> Any:
    """The mention-filter sub-model: (chars, words, start_flags, end_flags) → start, end."""
    import keras

    return keras.Model(model.inputs[:4], model.outputs[:2], name="mention_filter")


def linker(model: Any) -> Any:
    """The disambiguator sub-model: all inputs → link probability (the text encoding it
    shares with the filter sees the flags)."""
    import keras

    return keras.Model(model.inputs, model.outputs[2], name="disambiguator")

"""Title models: the article's synchronous bidirectional seq2seq and its unidirectional
baseline, built from :mod:`kexue.layers` and Keras layers (functional models).

Su Jianlin, "seq2seq之双向解码" (kexue.fm/archives/6877), after Zhou, Zhang and Zong,
"Synchronous Bidirectional Neural Machine Translation" (TACL 2019):

- a character embedding shared by the encoder and the decoders;
- encoder: layer norm, two masked BiLSTMs, masked max-pool to ``x_max``;
- each decoder (``l2r``, ``r2l``): conditional layer norm (on ``x_max``) → LSTM →
  conditional layer norm → LSTM → conditional layer norm;
- interaction (bidirectional model only): at step ``t`` each decoder attends over the other
  direction's states ``0..t`` (:class:`~kexue.layers.CausalCrossAttention`), and over the
  encoder; ``[state, partner attention, encoder attention]`` → Dense → LeakyReLU(0.2) →
  a classifier shared by both directions, averaged with a learned copy prior
  (:class:`~kexue.layers.CopyPrior`).

Layer names are fixed (``embedding``, ``l2r_lstm_1``, ``r2l_partner_attention``, ...):
:mod:`kexue.tasks.title.decode` runs the same layers one step at a time.

Example:
    >>> model = build_title_model(40, directions=("l2r",), embedding_dim=8, encoder_units=4,
    ...                           decoder_units=8, attention_heads=2, attention_key_dim=4)
    >>> sorted(model.output_names)
    ['l2r']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras

import kexue.layers as kl

__all__ = ["ModelConfig", "build_title_model", "DIRECTIONS", "model_directions"]

#: the decoder directions a model may have.
DIRECTIONS = ("l2r", "r2l")


@dataclass
class ModelConfig:
    """Layer widths (defaults: the article's)."""

    embedding_dim: int = 128
    encoder_units: int = 64
    decoder_units: int = 128
    attention_heads: int = 8
    attention_key_dim: int = 16
    hidden_units: int = 128

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def model_directions(model: keras.Model) -> tuple[str, ...]:
    """The decoder directions of a built title model, e.g. ``("l2r", "r2l")``."""
    return tuple(d for d in DIRECTIONS if d in model.output_names)


def build_title_model(vocabulary_size: int, *, directions: tuple[str, ...] = DIRECTIONS,
                      partner_inputs: bool = False, embedding_dim: int = 128,
                      encoder_units: int = 64, decoder_units: int = 128,
                      attention_heads: int = 8, attention_key_dim: int = 16,
                      hidden_units: int = 128, name: str = "title_model") -> keras.Model:
    """Build a title model (uncompiled).

    Args:
        vocabulary_size: characters plus the four reserved ids.
        directions: ``("l2r", "r2l")`` for the bidirectional model, ``("l2r",)`` or
            ``("r2l",)`` for a unidirectional one.
        partner_inputs: (bidirectional only) two more inputs, ``l2r_partner`` and
            ``r2l_partner``: each decoder attends over the partner decoder run on those
            (pseudo targets, two-stage training) instead of on its gold input.
        embedding_dim, encoder_units, decoder_units, attention_heads, attention_key_dim,
            hidden_units: layer widths.

    Inputs: ``source`` ``(batch, source_steps)`` and ``<direction>_input``
    ``(batch, steps)`` ids (0 = padding). Outputs: ``<direction>`` logits
    ``(batch, steps, vocabulary_size)``.
    """
    if not directions or any(d not in DIRECTIONS for d in directions) \
            or len(set(directions)) != len(directions):
        raise ValueError(f"`directions` must be ('l2r',), ('r2l',) or ('l2r', 'r2l'); "
                         f"received {directions!r}")
    bidirectional = len(directions) == 2
    if partner_inputs and not bidirectional:
        raise ValueError("`partner_inputs` needs the bidirectional model")
    source = keras.Input((None,), dtype="int32", name="source")
    inputs = {"source": source}
    for d in directions:
        inputs[f"{d}_input"] = keras.Input((None,), dtype="int32", name=f"{d}_input")
        if partner_inputs:
            inputs[f"{d}_partner"] = keras.Input((None,), dtype="int32", name=f"{d}_partner")

    embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                       name="embedding")
    x = embedding(source)
    x = keras.layers.LayerNormalization(name="encoder_norm")(x)
    for i in (1, 2):
        x = keras.layers.Bidirectional(
            keras.layers.LSTM(encoder_units, return_sequences=True), name=f"encoder_bilstm_{i}")(x)
    encoded = x
    x_max = kl.MaskedGlobalMaxPooling1D(name="encoder_pool")(encoded)

    stacks = {d: [kl.ConditionalLayerNormalization(name=f"{d}_norm_0"),
                  keras.layers.LSTM(decoder_units, return_sequences=True, name=f"{d}_lstm_1"),
                  kl.ConditionalLayerNormalization(name=f"{d}_norm_1"),
                  keras.layers.LSTM(decoder_units, return_sequences=True, name=f"{d}_lstm_2"),
                  kl.ConditionalLayerNormalization(name=f"{d}_norm_2")] for d in directions}

    def decoder_states(d: str, ids: Any) -> Any:
        h = embedding(ids)
        for layer in stacks[d]:
            h = layer([h, x_max]) if isinstance(layer, kl.ConditionalLayerNormalization) \
                else layer(h)
        return h

    states = {d: decoder_states(d, inputs[f"{d}_input"]) for d in directions}
    partners = states
    if partner_inputs:
        partners = {d: decoder_states(d, inputs[f"{d}_partner"]) for d in directions}
    classifier = keras.layers.Dense(vocabulary_size, name="classifier")
    prior = kl.CopyPrior(vocabulary_size, name="copy_prior")(source)
    prior = keras.layers.Reshape((1, vocabulary_size), name="copy_prior_step")(prior)
    outputs = {}
    for d in directions:
        parts = [states[d]]
        if bidirectional:
            other = "r2l" if d == "l2r" else "l2r"
            parts.append(kl.CausalCrossAttention(
                attention_heads, attention_key_dim, name=f"{d}_partner_attention")(
                    states[d], partners[other]))
        parts.append(kl.CausalCrossAttention(
            attention_heads, attention_key_dim, causal=False, name=f"{d}_encoder_attention")(
                states[d], encoded))
        h = kl.MaskedConcatenate(name=f"{d}_concat")(parts)
        h = keras.layers.Dense(hidden_units, name=f"{d}_hidden")(h)
        h = keras.layers.LeakyReLU(0.2, name=f"{d}_leaky_relu")(h)
        logits = classifier(h)
        outputs[d] = keras.layers.Average(name=d)([logits, prior])
    return keras.Model(inputs, outputs, name=name)

"""The 2019 DGCNN reading-comprehension model, built from :mod:`kexue.layers`.

Su Jianlin, "开源一版DGCNN阅读理解问答模型(Keras版)" (kexue.fm/archives/6906), after the
2018 model of kexue.fm/archives/5409:

- embedding: :class:`~kexue.layers.MixedEmbedding` (a character embedding plus a projected,
  frozen word vector of the jieba word holding each character) shared by question and
  passage, dropout 0.1; the char-only variant uses a plain character embedding;
- question encoder: :class:`~kexue.layers.DilatedGatedConv1D` blocks with dilation rates
  1, 2, 1, then :class:`~kexue.layers.AttentionPooling1D` → the question vector;
- passage encoder: the question vector joined at every position
  (:class:`~kexue.layers.MaskedConcatenate`), ``Dense(dim, no bias)``, blocks with rates
  1, 2, 4, 8, 16, 1, the question vector joined again, attention pooling;
- output: a "passage has an answer" gate ``sigmoid(Dense(pooled))`` times independent
  start / end sigmoids per position (:class:`SpanHead`): a passage may hold no answer or
  several;
- loss: focal loss (α 0.25, γ 2) averaged over the valid positions, × 100
  (:class:`SpanFocalLoss`).

A BiLSTM reader of similar size (``encoder="bilstm"``, for the ablation) keeps everything
but the encoders: the question encoder is one bidirectional LSTM, the passage encoder two,
each with ``dim`` units per direction (about the parameters of the nine DGCNN blocks), masks
respected (padding neither changes the LSTM states nor the pooled vectors).

Inputs: ``question_chars``, ``question_words``, ``passage_chars``, ``passage_words``
(integer ``(batch, steps)``; the word inputs are absent in the char-only variant). Output:
``(batch, passage steps, 2)`` start and end probabilities, exactly 0 at padding.

Example:
    >>> model = build_model(QAModelConfig(char_count=50, word_count=10, word_dim=4, dim=8))
    >>> [x.name for x in model.inputs], model.output.shape
    (['question_chars', 'question_words', 'passage_chars', 'passage_words'], (None, None, 2))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import keras
import numpy as np
from keras import ops

from kexue._validation import check_choice, check_float, check_positive_int
from kexue.layers import (
    AttentionPooling1D,
    DilatedGatedConv1D,
    MaskedConcatenate,
    MixedEmbedding,
    sequence_masking,
)

__all__ = ["ENCODERS", "QAModelConfig", "SpanFocalLoss", "SpanHead", "build_model"]

#: the question and passage encoders: dilated gated convolutions, or bidirectional LSTMs.
ENCODERS = ("dgcnn", "bilstm")


@dataclass
class QAModelConfig:
    """Sizes of the model.

    Attributes:
        char_count: character id space (padding 0 and unknown 1 included).
        word_count: words with vectors (0 for the char-only variant).
        word_dim: word-vector size.
        dim: width of the embedding and of every block (128 in the article).
        question_rates: dilation rates of the question encoder.
        passage_rates: dilation rates of the passage encoder.
        dropout: embedding dropout.
        gate_dropout: dropout on the gate pre-activation of each block (DGCNN), or on the
            inputs of each LSTM (BiLSTM).
        encoder: ``"dgcnn"`` (the article) or ``"bilstm"`` (one question and two passage
            bidirectional LSTM layers of ``dim`` units per direction; the rates are unused).
    """

    char_count: int
    word_count: int = 0
    word_dim: int = 100
    dim: int = 128
    question_rates: tuple[int, ...] = (1, 2, 1)
    passage_rates: tuple[int, ...] = (1, 2, 4, 8, 16, 1)
    dropout: float = 0.1
    gate_dropout: float = 0.1
    encoder: str = "dgcnn"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mixed(self) -> bool:
        return self.word_count > 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["question_rates"] = list(self.question_rates)
        out["passage_rates"] = list(self.passage_rates)
        return out


@keras.saving.register_keras_serializable(package="kexue_qa")
class SpanHead(keras.layers.Layer):
    """``sigmoid(Dense(1)(pooled)) · sigmoid(Dense(2)(sequence))``, zero at padding.

    Call arguments:
        inputs: ``[sequence (batch, steps, features), pooled (batch, features')]``.
        mask: the sequence mask (filled in by Keras).

    Output: ``(batch, steps, 2)`` start / end probabilities; no mask (the loss reads the
    valid positions from its targets).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.gate = keras.layers.Dense(1, activation="sigmoid", name="gate",
                                       dtype=self.dtype_policy)
        self.pointers = keras.layers.Dense(2, activation="sigmoid", name="pointers",
                                           dtype=self.dtype_policy)

    def build(self, input_shape: Any) -> None:
        sequence, pooled = input_shape
        self.pointers.build(tuple(sequence))
        self.gate.build(tuple(pooled))

    def call(self, inputs: Any, mask: Any = None) -> Any:
        sequence, pooled = inputs
        probs = self.pointers(sequence) * ops.expand_dims(self.gate(pooled), 1)
        sequence_mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        return sequence_masking(probs, sequence_mask)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[0][:2]) + (2,)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None


@keras.saving.register_keras_serializable(package="kexue_qa")
class SpanFocalLoss(keras.losses.Loss):
    """Focal loss on start/end probabilities, averaged over the valid positions, × scale.

    ``y_true`` is ``(batch, steps, 3)``: start target, end target, and 1 at valid positions
    (0 at padding); ``y_pred`` is ``(batch, steps, 2)``. Per element
    ``−α·y·log p·(1−p)^γ − (1−α)(1−y)·log(1−p)·p^γ`` (Lin et al., 2017); the batch loss is
    the sum over valid positions and both pointers divided by the number of valid
    positions, times ``scale`` (the 2019 code's ×100, for readable numbers).

    Args:
        alpha: weight of the positives.
        gamma: focusing exponent.
        scale: factor on the loss.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, scale: float = 100.0,
                 name: str = "span_focal_loss", **kwargs: Any) -> None:
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum", **kwargs)
        self.alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
        self.gamma = check_float(gamma, "gamma", minimum=0.0)
        self.scale = check_float(scale, "scale", minimum=0.0, include_min=False)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = ops.cast(y_true, y_pred.dtype)
        targets, valid = y_true[..., :2], y_true[..., 2:]
        p = ops.clip(y_pred, 1e-8, 1.0 - 1e-8)
        loss = (-self.alpha * targets * ops.log(p) * (1.0 - p) ** self.gamma
                - (1.0 - self.alpha) * (1.0 - targets) * ops.log(1.0 - p) * p ** self.gamma)
        per_sample = ops.sum(loss * valid, axis=(1, 2))
        return self.scale * per_sample / ops.maximum(ops.sum(valid), 1.0)

    def get_config(self) -> dict:
        return {"name": self.name, "alpha": self.alpha, "gamma": self.gamma,
                "scale": self.scale}


def build_model(config: QAModelConfig, word_vectors: np.ndarray | None = None,
                *, seed: int | None = None) -> keras.Model:
    """Build the reader (uncompiled).

    Args:
        config: sizes; ``config.word_count == 0`` builds the char-only variant.
        word_vectors: ``(word_count, word_dim)`` table for the frozen word embedding (row
            ``i`` is word id ``i + 1``); ``None`` leaves it random (a model to be loaded).
        seed: seed of the gate dropouts (weights follow ``keras.utils.set_random_seed``).
    """
    check_positive_int(config.char_count, "char_count")
    check_choice(config.encoder, "encoder", ENCODERS)
    dim = check_positive_int(config.dim, "dim")
    q_chars = keras.Input((None,), dtype="int32", name="question_chars")
    p_chars = keras.Input((None,), dtype="int32", name="passage_chars")
    if config.mixed:
        q_words = keras.Input((None,), dtype="int32", name="question_words")
        p_words = keras.Input((None,), dtype="int32", name="passage_words")
        table = keras.layers.Embedding(config.word_count + 1, config.word_dim,
                                       trainable=False, name="word_vectors")
        table.build((None, None))
        if word_vectors is not None:
            matrix = np.asarray(word_vectors, dtype="float32")
            if matrix.shape != (config.word_count, config.word_dim):
                raise ValueError(f"`word_vectors` must have shape ({config.word_count}, "
                                 f"{config.word_dim}); received {matrix.shape}")
            table.set_weights([np.concatenate([np.zeros((1, config.word_dim), "float32"),
                                               matrix])])
        embed = MixedEmbedding(config.char_count, dim, name="mixed_embedding")
        q = embed([q_chars, table(q_words)])
        p = embed([p_chars, table(p_words)])
        inputs = [q_chars, q_words, p_chars, p_words]
    else:
        embed = keras.layers.Embedding(config.char_count, dim, mask_zero=True,
                                       name="char_embedding")
        q, p = embed(q_chars), embed(p_chars)
        inputs = [q_chars, p_chars]
    dropout = keras.layers.Dropout(config.dropout, seed=seed, name="embedding_dropout")
    q, p = dropout(q), dropout(p)

    def block(rate: int, name: str) -> Any:
        if config.encoder == "bilstm":
            return keras.layers.Bidirectional(
                keras.layers.LSTM(dim, return_sequences=True, dropout=config.gate_dropout,
                                  seed=seed), name=name)
        return DilatedGatedConv1D(dilation_rate=rate, gate_dropout=config.gate_dropout,
                                  seed=seed, name=name)

    lstm = config.encoder == "bilstm"
    for i, rate in enumerate((1,) if lstm else config.question_rates):
        q = block(rate, f"question_{config.encoder}_{i}")(q)
    question_vector = AttentionPooling1D(name="question_pooling")(q)
    p = MaskedConcatenate(name="join_question")([p, question_vector])
    p = keras.layers.Dense(dim, use_bias=False, name="passage_projection")(p)
    for i, rate in enumerate((1, 1) if lstm else config.passage_rates):
        p = block(rate, f"passage_{config.encoder}_{i}")(p)
    p = MaskedConcatenate(name="join_question_again")([p, question_vector])
    pooled = AttentionPooling1D(name="passage_pooling")(p)
    probs = SpanHead(name="span_head")([p, pooled])
    name = f"{config.encoder}_reader" + ("" if config.mixed else "_char")
    return keras.Model(inputs, probs, name=name)

"""Mixed character-word embedding."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue._validation import check_bool, check_positive_int
from kexue.layers._checks import check_last_dim, check_rank, shape_tuple
from kexue.layers.masking import sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class MixedEmbedding(keras.layers.Layer):
    """Character embedding plus projected word vectors, one vector per character.

    The input layer of Su Jianlin's 2019 DGCNN reading-comprehension and entity-linking
    models (kexue.fm/archives/6906, 6919): each character gets its own trainable embedding
    plus ``Dense(output_dim, use_bias=False)`` of the (frozen, pre-trained) vector of the
    word that contains it, so the model is character level but sees word segmentation.
    With ``mask_zero`` the character id 0 is padding: the output mask is ``ids != 0`` and
    padding outputs are exactly zero.

    Args:
        input_dim: character vocabulary size.
        output_dim: embedding width.
        mask_zero: treat character id 0 as padding.
        embeddings_initializer: initializer of the character embedding.
        kernel_initializer: initializer of the word-vector projection.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``[char_ids, word_vectors]``: integer ``(batch, steps)`` and float
            ``(batch, steps, word_dim)`` (the word vector repeated over its characters).

    Output: ``(batch, steps, output_dim)``; mask ``char_ids != 0`` when ``mask_zero``.

    Example:
        >>> import numpy as np
        >>> ids = np.array([[5, 7, 0]])
        >>> words = np.ones((1, 3, 10), "float32")
        >>> MixedEmbedding(100, 16)([ids, words]).shape
        (1, 3, 16)
    """

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = True,
                 embeddings_initializer: Any = "uniform",
                 kernel_initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_dim = check_positive_int(input_dim, "input_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.mask_zero = check_bool(mask_zero, "mask_zero")
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True
        self.char_embedding = keras.layers.Embedding(
            self.input_dim, self.output_dim, embeddings_initializer=self.embeddings_initializer,
            name="char_embedding", dtype=self.dtype_policy)
        self.word_projection = keras.layers.Dense(
            self.output_dim, use_bias=False, kernel_initializer=self.kernel_initializer,
            name="word_projection", dtype=self.dtype_policy)

    def build(self, input_shape: Any) -> None:
        name = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(
                f"{name}: `inputs` must be [char_ids (batch, steps), word_vectors (batch, "
                f"steps, word_dim)]; received shape {input_shape}"
            )
        ids = check_rank(input_shape[0], 2, "inputs[0]", name, "(batch, steps) of char ids")
        words = check_rank(input_shape[1], 3, "inputs[1]", name,
                           "(batch, steps, word_dim) of word vectors")
        check_last_dim(words, "inputs[1]", name)
        if ids[1] is not None and words[1] is not None and ids[1] != words[1]:
            raise ValueError(
                f"{name}: `inputs` must be char ids and word vectors of one length; "
                f"received shapes {ids} and {words}"
            )
        self.char_embedding.build(ids)
        self.word_projection.build(words)

    def call(self, inputs: Any) -> Any:
        ids, words = inputs
        out = self.char_embedding(ids) + self.word_projection(words)
        return sequence_masking(out, self.compute_mask(inputs)) if self.mask_zero else out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return shape_tuple(input_shape[0]) + (self.output_dim,)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return ops.not_equal(inputs[0], 0) if self.mask_zero else None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "mask_zero": self.mask_zero,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }

"""Additive attention pooling over the valid time steps."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue._validation import check_positive_int
from kexue.layers._checks import check_last_dim, shape_tuple
from kexue.layers.masking import masked_softmax, sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class AttentionPooling1D(keras.layers.Layer):
    """Additive attention pooling: ``sum_t softmax_t(w·tanh(W x_t + b)) x_t`` over valid steps.

    The pooling of the DGCNN reading-comprehension encoders (Su Jianlin, kexue.fm/archives/
    5409 and 6906): a ``Dense(units, tanh)`` then a ``Dense(1, use_bias=False)`` score every
    step; padding scores are excluded from the softmax (weights exactly 0), so the pooled
    vector equals that of the unpadded sequence; an all-padding row pools to zeros.

    Args:
        units: hidden width of the scoring MLP; ``None`` uses the input width.
        kernel_initializer: initializer of both ``Dense`` kernels.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``(batch, steps, features)``.
        mask: optional ``(batch, steps)`` mask (implicit from Keras or explicit).
        return_attention_scores: also return the ``(batch, steps)`` weights.

    Output: ``(batch, features)``; no mask.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
        >>> pool = AttentionPooling1D(units=16)
        >>> pool(x, mask=np.array([[1, 1, 1, 0, 0], [1] * 5], bool)).shape
        (2, 8)
    """

    def __init__(self, units: int | None = None, kernel_initializer: Any = "glorot_uniform",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units", allow_none=True)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self.score = keras.layers.Dense(1, use_bias=False, name="score", dtype=self.dtype_policy,
                                        kernel_initializer=self.kernel_initializer)

    def build(self, input_shape: Any) -> None:
        shape = shape_tuple(input_shape)
        features = check_last_dim(shape, "inputs", type(self).__name__)
        self.hidden = keras.layers.Dense(self.units or features, activation="tanh",
                                         name="hidden", dtype=self.dtype_policy,
                                         kernel_initializer=self.kernel_initializer)
        self.hidden.build(shape)
        self.score.build(shape[:2] + (self.units or features,))

    def call(self, inputs: Any, mask: Any = None, return_attention_scores: bool = False) -> Any:
        inputs = sequence_masking(inputs, mask)
        scores = ops.squeeze(self.score(self.hidden(inputs)), axis=-1)
        weights = masked_softmax(scores, mask, axis=1)
        pooled = ops.sum(ops.expand_dims(weights, -1) * inputs, axis=1)
        return (pooled, weights) if return_attention_scores else pooled

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], input_shape[2])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }

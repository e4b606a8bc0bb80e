"""Masked global max pooling over time."""

from __future__ import annotations

from typing import Any

import keras

from kexue.layers._checks import check_rank
from kexue.layers.masking import masked_max


@keras.saving.register_keras_serializable(package="kexue")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Global max pooling over the valid time steps of a sequence.

    Keras' ``GlobalMaxPooling1D`` ignores masks, so a padding value can win the maximum
    (zero padding beats all-negative features). Here padding is excluded; a row that is
    all padding gives zeros, never ``-inf`` or NaN.

    Args:
        keepdims: keep the time axis with length 1.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``(batch, steps, features)``.
        mask: optional ``(batch, steps)`` boolean mask (filled in by Keras from an upstream
            ``Embedding(mask_zero=True)``, or passed explicitly; ``(batch, steps, 1)`` 0/1
            masks are accepted too).

    Output: ``(batch, features)`` (``(batch, 1, features)`` with ``keepdims``); no mask.

    Example:
        >>> import numpy as np
        >>> x = np.array([[[-3.0], [-2.0], [0.0]]], "float32")
        >>> pool = MaskedGlobalMaxPooling1D()
        >>> np.asarray(pool(x, mask=np.array([[True, True, False]]))).tolist()
        [[-2.0]]
    """

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = keepdims
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        check_rank(input_shape, 3, "inputs", type(self).__name__, "(batch, steps, features)")

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return masked_max(inputs, mask, axis=1, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0], 1, shape[2]) if self.keepdims else (shape[0], shape[2])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict:
        return {**super().get_config(), "keepdims": self.keepdims}

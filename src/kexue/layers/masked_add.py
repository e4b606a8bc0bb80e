"""Element-wise sum that keeps sequence masks."""

from __future__ import annotations

from typing import Any

import keras

from kexue.layers._merging import (
    broadcast_inputs,
    check_merge_shapes,
    combined_mask,
    output_shape,
)
from kexue.layers.masking import sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class MaskedAdd(keras.layers.Layer):
    """Sum of sequences (and per-sequence vectors) that keeps the mask.

    Keras' ``Add`` ORs the input masks and returns no mask at all as soon as one input has
    none (``x + question_vector`` loses the padding mask). Here a missing mask abstains:
    the output mask is the AND of the masks present, the output is zero at padding, and
    rank-2 ``(batch, features)`` inputs are added at every step.

    Args:
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a list of ``(batch, steps, features)`` and ``(batch, features)`` tensors
            with equal ``features`` (at least one sequence).
        mask: list of masks (filled in by Keras), or one ``(batch, steps)`` mask.

    Output: ``(batch, steps, features)`` with the combined mask.

    Example:
        >>> import numpy as np
        >>> seq, vec = np.ones((1, 3, 2), "float32"), np.full((1, 2), 2.0, "float32")
        >>> y = MaskedAdd()([seq, vec], mask=[np.array([[True, True, False]]), None])
        >>> np.asarray(y)[0, :, 0].tolist()
        [3.0, 3.0, 0.0]
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        check_merge_shapes(input_shape, type(self).__name__, same_features=True)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        inputs = list(inputs)
        total = broadcast_inputs(inputs)
        out = total[0]
        for x in total[1:]:
            out = out + x
        return sequence_masking(out, combined_mask(inputs, mask))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return output_shape(input_shape, concatenate=False)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return combined_mask(list(inputs), mask)

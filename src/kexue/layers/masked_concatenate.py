"""Feature concatenation that keeps sequence masks."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue.layers._merging import (
    broadcast_inputs,
    check_merge_shapes,
    combined_mask,
    output_shape,
)
from kexue.layers.masking import sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class MaskedConcatenate(keras.layers.Layer):
    """Concatenation along features of sequences (and per-sequence vectors), keeping the mask.

    Keras' ``Concatenate`` drops the mask when the inputs' masks are mixed (some ``None``).
    Here a missing mask abstains: the output mask is the AND of the masks present, the output
    is zero at padding, and rank-2 ``(batch, features)`` inputs are repeated at every step
    (the DGCNN passage encoder concatenates the question vector to every position).

    Args:
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a list of ``(batch, steps, features_i)`` and ``(batch, features_i)``
            tensors (at least one sequence).
        mask: list of masks (filled in by Keras), or one ``(batch, steps)`` mask.

    Output: ``(batch, steps, sum(features_i))`` with the combined mask.

    Example:
        >>> import numpy as np
        >>> seq, vec = np.ones((1, 3, 2), "float32"), np.full((1, 2), 2.0, "float32")
        >>> y = MaskedConcatenate()([seq, vec], mask=[np.array([[True, True, False]]), None])
        >>> np.asarray(y)[0].tolist()
        [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        check_merge_shapes(input_shape, type(self).__name__, same_features=False)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        inputs = list(inputs)
        out = ops.concatenate(broadcast_inputs(inputs), axis=-1)
        return sequence_masking(out, combined_mask(inputs, mask))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return output_shape(input_shape, concatenate=True)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return combined_mask(list(inputs), mask)

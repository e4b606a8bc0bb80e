"""A learned prior over the output vocabulary from the tokens present in the source."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue._validation import check_int, check_positive_int


@keras.saving.register_keras_serializable(package="kexue")
class CopyPrior(keras.layers.Layer):
    """Scale-shift of the multi-hot "which tokens occur in the source" vector.

    Su Jianlin's title generator (kexue.fm/archives/5861, 6877) averages the classifier's
    logits with ``prior = multi_hot(source) · scale + shift`` (``scale``, ``shift``: one
    learned number per vocabulary entry, initially 1 and 0), so that tokens occurring in
    the article are favoured: a soft, learned copy mechanism.

    Args:
        vocabulary_size: size of the output vocabulary (token ids ``0..size-1``).
        pad_id: id that marks padding; it never counts as present.
        **kwargs: base ``Layer`` arguments.

    Call arguments:
        inputs: ``(batch, steps)`` integer token ids.

    Output: ``(batch, vocabulary_size)`` prior logits.

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> layer = CopyPrior(6)
        >>> ops.convert_to_numpy(layer(np.array([[2, 4, 4, 0]]))).tolist()
        [[0.0, 0.0, 1.0, 0.0, 1.0, 0.0]]
    """

    def __init__(self, vocabulary_size: int, pad_id: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int(vocabulary_size, "vocabulary_size")
        self.pad_id = check_int(pad_id, "pad_id", minimum=0, maximum=self.vocabulary_size - 1)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"CopyPrior: `inputs` must be (batch, steps) token ids; "
                             f"received shape {tuple(input_shape)}")
        self.scale = self.add_weight(name="scale", shape=(self.vocabulary_size,),
                                     initializer="ones")
        self.shift = self.add_weight(name="shift", shape=(self.vocabulary_size,),
                                     initializer="zeros")

    def multi_hot(self, inputs: Any) -> Any:
        """``(batch, vocabulary_size)``: 1 where the token occurs in the row (pad excluded)."""
        ids = ops.cast(inputs, "int32")
        batch, steps = ops.shape(ids)[0], ops.shape(ids)[1]
        rows = ops.repeat(ops.expand_dims(ops.arange(batch, dtype="int32"), 1), steps, axis=1)
        indices = ops.stack([ops.reshape(rows, (-1,)), ops.reshape(ids, (-1,))], axis=1)
        counts = ops.scatter(indices, ops.ones((batch * steps,), self.compute_dtype),
                             (batch, self.vocabulary_size))
        present = ops.cast(ops.greater(counts, 0), self.compute_dtype)
        keep = ops.not_equal(ops.arange(self.vocabulary_size), self.pad_id)
        return present * ops.cast(keep, self.compute_dtype)

    def call(self, inputs: Any) -> Any:
        return self.multi_hot(inputs) * self.scale + self.shift

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.vocabulary_size)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "pad_id": self.pad_id}

"""Shared body of the masked global pooling layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import keras

from kexue._validation import check_bool


class _MaskedGlobalPooling1D(keras.layers.Layer):
    """Reduce ``(batch, steps, features)`` over the valid steps with ``reduce``.

    Subclasses set ``reduce`` to a masking function ``f(x, mask, axis, keepdims)``.
    """

    reduce: ClassVar[Callable[..., Any]]

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = check_bool(keepdims, "keepdims")
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return type(self).reduce(inputs, mask, axis=1, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        return (shape[0], 1, shape[2]) if self.keepdims else (shape[0], shape[2])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict:
        return {**super().get_config(), "keepdims": self.keepdims}

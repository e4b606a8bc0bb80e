"""A 1-D convolution that keeps the sequence mask and never reads padding."""

from __future__ import annotations

from typing import Any

import keras

from kexue._validation import check_bool, check_choice, check_positive_int
from kexue.layers._checks import keras_mask, shape_tuple
from kexue.layers.masking import sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class MaskedConv1D(keras.layers.Layer):
    """``Conv1D`` whose input is masked before and output masked after the convolution.

    Keras' ``Conv1D`` does not support masking: it drops the mask (with a warning) and its
    receptive field reads whatever sits at padding positions. Here the input is multiplied
    by the mask first (padding reads as zero, exactly as past the end of an unpadded
    sequence under ``"same"`` padding), the output is zeroed at padding, and the mask is
    passed on. Length-preserving padding only (``"same"`` or ``"causal"``), so the mask
    still lines up with the output.

    Args:
        filters: number of output channels.
        kernel_size: convolution window.
        dilation_rate: dilation of the convolution.
        padding: ``"same"`` or ``"causal"``.
        activation: activation function (name or callable).
        use_bias: whether to add a bias.
        kernel_initializer: kernel initializer.
        bias_initializer: bias initializer.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``(batch, steps, features)``.
        mask: optional ``(batch, steps)`` mask (implicit from Keras or explicit).

    Output: ``(batch, steps, filters)`` with the input's mask.

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 4, 2), "float32")
        >>> conv = MaskedConv1D(3, 3, activation="relu")
        >>> conv(x, mask=np.array([[1, 1, 0, 0]], bool)).shape
        (1, 4, 3)
    """

    def __init__(self, filters: int, kernel_size: int, dilation_rate: int = 1,
                 padding: str = "same", activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.dilation_rate = check_positive_int(dilation_rate, "dilation_rate")
        self.padding = check_choice(padding, "padding", ("same", "causal"))
        self.activation = keras.activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self.conv = keras.layers.Conv1D(
            self.filters, self.kernel_size, dilation_rate=self.dilation_rate, padding=padding,
            activation=self.activation, use_bias=use_bias,
            kernel_initializer=self.kernel_initializer, bias_initializer=self.bias_initializer,
            name="conv", dtype=self.dtype_policy)

    def build(self, input_shape: Any) -> None:
        self.conv.build(shape_tuple(input_shape))

    def call(self, inputs: Any, mask: Any = None) -> Any:
        return sequence_masking(self.conv(sequence_masking(inputs, mask)), mask)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[:2]) + (self.filters,)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return keras_mask(mask)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
            "padding": self.padding,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }

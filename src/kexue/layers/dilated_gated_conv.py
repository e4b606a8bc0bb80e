"""The DGCNN block: a residual, gated, dilated 1-D convolution that respects masks."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue._validation import check_float, check_positive_int
from kexue.layers._checks import check_last_dim, keras_mask, shape_tuple
from kexue.layers.masking import sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class DilatedGatedConv1D(keras.layers.Layer):
    """Residual gated dilated convolution (the DGCNN block).

    From Su Jianlin's DGCNN reading-comprehension model (kexue.fm/archives/5409, 6906)::

        h, g = split(Conv1D(2·filters, kernel_size, dilation_rate, "same")(x·m))
        g = sigmoid(dropout(g))
        y = (P(x)·(1 − g) + h·g)·m

    where ``P`` is a 1×1 ``Conv1D`` when ``filters`` differs from the input width and the
    identity otherwise. The input is masked before the convolution, so padding never leaks
    into valid positions through the receptive field, and the output is masked, so padding
    stays exactly zero: valid outputs equal those of the unpadded sequence.

    Args:
        filters: output width; ``None`` keeps the input width (pure residual block).
        kernel_size: convolution window.
        dilation_rate: dilation of the convolution.
        gate_dropout: dropout rate applied to the gate pre-activation during training.
        kernel_initializer: initializer of the convolution kernels.
        bias_initializer: initializer of the convolution biases.
        seed: seed of the gate dropout.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``(batch, steps, features)``.
        mask: optional ``(batch, steps)`` mask (implicit from Keras or explicit).
        training: Python bool, whether dropout is active.

    Output: ``(batch, steps, filters)`` with the input's mask.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
        >>> block = DilatedGatedConv1D(kernel_size=3, dilation_rate=2)
        >>> y = block(x, mask=np.array([[1, 1, 1, 1, 0, 0], [1] * 6], bool))
        >>> y.shape, float(np.abs(np.asarray(y)[0, 4:]).max())
        ((2, 6, 8), 0.0)
    """

    def __init__(self, filters: int | None = None, kernel_size: int = 3, dilation_rate: int = 1,
                 gate_dropout: float = 0.1, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = check_positive_int(filters, "filters", allow_none=True)
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.dilation_rate = check_positive_int(dilation_rate, "dilation_rate")
        self.gate_dropout = check_float(gate_dropout, "gate_dropout", minimum=0.0, maximum=1.0,
                                        include_max=False)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.supports_masking = True
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self.dropout = keras.layers.Dropout(self.gate_dropout, seed=seed, name="gate_dropout",
                                            dtype=self.dtype_policy)
        self.projection = None

    def build(self, input_shape: Any) -> None:
        shape = shape_tuple(input_shape)
        width = check_last_dim(shape, "inputs", type(self).__name__)
        self._width = self.filters or width
        self.conv = keras.layers.Conv1D(
            2 * self._width, self.kernel_size, dilation_rate=self.dilation_rate,
            padding="same", kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer, name="conv", dtype=self.dtype_policy)
        self.conv.build(shape)
        if self._width != width:
            self.projection = keras.layers.Conv1D(
                self._width, 1, kernel_initializer=self.kernel_initializer,
                bias_initializer=self.bias_initializer, name="projection",
                dtype=self.dtype_policy)
            self.projection.build(shape)

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        x = sequence_masking(inputs, mask)
        h, g = ops.split(self.conv(x), 2, axis=-1)
        g = ops.sigmoid(self.dropout(g, training=training))
        if self.projection is not None:
            x = self.projection(x)
        return sequence_masking(x * (1.0 - g) + h * g, mask)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape[:2]) + (self.filters or input_shape[2],)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return keras_mask(mask)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
            "gate_dropout": self.gate_dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }

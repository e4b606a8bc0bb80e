"""Layer normalisation whose gain and bias are produced from a condition vector."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue._validation import check_bool, check_float, check_positive_int
from kexue.layers._checks import check_last_dim, keras_mask, shape_tuple
from kexue.layers.masking import sequence_masking


@keras.saving.register_keras_serializable(package="kexue")
class ConditionalLayerNormalization(keras.layers.Layer):
    """Conditional layer normalisation: ``LN(x)·(γ + Dγ(c)) + β + Dβ(c)``.

    Used by the decoders of Su Jianlin's bidirectional-decoding seq2seq
    (kexue.fm/archives/6877), conditioned on the max-pooled encoder vector. ``Dγ`` and
    ``Dβ`` are zero-initialised ``Dense`` layers (optionally after a shared hidden ``Dense``),
    so training starts from plain layer normalisation. Position-wise, hence padding
    invariant; with a mask the padding outputs are set to exactly zero.

    Args:
        epsilon: small constant of the normalisation.
        center: learn the unconditional bias ``β``.
        scale: learn the unconditional gain ``γ``.
        hidden_units: width of a ``Dense`` applied to the condition first (``None``: none).
        hidden_activation: activation of that hidden ``Dense``.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        inputs: ``[x, condition]``: ``x`` ``(batch, ..., features)`` and ``condition``
            ``(batch, condition_dim)``.
        mask: list of masks (filled in by Keras) or ``x``'s ``(batch, steps)`` mask.

    Output: like ``x``, with ``x``'s mask.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
        >>> c = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
        >>> ConditionalLayerNormalization()([x, c]).shape
        (2, 5, 8)
    """

    def __init__(self, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 hidden_units: int | None = None, hidden_activation: Any = "linear",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = check_float(epsilon, "epsilon", minimum=0.0, include_min=False)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.hidden_units = check_positive_int(hidden_units, "hidden_units", allow_none=True)
        self.hidden_activation = keras.activations.get(hidden_activation)
        self.supports_masking = True
        self.normalization = keras.layers.LayerNormalization(
            epsilon=self.epsilon, center=False, scale=False, name="normalization",
            dtype=self.dtype_policy)
        self.hidden = None
        if hidden_units is not None:
            self.hidden = keras.layers.Dense(self.hidden_units, activation=self.hidden_activation,
                                             name="hidden", dtype=self.dtype_policy)

    def build(self, input_shape: Any) -> None:
        name = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not all(
                isinstance(s, (list, tuple)) for s in input_shape):
            raise ValueError(
                f"{name}: `inputs` must be [x (batch, ..., features), condition (batch, "
                f"condition_dim)]; received shape {input_shape}"
            )
        x_shape, c_shape = shape_tuple(input_shape[0]), shape_tuple(input_shape[1])
        if len(x_shape) < 2:
            raise ValueError(f"{name}: `inputs[0]` must have rank >= 2; received shape {x_shape}")
        if len(c_shape) != 2:
            raise ValueError(
                f"{name}: `inputs[1]` must be a rank-2 condition (batch, condition_dim); "
                f"received shape {c_shape}"
            )
        features = check_last_dim(x_shape, "inputs[0]", name)
        check_last_dim(c_shape, "inputs[1]", name)
        self.normalization.build(x_shape)
        if self.hidden is not None:
            self.hidden.build(c_shape)
            c_shape = (c_shape[0], int(self.hidden_units))
        self.gamma = self.add_weight((features,), "ones", name="gamma", trainable=self.scale)
        self.beta = self.add_weight((features,), "zeros", name="beta", trainable=self.center)
        self.gamma_dense = keras.layers.Dense(features, kernel_initializer="zeros",
                                              use_bias=False, name="gamma_dense",
                                              dtype=self.dtype_policy)
        self.beta_dense = keras.layers.Dense(features, kernel_initializer="zeros",
                                             use_bias=False, name="beta_dense",
                                             dtype=self.dtype_policy)
        self.gamma_dense.build(c_shape)
        self.beta_dense.build(c_shape)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        x, condition = inputs
        if self.hidden is not None:
            condition = self.hidden(condition)
        gain = ops.cast(self.gamma.value, x.dtype) + self.gamma_dense(condition)
        bias = ops.cast(self.beta.value, x.dtype) + self.beta_dense(condition)
        for _ in range(len(x.shape) - 2):
            gain, bias = ops.expand_dims(gain, 1), ops.expand_dims(bias, 1)
        out = self.normalization(x) * gain + bias
        x_mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        return sequence_masking(out, x_mask) if x_mask is not None else out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return shape_tuple(input_shape[0])

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return keras_mask(mask[0] if isinstance(mask, (list, tuple)) else mask)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "hidden_units": self.hidden_units,
            "hidden_activation": keras.activations.serialize(self.hidden_activation),
        }

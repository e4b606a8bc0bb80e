"""Masked global average pooling over time."""

from __future__ import annotations

import keras

from kexue.layers._global_pooling import _MaskedGlobalPooling1D
from kexue.layers.masking import masked_mean


@keras.saving.register_keras_serializable(package="kexue")
class MaskedGlobalAveragePooling1D(_MaskedGlobalPooling1D):
    """Global average pooling over the valid time steps: ``sum(x·m) / sum(m)``.

    Keras' ``GlobalAveragePooling1D`` is masked too, but divides by zero for a row that is
    all padding (NaN); this layer gives zeros there, and half-precision inputs are averaged
    in float32, so long sequences cannot overflow float16.

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
        >>> x = np.array([[[-3.0], [-2.0], [9.0]]], "float32")
        >>> pool = MaskedGlobalAveragePooling1D()
        >>> np.asarray(pool(x, mask=np.array([[True, True, False]]))).tolist()
        [[-2.5]]
    """

    reduce = staticmethod(masked_mean)

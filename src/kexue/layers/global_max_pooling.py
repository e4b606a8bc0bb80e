"""Masked global max pooling over time."""

from __future__ import annotations

import keras

from kexue.layers._global_pooling import _MaskedGlobalPooling1D
from kexue.layers.masking import masked_max


@keras.saving.register_keras_serializable(package="kexue")
class MaskedGlobalMaxPooling1D(_MaskedGlobalPooling1D):
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

    reduce = staticmethod(masked_max)

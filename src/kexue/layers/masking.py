"""Mask-aware tensor functions (backend-agnostic ``keras.ops``).

Conventions, after Su Jianlin, "“让Keras更酷一些!”:层中层与mask" (kexue.fm/archives/6810):
a mask is 1 (``True``) at real tokens and 0 (``False``) at padding. A mask is either a
``(batch, length)`` tensor aligned with one axis of ``x`` (Keras' implicit masks, or the
article's explicit ``(batch, length, 1)`` float masks), or a tensor of ``x``'s rank that
broadcasts against ``x`` (e.g. an attention mask ``(batch, queries, keys)``).

Padding never leaks: the functions select with ``where`` instead of multiplying, so even
``inf`` or ``NaN`` stored at padding positions cannot reach the result, and a row that is
all padding gives zeros, never ``NaN``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue._validation import check_choice, check_int, check_positive_int

__all__ = [
    "large_number",
    "padding_mask",
    "causal_mask",
    "sequence_masking",
    "masked_sum",
    "masked_mean",
    "masked_max",
    "masked_min",
    "masked_softmax",
    "reverse_sequence",
]

_HALF = ("float16", "bfloat16")


def large_number(dtype: str = "float32") -> float:
    """A large positive number that is safe to use as "infinity" in ``dtype``.

    ``1e12`` (the 2019 Keras habit) overflows float16 (largest finite 65504); Keras' own
    ``Softmax`` uses ``1e9`` and ``3e4`` in float16. The same values are used here: after
    subtracting them, ``exp`` underflows to exactly zero in every float dtype.

    Args:
        dtype: a float dtype name (``"float16"``, ``"bfloat16"``, ``"float32"``, ...).

    Returns:
        ``3e4`` for float16, ``1e9`` otherwise.

    Example:
        >>> large_number("float16"), large_number("float32")
        (30000.0, 1000000000.0)
    """
    return 3e4 if keras.backend.standardize_dtype(dtype) == "float16" else 1e9


def _static_shape(x: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in x.shape)


def _normalize_axis(axis: int, rank: int, name: str = "axis") -> int:
    return check_int(axis, name, minimum=-rank, maximum=rank - 1) % rank


def _to_bool(mask: Any) -> Any:
    """A boolean or 0/1 mask as a boolean tensor (Keras twin of ``mask_to_bool``)."""
    mask = ops.convert_to_tensor(mask)
    if keras.backend.standardize_dtype(mask.dtype) == "bool":
        return mask
    return ops.not_equal(mask, 0)


def _compatible(expected: tuple, received: tuple) -> bool:
    return len(expected) == len(received) and all(
        e is None or r is None or e == r for e, r in zip(expected, received, strict=True)
    )


def _aligned_mask(x: Any, mask: Any, axis: int) -> Any:
    """Boolean mask broadcastable to ``x``; raises ValueError on a shape mismatch."""
    rank = len(x.shape)
    axis = _normalize_axis(axis, rank)
    mask = _to_bool(mask)
    x_shape, m_shape = _static_shape(x), _static_shape(mask)
    if len(m_shape) == rank and rank != 2:
        broadcastable = all(
            m is None or d is None or m in (1, d) for m, d in zip(m_shape, x_shape, strict=True)
        )
        if not broadcastable:
            raise ValueError(
                f"`mask` must have a shape broadcastable to x's shape {x_shape}; "
                f"received shape {m_shape}"
            )
        return mask
    if len(m_shape) == 3 and m_shape[2] == 1:
        mask = ops.squeeze(mask, axis=2)
        m_shape = m_shape[:2]
    expected = (x_shape[0], x_shape[axis])
    if axis == 0 or not _compatible(expected, m_shape):
        raise ValueError(
            f"`mask` must have shape {expected} (batch, length of axis {axis} of x with shape "
            f"{x_shape}) or (batch, length, 1); received shape {_static_shape(mask)}"
        )
    # Insert singleton axes so that the (batch, length) mask lines up with axes 0 and `axis`.
    for dim in range(1, rank):
        if dim != axis:
            mask = ops.expand_dims(mask, dim)
    return mask


def padding_mask(ids: Any, pad_id: int = 0) -> Any:
    """Boolean mask that is ``True`` where ``ids != pad_id``.

    Args:
        ids: integer token ids, any shape (usually ``(batch, length)``).
        pad_id: the padding id.

    Returns:
        A boolean tensor of ``ids``' shape.

    Example:
        >>> import numpy as np
        >>> np.asarray(padding_mask(np.array([[5, 3, 0, 0]]))).tolist()
        [[True, True, False, False]]
    """
    return ops.not_equal(ops.convert_to_tensor(ids), pad_id)


def causal_mask(query_length: int, key_length: int | None = None) -> Any:
    """Boolean ``(query_length, key_length)`` mask, ``True`` where key ``j <= i`` (query ``i``).

    Add a batch axis (``mask[None]``) and combine with padding masks by ``logical_and``.

    Args:
        query_length: number of query positions.
        key_length: number of key positions (defaults to ``query_length``).

    Returns:
        A boolean lower-triangular tensor.

    Example:
        >>> import numpy as np
        >>> np.asarray(causal_mask(3)).astype(int).tolist()
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    key_length = query_length if key_length is None else key_length
    for name, value in (("query_length", query_length), ("key_length", key_length)):
        # Dynamic lengths (symbolic tensors inside a traced function) are not checked.
        if not ops.is_tensor(value):
            check_positive_int(value, name)
    rows = ops.expand_dims(ops.arange(query_length), 1)
    cols = ops.expand_dims(ops.arange(key_length), 0)
    return ops.greater_equal(rows, cols)


def sequence_masking(x: Any, mask: Any = None, value: float | str = 0.0, axis: int = 1) -> Any:
    """Replace the padding positions of ``x`` by ``value``.

    Args:
        x: a float tensor, e.g. ``(batch, length, features)``.
        mask: ``None`` (``x`` is returned unchanged), a ``(batch, length)`` or
            ``(batch, length, 1)`` mask aligned with ``axis``, or a mask of ``x``'s rank
            that broadcasts to ``x``. Booleans or 0/1 numbers.
        value: ``"-inf"`` / ``"inf"`` for minus / plus :func:`large_number` of ``x``'s
            dtype (finite, so safe in float16), or a number.
        axis: the axis of ``x`` that the mask's length runs along (not 0, the batch).

    Returns:
        A tensor like ``x`` with padding positions set to ``value``.

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 3, 2), "float32")
        >>> np.asarray(sequence_masking(x, np.array([[1, 1, 0]]), "-inf"))[0, :, 0].tolist()
        [1.0, 1.0, -1000000000.0]
    """
    x = ops.convert_to_tensor(x)
    if mask is None:
        return x
    mask = _aligned_mask(x, mask, axis)
    if isinstance(value, str):
        if value not in ("-inf", "inf"):
            check_choice(value, "value", ("-inf", "inf"))
        big = large_number(x.dtype)
        value = -big if value == "-inf" else big
    return ops.where(mask, x, ops.cast(value, x.dtype))


def _upcast(x: Any) -> tuple[Any, str]:
    dtype = keras.backend.standardize_dtype(x.dtype)
    return (ops.cast(x, "float32"), dtype) if dtype in _HALF else (x, dtype)


def masked_sum(x: Any, mask: Any = None, axis: int = 1, keepdims: bool = False) -> Any:
    """Sum of ``x`` over ``axis``, counting valid positions only.

    Half-precision inputs are summed in float32 and cast back.

    Args:
        x: a float tensor.
        mask: see :func:`sequence_masking`; ``None`` sums everything.
        axis: the axis to reduce (the mask's length axis).
        keepdims: keep the reduced axis with length 1.

    Returns:
        The masked sum; zeros for an all-padding row.

    Example:
        >>> import numpy as np
        >>> float(masked_sum(np.array([[1., 2., 40.]]), np.array([[1, 1, 0]]))[0])
        3.0
    """
    x, dtype = _upcast(ops.convert_to_tensor(x))
    total = ops.sum(sequence_masking(x, mask, 0.0, axis), axis=axis, keepdims=keepdims)
    return ops.cast(total, dtype)


def masked_mean(x: Any, mask: Any = None, axis: int = 1, keepdims: bool = False) -> Any:
    """Mean of ``x`` over the valid positions of ``axis``: ``sum(x·m) / sum(m)``.

    The article's example: ``[1, 0, 3, 4, 5]`` padded to length 8 has mean 2.6, whereas
    the unmasked mean is 1.625. An all-padding row gives 0.

    Args:
        x: a float tensor.
        mask: see :func:`sequence_masking`; ``None`` gives the plain mean.
        axis: the axis to reduce.
        keepdims: keep the reduced axis with length 1.

    Returns:
        The masked mean.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1., 0., 3., 4., 5., 0., 0., 0.]])
        >>> m = np.array([[1, 1, 1, 1, 1, 0, 0, 0]])
        >>> round(float(masked_mean(x, m)[0]), 4), round(float(x.mean()), 4)
        (2.6, 1.625)
    """
    x, dtype = _upcast(ops.convert_to_tensor(x))
    if mask is None:
        return ops.cast(ops.mean(x, axis=axis, keepdims=keepdims), dtype)
    valid = ops.broadcast_to(_aligned_mask(x, mask, axis), ops.shape(x))
    count = ops.sum(ops.cast(valid, x.dtype), axis=axis, keepdims=keepdims)
    total = ops.sum(ops.where(valid, x, ops.zeros_like(x)), axis=axis, keepdims=keepdims)
    return ops.cast(total / ops.maximum(count, 1.0), dtype)


def _masked_extreme(x: Any, mask: Any, axis: int, keepdims: bool, largest: bool) -> Any:
    x = ops.convert_to_tensor(x)
    reduce = ops.max if largest else ops.min
    if mask is None:
        return reduce(x, axis=axis, keepdims=keepdims)
    valid = _aligned_mask(x, mask, axis)
    # The dtype's own extreme finite value: exact whatever the valid values are, and no
    # arithmetic is done on it, so it cannot overflow.
    info = _finfo(x.dtype)
    fill = ops.cast(info.min if largest else info.max, x.dtype)
    out = reduce(ops.where(valid, x, fill), axis=axis, keepdims=keepdims)
    any_valid = ops.any(ops.broadcast_to(valid, ops.shape(x)), axis=axis, keepdims=keepdims)
    return ops.where(any_valid, out, ops.zeros_like(out))


def _finfo(dtype: Any) -> Any:
    # numpy.finfo does not know bfloat16; ml_dtypes (a Keras dependency) does.
    import ml_dtypes
    import numpy as np

    name = keras.backend.standardize_dtype(dtype)
    return ml_dtypes.finfo(ml_dtypes.bfloat16) if name == "bfloat16" else np.finfo(name)


def masked_max(x: Any, mask: Any = None, axis: int = 1, keepdims: bool = False) -> Any:
    """Maximum of ``x`` over the valid positions of ``axis``; 0 for an all-padding row.

    Args:
        x: a float tensor.
        mask: see :func:`sequence_masking`; ``None`` gives the plain maximum.
        axis: the axis to reduce.
        keepdims: keep the reduced axis with length 1.

    Returns:
        The masked maximum.

    Example:
        >>> import numpy as np
        >>> float(masked_max(np.array([[-3., -2., 9.]]), np.array([[1, 1, 0]]))[0])
        -2.0
    """
    return _masked_extreme(x, mask, axis, keepdims, largest=True)


def masked_min(x: Any, mask: Any = None, axis: int = 1, keepdims: bool = False) -> Any:
    """Minimum of ``x`` over the valid positions of ``axis``; 0 for an all-padding row.

    Args:
        x: a float tensor.
        mask: see :func:`sequence_masking`; ``None`` gives the plain minimum.
        axis: the axis to reduce.
        keepdims: keep the reduced axis with length 1.

    Returns:
        The masked minimum.

    Example:
        >>> import numpy as np
        >>> float(masked_min(np.array([[3., 2., -9.]]), np.array([[1, 1, 0]]))[0])
        2.0
    """
    return _masked_extreme(x, mask, axis, keepdims, largest=False)


def masked_softmax(x: Any, mask: Any = None, axis: int = -1) -> Any:
    """Softmax of ``x`` along ``axis`` over valid positions only.

    Padding logits are replaced by ``-large_number`` (in float32: half-precision inputs are
    computed in float32 and cast back), so their weight underflows to exactly 0 and valid
    weights equal the softmax of the unpadded row. The result is multiplied by the mask:
    padding weights are exactly 0 and an all-padding row gives all zeros, never NaN.

    Args:
        x: float logits.
        mask: see :func:`sequence_masking` (a ``(batch, length)`` mask is aligned with
            ``axis``); ``None`` gives the plain softmax.
        axis: the axis to normalise over (not 0, the batch).

    Returns:
        Softmax weights with ``x``'s shape and dtype.

    Example:
        >>> import numpy as np
        >>> w = masked_softmax(np.zeros((1, 4), "float32"), np.array([[1, 1, 0, 0]]))
        >>> np.asarray(w).tolist()
        [[0.5, 0.5, 0.0, 0.0]]
    """
    x, dtype = _upcast(ops.convert_to_tensor(x))
    axis = _normalize_axis(axis, len(x.shape))
    valid = None if mask is None else _aligned_mask(x, mask, axis)
    logits = x if valid is None else ops.where(valid, x, ops.cast(-large_number(x.dtype), x.dtype))
    # Written out rather than ops.softmax, which warns on a length-1 axis (a one-token row).
    exp = ops.exp(logits - ops.stop_gradient(ops.max(logits, axis=axis, keepdims=True)))
    weights = exp / ops.sum(exp, axis=axis, keepdims=True)
    if valid is not None:
        weights = ops.where(valid, weights, ops.zeros_like(weights))
    return ops.cast(weights, dtype)


def reverse_sequence(x: Any, mask: Any) -> Any:
    """Reverse the valid prefix of every row of ``x`` along axis 1; padding stays in place.

    This is what a backward RNN over right-padded sequences needs: it must start at the last
    real token, not at the padding (the article reversed with per-row lengths, ran a forward
    RNN and reversed back). Applying it twice gives ``x`` back. The mask is assumed to be a
    prefix mask (right padding); the valid length of a row is its number of ``True``.

    Args:
        x: a tensor ``(batch, length, ...)``.
        mask: a ``(batch, length)`` or ``(batch, length, 1)`` mask of right-padded rows.

    Returns:
        A tensor like ``x``.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 2, 3, 0]])
        >>> np.asarray(reverse_sequence(x, x != 0)).tolist()
        [[3, 2, 1, 0]]
    """
    x = ops.convert_to_tensor(x)
    if len(x.shape) < 2:
        raise ValueError(
            f"`x` must be a tensor of rank >= 2 (batch, length, ...); received shape "
            f"{_static_shape(x)}"
        )
    valid = _aligned_mask(x, mask, 1)
    valid = ops.reshape(valid, ops.shape(valid)[:2])
    lengths = ops.sum(ops.cast(valid, "int32"), axis=1, keepdims=True)
    positions = ops.expand_dims(ops.arange(ops.shape(x)[1], dtype="int32"), 0)
    index = ops.where(positions < lengths, lengths - 1 - positions, positions)
    index = ops.reshape(index, ops.shape(index) + (1,) * (len(x.shape) - 2))
    index = ops.broadcast_to(index, ops.shape(x))
    return ops.take_along_axis(x, index, axis=1)

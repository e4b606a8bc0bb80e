"""Shape checks and mask conversion shared by the layers.

Argument checks live in :mod:`kexue._validation`; single-input layers declare their rank with
``keras.layers.InputSpec(ndim=...)``, as Keras' own layers do. What remains here is for the
multi-input layers, whose inputs Keras' ``InputSpec`` cannot describe by position.
"""

from __future__ import annotations

from typing import Any


def shape_tuple(shape: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def check_rank(shape: Any, rank: int, argument: str, layer: str, meaning: str) -> tuple:
    """Raise ValueError unless ``shape`` has ``rank`` dimensions; return it as a tuple."""
    shape = shape_tuple(shape)
    if len(shape) != rank:
        raise ValueError(
            f"{layer}: `{argument}` must be a rank-{rank} tensor {meaning}; "
            f"received shape {shape}"
        )
    return shape


def check_last_dim(shape: tuple, argument: str, layer: str) -> int:
    if shape[-1] is None:
        raise ValueError(
            f"{layer}: `{argument}` must have a known last (feature) dimension; "
            f"received shape {shape}"
        )
    return int(shape[-1])


def keras_mask(mask: Any) -> Any:
    """A mask as Keras expects to propagate it: boolean ``(batch, steps)`` (or ``None``).

    Explicit masks may be ``(batch, steps, 1)`` or 0/1 floats, as in the 2019 article.
    """
    if mask is None:
        return None
    from keras import ops

    from kexue.layers.masking import _to_bool

    mask = _to_bool(mask)
    if len(mask.shape) == 3 and mask.shape[-1] == 1:
        mask = ops.squeeze(mask, axis=-1)
    return mask

"""Shared logic of the mask-preserving merge layers."""

from __future__ import annotations

from typing import Any

from keras import ops

from kexue.layers._checks import keras_mask, shape_tuple


def check_merge_shapes(input_shape: Any, layer: str, same_features: bool) -> list[tuple]:
    """Validate ``[(batch, steps, f), ... or (batch, f)]``; return the shapes as tuples."""
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(
            input_shape[0], (list, tuple)) or len(input_shape) < 2:
        raise ValueError(
            f"{layer}: `inputs` must be a list of at least 2 tensors; received shape "
            f"{input_shape}"
        )
    shapes = [shape_tuple(s) for s in input_shape]
    for i, shape in enumerate(shapes):
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{layer}: `inputs[{i}]` must have rank 3 (batch, steps, features) or rank 2 "
                f"(batch, features); received shape {shape}"
            )
    sequences = [s for s in shapes if len(s) == 3]
    if not sequences:
        raise ValueError(
            f"{layer}: `inputs` must hold at least one rank-3 (batch, steps, features) tensor; "
            f"received shapes {shapes}"
        )
    steps = {s[1] for s in sequences if s[1] is not None}
    if len(steps) > 1:
        raise ValueError(
            f"{layer}: `inputs` must be sequences of one length; received shapes {shapes}"
        )
    if same_features:
        features = {s[-1] for s in shapes if s[-1] is not None}
        if len(features) > 1:
            raise ValueError(
                f"{layer}: `inputs` must have equal feature dimensions; received shapes "
                f"{shapes}"
            )
    return shapes


def reference(inputs: list) -> Any:
    return next(x for x in inputs if len(x.shape) == 3)


def broadcast_inputs(inputs: list) -> list:
    """Repeat every ``(batch, features)`` input along the steps of the first sequence."""
    zeros = ops.zeros_like(reference(inputs)[..., :1])
    return [x if len(x.shape) == 3 else ops.expand_dims(x, 1) + zeros for x in inputs]


def combined_mask(inputs: list, mask: Any) -> Any:
    """AND of the masks of the sequence inputs; ``None`` masks (and vector inputs) abstain."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)):
        return keras_mask(mask)
    if len(mask) != len(inputs):
        raise ValueError(
            f"`mask` must be a list of {len(inputs)} masks (one per input); received "
            f"{len(mask)}"
        )
    result = None
    for x, m in zip(inputs, mask, strict=True):
        if m is None or len(x.shape) != 3:
            continue
        m = keras_mask(m)
        result = m if result is None else ops.logical_and(result, m)
    return result



def output_shape(input_shape: list, concatenate: bool) -> tuple:
    shapes = [tuple(s) for s in input_shape]
    ref = next(s for s in shapes if len(s) == 3)
    if concatenate:
        dims = [s[-1] for s in shapes]
        return ref[:2] + (None if None in dims else sum(dims),)
    return ref

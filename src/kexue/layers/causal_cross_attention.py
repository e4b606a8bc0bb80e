"""Masked (optionally causal) multi-head attention from one sequence onto another."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kexue.layers._checks import check_last_dim, check_rank, keras_mask
from kexue.layers.masking import large_number, sequence_masking


def _bool_mask(mask: Any, like: Any) -> Any:
    if mask is None:
        return ops.ones(ops.shape(like)[:2], dtype="bool")
    mask = ops.convert_to_tensor(mask)
    if len(mask.shape) == 3:
        mask = ops.squeeze(mask, axis=-1)
    return ops.cast(mask, "bool")


@keras.saving.register_keras_serializable(package="kexue")
class CausalCrossAttention(keras.layers.Layer):
    """Multi-head attention of ``query`` onto ``value`` with padding and causal masks.

    The interaction of Su Jianlin's synchronous bidirectional decoders
    (kexue.fm/archives/6877; Zhou et al., TACL 2019): at step ``i`` the left-to-right decoder
    attends over the right-to-left decoder's states ``0..i`` only, and vice versa. A Keras
    ``MultiHeadAttention`` does the work; this layer builds the attention mask
    ``query_mask ∧ value_mask ∧ causal`` once, zeroes the outputs of padding queries and of
    queries with no visible key (finite, never NaN), and keeps the query mask. With
    ``causal=False`` it is a masked cross-attention (e.g. a decoder over the encoder).

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (``None``: ``key_dim``).
        dropout: dropout on the attention weights.
        use_bias: whether the projections use biases.
        output_dim: output width (``None``: the query width).
        causal: query ``i`` sees keys ``j <= i`` only.
        kernel_initializer: initializer of the projection kernels.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ...).

    Call arguments:
        query: ``(batch, query_steps, features)``.
        value: ``(batch, key_steps, value_features)``.
        query_mask: optional ``(batch, query_steps)`` mask (filled in by Keras).
        value_mask: optional ``(batch, key_steps)`` mask (filled in by Keras).
        training: Python bool, whether dropout is active.
        return_attention_scores: also return the ``(batch, heads, query, key)`` weights.

        query_offset: position of the first query (default 0): with ``causal=True`` query
            ``i`` sees keys ``j <= query_offset + i`` (a step offset for decoding one
            position at a time against a whole value sequence).

    Output: ``(batch, query_steps, output_dim)`` with the query's mask.

    Incremental decoding: :meth:`init_cache` (empty) or :meth:`precompute_cache` (a whole
    value sequence, e.g. the encoder's) gives a key/value cache of projected values;
    :meth:`update_cache` writes the projection of one new value step at ``index``;
    :meth:`call_cached` attends from one query step at position ``index`` over the cache
    (causal: positions ``<= index``), without projecting the earlier values again. The
    cached result equals the whole-sequence call (tested on every backend).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> l2r = rng.normal(size=(2, 5, 16)).astype("float32")
        >>> r2l = rng.normal(size=(2, 5, 16)).astype("float32")
        >>> layer = CausalCrossAttention(num_heads=2, key_dim=8)
        >>> whole = layer(l2r, r2l)
        >>> tuple(whole.shape)
        (2, 5, 16)
        >>> cache = layer.init_cache(batch_size=2, max_length=5)
        >>> for t in range(5):
        ...     cache = layer.update_cache(cache, r2l[:, t:t + 1], t)
        ...     step = layer.call_cached(l2r[:, t:t + 1], cache, t)
        >>> from keras import ops
        >>> bool(np.allclose(ops.convert_to_numpy(step[:, 0]), ops.convert_to_numpy(whole[:, 4]),
        ...                  atol=1e-5))
        True
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_dim: int | None = None,
                 causal: bool = True, kernel_initializer: Any = "glorot_uniform",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if int(value) < 1:
                raise ValueError(f"`{name}`: expected a positive integer, received {value}")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = value_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self.output_dim = output_dim
        self.causal = causal
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, self.key_dim, value_dim=value_dim, dropout=self.dropout,
            use_bias=use_bias, output_shape=output_dim,
            kernel_initializer=self.kernel_initializer, name="attention",
            dtype=self.dtype_policy)

    def build(self, query_shape: Any, value_shape: Any) -> None:
        name = type(self).__name__
        query_shape = check_rank(query_shape, 3, "query", name, "(batch, steps, features)")
        value_shape = check_rank(value_shape, 3, "value", name, "(batch, steps, features)")
        check_last_dim(query_shape, "query", name)
        check_last_dim(value_shape, "value", name)
        self.attention.build(query_shape, value_shape)

    def call(self, query: Any, value: Any, query_mask: Any = None, value_mask: Any = None,
             training: bool | None = None, return_attention_scores: bool = False,
             query_offset: Any = 0) -> Any:
        q_mask, v_mask = _bool_mask(query_mask, query), _bool_mask(value_mask, value)
        visible = ops.logical_and(ops.expand_dims(q_mask, 2), ops.expand_dims(v_mask, 1))
        if self.causal:
            rows = ops.expand_dims(ops.arange(ops.shape(query)[1]) + query_offset, 1)
            tri = ops.greater_equal(rows, ops.expand_dims(ops.arange(ops.shape(value)[1]), 0))
            visible = ops.logical_and(visible, ops.expand_dims(tri, 0))
        # New tensors (no Keras mask attached): MultiHeadAttention would otherwise read and
        # clear the masks attached to our inputs.
        query, value = sequence_masking(query, q_mask), sequence_masking(value, v_mask)
        result = self.attention(query, value, attention_mask=visible, training=training,
                                return_attention_scores=return_attention_scores)
        output, scores = result if return_attention_scores else (result, None)
        output = sequence_masking(output, ops.any(visible, axis=-1))
        if return_attention_scores:
            scores = ops.where(ops.expand_dims(visible, 1), scores, ops.zeros_like(scores))
            return output, scores
        return output

    # --- incremental decoding ---------------------------------------------------------------
    def _head_dims(self) -> tuple[int, int]:
        return self.key_dim, self.value_dim or self.key_dim

    def init_cache(self, batch_size: int, max_length: int) -> dict[str, Any]:
        """An empty key/value cache of ``max_length`` positions (layer must be built).

        Returns:
            ``{"key": (batch, max_length, heads, key_dim), "value": (..., value_dim),
            "mask": (batch, max_length) bool}``, all positions unfilled.
        """
        key_dim, value_dim = self._head_dims()
        dtype = self.compute_dtype
        return {
            "key": ops.zeros((batch_size, max_length, self.num_heads, key_dim), dtype),
            "value": ops.zeros((batch_size, max_length, self.num_heads, value_dim), dtype),
            "mask": ops.zeros((batch_size, max_length), "bool"),
        }

    def precompute_cache(self, value: Any, value_mask: Any = None) -> dict[str, Any]:
        """A cache holding the projections of a whole ``(batch, steps, features)`` value."""
        value = sequence_masking(value, _bool_mask(value_mask, value))
        return {
            "key": self.attention.key_dense(value),
            "value": self.attention.value_dense(value),
            "mask": _bool_mask(value_mask, value),
        }

    def update_cache(self, cache: dict[str, Any], value_step: Any, index: Any) -> dict[str, Any]:
        """Write the projections of ``value_step`` ``(batch, 1, features)`` at ``index``."""
        length = ops.shape(cache["key"])[1]
        here = ops.equal(ops.arange(length), index)
        select = ops.reshape(here, (1, length, 1, 1))
        return {
            "key": ops.where(select, self.attention.key_dense(value_step), cache["key"]),
            "value": ops.where(select, self.attention.value_dense(value_step), cache["value"]),
            "mask": ops.logical_or(cache["mask"], ops.expand_dims(here, 0)),
        }

    def call_cached(self, query: Any, cache: dict[str, Any], index: Any = None) -> Any:
        """Attend from ``query`` ``(batch, steps, features)`` over a cache.

        Args:
            query: the query steps, the first at position ``index``.
            cache: from :meth:`init_cache` / :meth:`update_cache` or :meth:`precompute_cache`.
            index: position of the first query step; with ``causal=True`` query ``i`` sees
                cached positions ``<= index + i`` (ignored when ``causal=False``).

        Returns:
            ``(batch, steps, output_dim)``, zero for a query with no visible key.
        """
        key_dim, _ = self._head_dims()
        length = ops.shape(cache["key"])[1]
        visible = ops.expand_dims(cache["mask"], 1)
        if self.causal:
            rows = ops.expand_dims(ops.arange(ops.shape(query)[1]) + index, 1)
            visible = ops.logical_and(
                visible, ops.expand_dims(ops.greater_equal(rows, ops.arange(length)[None]), 0))
        q = self.attention.query_dense(query) * ops.cast(1.0 / key_dim ** 0.5, query.dtype)
        scores = ops.einsum("bqhd,bkhd->bhqk", q, cache["key"])
        seen = ops.expand_dims(visible, 1)
        scores = ops.where(seen, scores, ops.full_like(scores, -large_number(scores.dtype)))
        weights = ops.where(seen, ops.softmax(scores, axis=-1), ops.zeros_like(scores))
        mixed = ops.einsum("bhqk,bkhd->bqhd", weights, cache["value"])
        output = self.attention.output_dense(mixed)
        # (batch, 1) without the causal mask: every query step sees the same keys
        seen_any = ops.broadcast_to(ops.any(visible, axis=-1), ops.shape(output)[:2])
        return sequence_masking(output, seen_any)

    def compute_output_shape(self, query_shape: Any, value_shape: Any) -> tuple:
        return tuple(query_shape[:2]) + (self.output_dim or query_shape[2],)

    def compute_mask(self, query: Any, mask: Any = None) -> Any:
        return keras_mask(mask)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_dim": self.output_dim,
            "causal": self.causal,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }

"""Batched, incremental decoding of title models: greedy and beam search (L2R, R2L), the
article's k×k synchronous bidirectional beam (``bi``) and SB-NMT's ``sb-half``.

Shape (after KerasHub's ``BeamSampler``): a search drives a step function
``next(prompt, cache, index) -> (log_probs, cache)``; ``prompt`` holds the tokens so far,
``prompt[:, index]`` is the newest one, and ``cache`` (LSTM states, key/value caches of
:class:`~kexue.layers.CausalCrossAttention`) is carried from step to step and reordered by
the search when hypotheses are pruned (a cache part may carry its own ``take``: the
search then only records the surviving rows). :class:`TitleDecoder` builds the step
functions of a trained model from its own layers (one position per step, never recomputing
the prefix). The bookkeeping of the searches runs in NumPy, driven by a Python loop over
positions; each network step is one compiled call (jit on JAX) that also reorders the
cache on the device, so only tokens, parent rows and log-probabilities cross to the host
(not a ``keras.ops.while_loop``: the k×k pairing, the finished lists and ``n_best`` stay
simple NumPy this way).

Scores are sums of log-probabilities, divided by the GNMT length penalty
``((5 + length) / 6) ** length_penalty`` (0: none, the article's choice). A hypothesis that
emits its end token *leaves the beam* (the 2019 code kept it, wasting a slot) and joins a
finished list; a search stops when no live hypothesis can still beat the ``n_best``-th
finished one, or at ``max_length`` characters (the last step may only end).

Bidirectional searches (``probs`` from a model with both decoders): with ``bi`` each
direction keeps ``beam`` hypotheses; at each step the probability of a next token for an
L2R hypothesis is averaged over all live R2L hypotheses it may attend to (k×k pairings),
and mirrored for R2L; with ``sb-half`` the ``i``-th L2R hypothesis attends to the ``i``-th
R2L one only. Both pool the finished hypotheses of the two directions (R2L reversed) and
return the best.

Example:
    >>> import numpy as np
    >>> with np.errstate(divide="ignore"):
    ...     table = np.log(np.array([[0.0, 0.0, 0.0, 0.4, 0.6],    # first step (no end)
    ...                             [0.0, 0.0, 0.0, 0.9, 0.1]]))  # later steps
    >>> def step(prompt, cache, index):
    ...     return np.repeat(table[min(index, 1)][None], len(prompt), 0), cache
    >>> [(h.tokens, round(h.score, 3)) for h in beam_search(step, {}, 1, beam=2, n_best=2,
    ...  max_length=3, start=2, end=3)[0]]
    [((4,), -0.616), ((4, 4), -2.919)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kexue._validation import check_choice, check_float, check_int, check_positive_int
from kexue.tasks.title.data import END, PAD, START

__all__ = [
    "DECODERS",
    "Hypothesis",
    "beam_search",
    "bidirectional_beam_search",
    "TitleDecoder",
]

#: decoder names of ``kexue title generate --decoder``.
DECODERS = ("bi", "sb-half", "l2r", "r2l")
StepFunction = Callable[[np.ndarray, Any, int], tuple[np.ndarray, Any]]
NEG_INF = -np.inf


@dataclass(frozen=True)
class Hypothesis:
    """A decoded title: ``tokens`` (in reading order), ``score`` (normalised),
    ``direction`` that produced it."""

    tokens: tuple[int, ...]
    score: float
    direction: str = "l2r"


def _penalty(length: int, alpha: float) -> float:
    return ((5.0 + length) / 6.0) ** alpha if alpha else 1.0


class _Gathered:
    """A cache part kept as the network step returned it, with the rows the next step must
    gather (``rows``: new row ``r`` is old row ``rows[r]``); the compiled step does the
    gather itself, so a search never copies the cache on the host."""

    def __init__(self, value: Any, rows: np.ndarray | None = None) -> None:
        self.value, self.rows = value, rows

    def take(self, rows: np.ndarray) -> _Gathered:
        return _Gathered(self.value, rows if self.rows is None else self.rows[rows])

    def parents(self, n: int) -> np.ndarray:
        return np.asarray(np.arange(n) if self.rows is None else self.rows, "int32")


class _Constant:
    """A cache part that does not depend on the hypothesis (the source's encoding)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def take(self, rows: np.ndarray) -> _Constant:
        return self


def _take(cache: Any, rows: np.ndarray) -> Any:
    if isinstance(cache, (_Gathered, _Constant)):
        return cache.take(rows)
    if cache is None or isinstance(cache, np.ndarray):
        return None if cache is None else cache[rows]
    if isinstance(cache, dict):
        return {k: _take(v, rows) for k, v in cache.items()}
    if isinstance(cache, (list, tuple)):
        return type(cache)(_take(v, rows) for v in cache)
    from keras import ops

    return ops.take(cache, rows, axis=0)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(-values, axis=1, kind="stable")[:, :k]`` without sorting whole rows.

    ``k`` row maxima (one entry removed per round) give each row's ``k``-th best value;
    only the entries at least as good (ties included, so the stable order is kept) are
    sorted. For the small beams of title search this is several times faster than a sort
    or a partition of ``beam * vocabulary`` candidates per row.
    """
    if k >= values.shape[1] or k > 16:
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    work = values.copy()
    rows = np.arange(values.shape[0])
    for _ in range(k):
        best = np.argmax(work, axis=1)
        threshold = work[rows, best]
        work[rows, best] = NEG_INF
    out = np.empty((values.shape[0], k), np.int64)
    for row in range(values.shape[0]):
        index = np.flatnonzero(values[row] >= threshold[row])
        if len(index) < k:  # NaN among the best: fall back to the full sort
            out[row] = np.argsort(-values[row], kind="stable")[:k]
        else:
            out[row] = index[np.argsort(-values[row, index], kind="stable")[:k]]
    return out


def _ban_repeats(log_probs: np.ndarray, prompt: np.ndarray, index: int, n: int) -> None:
    """Forbid (in place) tokens that would repeat an n-gram of the hypothesis' own text."""
    if n <= 0 or index + 1 < n:
        return
    for row in range(prompt.shape[0]):
        text = prompt[row, 1:index + 1]
        if len(text) < n - 1:
            continue
        tail = tuple(text[len(text) - n + 1:]) if n > 1 else ()
        for s in range(len(text) - n + 1):
            if tuple(text[s:s + n - 1]) == tail:
                log_probs[row, text[s + n - 1]] = NEG_INF


class _Beam:
    """The bookkeeping of one direction's beams over a batch (NumPy)."""

    def __init__(self, batch: int, beam: int, max_length: int, start: int, end: int,
                 alpha: float, n_best: int, direction: str) -> None:
        self.batch, self.beam, self.end, self.alpha = batch, beam, end, alpha
        self.max_length, self.n_best, self.direction = max_length, n_best, direction
        self.prompt = np.full((batch * beam, max_length + 2), PAD, "int64")
        self.prompt[:, 0] = start
        self.scores = np.full((batch, beam), NEG_INF)
        self.scores[:, 0] = 0.0
        self.finished: list[list[tuple[float, tuple[int, ...], float]]] = [[] for _ in
                                                                           range(batch)]
        self.banned = [PAD, START if end == END else END]

    def valid(self) -> np.ndarray:
        return np.isfinite(self.scores)

    def advance(self, log_probs: np.ndarray, index: int, no_repeat_ngram: int) -> np.ndarray:
        """Select the next beam from ``log_probs`` ``(batch * beam, vocab)``; return the
        flat parent rows."""
        log_probs = np.array(log_probs, dtype="float64")
        log_probs[:, self.banned] = NEG_INF
        _ban_repeats(log_probs, self.prompt, index, no_repeat_ngram)
        if index == 0:  # a title has at least one character
            log_probs[:, self.end] = NEG_INF
        if index >= self.max_length:  # no room for another character: end here
            keep = log_probs[:, self.end].copy()
            log_probs[:] = NEG_INF
            log_probs[:, self.end] = keep
        vocab = log_probs.shape[1]
        total = (self.scores.reshape(-1, 1) + log_probs).reshape(self.batch, -1)
        top = _top_k(total, self.beam)
        for b in range(self.batch):
            for flat in top[b]:
                score = total[b, flat]
                if np.isfinite(score) and flat % vocab == self.end:
                    row = b * self.beam + flat // vocab
                    tokens = tuple(int(t) for t in self.prompt[row, 1:index + 1])
                    self.finished[b].append((score / _penalty(index, self.alpha), tokens, score))
        total = total.reshape(self.batch, self.beam, vocab)
        total[:, :, self.end] = NEG_INF
        total = total.reshape(self.batch, -1)
        top = _top_k(total, self.beam)
        parents = top // vocab
        rows = (np.arange(self.batch)[:, None] * self.beam + parents).reshape(-1)
        self.scores = np.take_along_axis(total, top, 1)
        self.prompt = self.prompt[rows]
        self.prompt[:, index + 1] = (top % vocab).reshape(-1)
        return rows

    def bound(self) -> np.ndarray:
        """Per item, the best normalised score a live hypothesis could still reach."""
        best = self.scores.max(axis=1)
        return best / _penalty(self.max_length, self.alpha) if self.alpha else best

    def kth_finished(self, k: int) -> np.ndarray:
        out = np.full(self.batch, NEG_INF)
        for b, items in enumerate(self.finished):
            if len(items) >= k:
                out[b] = sorted((s for s, _, _ in items), reverse=True)[k - 1]
        return out

    def results(self, b: int) -> list[tuple[float, tuple[int, ...]]]:
        items = [(s, t) for s, t, _ in self.finished[b]]
        if not items:  # nothing ended within max_length: the best live hypothesis
            row = int(np.argmax(self.scores[b]))
            items = [(float(self.scores[b, row]),
                      tuple(int(t) for t in self.prompt[b * self.beam + row, 1:]
                            if t != PAD))]
        return items


def _hypotheses(items: list[tuple[float, tuple[int, ...], str]], n_best: int) -> list[Hypothesis]:
    items = sorted(items, key=lambda item: -item[0])[:n_best]
    return [Hypothesis(tokens if d == "l2r" else tokens[::-1], float(s), d)
            for s, tokens, d in items]


def _check(beam: int, max_length: int, length_penalty: float, no_repeat_ngram: int,
           n_best: int) -> None:
    check_positive_int(beam, "beam")
    check_positive_int(max_length, "max_length")
    check_float(length_penalty, "length_penalty", minimum=0.0)
    check_int(no_repeat_ngram, "no_repeat_ngram", minimum=0)
    check_positive_int(n_best, "n_best")
    if n_best > beam:
        raise ValueError(f"`n_best` must be <= `beam` ({beam}); received {n_best}")


def beam_search(next: StepFunction, cache: Any, batch_size: int, *, beam: int = 3,
                max_length: int = 32, start: int = START, end: int = END,
                length_penalty: float = 0.0, no_repeat_ngram: int = 0, n_best: int = 1,
                direction: str = "l2r") -> list[list[Hypothesis]]:
    """Beam search (``beam=1``: greedy) with one step function.

    Args:
        next: ``next(prompt, cache, index) -> (log_probs (rows, vocab), cache)`` with
            ``rows = batch_size * beam``; ``cache`` rows are reordered with the beams.
        cache: the initial cache (rows ``batch_size * beam``, item-major).
        batch_size: number of inputs.
        beam: hypotheses kept per input.
        max_length: most characters per title.
        start, end: start and end ids (R2L: ``start=END, end=START``).
        length_penalty: GNMT ``alpha``.
        no_repeat_ngram: forbid repeating any n-gram (0: off).
        n_best: hypotheses returned per input.
        direction: ``"r2l"`` reverses the returned tokens into reading order.

    Returns:
        ``n_best`` :class:`Hypothesis` per input, best first.
    """
    _check(beam, max_length, length_penalty, no_repeat_ngram, n_best)
    state = _Beam(batch_size, beam, max_length, start, end, length_penalty, n_best, direction)
    for index in range(max_length + 1):
        log_probs, cache = next(state.prompt[:, :index + 1], cache, index)
        rows = state.advance(np.asarray(log_probs), index, no_repeat_ngram)
        if np.all(state.kth_finished(n_best) >= state.bound()):
            break
        cache = _take(cache, rows)
    return [_hypotheses([(s, t, direction) for s, t in state.results(b)], n_best)
            for b in range(batch_size)]


BiStepFunction = Callable[[np.ndarray, np.ndarray, Any, int], tuple[np.ndarray, np.ndarray, Any]]


def _log_mean_over_partners(log_probs: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``log mean_j p[b, i, j, :]`` over live partners ``j`` -> ``(batch * beam, vocab)``."""
    weights = valid.astype("float64")
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    with np.errstate(divide="ignore"):
        mean = np.einsum("bijv,bj->biv", np.exp(log_probs.astype("float64")), weights)
        return np.log(mean).reshape(-1, log_probs.shape[-1])


def bidirectional_beam_search(next: BiStepFunction, cache: Any, batch_size: int, *,
                              pairing: str = "all", beam: int = 3, max_length: int = 32,
                              length_penalty: float = 0.0, no_repeat_ngram: int = 0,
                              n_best: int = 1) -> list[list[Hypothesis]]:
    """Synchronous bidirectional beam search (``pairing="all"``: the article's k×k;
    ``"diagonal"``: SB-NMT's ``sb-half``).

    Args:
        next: ``next(l2r_prompt, r2l_prompt, cache, index) -> (l2r_log_probs,
            r2l_log_probs, cache)``. With ``pairing="all"`` the log-probabilities are
            ``(batch, beam, beam, vocab)``: ``l2r[b, i, j]`` is the L2R hypothesis ``i``
            attending to R2L hypothesis ``j``, ``r2l[b, j, i]`` the mirror; with
            ``"diagonal"`` they are ``(batch * beam, vocab)`` (hypothesis ``i`` with
            partner ``i``). ``cache`` is ``{"l2r": ..., "r2l": ..., "shared": ...}``; each
            direction's part is reordered with that direction's beam. With ``"all"`` and
            a dict cache the search also puts ``cache["valid"]`` (``{"l2r", "r2l"}``:
            ``(batch * beam,)`` which hypotheses are live) there, and the step may return
            ``(batch * beam, vocab)`` log-probabilities already averaged over the live
            partners (as :class:`TitleDecoder` does, on the device).
        cache, batch_size, beam, max_length, length_penalty, no_repeat_ngram, n_best: as
            in :func:`beam_search`.

    Returns:
        ``n_best`` :class:`Hypothesis` per input (finished hypotheses of both directions
        pooled, R2L ones in reading order), best first.
    """
    check_choice(pairing, "pairing", ("all", "diagonal"))
    _check(beam, max_length, length_penalty, no_repeat_ngram, n_best)
    beams = {"l2r": _Beam(batch_size, beam, max_length, START, END, length_penalty, n_best,
                          "l2r"),
             "r2l": _Beam(batch_size, beam, max_length, END, START, length_penalty, n_best,
                          "r2l")}
    for index in range(max_length + 1):
        valid = {d: beams[d].valid() for d in beams}
        if pairing == "all" and isinstance(cache, dict):
            cache = {**cache, "valid": {d: v.reshape(-1) for d, v in valid.items()}}
        l2r, r2l, cache = next(beams["l2r"].prompt[:, :index + 1],
                               beams["r2l"].prompt[:, :index + 1], cache, index)
        l2r, r2l = np.asarray(l2r), np.asarray(r2l)
        if pairing == "all" and l2r.ndim == 4:
            l2r = _log_mean_over_partners(l2r, valid["r2l"])
            r2l = _log_mean_over_partners(r2l, valid["l2r"])
        rows = {d: beams[d].advance(lp, index, no_repeat_ngram)
                for d, lp in (("l2r", l2r), ("r2l", r2l))}
        pooled = [sorted([s for d in beams for s, _, _ in beams[d].finished[b]],
                         reverse=True) for b in range(batch_size)]
        kth = np.array([p[n_best - 1] if len(p) >= n_best else NEG_INF for p in pooled])
        if np.all(kth >= np.maximum(beams["l2r"].bound(), beams["r2l"].bound())):
            break
        cache = {**cache, "l2r": _take(cache.get("l2r"), rows["l2r"]),
                 "r2l": _take(cache.get("r2l"), rows["r2l"])}
    results = []
    for b in range(batch_size):
        items = [(s, t, d) for d in beams for s, t, _ in beams[d].finished[b]]
        if not items:
            items = [(s, t, d) for d in beams for s, t in beams[d].results(b)]
        results.append(_hypotheses(items, n_best))
    return results


class TitleDecoder:
    """Step functions of a trained title model, built from its own layers.

    Args:
        model: a model from :func:`kexue.tasks.title.model.build_title_model`.
        compiled: run each step through a Keras model's ``predict_on_batch`` (compiled:
            ``jax.jit`` on JAX, ``tf.function`` on TensorFlow); ``False``: eager ops.

    Use :meth:`generate` for titles, or :meth:`next_unidirectional` /
    :meth:`next_bidirectional` with :func:`beam_search` /
    :func:`bidirectional_beam_search`.

    Where the time goes (measured, see ``docs/title.md``): the encoder runs once per batch
    and its attention keys/values are computed once and stay on the device, one row per
    source (each hypothesis' query attends over its source's rows, not over a copy); the
    per-hypothesis cache (LSTM states, partner key/value caches) is reordered *inside* the
    compiled step, which takes the search's parent rows as an input; compiled steps are
    kept per decoder, beam and pairing, so a decoder compiles each step once.
    """

    def __init__(self, model: Any, *, compiled: bool = True) -> None:
        from kexue.tasks.title.model import model_directions

        self.model = model
        self.compiled = compiled
        #: k×k: average the pairings' probabilities over the live partners inside the
        #: step (float32, on the device); ``False``: return all pairings, averaged by the
        #: search on the host in float64 (slower; the two agree, see the tests).
        self.average_on_device = True
        self._runners: dict[tuple, Callable[[dict], dict]] = {}
        self.directions = model_directions(model)
        get = model.get_layer
        self.embedding = get("embedding")
        self.encoder = [get("encoder_norm"), get("encoder_bilstm_1"), get("encoder_bilstm_2")]
        self.pool, self.prior, self.classifier = (get("encoder_pool"), get("copy_prior"),
                                                  get("classifier"))
        self.layers = {}
        for d in self.directions:
            names = ["norm_0", "lstm_1", "norm_1", "lstm_2", "norm_2", "encoder_attention",
                     "hidden", "leaky_relu"]
            if len(self.directions) == 2:
                names.append("partner_attention")
            self.layers[d] = {n: get(f"{d}_{n}") for n in names}
        self.units = self.layers[self.directions[0]]["lstm_1"].units

    # --- encoder ------------------------------------------------------------------------
    def _encode_step(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from keras import ops

        source = ops.cast(inputs["source"], "int32")
        mask = ops.not_equal(source, PAD)
        x = self.encoder[0](self.embedding(source))
        for layer in self.encoder[1:]:
            x = layer(x, mask=mask)
        out = {"x_max": self.pool(x, mask=mask), "prior": self.prior(source)}
        for d in self.directions:
            out[f"{d}_encoder"] = self.layers[d]["encoder_attention"].precompute_cache(x, mask)
        return out

    def _encode(self, source: np.ndarray, rows: int, max_length: int) -> dict[str, Any]:
        """The initial cache of ``rows`` hypotheses per source: ``"shared"`` (one row per
        source, converted to backend tensors once), and per direction the hypotheses'
        own part (``batch * rows`` rows)."""
        from keras import ops

        source = np.asarray(source, "int32")
        shared = self._runner(("encode",), self._encode_step)({"source": source})
        dtype = np.asarray(shared["x_max"]).dtype
        cache: dict[str, Any] = {"shared": _Constant(_map(ops.convert_to_tensor, shared))}
        n = source.shape[0] * rows
        zeros = np.zeros((n, self.units), dtype)
        for d in self.directions:
            own: dict[str, Any] = {"lstm_1": [zeros, zeros], "lstm_2": [zeros, zeros]}
            if len(self.directions) == 2:
                # d's states are the values of the other direction's partner attention
                layer = self.layers["r2l" if d == "l2r" else "l2r"]["partner_attention"]
                key_dim, value_dim = layer.key_dim, layer.value_dim or layer.key_dim
                own["partner"] = {
                    "key": np.zeros((n, max_length + 1, layer.num_heads, key_dim), zeros.dtype),
                    "value": np.zeros((n, max_length + 1, layer.num_heads, value_dim),
                                      zeros.dtype),
                    "mask": np.zeros((n, max_length + 1), bool)}
            cache[d] = _Gathered(own)
        return cache

    def _state(self, d: str, tokens: Any, own: dict[str, Any], x_max: Any) -> Any:
        from keras import ops

        layers = self.layers[d]
        h = ops.take(self.embedding.embeddings, ops.cast(tokens, "int32"), axis=0)
        h = layers["norm_0"]([h, x_max])
        for i in (1, 2):
            h, states = layers[f"lstm_{i}"].cell(h, own[f"lstm_{i}"], training=False)
            own[f"lstm_{i}"] = list(states)
            h = layers[f"norm_{i}"]([h, x_max])
        return ops.expand_dims(h, 1)

    def _encoder_attention(self, d: str, state: Any, encoder: dict[str, Any], group: int) -> Any:
        """Attention of ``(rows, 1, F)`` states over their sources' encoder cache (one row
        per source): the ``group`` rows of a source are the queries of one call."""
        from keras import ops

        n, features = ops.shape(state)[0], ops.shape(state)[-1]
        query = ops.reshape(state, (n // group, group, features))
        attended = self.layers[d]["encoder_attention"].call_cached(query, encoder)
        return ops.reshape(attended, (n, 1, ops.shape(attended)[-1]))

    def _logits(self, d: str, state: Any, parts: list[Any], attended: Any, prior: Any,
                group: int) -> Any:
        """The output distribution's logits (temperature applied) of ``(rows, 1, F)``
        states, shaped ``(rows / group, group, vocab)``; ``prior`` has one row per source,
        ``group`` rows per source."""
        from keras import ops

        layers = self.layers[d]
        h = ops.concatenate([state, *parts, attended], axis=-1)[:, 0]
        h = layers["leaky_relu"](layers["hidden"](h))
        logits = self.classifier(h)
        vocab = ops.shape(logits)[-1]
        logits = ops.reshape(logits, (-1, group, vocab)) + ops.expand_dims(prior, 1)
        return logits / 2.0

    def _log_probs(self, d: str, state: Any, parts: list[Any], attended: Any, prior: Any,
                   group: int) -> Any:
        """Log-probabilities ``(rows, vocab)`` of ``(rows, 1, F)`` states (see ``_logits``)."""
        from keras import ops

        logits = self._logits(d, state, parts, attended, prior, group)
        return ops.reshape(ops.log_softmax(logits, axis=-1), (-1, ops.shape(logits)[-1]))

    @staticmethod
    def _gather(own: dict[str, Any], parents: Any) -> dict[str, Any]:
        from keras import ops

        return _map(lambda v: ops.take(v, parents, axis=0), own)

    # --- step functions (pure keras.ops; compiled through a Keras model) ---------------
    def _uni_step(self, inputs: dict[str, Any], d: str, partner_zeros: bool,
                  beam: int) -> dict[str, Any]:
        from keras import ops

        shared = inputs["shared"]
        own = self._gather(inputs["own"], inputs["parents"])
        x_max = ops.repeat(shared["x_max"], beam, axis=0)
        state = self._state(d, inputs["tokens"], own, x_max)
        parts = [ops.zeros_like(state)] if partner_zeros else []
        attended = self._encoder_attention(d, state, shared[f"{d}_encoder"], beam)
        log_probs = self._log_probs(d, state, parts, attended, shared["prior"], beam)
        return {"log_probs": log_probs, "own": own}

    def _bi_step(self, inputs: dict[str, Any], beam: int, pairing: str) -> dict[str, Any]:
        from keras import ops

        index = inputs["index"][0]
        shared = inputs["shared"]
        own = {d: self._gather(inputs[d], inputs[f"{d}_parents"]) for d in ("l2r", "r2l")}
        x_max = ops.repeat(shared["x_max"], beam, axis=0)
        states = {d: self._state(d, inputs[f"{d}_tokens"], own[d], x_max)
                  for d in ("l2r", "r2l")}
        for d, other in (("l2r", "r2l"), ("r2l", "l2r")):
            layer = self.layers[other]["partner_attention"]
            own[d]["partner"] = layer.update_cache(own[d]["partner"], states[d], index)
        out = {}
        for d, other in (("l2r", "r2l"), ("r2l", "l2r")):
            layer = self.layers[d]["partner_attention"]
            partner = own[other]["partner"]
            encoded = self._encoder_attention(d, states[d], shared[f"{d}_encoder"], beam)
            if pairing == "diagonal":
                attended = layer.call_cached(states[d], partner, index)
                out[d] = self._log_probs(d, states[d], [attended], encoded, shared["prior"],
                                         beam)
                continue
            n = ops.shape(states[d])[0]
            batch = n // beam
            # rows (b, i, j): own hypothesis i with partner j; the encoder attention of
            # hypothesis i does not depend on j and is computed once
            query = ops.repeat(states[d], beam, axis=0)
            pair_cache = {k: ops.reshape(
                ops.repeat(ops.expand_dims(ops.reshape(v, (batch, beam, *v.shape[1:])), 1),
                           beam, axis=1), (n * beam, *v.shape[1:]))
                for k, v in partner.items()}
            attended = layer.call_cached(query, pair_cache, index)
            args = (d, query, [attended], ops.repeat(encoded, beam, axis=0), shared["prior"],
                    beam * beam)
            if not self.average_on_device:
                out[d] = ops.reshape(self._log_probs(*args), (batch, beam, beam, -1))
                continue
            # log of the mean over the live partners j of p(token | i, j), in probability
            # space: the softmax's exponentials serve the mean too (a logsumexp over the
            # log-probabilities would take them again). A probability below float32's range
            # (log p < -87) becomes 0, far below any token a beam could keep.
            logits = self._logits(*args)
            probs = ops.reshape(ops.softmax(logits, axis=-1), (batch, beam, beam, -1))
            live = ops.reshape(ops.cast(inputs[f"{other}_valid"], probs.dtype),
                               (batch, 1, beam, 1))
            count = ops.maximum(ops.sum(live, axis=2), 1.0)
            mean = ops.log(ops.sum(probs * live, axis=2) / count)
            out[d] = ops.reshape(mean, (n, -1))
        return {"l2r_log_probs": out["l2r"], "r2l_log_probs": out["r2l"],
                "l2r": own["l2r"], "r2l": own["r2l"]}

    def _runner(self, key: tuple, function: Callable[[dict], dict]) -> Callable[[dict], dict]:
        """``function`` compiled through a Keras model's ``predict_on_batch`` (jit on JAX,
        ``tf.function`` on TensorFlow), or called eagerly when ``compiled=False``; kept
        per ``key`` so that each step compiles once per decoder."""
        if key in self._runners:
            return self._runners[key]
        if not self.compiled:
            from keras import ops

            runner = lambda inputs: {k: _to_numpy(v, ops)  # noqa: E731
                                     for k, v in function(inputs).items()}
        else:
            import keras

            class StepModel(keras.Model):
                def __init__(self, title_model: Any) -> None:
                    super().__init__()
                    self.title_model = title_model

                def call(self, inputs: dict) -> dict:
                    return function(inputs)

            runner = StepModel(self.model).predict_on_batch
        self._runners[key] = runner
        return runner

    def next_unidirectional(self, prompt: np.ndarray, cache: dict[str, Any], index: int,
                            *, direction: str | None = None) -> tuple[np.ndarray, dict]:
        """One step of decoder ``direction`` (KerasHub's ``next`` shape). In a bidirectional
        model a decoder used alone sees no partner (its partner attention gives zeros)."""
        d = direction or self.directions[0]
        alone = len(self.directions) == 2
        own, shared = cache[d], cache["shared"].value
        n = prompt.shape[0]
        beam = n // int(shared["x_max"].shape[0])
        run = self._runner(("uni", d, beam), lambda x: self._uni_step(x, d, alone, beam))
        out = run({"tokens": np.asarray(prompt[:, index], "int32"), "own": own.value,
                   "parents": own.parents(n), "shared": shared})
        return out["log_probs"], {**cache, d: _Gathered(out["own"])}

    def next_bidirectional(self, l2r_prompt: np.ndarray, r2l_prompt: np.ndarray,
                           cache: dict[str, Any], index: int, *, beam: int,
                           pairing: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """One synchronous step of both decoders (see :func:`bidirectional_beam_search`)."""
        run = self._runner(("bi", beam, pairing, self.average_on_device),
                           lambda x: self._bi_step(x, beam, pairing))
        n = l2r_prompt.shape[0]
        valid = cache.get("valid") or {d: np.ones(n, bool) for d in ("l2r", "r2l")}
        extra = {f"{d}_valid": np.asarray(valid[d], bool) for d in ("l2r", "r2l")} \
            if pairing == "all" and self.average_on_device else {}
        out = run({**extra, "l2r_tokens": np.asarray(l2r_prompt[:, index], "int32"),
                   "r2l_tokens": np.asarray(r2l_prompt[:, index], "int32"),
                   "index": np.array([index], "int32"),
                   "l2r": cache["l2r"].value, "l2r_parents": cache["l2r"].parents(n),
                   "r2l": cache["r2l"].value, "r2l_parents": cache["r2l"].parents(n),
                   "shared": cache["shared"].value})
        return (out["l2r_log_probs"], out["r2l_log_probs"],
                {**cache, "l2r": _Gathered(out["l2r"]), "r2l": _Gathered(out["r2l"])})

    def generate(self, source: np.ndarray, *, decoder: str = "bi", beam: int = 3,
                 max_length: int = 32, length_penalty: float = 0.0, no_repeat_ngram: int = 0,
                 n_best: int = 1, batch_size: int = 64) -> list[list[Hypothesis]]:
        """Titles for encoded sources ``(n, steps)``: ``n_best`` hypotheses each.

        Args:
            source: padded source ids.
            decoder: ``"bi"`` (k×k), ``"sb-half"``, ``"l2r"`` or ``"r2l"`` (the
                bidirectional model's own decoders used alone, or a unidirectional model's).
            beam, max_length, length_penalty, no_repeat_ngram, n_best: see
                :func:`beam_search`.
            batch_size: sources decoded together.
        """
        check_choice(decoder, "decoder", DECODERS)
        _check(beam, max_length, length_penalty, no_repeat_ngram, n_best)
        check_positive_int(batch_size, "batch_size")
        if decoder in ("bi", "sb-half") and len(self.directions) != 2:
            raise ValueError(f"decoder {decoder!r} needs a bidirectional model; this model "
                             f"has only the {self.directions[0]} decoder")
        if decoder in ("l2r", "r2l") and decoder not in self.directions:
            raise ValueError(f"decoder {decoder!r} is not in this model (it has "
                             f"{', '.join(self.directions)})")
        options = dict(beam=beam, max_length=max_length, length_penalty=length_penalty,
                       no_repeat_ngram=no_repeat_ngram, n_best=n_best)
        results: list[list[Hypothesis]] = []
        source = np.asarray(source)
        for begin in range(0, len(source), batch_size):
            chunk = source[begin:begin + batch_size]
            cache = self._encode(chunk, beam, max_length)
            if decoder in ("l2r", "r2l"):
                cache = {"shared": cache["shared"], decoder: cache[decoder]}

                def step(prompt, c, i, _d=decoder):
                    return self.next_unidirectional(prompt, c, i, direction=_d)

                start, end = (START, END) if decoder == "l2r" else (END, START)
                results += beam_search(step, cache, len(chunk), start=start, end=end,
                                       direction=decoder, **options)
            else:
                pairing = "all" if decoder == "bi" else "diagonal"

                def step(l2r, r2l, c, i, _pairing=pairing):
                    return self.next_bidirectional(l2r, r2l, c, i, beam=beam, pairing=_pairing)

                results += bidirectional_beam_search(step, cache, len(chunk), pairing=pairing,
                                                     **options)
        return results


def _map(function: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _map(function, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map(function, v) for v in value]
    return function(value)


def _to_numpy(value: Any, ops: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_numpy(v, ops) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_numpy(v, ops) for v in value]
    return ops.convert_to_numpy(value)

"""Beam searches driven by fixed probability tables (no network), against exhaustive
search and a plain-Python reference of the article's k×k bidirectional beam."""

import itertools
import math

import numpy as np
import pytest

from kexue.tasks.title.decode import beam_search, bidirectional_beam_search

V, START, END = 7, 2, 3
LETTERS = (4, 5, 6)


def _plain(key):
    if isinstance(key, (tuple, list, np.ndarray)):
        return tuple(_plain(k) for k in key)
    return key if isinstance(key, str) else int(key)


def _probs(key):
    """A fixed distribution over the 7 ids for any key (pad/unk/start: probability 0)."""
    rng = np.random.default_rng(abs(hash(repr(_plain(key)))) % (2 ** 32))
    p = np.zeros(V)
    p[[END, *LETTERS]] = rng.dirichlet(np.ones(4))
    return p


def _logp(key, end_id=END):
    p = _probs(key)
    if end_id != END:  # the R2L decoder ends with START
        p[[START, END]] = p[[END, START]]
    with np.errstate(divide="ignore"):
        return np.log(p)


def _table_step(beam, item_key=lambda b: 0, end_id=END):
    def step(prompt, cache, index):
        rows = [_logp((item_key(r // beam), tuple(prompt[r, 1:index + 1])), end_id)
                for r in range(prompt.shape[0])]
        return np.stack(rows), cache
    return step


def _sequence_score(tokens, item=0, end_id=END):
    total = 0.0
    for i in range(len(tokens) + 1):
        nxt = tokens[i] if i < len(tokens) else end_id
        total += _logp((item, tuple(tokens[:i])), end_id)[nxt]
    return total


def _exhaustive(max_length, item=0, end_id=END):
    scored = [(_sequence_score(seq, item, end_id), seq)
              for n in range(1, max_length + 1) for seq in itertools.product(LETTERS, repeat=n)]
    return sorted(scored, key=lambda x: -x[0])


@pytest.mark.parametrize("max_length", [2, 3])
def test_wide_l2r_beam_is_exhaustive_argmax(max_length):
    beam = 4 * 3 ** max_length  # every candidate of every step fits in the beam
    result = beam_search(_table_step(beam), None, 1, beam=beam, max_length=max_length,
                         n_best=5)[0]
    expected = _exhaustive(max_length)[:5]
    assert [h.tokens for h in result] == [seq for _, seq in expected]
    assert [h.score for h in result] == pytest.approx([s for s, _ in expected])


def test_r2l_on_reversed_table_equals_l2r():
    beam = 10
    l2r = beam_search(_table_step(beam), None, 1, beam=beam, max_length=3, n_best=3)[0]
    # R2L reads the reversed sequence: its table at R2L prefix p is the L2R table at p,
    # with the end id swapped; its output comes back in reading order (reversed).
    r2l = beam_search(_table_step(beam, end_id=START), None, 1, beam=beam, max_length=3,
                      start=END, end=START, n_best=3, direction="r2l")[0]
    assert [h.tokens for h in r2l] == [h.tokens[::-1] for h in l2r]
    assert [h.score for h in r2l] == pytest.approx([h.score for h in l2r])


@pytest.mark.parametrize("beam", [1, 2, 3])
def test_batching_changes_nothing(beam):
    step = _table_step(beam, item_key=lambda b: b)
    batched = beam_search(step, None, 4, beam=beam, max_length=4, n_best=1)
    for b in range(4):
        alone = beam_search(_table_step(beam, item_key=lambda _, b=b: b), None, 1, beam=beam,
                            max_length=4)[0]
        assert batched[b] == alone


def test_greedy_is_stepwise_argmax():
    result = beam_search(_table_step(1), None, 1, beam=1, max_length=4)[0][0]
    tokens = []
    for i in range(5):
        logp = _logp((0, tuple(tokens)))
        if i == 0:
            logp[END] = -np.inf
        if i == 4:
            break
        best = int(np.argmax(logp))
        if best == END:
            break
        tokens.append(best)
    assert result.tokens == tuple(tokens)


def test_no_repeat_ngram_blocks_repeats():
    def step(prompt, cache, index):  # always prefers token 4
        row = np.log(np.array([1e-9, 1e-9, 1e-9, 1e-6, 0.9, 0.05, 0.05]))
        return np.repeat(row[None], prompt.shape[0], 0), cache
    free = beam_search(step, None, 1, beam=1, max_length=6)[0][0].tokens
    blocked = beam_search(step, None, 1, beam=1, max_length=6, no_repeat_ngram=2)[0][0].tokens
    assert free == (4,) * 6
    bigrams = list(zip(blocked, blocked[1:], strict=False))
    assert len(bigrams) == len(set(bigrams))


def _bi_step(beam, pairing, item_key=lambda b: 0):
    def step(l2r, r2l, cache, index):
        n = l2r.shape[0]
        pl = lambda r: tuple(l2r[r, 1:index + 1])  # noqa: E731
        pr = lambda r: tuple(r2l[r, 1:index + 1])  # noqa: E731
        if pairing == "diagonal":
            a = np.stack([_logp(("l", item_key(r // beam), pl(r), pr(r))) for r in range(n)])
            b = np.stack([_logp(("r", item_key(r // beam), pr(r), pl(r)), START)
                          for r in range(n)])
            return a, b, cache
        batch = n // beam
        a = np.zeros((batch, beam, beam, V))
        b = np.zeros((batch, beam, beam, V))
        for it in range(batch):
            for i in range(beam):
                for j in range(beam):
                    ri, rj = it * beam + i, it * beam + j
                    a[it, i, j] = _logp(("l", item_key(it), pl(ri), pr(rj)))
                    b[it, j, i] = _logp(("r", item_key(it), pr(rj), pl(ri)), START)
        return a, b, cache
    return step


def _reference_kxk(k, max_length, item=0):
    """The article's k×k beam, with finished hypotheses retired, in plain Python.

    Each direction keeps its k best live hypotheses (lists of tokens with a summed
    log-probability). At each step the probability of a next token for an L2R hypothesis is
    the mean, over the live R2L hypotheses, of its probability when attending to that one
    (and mirrored). Of the k best candidates of a direction, those that end are retired to
    a finished list; the k best non-ending candidates stay live. The first step may not
    end, the step after max_length characters must end. Stop once the best finished score
    of either direction is at least every live score; return the best finished (R2L
    reversed into reading order).
    """
    ends = {"l": END, "r": START}
    live = {"l": [((), 0.0)], "r": [((), 0.0)]}
    finished = []
    for index in range(max_length + 1):
        new_live = {}
        for d, other in (("l", "r"), ("r", "l")):
            candidates = []
            for tokens, score in live[d]:
                mean = np.zeros(V)
                for partner, _ in live[other]:
                    mean += np.exp(_logp((d, item, tokens, partner), ends[d]))
                mean /= len(live[other])
                for w in range(V):
                    if w in (0, START if d == "l" else END) or mean[w] == 0:
                        continue
                    if index == 0 and w == ends[d]:
                        continue
                    if index == max_length and w != ends[d]:
                        continue
                    candidates.append((score + math.log(mean[w]), tokens, w))
            ranked = sorted(candidates, key=lambda c: -c[0])
            for s, tokens, w in ranked[:k]:
                if w == ends[d]:
                    finished.append((s, tokens if d == "l" else tokens[::-1]))
            alive = [c for c in ranked if c[2] != ends[d]][:k]
            new_live[d] = [(tokens + (w,), s) for s, tokens, w in alive]
        live = new_live
        best_live = max([s for d in live for _, s in live[d]], default=-math.inf)
        if finished and max(s for s, _ in finished) >= best_live:
            break
    return max(finished, key=lambda f: f[0])


@pytest.mark.parametrize("k,max_length", [(1, 3), (2, 3), (3, 4)])
def test_kxk_equals_plain_python_reference(k, max_length):
    result = bidirectional_beam_search(_bi_step(k, "all"), {}, 1, beam=k,
                                       max_length=max_length)[0][0]
    score, tokens = _reference_kxk(k, max_length)
    assert result.tokens == tokens
    assert result.score == pytest.approx(score)


def test_kxk_batching_changes_nothing():
    batched = bidirectional_beam_search(_bi_step(2, "all", lambda b: b), {}, 3, beam=2,
                                        max_length=3)
    for b in range(3):
        score, tokens = _reference_kxk(2, 3, item=b)
        assert batched[b][0].tokens == tokens and batched[b][0].score == pytest.approx(score)


def test_wide_sb_half_is_exhaustive_argmax_over_both_directions():
    # tables that ignore the partner: sb-half is then two independent wide beams, pooled
    def step(l2r, r2l, cache, index):
        a = np.stack([_logp((0, tuple(p[1:index + 1]))) for p in l2r])
        b = np.stack([_logp((1, tuple(p[1:index + 1])), START) for p in r2l])
        return a, b, cache
    beam = 4 * 27
    result = bidirectional_beam_search(step, {}, 1, pairing="diagonal", beam=beam,
                                       max_length=3, n_best=3)[0]
    l2r = [(s, seq) for s, seq in _exhaustive(3)]
    r2l = [(s, seq[::-1]) for s, seq in _exhaustive(3, item=1, end_id=START)]
    expected = sorted(l2r + r2l, key=lambda x: -x[0])[:3]
    assert [h.tokens for h in result] == [seq for _, seq in expected]
    assert [h.score for h in result] == pytest.approx([s for s, _ in expected])


def test_argument_errors():
    with pytest.raises(ValueError, match="`beam` must be"):
        beam_search(_table_step(1), None, 1, beam=0)
    with pytest.raises(TypeError, match="`beam` must be"):
        beam_search(_table_step(1), None, 1, beam=1.5)
    with pytest.raises(ValueError, match="`n_best` must be <= `beam`"):
        beam_search(_table_step(2), None, 1, beam=2, n_best=3)
    with pytest.raises(ValueError, match="`pairing`"):
        bidirectional_beam_search(_bi_step(1, "all"), {}, 1, pairing="half")

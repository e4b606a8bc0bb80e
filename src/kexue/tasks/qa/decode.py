"""Answer decoding from start/end probabilities: spans, per-passage bests, passage voting.

Su Jianlin's 2019 decoder (kexue.fm/archives/6906): in each passage every span ``[i, j]``
with ``p_start[i] > threshold``, ``p_end[j] > threshold`` and at most ``max_length``
characters is a candidate scored ``p_start[i] · p_end[j]``; a passage keeps the best score
of each distinct span string; across a question's passages the scores ``s_k`` of one string
are combined as ``Σ s_k² / (1 + Σ s_k)``, which rewards strings found confidently in several
passages; the answer is the best string, or no answer ("") when no span passed the
threshold. NumPy only: the model's batched probabilities go in, answers come out.

Example:
    >>> import numpy as np
    >>> start = np.array([0.9, 0.0, 0.0, 0.0]); end = np.array([0.0, 0.8, 0.0, 0.0])
    >>> answer = vote([passage_candidates("北京很大", start, end)])
    >>> answer.text, round(answer.score, 4), answer.passage, answer.offset
    ('北京', 0.3014, 0, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kexue._validation import check_positive_int, check_probability

__all__ = ["Answer", "Candidate", "decode_batch", "passage_candidates", "vote"]


@dataclass(frozen=True)
class Candidate:
    """The best occurrence of one span string in one passage."""

    text: str
    score: float
    offset: int


@dataclass(frozen=True)
class Answer:
    """A question's answer: ``text`` ("" for no answer), its voted ``score``, and the
    passage (index among the question's passages) and character offset of its best
    occurrence (``None`` for no answer)."""

    text: str
    score: float
    passage: int | None
    offset: int | None

    def as_dict(self) -> dict:
        return {"answer": self.text, "score": self.score, "passage": self.passage,
                "offset": self.offset}


def passage_candidates(text: str, start: np.ndarray, end: np.ndarray, *,
                       threshold: float = 0.1, max_length: int = 12) -> dict[str, Candidate]:
    """Candidate spans of one passage: span string → its best :class:`Candidate`.

    Args:
        text: the passage (probabilities beyond ``len(text)`` are padding and ignored).
        start, end: per-character start and end probabilities.
        threshold: a start or end must score strictly above it.
        max_length: longest span in characters.
    """
    threshold = check_probability(threshold, "threshold")
    max_length = check_positive_int(max_length, "max_length")
    n = len(text)
    start = np.asarray(start, dtype=np.float64)[:n]
    end = np.asarray(end, dtype=np.float64)[:n]
    starts = np.flatnonzero(start > threshold)
    ends = np.flatnonzero(end > threshold)
    best: dict[str, Candidate] = {}
    if starts.size == 0 or ends.size == 0:
        return best
    width = ends[None, :] - starts[:, None]
    rows, cols = np.nonzero((width >= 0) & (width < max_length))
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        i, j = int(starts[r]), int(ends[c])
        span = text[i:j + 1]
        score = float(start[i] * end[j])
        known = best.get(span)
        if known is None or score > known.score:
            best[span] = Candidate(span, score, i)
    return best


def vote(per_passage: Sequence[dict[str, Candidate]]) -> Answer:
    """Combine one question's per-passage candidates: ``Σ s² / (1 + Σ s)`` per string."""
    totals: dict[str, list[float]] = {}
    where: dict[str, tuple[float, int, int]] = {}
    for k, candidates in enumerate(per_passage):
        for span, candidate in candidates.items():
            totals.setdefault(span, []).append(candidate.score)
            if span not in where or candidate.score > where[span][0]:
                where[span] = (candidate.score, k, candidate.offset)
    if not totals:
        return Answer("", 0.0, None, None)
    scores = {span: float(np.sum(np.square(s)) / (1.0 + np.sum(s)))
              for span, s in totals.items()}
    span = max(scores, key=scores.__getitem__)
    return Answer(span, scores[span], where[span][1], where[span][2])


def decode_batch(passages: Sequence[Sequence[str]], probabilities: Sequence[np.ndarray], *,
                 threshold: float = 0.1, max_length: int = 12) -> list[Answer]:
    """Answers for several questions from a flat batch of passage probabilities.

    Args:
        passages: per question, its passage texts.
        probabilities: one ``(steps, 2)`` array (start, end) per passage, in the order of
            the flattened ``passages`` (``steps >= len(text)``).
        threshold, max_length: see :func:`passage_candidates`.
    """
    total = sum(len(p) for p in passages)
    if len(probabilities) != total:
        raise ValueError(f"`probabilities` must hold one array per passage ({total}); "
                         f"received {len(probabilities)}")
    answers = []
    k = 0
    for texts in passages:
        per_passage = []
        for text in texts:
            probs = np.asarray(probabilities[k])
            per_passage.append(passage_candidates(text, probs[:, 0], probs[:, 1],
                                                  threshold=threshold,
                                                  max_length=max_length))
            k += 1
        answers.append(vote(per_passage))
    return answers

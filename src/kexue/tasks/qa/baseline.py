"""A lexical baseline: the candidate span whose surrounding window overlaps the question most.

After the sliding-window baseline of the SQuAD paper (Rajpurkar et al., 2016), on
characters: candidates are jieba words and pairs of adjacent words (2 to ``max_length``
characters, no punctuation, not already in the question) of every passage; a candidate's
score is the number of distinct character bigrams of the ``window`` characters on each side
of it that also occur in the question; the best candidate over all passages is the answer
(ties: the first). No training; it measures how much plain string matching solves.

Example:
    >>> lexical_answer("____是中国的首都", ["北京是中国的首都，也是大城市。"]).text
    '北京'
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from kexue.tasks.qa.decode import Answer
from kexue.tasks.qa.features import segment

__all__ = ["lexical_answer"]


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _plain(text: str) -> bool:
    return all(not unicodedata.category(c).startswith(("P", "Z", "S", "C")) for c in text)


def lexical_answer(question: str, passages: Sequence[str], *, max_length: int = 12,
                   window: int = 10) -> Answer:
    """The best-overlapping candidate span (see the module docstring)."""
    q_bigrams = _bigrams(question)
    best = Answer("", 0.0, None, None)
    for k, passage in enumerate(passages):
        words = segment(passage)
        offsets = []
        position = 0
        for word in words:
            offsets.append(position)
            position += len(word)
        for i in range(len(words)):
            for span_words in (1, 2):
                if i + span_words > len(words):
                    continue
                start = offsets[i]
                text = "".join(words[i:i + span_words])
                end = start + len(text)
                if not (2 <= len(text) <= max_length) or not _plain(text) or text in question:
                    continue
                context = passage[max(0, start - window):start] + " " + \
                    passage[end:end + window]
                score = float(len(_bigrams(context) & q_bigrams))
                if score > best.score:
                    best = Answer(text, score, k, start)
    return best

"""Model inputs: character ids and per-character word ids, padded into fixed-size buckets.

The 2019 model reads characters, and through the mixed embedding also the word each
character belongs to (jieba without HMM, as in kexue.fm/archives/6906): a word id is
repeated over the word's characters, 0 for words without a vector. Character id 0 is
padding and 1 an unknown character. NumPy and jieba only (no Keras).

Example:
    >>> vocab = QAVocabulary(["北", "京"], ["北京"])
    >>> vocab.char_ids("北京人"), vocab.word_ids("北京人")
    ([2, 3, 1], [1, 1, 0])
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["QAVocabulary", "pad_batch", "segment"]

#: padding lengths are rounded up to a multiple of this (few shapes: few compilations).
BUCKET = 64


def segment(text: str) -> list[str]:
    """jieba words of ``text`` without the HMM (as the 2019 model); joined they give
    ``text`` back."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba.lcut(text, HMM=False)


class QAVocabulary:
    """Characters (ids from 2) and words (ids from 1) known to a model.

    Args:
        chars: the characters, in id order (id = position + 2).
        words: the words with vectors, in the row order of the word-vector table
            (id = position + 1; 0 means no vector).
    """

    def __init__(self, chars: Sequence[str], words: Sequence[str] = ()):
        self.chars = list(chars)
        self.words = list(words)
        self._char = {c: i + 2 for i, c in enumerate(self.chars)}
        self._word = {w: i + 1 for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts: Iterable[str], words: Sequence[str] = (), *,
              min_count: int = 2) -> QAVocabulary:
        """Characters seen at least ``min_count`` times in ``texts`` (most frequent first)."""
        counts = collections.Counter()
        for text in texts:
            counts.update(text)
        chars = [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                 if n >= min_count and c.strip()]
        return cls(chars, words)

    @property
    def char_count(self) -> int:
        """Size of the character id space (padding and unknown included)."""
        return len(self.chars) + 2

    def char_ids(self, text: str) -> list[int]:
        return [self._char.get(c, 1) for c in text]

    def word_ids(self, text: str) -> list[int]:
        out: list[int] = []
        for word in segment(text):
            out += [self._word.get(word, 0)] * len(word)
        return out

    def to_json(self) -> str:
        return json.dumps({"chars": self.chars, "words": self.words}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> QAVocabulary:
        data = json.loads(text)
        return cls(data["chars"], data.get("words", []))


def pad_batch(rows: Sequence[Sequence[int]], length: int | None = None, *,
              bucket: int = BUCKET, value: int | float = 0, dtype: str = "int32") -> np.ndarray:
    """Stack ``rows`` right-padded to ``length`` (default: the longest, rounded up to a
    multiple of ``bucket``); longer rows are cut.

    Example:
        >>> pad_batch([[1, 2, 3], [4]], bucket=4).tolist()
        [[1, 2, 3, 0], [4, 0, 0, 0]]
    """
    if length is None:
        longest = max((len(r) for r in rows), default=1)
        length = max(bucket, -(-longest // bucket) * bucket)
    out = np.full((len(rows), length), value, dtype=dtype)
    for i, row in enumerate(rows):
        row = list(row)[:length]
        out[i, :len(row)] = row
    return out

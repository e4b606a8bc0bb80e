"""Network inputs of the linking model: character ids, word vectors, flags and channels.

Text side: character ids (0 padding, 1 unknown), the vector of the word containing each
character (jieba-style segmentation, word vectors trained on the training texts), and the
maximum-matching start / end flags of the dictionary. Pair side (text, mention, entity):
the four extra channels of kexue.fm/archives/6919 — the mention span; whether each
character, and each word, occurs in the entity's description; whether the character lies
in an occurrence of one of the entity's short objects (≤ 10 characters, the "regex hit") —
and the description's own character ids and word vectors.

Example:
    >>> import numpy as np
    >>> from kexue.text.word_vectors import WordVectors
    >>> from kexue.tasks.linking.data import Entity
    >>> f = Featurizer(["北", "京", "市"], WordVectors(["北京"], np.ones((1, 2))),
    ...                tokenizer="char")
    >>> f.char_ids("北京x").tolist()
    [2, 3, 1]
    >>> e = Entity("1", "北京市", data=(("类型", "直辖市"),))
    >>> f.channels("去北京", e, (1, 3))[:, 0].tolist()
    [0.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from kexue.tasks.linking.data import Entity
from kexue.text.word_vectors import WordVectors

__all__ = ["Featurizer", "build_char_vocabulary", "pad_length"]

PAD, UNKNOWN = 0, 1
#: sequence lengths are padded up to a multiple of this (few shapes: few recompilations).
LENGTH_STEP = 50


def pad_length(length: int) -> int:
    """``length`` rounded up to a multiple of :data:`LENGTH_STEP` (at least one step)."""
    return max(LENGTH_STEP, -(-length // LENGTH_STEP) * LENGTH_STEP)


def build_char_vocabulary(texts: Iterable[str], min_count: int = 1) -> list[str]:
    """Characters seen at least ``min_count`` times, most frequent first."""
    counts = Counter(ch for text in texts for ch in text)
    return [ch for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= min_count]


class Featurizer:
    """Turns texts, descriptions and (text, span, entity) pairs into arrays.

    Args:
        chars: the character vocabulary (ids start at 2).
        word_vectors: word vectors (zeros for unknown words).
        tokenizer: a :class:`kexue.text.tokenizers.Tokenizer` spec for segmentation.
        max_description: description characters kept.
    """

    def __init__(self, chars: Sequence[str], word_vectors: WordVectors, *,
                 tokenizer: str = "rjieba", max_description: int = 64):
        from kexue.text.tokenizers import Tokenizer

        self.chars = list(chars)
        self.char_index = {ch: i + 2 for i, ch in enumerate(self.chars)}
        self.word_vectors = word_vectors
        self.tokenizer = Tokenizer(tokenizer)
        self.tokenizer_spec = tokenizer
        self.max_description = max_description
        self._words_cache: dict[str, list[str]] = {}
        self._entity_cache: dict[str, tuple] = {}

    @property
    def vocabulary_size(self) -> int:
        return len(self.chars) + 2

    def words(self, text: str) -> list[str]:
        """The segmentation of ``text`` (cached)."""
        if text not in self._words_cache:
            words = [w for w in self.tokenizer(text) if w]
            if "".join(words) != text:  # a tokenizer that drops characters: fall back
                words = list(text)
            self._words_cache[text] = words
        return self._words_cache[text]

    def char_ids(self, text: str) -> np.ndarray:
        return np.array([self.char_index.get(ch, UNKNOWN) for ch in text], dtype="int32")

    def word_features(self, text: str) -> np.ndarray:
        """``(len(text), dim)``: each character gets the vector of its word."""
        out = np.zeros((len(text), self.word_vectors.dim), dtype="float32")
        position = 0
        for word in self.words(text):
            index = self.word_vectors.index(word)
            if index >= 0:
                out[position:position + len(word)] = self.word_vectors.vectors[index]
            position += len(word)
        return out

    def entity_features(self, entity: Entity) -> tuple[str, np.ndarray, np.ndarray, set[str],
                                                       list[str]]:
        """Description text, its char ids and word vectors, its words, its short objects."""
        if entity.subject_id not in self._entity_cache:
            description = entity.description()[: self.max_description]
            self._entity_cache[entity.subject_id] = (
                description, self.char_ids(description), self.word_features(description),
                set(self.words(description)), [o.lower() for o in entity.short_objects()])
        return self._entity_cache[entity.subject_id]

    def channels(self, text: str, entity: Entity, span: tuple[int, int]) -> np.ndarray:
        """``(len(text), 4)``: mention span, char in description, word in description,
        short-object hit."""
        description, _, _, description_words, objects = self.entity_features(entity)
        lowered = text.lower()
        out = np.zeros((len(text), 4), dtype="float32")
        out[span[0]:span[1], 0] = 1.0
        description_chars = set(description)
        out[:, 1] = [ch in description_chars for ch in lowered]
        position = 0
        for word in self.words(text):
            if word.lower() in description_words or word.lower() in description:
                out[position:position + len(word), 2] = 1.0
            position += len(word)
        for obj in objects:
            start = lowered.find(obj)
            while start >= 0:
                out[start:start + len(obj), 3] = 1.0
                start = lowered.find(obj, start + 1)
        return out

"""Tokenizers and exact, parallel word counting (no Keras, no deep-learning backend).

See :func:`count_words` and :class:`Tokenizer`.
"""

from kexue.text.counting import (
    ENGINES,
    WordCounts,
    count_words,
    naive_count,
    write_counts,
)
from kexue.text.tokenizers import TOKENIZERS, WORD_PATTERN, Tokenizer
from kexue.text.word_vectors import (
    WordVectors,
    load_word_vectors,
    train_word_vectors,
)

__all__ = [
    "WordVectors",
    "load_word_vectors",
    "train_word_vectors",
    "ENGINES",
    "TOKENIZERS",
    "WORD_PATTERN",
    "Tokenizer",
    "WordCounts",
    "count_words",
    "naive_count",
    "write_counts",
]

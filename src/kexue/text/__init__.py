"""Tokenizers and exact, parallel word counting (no Keras, no deep-learning backend).

See :func:`count_words` and :class:`Tokenizer`.
"""

from kexue.text.counting import (
    ENGINES,
    WordCounts,
    batches,
    count_batch,
    count_words,
    naive_count,
    output_kind,
    write_counts,
)
from kexue.text.tokenizers import TOKENIZERS, WORD_PATTERN, Tokenizer

__all__ = [
    "ENGINES",
    "TOKENIZERS",
    "WORD_PATTERN",
    "Tokenizer",
    "WordCounts",
    "batches",
    "count_batch",
    "count_words",
    "naive_count",
    "output_kind",
    "write_counts",
]

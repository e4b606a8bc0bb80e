"""A trained reader: model + vocabulary → answers, batched over passages.

All passages of all questions are flattened, sorted by length, padded into fixed-size
batches (one compiled shape per length bucket) and run through the model at once; the
probabilities are then decoded per question by :mod:`kexue.tasks.qa.decode`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kexue._validation import check_positive_int
from kexue.tasks.qa.decode import Answer, decode_batch
from kexue.tasks.qa.features import QAVocabulary, pad_batch

__all__ = ["Reader", "encode_question"]

#: passages are padded to a multiple of this many characters.
PASSAGE_BUCKET = 128


def encode_question(vocab: QAVocabulary, question: str, question_maxlen: int,
                    mixed: bool) -> tuple[list[int], list[int]]:
    """Character ids and word ids of a question, cut at ``question_maxlen``."""
    chars = vocab.char_ids(question)[:question_maxlen]
    words = vocab.word_ids(question)[:question_maxlen] if mixed else []
    return chars, words


class Reader:
    """Answer questions from passages with a trained model.

    Args:
        model: a model from :func:`kexue.tasks.qa.model.build_model`.
        vocab: its vocabulary.
        question_maxlen: longest question in characters (the rest is cut).
        batch_size: passages per forward pass.
    """

    def __init__(self, model: Any, vocab: QAVocabulary, *, question_maxlen: int = 64,
                 batch_size: int = 64):
        self.model = model
        self.vocab = vocab
        self.mixed = len(model.inputs) == 4
        self.question_maxlen = check_positive_int(question_maxlen, "question_maxlen")
        self.batch_size = check_positive_int(batch_size, "batch_size")

    def probabilities(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[np.ndarray]:
        """``(len(passage), 2)`` start/end probabilities of every passage, flattened in
        question order."""
        rows = []
        for question, passages in items:
            q_chars, q_words = encode_question(self.vocab, question, self.question_maxlen,
                                               self.mixed)
            for passage in passages:
                p_words = self.vocab.word_ids(passage) if self.mixed else []
                rows.append((q_chars, q_words, self.vocab.char_ids(passage), p_words))
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][2]))
        out: list[np.ndarray | None] = [None] * len(rows)
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin:begin + self.batch_size]
            batch = [rows[i] for i in chunk]
            # a short last batch is filled with empty rows: one compiled batch shape
            batch += [([], [], [], [])] * (self.batch_size - len(batch))
            longest = max(len(r[2]) for r in batch)
            p_len = max(PASSAGE_BUCKET, -(-longest // PASSAGE_BUCKET) * PASSAGE_BUCKET)
            inputs = [pad_batch([r[0] for r in batch], self.question_maxlen)]
            if self.mixed:
                inputs.append(pad_batch([r[1] for r in batch], self.question_maxlen))
            inputs.append(pad_batch([r[2] for r in batch], p_len))
            if self.mixed:
                inputs.append(pad_batch([r[3] for r in batch], p_len))
            probs = np.asarray(self.model.predict_on_batch(inputs))
            for k, i in enumerate(chunk):
                out[i] = probs[k, :len(rows[i][2])]
        return out  # type: ignore[return-value]

    def answer(self, items: Sequence[tuple[str, Sequence[str]]], *, threshold: float = 0.1,
               max_length: int = 12) -> list[Answer]:
        """Answers for ``(question, passages)`` pairs (see :func:`decode_batch`)."""
        for question, passages in items:
            if not isinstance(question, str) or not question.strip():
                raise ValueError("every question must be a non-empty string")
            if not passages:
                raise ValueError(f"question {question!r} has no passages")
        probs = self.probabilities(items)
        return decode_batch([list(p) for _, p in items], probs, threshold=threshold,
                            max_length=max_length)

"""DGCNN reading-comprehension question answering (Su Jianlin, kexue.fm/archives/5409, 6906).

A question and several passages in, a short answer span out:

- :mod:`~kexue.tasks.qa.data`: readers for WebQA/SogouQA JSON, SQuAD v1.1/v2.0 JSON and
  JSON lines, with the labelling and skip rules; writers;
- :mod:`~kexue.tasks.qa.cloze`: the embedded cloze set built from iNews;
- :mod:`~kexue.tasks.qa.model`: the 2019 model from :mod:`kexue.layers` (Keras);
- :mod:`~kexue.tasks.qa.decode`: span decoding and passage voting (NumPy);
- :mod:`~kexue.tasks.qa.reader`, :mod:`~kexue.tasks.qa.train`: batched answering, training
  in run directories;
- :mod:`~kexue.tasks.qa.baseline`: the lexical sliding-window baseline.

Scores live in :mod:`kexue.metrics.qa`. Importing this package loads no Keras: the model and
training modules import it when used.
"""

from kexue.tasks.qa.data import (
    FORMATS,
    Passage,
    QADataset,
    Question,
    read_qa,
    write_jsonl,
    write_squad,
    write_webqa,
)
from kexue.tasks.qa.decode import Answer, decode_batch, passage_candidates, vote

__all__ = [
    "FORMATS",
    "Answer",
    "Passage",
    "QADataset",
    "Question",
    "decode_batch",
    "passage_candidates",
    "read_qa",
    "vote",
    "write_jsonl",
    "write_squad",
    "write_webqa",
]

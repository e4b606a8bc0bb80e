"""Title generation with synchronous bidirectional decoding (kexue.fm/archives/6877).

A char-level seq2seq model writes a news title for an article; its left-to-right and
right-to-left decoders attend to each other while they run. Modules: :mod:`.data`
(records, vocabulary), :mod:`.model` (bidirectional and unidirectional models),
:mod:`.decode` (greedy, beam, k×k bidirectional and ``sb-half`` searches), :mod:`.train`
(training into run directories, generation, evaluation). See ``docs/title.md``.
"""

from kexue.tasks.title.data import CharVocabulary, TitleRecord, load_records
from kexue.tasks.title.decode import (
    DECODERS,
    Hypothesis,
    TitleDecoder,
    beam_search,
    bidirectional_beam_search,
)
from kexue.tasks.title.model import build_title_model
from kexue.tasks.title.train import TitleRun, TrainSettings, open_title_run, train_title

__all__ = [
    "DECODERS",
    "CharVocabulary",
    "Hypothesis",
    "TitleDecoder",
    "TitleRecord",
    "TitleRun",
    "TrainSettings",
    "beam_search",
    "bidirectional_beam_search",
    "build_title_model",
    "load_records",
    "open_title_run",
    "train_title",
]

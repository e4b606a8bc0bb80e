"""Training the DGCNN reader: sampling, fit settings, EMA, dev score per epoch, run dirs.

As in Su Jianlin's 2019 code (kexue.fm/archives/6906): each step sees one random passage per
question; a passage longer than half of ``maxlen`` is, half of the time, cut to a random
window of ``maxlen / 2`` to ``maxlen`` characters (else its first ``maxlen`` characters);
every positive span inside the window is labelled; focal loss; evaluation with EMA weights.
Differences, for this machine and Keras 3: Adam instead of RAdam (Keras has no RAdam);
Keras' own ``use_ema`` with a momentum suited to a few thousand steps (0.99 by default,
not the article's 0.9999, which needs far more steps), swapped into the model at each epoch
end so that the dev score and ``best.keras`` use the averaged weights; a fixed epoch budget
instead of the article's 120 epochs with a learning-rate drop.

The run directory (:mod:`kexue.tasks.runs`) holds ``vocab.json``, the word vectors used
(``word_vectors.bin``), ``best.keras`` (EMA weights, best dev F1), ``last.keras`` (resume),
``history.csv`` and ``metrics.json``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from kexue._validation import (
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_probability,
)
from kexue.tasks.qa.data import QADataset, Question
from kexue.tasks.qa.features import QAVocabulary, pad_batch, segment
from kexue.tasks.qa.reader import PASSAGE_BUCKET, Reader, encode_question

__all__ = ["ENCODERS", "VARIANTS", "TrainSettings", "evaluate_reader", "load_reader",
           "train_reader"]

#: model variants: mixed char–word embedding, or characters only.
VARIANTS = ("mixed", "char")
#: encoders (as :data:`kexue.tasks.qa.model.ENCODERS`, kept here so that settings are checked
#: without importing Keras).
ENCODERS = ("dgcnn", "bilstm")
TASK = "qa"


@dataclass
class TrainSettings:
    """Settings of a training run (stored in the run's ``config.json``).

    The defaults train the mixed model on the embedded cloze set in under 10 minutes on
    2 CPU cores (JAX). ``variant`` picks the embedding (``"mixed"`` char–word or
    ``"char"``), ``encoder`` the question and passage encoders (``"dgcnn"``, the article's,
    or ``"bilstm"``, the ablation's recurrent reader of similar size).
    """

    variant: str = "mixed"
    encoder: str = "dgcnn"
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 1e-3
    ema_momentum: float = 0.99
    dim: int = 64
    word_dim: int = 100
    maxlen: int = 256
    question_maxlen: int = 64
    char_min_count: int = 2
    dev_limit: int = 300
    threshold: float = 0.1
    max_span: int = 12
    seed: int = 0

    def validate(self) -> TrainSettings:
        check_choice(self.variant, "variant", VARIANTS)
        check_choice(self.encoder, "encoder", ENCODERS)
        for name in ("epochs", "batch_size", "dim", "word_dim", "maxlen", "question_maxlen",
                     "char_min_count", "dev_limit", "max_span"):
            check_positive_int(getattr(self, name), name)
        check_float(self.learning_rate, "learning_rate", minimum=0.0, include_min=False)
        check_probability(self.ema_momentum, "ema_momentum", include_one=False)
        check_probability(self.threshold, "threshold")
        check_int(self.seed, "seed", minimum=0)
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class _Encoded:
    q_chars: list[int]
    q_words: list[int]
    passages: list[tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]]


def _encode(questions: Sequence[Question], vocab: QAVocabulary, settings: TrainSettings
            ) -> list[_Encoded]:
    mixed = settings.variant == "mixed"
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for q in questions:
        q_chars, q_words = encode_question(vocab, q.question, settings.question_maxlen, mixed)
        passages = []
        for p in q.passages:
            if p.text not in cache:
                chars = np.asarray(vocab.char_ids(p.text), "int32")
                words = np.asarray(vocab.word_ids(p.text) if mixed else [], "int32")
                cache[p.text] = (chars, words)
            chars, words = cache[p.text]
            passages.append((chars, words, list(p.spans)))
        out.append(_Encoded(q_chars, q_words, passages))
    return out


def _crop(length: int, maxlen: int, rng: np.random.Generator) -> tuple[int, int]:
    half = maxlen // 2 + maxlen % 2
    if length <= half:
        return 0, length
    if rng.random() < 0.5:
        start = int(rng.integers(0, length - half + 1))
        end = int(rng.integers(start + half, min(length, start + maxlen) + 1))
        return start, end
    return 0, min(length, maxlen)


def _batches_class() -> type:
    import keras

    class ReaderBatches(keras.utils.PyDataset):
        """One random passage per question per step, cropped, padded to fixed buckets."""

        def __init__(self, encoded: list[_Encoded], settings: TrainSettings,
                     first_epoch: int = 0):
            super().__init__()
            self.encoded = encoded
            self.settings = settings
            self.mixed = settings.variant == "mixed"
            self.epoch = first_epoch
            self._shuffle()

        def _shuffle(self) -> None:
            rng = np.random.default_rng((self.settings.seed, self.epoch))
            self.order = rng.permutation(len(self.encoded))

        def __len__(self) -> int:
            return math.ceil(len(self.encoded) / self.settings.batch_size)

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._shuffle()

        def __getitem__(self, index: int) -> tuple[list[np.ndarray], np.ndarray]:
            s = self.settings
            rng = np.random.default_rng((s.seed, self.epoch, index, 1))
            chunk = self.order[index * s.batch_size:(index + 1) * s.batch_size]
            qc, qw, pc, pw, spans = [], [], [], [], []
            for i in chunk:
                item = self.encoded[i]
                chars, words, positives = item.passages[int(rng.integers(len(item.passages)))]
                start, end = _crop(len(chars), s.maxlen, rng)
                qc.append(item.q_chars)
                qw.append(item.q_words)
                pc.append(chars[start:end])
                pw.append(words[start:end] if self.mixed else [])
                spans.append([(a - start, b - start) for a, b in positives
                              if a >= start and b <= end])
            longest = max(len(c) for c in pc)
            p_len = max(PASSAGE_BUCKET, -(-longest // PASSAGE_BUCKET) * PASSAGE_BUCKET)
            y = np.zeros((len(chunk), p_len, 3), "float32")
            for k, (c, positives) in enumerate(zip(pc, spans, strict=True)):
                y[k, :len(c), 2] = 1.0
                for a, b in positives:
                    y[k, a, 0] = 1.0
                    y[k, b - 1, 1] = 1.0
            inputs = [pad_batch(qc, s.question_maxlen)]
            if self.mixed:
                inputs.append(pad_batch(qw, s.question_maxlen))
            inputs.append(pad_batch(pc, p_len))
            if self.mixed:
                inputs.append(pad_batch(pw, p_len))
            return tuple(inputs), y

    return ReaderBatches


def _word_vector_sentences(questions: Sequence[Question]) -> list[list[str]]:
    seen: set[str] = set()
    sentences = []
    for q in questions:
        for p in q.passages:
            if p.text not in seen:
                seen.add(p.text)
                sentences.append(segment(p.text))
    return sentences


def _compile(model: Any, settings: TrainSettings) -> None:
    import keras

    from kexue.tasks.qa.model import SpanFocalLoss

    optimizer = keras.optimizers.Adam(settings.learning_rate, use_ema=True,
                                      ema_momentum=settings.ema_momentum)
    model.compile(optimizer=optimizer, loss=SpanFocalLoss())


def _swap_ema(model: Any) -> None:
    """Exchange the model weights and the optimizer's EMA copies.

    What ``keras.callbacks.SwapEMAWeights`` does, but with fresh copies on both sides: on
    JAX (Keras 3.15) that callback leaves a weight and its average sharing one buffer, which
    ``predict_on_batch`` then donates, so a later save fails with "Array has been deleted".
    """
    optimizer = model.optimizer
    for var, average in zip(optimizer._trainable_variables,
                            optimizer._model_variables_moving_average, strict=True):
        weights, averaged = np.array(var.value), np.array(average.value)
        var.assign(averaged)
        average.assign(weights)


def _ema_callback() -> Any:
    import keras

    class EMAWeightsAtEpochEnd(keras.callbacks.Callback):
        """EMA weights in the model from each epoch end (dev score, checkpoints) to the
        next epoch's start."""

        def __init__(self) -> None:
            super().__init__()
            self.swapped = False

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if self.swapped:
                _swap_ema(self.model)
                self.swapped = False

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if not self.swapped:
                _swap_ema(self.model)
                self.swapped = True

    return EMAWeightsAtEpochEnd()


def evaluate_reader(reader: Reader, dataset: QADataset | Sequence[Question], *,
                    metric: str = "cmrc", threshold: float = 0.1, max_span: int = 12
                    ) -> tuple[Any, list[Any]]:
    """Answer every question of ``dataset`` and score the answers.

    Returns:
        ``(score, answers)``: a :class:`kexue.metrics.qa.QAScore` and the answers.
    """
    from kexue.metrics.qa import score

    questions = dataset.questions if isinstance(dataset, QADataset) else list(dataset)
    answers = reader.answer([(q.question, [p.text for p in q.passages]) for q in questions],
                            threshold=threshold, max_length=max_span)
    predictions = {q.id: a.text for q, a in zip(questions, answers, strict=True)}
    gold = {q.id: list(q.answers) for q in questions}
    return score(predictions, gold, metric), answers


def load_reader(run_path: str | os.PathLike, name: str = "best.keras", *,
                batch_size: int = 64) -> tuple[Reader, TrainSettings]:
    """The reader saved in a run directory, and the run's settings."""
    import kexue.tasks.qa.model  # noqa: F401  (registers SpanHead and SpanFocalLoss)
    from kexue.tasks.runs import RunDirectory

    run = RunDirectory.open(run_path, TASK, require=(name, "vocab.json"))
    settings = TrainSettings.from_dict(run.settings)
    model = run.load_model(name, compile=False)
    vocab = QAVocabulary.from_json(run.read_text("vocab.json"))
    return Reader(model, vocab, question_maxlen=settings.question_maxlen,
                  batch_size=batch_size), settings


def train_reader(run_path: str | os.PathLike, train: QADataset, dev: QADataset,
                 settings: TrainSettings | None = None, *,
                 word_vectors: Any = None, resume: bool = False, overwrite: bool = False,
                 verbose: int | str = "auto", cache_word_vectors: bool | str = True,
                 callbacks: Sequence[Any] = ()) -> dict[str, Any]:
    """Train (or resume) a reader into a run directory; return the final dev scores.

    Args:
        run_path: the run directory (new, or an existing one with ``resume``).
        train, dev: training and development questions.
        settings: see :class:`TrainSettings` (ignored on resume except ``epochs``).
        word_vectors: a :class:`kexue.text.WordVectors` for the mixed variant; ``None``
            trains word2vec on the training passages only (never dev or test text),
            cached in the user's cache directory.
        resume: continue the run in ``run_path`` from ``last.keras``.
        overwrite: replace an existing run in ``run_path``.
        verbose: Keras ``fit`` verbosity (progress bar).
        cache_word_vectors: passed to :func:`kexue.text.train_word_vectors` as ``cache``.
        callbacks: more Keras callbacks for ``fit`` (run after the checkpoint).
    """
    import keras

    from kexue.tasks.qa.model import QAModelConfig, build_model
    from kexue.tasks.runs import RunDirectory, make_checkpoint
    from kexue.text import train_word_vectors

    if resume:
        run = RunDirectory.open(run_path, TASK, require=("last.keras", "vocab.json"))
        stored = TrainSettings.from_dict(run.settings)
        if settings is not None and settings.epochs != stored.epochs:
            stored.epochs = settings.epochs
            run.update_settings(epochs=stored.epochs)
        settings = stored.validate()
        vocab = QAVocabulary.from_json(run.read_text("vocab.json"))
        keras.utils.set_random_seed(settings.seed + run.state.get("epoch", 0))
        model = run.load_model("last.keras", compile=True)
        _swap_ema(model)  # last.keras holds the EMA weights in the model (_ema_callback)
        initial_epoch = int(run.state.get("epoch", 0))
    else:
        settings = (settings or TrainSettings()).validate()
        if not len(train):
            raise ValueError("no training questions")
        run = RunDirectory.create(run_path, TASK, asdict(settings), overwrite=overwrite)
        keras.utils.set_random_seed(settings.seed)
        matrix = None
        words: list[str] = []
        if settings.variant == "mixed":
            if word_vectors is None:
                word_vectors = train_word_vectors(
                    _word_vector_sentences(train.questions), dim=settings.word_dim,
                    seed=settings.seed, cache=cache_word_vectors,
                    progress=verbose not in (0, "0"))
            settings.word_dim = word_vectors.dim
            run.update_settings(word_dim=word_vectors.dim, word_count=len(word_vectors))
            path = run.file("word_vectors.bin")
            word_vectors.save(path)
            run.register("word_vectors.bin")
            words, matrix = list(word_vectors.words), word_vectors.vectors
        vocab = QAVocabulary.build(
            (text for q in train.questions for text in
             [q.question] + [p.text for p in q.passages]),
            words, min_count=settings.char_min_count)
        run.write_text("vocab.json", vocab.to_json())
        config = QAModelConfig(char_count=vocab.char_count, word_count=len(words),
                               word_dim=settings.word_dim, dim=settings.dim,
                               encoder=settings.encoder)
        model = build_model(config, matrix, seed=settings.seed)
        _compile(model, settings)
        initial_epoch = 0

    batches = _batches_class()(_encode(train.questions, vocab, settings), settings,
                               first_epoch=initial_epoch)
    dev_questions = dev.questions[:settings.dev_limit]
    reader = Reader(model, vocab, question_maxlen=settings.question_maxlen,
                    batch_size=settings.batch_size)

    def dev_scores(epoch: int) -> dict[str, float]:
        result, _ = evaluate_reader(reader, dev_questions, metric="cmrc",
                                    threshold=settings.threshold, max_span=settings.max_span)
        return {"dev_em": result.scores["em"], "dev_f1": result.scores["f1"]}

    fit_callbacks = [_ema_callback(),
                     make_checkpoint(run, monitor="dev_f1", mode="max", extra_logs=dev_scores),
                     *callbacks]
    if initial_epoch < settings.epochs:
        model.fit(batches, epochs=settings.epochs, initial_epoch=initial_epoch,
                  callbacks=fit_callbacks, verbose=verbose)
    best, _ = load_reader(run.path, batch_size=settings.batch_size)
    cmrc, _ = evaluate_reader(best, dev, metric="cmrc", threshold=settings.threshold,
                              max_span=settings.max_span)
    sogou, _ = evaluate_reader(best, dev, metric="sogou", threshold=settings.threshold,
                               max_span=settings.max_span)
    metrics = {"dev_questions": len(dev), "epochs": run.state.get("epoch"),
               "best_epoch": run.state.get("best_epoch"), **{f"cmrc_{k}": v for k, v in
                                                            cmrc.scores.items()},
               **{f"sogou_{k}": v for k, v in sogou.scores.items()}}
    run.write_json("metrics.json", metrics)
    return metrics


def default_dev_split(dataset: QADataset, fraction: float = 0.1, seed: int = 0
                      ) -> tuple[QADataset, QADataset]:
    """Split a dataset into train and dev parts (for a user file without a dev file)."""
    fraction = check_probability(fraction, "fraction", include_zero=False, include_one=False)
    order = np.random.default_rng(seed).permutation(len(dataset.questions))
    cut = max(1, int(round(len(order) * fraction)))
    dev_ids = set(order[:cut].tolist())
    train = [q for i, q in enumerate(dataset.questions) if i not in dev_ids]
    dev = [q for i, q in enumerate(dataset.questions) if i in dev_ids]
    return (QADataset(train, dataset.format, dataset.source, dataset.skipped),
            QADataset(dev, dataset.format, dataset.source))


def run_path_exists(path: str | os.PathLike) -> bool:
    return Path(path).is_dir() and any(Path(path).iterdir())

"""Training title models into run directories, and using a trained run.

:func:`train_title` reads the data, builds the char vocabulary (saved as
``vocabulary.json``), builds the model, and trains it with ``model.fit``: Keras progress
bar, per-epoch dev ROUGE-L on a sample (greedy), ``best.keras`` / ``last.keras`` /
``history.csv`` through :func:`kexue.tasks.runs.make_checkpoint`, resume from the last
checkpoint (``resume=True``), a seed, Adam / LazyAdam / Lookahead(Adam), and optionally
Keras' ``DataParallel`` over all devices (JAX). With ``two_stage=True`` it first trains a
separate L2R and R2L model (``stage1/``), lets each decode the training set greedily
(``stage1/pseudo.jsonl``), then trains the bidirectional model with each decoder's partner
fed the other direction's pseudo target while it predicts the gold title (SB-NMT's remedy
for the leakage the article observed).

:func:`open_title_run` loads a finished run for :meth:`TitleRun.generate` and
:meth:`TitleRun.evaluate`.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from kexue._validation import check_choice, check_int, check_positive_int
from kexue.tasks.title.data import (
    CharVocabulary,
    TitleRecord,
    encode_records,
    load_records,
)

__all__ = ["TrainSettings", "train_title", "open_title_run", "TitleRun", "MODELS",
           "OPTIMIZERS"]

#: model kinds and their decoder directions.
MODELS = {"bidirectional": ("l2r", "r2l"), "l2r": ("l2r",), "r2l": ("r2l",)}
#: optimizer choices.
OPTIMIZERS = ("adam", "lazy-adam", "lookahead")
TASK = "title"
VOCABULARY = "vocabulary.json"


@dataclass
class TrainSettings:
    """Everything a training run depends on (saved in the run's manifest).

    Defaults are the benchmark budget of issue 19: sources cut to 200 characters,
    8 epochs, batch 64, Adam 1e-3, the article's layer widths.
    """

    data: str = "inews"
    dev_data: str | None = None
    model: str = "bidirectional"
    two_stage: bool = False
    epochs: int = 8
    batch_size: int = 64
    max_records: int | None = None
    max_source_length: int = 200
    max_target_length: int = 32
    min_count: int = 5
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    seed: int = 0
    dev_sample: int = 100
    distribute: bool = False
    source_field: str = "content"
    target_field: str = "title"
    embedding_dim: int = 128
    encoder_units: int = 64
    decoder_units: int = 128
    attention_heads: int = 8
    attention_key_dim: int = 16
    hidden_units: int = 128

    def __post_init__(self) -> None:
        check_choice(self.model, "model", tuple(MODELS))
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        for name in ("epochs", "batch_size", "max_source_length", "max_target_length",
                     "min_count", "embedding_dim", "encoder_units", "decoder_units",
                     "attention_heads", "attention_key_dim", "hidden_units", "dev_sample"):
            check_positive_int(getattr(self, name), name)
        check_int(self.max_records, "max_records", minimum=2, allow_none=True)
        check_int(self.seed, "seed", minimum=0)
        if self.two_stage and self.model != "bidirectional":
            raise ValueError("`two_stage` trains the bidirectional model; "
                             f"received model={self.model!r}")

    def widths(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("embedding_dim", "encoder_units", "decoder_units",
                                             "attention_heads", "attention_key_dim",
                                             "hidden_units")}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainSettings:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def _split_data(settings: TrainSettings) -> tuple[list[TitleRecord], list[TitleRecord],
                                                   list[str]]:
    notes = []
    train = load_records(settings.data, source_field=settings.source_field,
                         target_field=settings.target_field, max_records=settings.max_records)
    notes.append(train.summary())
    if train.report:
        notes.append("cleaning: " + ", ".join(f"{k} {v}" for k, v in train.report.items()))
    dev_spec = settings.dev_data
    if dev_spec is None and str(settings.data).startswith("inews"):
        dev_spec = "inews:dev"
    records = train.records
    if dev_spec is not None:
        dev = load_records(dev_spec, source_field=settings.source_field,
                           target_field=settings.target_field).records
    else:  # hold out the last 5% of the file
        cut = max(1, len(records) // 20)
        records, dev = records[:-cut], records[-cut:]
    return records, dev[:settings.dev_sample], notes


def _optimizer(settings: TrainSettings) -> Any:
    import keras

    from kexue.optimizers import LazyAdam, Lookahead

    if settings.optimizer == "lazy-adam":
        return LazyAdam(learning_rate=settings.learning_rate)
    adam = keras.optimizers.Adam(learning_rate=settings.learning_rate)
    return Lookahead(adam) if settings.optimizer == "lookahead" else adam


def _compile(model: Any, settings: TrainSettings) -> None:
    import keras

    from kexue.tasks.title.model import model_directions

    directions = model_directions(model)
    loss = {d: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
            for d in directions}
    model.compile(optimizer=_optimizer(settings), loss=loss,
                  loss_weights={d: 1.0 / len(directions) for d in directions})


def _inputs(arrays: dict[str, np.ndarray], directions: Sequence[str],
            partners: dict[str, np.ndarray] | None = None) -> tuple[dict, dict]:
    x = {"source": arrays["source"]}
    y = {}
    for d in directions:
        x[f"{d}_input"] = arrays[f"{d}_input"]
        y[d] = arrays[f"{d}_target"]
    if partners is not None:
        x.update(partners)
    return x, y


def _greedy_titles(model: Any, vocabulary: CharVocabulary, source: np.ndarray,
                   max_length: int, decoder: Any = None) -> list[str]:
    from kexue.tasks.title.decode import TitleDecoder

    decoder = decoder if decoder is not None else TitleDecoder(model)
    name = "sb-half" if len(decoder.directions) == 2 else decoder.directions[0]
    results = decoder.generate(source, decoder=name, beam=1, max_length=max_length)
    return [vocabulary.decode(h[0].tokens) for h in results]


def _dev_callback(model_ref: Callable[[], Any], vocabulary: CharVocabulary,
                  dev: list[TitleRecord], settings: TrainSettings) -> Callable[[int], dict]:
    from kexue.metrics.rouge import rouge_scores

    source = encode_records(dev, vocabulary, max_source_length=settings.max_source_length,
                            max_target_length=settings.max_target_length)["source"]

    from kexue.tasks.title.decode import TitleDecoder

    decoders: dict[int, Any] = {}

    def extra_logs(epoch: int) -> dict[str, float]:
        model = model_ref()
        # one decoder per model: its compiled step functions are reused every epoch
        decoder = decoders.setdefault(id(model), TitleDecoder(model))
        titles = _greedy_titles(model, vocabulary, source, settings.max_target_length, decoder)
        return {"dev_rouge_l": rouge_scores(titles, [r.target for r in dev])["rouge_l"]}

    return extra_logs


def _set_distribution(settings: TrainSettings) -> None:
    import keras

    if not settings.distribute:
        return
    if keras.backend.backend() != "jax":
        raise ValueError("`--distribute` uses keras.distribution.DataParallel, which needs "
                         f"the JAX backend; the backend is {keras.backend.backend()!r}")
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))


def _fit(run: Any, model: Any, x: dict, y: dict, settings: TrainSettings,
         vocabulary: CharVocabulary, dev: list[TitleRecord], *, initial_epoch: int = 0,
         verbose: int | str = "auto") -> None:
    from kexue.tasks.runs import make_checkpoint

    holder = {"model": model}
    checkpoint = make_checkpoint(run, monitor="dev_rouge_l", mode="max",
                                 extra_logs=_dev_callback(lambda: holder["model"], vocabulary,
                                                          dev, settings))
    timer = _EpochTimer(run)
    model.fit(x, y, batch_size=settings.batch_size, epochs=settings.epochs,
              initial_epoch=initial_epoch, shuffle=True, callbacks=[timer, checkpoint],
              verbose=verbose)


class _EpochTimer:
    """Adds ``epoch_seconds`` to the logs (a Keras callback, created lazily)."""

    def __new__(cls, run: Any) -> Any:
        import keras

        class EpochTimer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                if logs is not None:
                    logs["epoch_seconds"] = time.perf_counter() - self.start

        return EpochTimer()


def _build(settings: TrainSettings, vocabulary_size: int, directions: tuple[str, ...],
           partner_inputs: bool = False) -> Any:
    from kexue.tasks.title.model import build_title_model

    return build_title_model(vocabulary_size, directions=directions,
                             partner_inputs=partner_inputs, **settings.widths())


def train_title(settings: TrainSettings, out: str | os.PathLike, *, resume: bool = False,
                overwrite: bool = False, verbose: int | str = "auto",
                log: Callable[[str], object] = print) -> Any:
    """Train a title model into the run directory ``out``; returns the
    :class:`~kexue.tasks.runs.RunDirectory`.

    Args:
        settings: what to train (ignored with ``resume``: the run's own settings are used).
        out: the run directory (new, or the one to resume).
        resume: continue an interrupted run from ``last.keras`` at the next epoch.
        overwrite: replace an existing run in ``out``.
        verbose: Keras ``fit`` verbosity.
        log: where progress notes go.
    """
    import keras

    from kexue.tasks.runs import RunDirectory

    if resume:
        run = RunDirectory.open(out, TASK, require=(VOCABULARY, "last.keras"))
        settings = TrainSettings.from_dict(run.settings)
    # every input and argument check (data readable, non-empty, fields present; backend)
    # comes before a new run directory is created, so bad input leaves no files behind
    _set_distribution(settings)
    records, dev, notes = _split_data(settings)
    if not resume:
        run = RunDirectory.create(out, TASK, asdict(settings), overwrite=overwrite)
    keras.utils.set_random_seed(settings.seed)
    for note in notes:
        log(note)
    if resume:
        vocabulary = CharVocabulary.from_json(run.read_text(VOCABULARY))
    else:
        vocabulary = CharVocabulary.build(
            itertools.chain((r.source for r in records), (r.target for r in records)),
            settings.min_count)
        run.write_text(VOCABULARY, vocabulary.to_json())
    log(f"vocabulary: {len(vocabulary):,} ids (characters seen >= {settings.min_count} "
        f"times), {len(records):,} training and {len(dev):,} dev-sample records")
    arrays = encode_records(records, vocabulary, max_source_length=settings.max_source_length,
                            max_target_length=settings.max_target_length)
    directions = MODELS[settings.model]
    partners = None
    if settings.two_stage:
        partners = _stage_one(run, settings, arrays, records, vocabulary, dev, log, verbose)
    if resume:
        model = run.load_model("last.keras")
        initial_epoch = int(run.state.get("epoch", 0))
    else:
        model = _build(settings, len(vocabulary), directions, partner_inputs=partners is not None)
        _compile(model, settings)
        initial_epoch = 0
    x, y = _inputs(arrays, directions, partners)
    start = time.perf_counter()
    if initial_epoch < settings.epochs:
        _fit(run, model, x, y, settings, vocabulary, dev, initial_epoch=initial_epoch,
             verbose=verbose)
    history = run.read_history()
    run.write_json("metrics.json", {
        "dev_rouge_l_best": run.state.get("best"),
        "best_epoch": run.state.get("best_epoch"),
        "epochs": run.state.get("epoch"),
        "epoch_seconds": [row.get("epoch_seconds") for row in history],
        "train_seconds_this_session": round(time.perf_counter() - start, 1),
        "training_records": len(records),
        "vocabulary": len(vocabulary),
    })
    return run


def _stage_one(run: Any, settings: TrainSettings, arrays: dict[str, np.ndarray],
               records: list[TitleRecord], vocabulary: CharVocabulary,
               dev: list[TitleRecord], log: Callable[[str], object],
               verbose: int | str) -> dict[str, np.ndarray]:
    """Train stage-1 L2R and R2L models and return their pseudo targets as partner inputs."""
    from kexue.tasks.runs import RunDirectory

    pseudo_path = "stage1/pseudo.jsonl"
    titles: dict[str, list[str]] = {}
    if run.has(pseudo_path):
        rows = [json.loads(line) for line in run.read_text(pseudo_path).splitlines()]
        titles = {d: [row[d] for row in rows] for d in ("l2r", "r2l")}
    else:
        for d in ("l2r", "r2l"):
            sub = run.file(f"stage1/{d}")
            if sub.exists() and (sub / "config.json").exists():
                stage = RunDirectory.open(sub, TASK)
                if int(stage.state.get("epoch", 0)) < settings.epochs:
                    stage = None
            else:
                stage = None
            if stage is None:
                log(f"stage 1: training the {d} model")
                stage = RunDirectory.create(sub, TASK, {**asdict(settings), "model": d,
                                                         "two_stage": False}, overwrite=True)
                stage.write_text(VOCABULARY, vocabulary.to_json())
                model = _build(settings, len(vocabulary), (d,))
                _compile(model, settings)
                x, y = _inputs(arrays, (d,))
                _fit(stage, model, x, y, settings, vocabulary, dev, verbose=verbose)
            model = stage.load_model("best.keras")
            log(f"stage 1: the {d} model decodes the training set (greedy)")
            titles[d] = _greedy_titles(model, vocabulary, arrays["source"],
                                       settings.max_target_length)
        lines = [json.dumps({"id": r.id, "l2r": a, "r2l": b}, ensure_ascii=False)
                 for r, a, b in zip(records, titles["l2r"], titles["r2l"], strict=True)]
        run.write_text(pseudo_path, "\n".join(lines) + "\n")
        run.register("stage1/l2r")
        run.register("stage1/r2l")
    pseudo = {d: encode_records([TitleRecord(r.id, "", t) for r, t in zip(records, titles[d],
                                                                         strict=True)],
                                vocabulary, max_source_length=1,
                                max_target_length=settings.max_target_length)
              for d in ("l2r", "r2l")}
    return {"l2r_partner": pseudo["l2r"]["l2r_input"], "r2l_partner": pseudo["r2l"]["r2l_input"]}


@dataclass
class TitleRun:
    """A trained title run: its directory, settings, vocabulary and model."""

    run: Any
    settings: TrainSettings
    vocabulary: CharVocabulary
    model: Any
    notes: list[str] = field(default_factory=list)
    _decoder: Any = field(default=None, repr=False, compare=False)

    def decoder(self) -> Any:
        """The run's :class:`~kexue.tasks.title.decode.TitleDecoder`, made once, so that
        its compiled steps serve every later :meth:`generate` / :meth:`evaluate` call."""
        from kexue.tasks.title.decode import TitleDecoder

        if self._decoder is None:
            self._decoder = TitleDecoder(self.model)
        return self._decoder

    @property
    def directions(self) -> tuple[str, ...]:
        return MODELS[self.settings.model]

    def default_decoder(self) -> str:
        return "bi" if len(self.directions) == 2 else self.directions[0]

    def encode_sources(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Padded source ids and how many texts were longer than the model's maximum."""
        records = [TitleRecord(str(i), t) for i, t in enumerate(texts)]
        arrays = encode_records(records, self.vocabulary,
                                max_source_length=self.settings.max_source_length,
                                max_target_length=1)
        longer = sum(len(self.vocabulary.encode(t)) > self.settings.max_source_length
                     for t in texts)
        return arrays["source"], longer

    def generate(self, texts: Sequence[str], *, decoder: str | None = None, beam: int = 3,
                 n_best: int = 1, length_penalty: float = 0.0, no_repeat_ngram: int = 0,
                 max_length: int | None = None, batch_size: int = 64) -> list[list[dict]]:
        """Titles for ``texts``: per text, ``n_best`` dicts ``{"title", "score", "direction"}``."""
        empty = [i for i, t in enumerate(texts) if not "".join(t.split())]
        if empty:
            raise ValueError(f"text {empty[0] + 1} is empty: nothing to title")
        source, _ = self.encode_sources(texts)
        results = self.decoder().generate(
            source, decoder=decoder or self.default_decoder(), beam=beam, n_best=n_best,
            length_penalty=length_penalty, no_repeat_ngram=no_repeat_ngram,
            max_length=max_length or self.settings.max_target_length, batch_size=batch_size)
        return [[{"title": self.vocabulary.decode(h.tokens), "score": round(h.score, 4),
                  "direction": h.direction} for h in hyps] for hyps in results]

    def evaluate(self, data: str = "inews:test", *, decoder: str | None = None,
                 beam: int = 3, max_records: int | None = None,
                 source_field: str = "content", target_field: str = "title") -> dict:
        """Scores on ``data``: all titles, and without truncated ones (when flagged)."""
        from kexue.metrics.rouge import title_scores

        records = load_records(data, source_field=source_field, target_field=target_field,
                               max_records=max_records).records
        start = time.perf_counter()
        predictions = [h[0]["title"] for h in self.generate(
            [r.source for r in records], decoder=decoder, beam=beam)]
        seconds = time.perf_counter() - start
        result = {"data": data, "decoder": decoder or self.default_decoder(), "beam": beam,
                  "all": title_scores(predictions, [r.target for r in records]),
                  "titles_per_second": round(len(records) / seconds, 2)}
        kept = [i for i, r in enumerate(records) if not r.truncated]
        if len(kept) < len(records):
            result["not_truncated"] = title_scores([predictions[i] for i in kept],
                                                   [records[i].target for i in kept])
        result["predictions"] = predictions
        return result


def open_title_run(path: str | os.PathLike, *, checkpoint: str = "best.keras") -> TitleRun:
    """Load a trained run (checks the manifest; names what is missing or foreign)."""
    from kexue.tasks.runs import RunDirectory

    run = RunDirectory.open(Path(path), TASK, require=(VOCABULARY, checkpoint))
    settings = TrainSettings.from_dict(run.settings)
    vocabulary = CharVocabulary.from_json(run.read_text(VOCABULARY))
    model = run.load_model(checkpoint, compile=False)
    return TitleRun(run, settings, vocabulary, model)



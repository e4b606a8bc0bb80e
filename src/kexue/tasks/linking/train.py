"""Training the linking system into a run directory.

:func:`train` fits the behaviour-modelled dictionary on the training texts, trains word
vectors on their segmentation, builds the character vocabulary, then trains the joint
network with ``model.fit`` (Adam, EMA weights written back at every epoch end, dev
micro-F1 per epoch, ``best.keras`` / ``last.keras`` through
:func:`kexue.tasks.runs.make_checkpoint`). The run directory holds everything prediction
needs: ``candidates.json`` (pruning and restriction statistics), ``kb_data.json.gz`` (the
KB it was trained with), ``chars.json``, ``word_vectors.txt``, the checkpoints.

Each epoch draws one training pair per text: for a text with gold mentions the dictionary
can produce, one such mention with, half the time, another of its candidates (label 0)
instead of its entity (label 1); for a text whose matches were not annotated, one of those
matches with one of its candidates (label 0).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kexue._validation import check_float, check_int, check_positive_int
from kexue.tasks.linking.candidates import CandidateDictionary
from kexue.tasks.linking.data import NIL, KnowledgeBase, Text, read_kb, write_kb
from kexue.tasks.linking.features import Featurizer, build_char_vocabulary, pad_length

__all__ = ["TrainSettings", "train", "load_run_parts", "ema_momentum", "TASK"]

TASK = "linking"


@dataclass
class TrainSettings:
    """Settings of a linking run (stored in the run's ``config.json``).

    The defaults train on the embedded set in about 10 minutes on 2 CPU cores.
    """

    epochs: int = 4
    batch_size: int = 32
    steps_per_epoch: int | None = 200
    learning_rate: float = 1e-3
    threshold: float = 5.0
    min_count: int = 2
    word_dim: int = 64
    embedding_dim: int = 64
    lstm_units: int = 64
    conv_filters: int = 128
    heads: int = 8
    head_size: int = 16
    hidden: int = 128
    mention_threshold: float = 0.4
    link_threshold: float = 0.1
    tokenizer: str = "rjieba"
    seed: int = 0
    dev_texts: int | None = 1500

    def validate(self) -> None:
        for name in ("epochs", "batch_size", "word_dim", "embedding_dim", "lstm_units",
                     "conv_filters", "heads", "head_size", "hidden"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.steps_per_epoch, "steps_per_epoch", allow_none=True)
        check_positive_int(self.dev_texts, "dev_texts", allow_none=True)
        check_float(self.learning_rate, "learning_rate", minimum=0.0, include_min=False)
        check_float(self.threshold, "threshold", minimum=0.0, include_min=False)
        check_int(self.min_count, "min_count", minimum=0)
        check_int(self.seed, "seed", minimum=0)


def ema_momentum(steps: int) -> float:
    """EMA momentum for a run of ``steps`` optimizer steps: ``1 - 10 / steps`` clipped to
    [0.99, 0.999] (the article's 0.9999 averages over far more steps than short runs have).

    Example:
        >>> ema_momentum(800), ema_momentum(100_000)
        (0.99, 0.999)
    """
    return float(min(0.999, max(0.99, 1.0 - 10.0 / max(steps, 1))))


class _Example:
    """A training text: its arrays, matches, gold target spans and linkable mentions."""

    def __init__(self, text: Text, dictionary: CandidateDictionary, featurizer: Featurizer):
        from kexue.tasks.linking.decode import text_inputs

        self.text = text.text
        self.matches = dictionary.match(text.text)
        self.arrays = text_inputs(featurizer, text.text, self.matches)
        match_spans = {(s, e): a for s, e, a in self.matches}
        gold = {(m.offset, m.offset + len(m.mention)): m for m in text.mentions}
        self.targets = [span for span in gold if span in match_spans]
        self.linkable = [(span, match_spans[span], gold[span].kb_id) for span in self.targets
                         if gold[span].kb_id != NIL
                         and gold[span].kb_id in dictionary.candidates(match_spans[span])]
        self.negatives = [((s, e), a) for s, e, a in self.matches if (s, e) not in gold]


class _Batches:
    """Builds the ``keras.utils.PyDataset`` of training batches (bucketed by length)."""

    def __new__(cls, examples: list[_Example], featurizer: Featurizer,
                dictionary: CandidateDictionary, settings: TrainSettings) -> Any:
        import keras

        from kexue.tasks.linking.decode import pad_batch, pair_inputs, stack_inputs

        description_length = featurizer.max_description

        class Batches(keras.utils.PyDataset):
            def __init__(self) -> None:
                super().__init__()
                self.epoch = 0
                self.batches = self._plan()

            def _plan(self) -> list[list[int]]:
                rng = np.random.default_rng([settings.seed, self.epoch, 1])
                groups: dict[int, list[int]] = defaultdict(list)
                for i in rng.permutation(len(examples)):
                    groups[pad_length(len(examples[i].text))].append(int(i))
                size = settings.batch_size
                batches = []
                for members in groups.values():
                    # full batches only (one shape per length bucket): the last is filled
                    # up from the start of its bucket
                    padded = members + members[: (-len(members)) % size]
                    while len(padded) % size:
                        padded += members
                    padded = padded[: -(-len(members) // size) * size]
                    batches += [padded[j:j + size] for j in range(0, len(padded), size)]
                order = rng.permutation(len(batches))
                batches = [batches[k] for k in order]
                if settings.steps_per_epoch is not None:
                    while len(batches) < settings.steps_per_epoch:
                        batches += batches
                    batches = batches[: settings.steps_per_epoch]
                return batches

            def __len__(self) -> int:
                return len(self.batches)

            def on_epoch_end(self) -> None:
                self.epoch += 1
                self.batches = self._plan()

            def __getitem__(self, index: int) -> Any:
                rng = np.random.default_rng([settings.seed, self.epoch, index, 2])
                batch = self.batches[index]
                length = pad_length(max(len(examples[i].text) for i in batch))
                rows, starts, ends, labels = [], [], [], []
                for i in batch:
                    example = examples[i]
                    start = np.zeros((len(example.text), 1), "float32")
                    end = np.zeros((len(example.text), 1), "float32")
                    for s, e in example.targets:
                        start[s], end[e - 1] = 1.0, 1.0
                    if example.linkable:
                        span, alias, gold = example.linkable[rng.integers(len(example.linkable))]
                        others = [c for c in dictionary.candidates(alias) if c != gold]
                        if others and rng.random() < 0.5:
                            entity, label = others[rng.integers(len(others))], 0.0
                        else:
                            entity, label = gold, 1.0
                    else:
                        span, alias = example.negatives[rng.integers(len(example.negatives))]
                        options = dictionary.candidates(alias)
                        entity, label = options[rng.integers(len(options))], 0.0
                    rows.append(pair_inputs(featurizer, example.arrays, example.text,
                                            dictionary.kb[entity], span))
                    starts.append(start)
                    ends.append(end)
                    labels.append([label])
                inputs = stack_inputs(rows, length, description_length)
                targets = (pad_batch(starts, length), pad_batch(ends, length),
                           np.array(labels, "float32"))
                return tuple(inputs), targets

        return Batches()


def _word_vectors(texts: list[Text], featurizer_tokenizer: str, dim: int, seed: int) -> Any:
    from kexue.text.tokenizers import Tokenizer
    from kexue.text.word_vectors import train_word_vectors

    tokenizer = Tokenizer(featurizer_tokenizer)
    sentences = [list(tokenizer(t.text)) for t in texts]
    return train_word_vectors(sentences, dim=dim, min_count=2, epochs=5, seed=seed,
                              workers=1, cache=False, progress=False)


def load_run_parts(path: str | os.PathLike, *, kb: str | os.PathLike | None = None,
                   checkpoint: str = "best.keras") -> tuple[Any, Any, Featurizer,
                                                            CandidateDictionary]:
    """Open a linking run: (run, model, featurizer, dictionary); ``kb`` overrides its KB."""
    from kexue.tasks.runs import RunDirectory
    from kexue.text.word_vectors import load_word_vectors

    run = RunDirectory.open(path, TASK, require=(checkpoint,))
    knowledge, _ = read_kb(kb if kb is not None else run.path / "kb_data.json.gz")
    dictionary = CandidateDictionary.from_json(run.read_json("candidates.json"), knowledge)
    vectors = load_word_vectors(run.path / "word_vectors.txt")
    featurizer = Featurizer(run.read_json("chars.json"), vectors,
                            tokenizer=run.settings.get("tokenizer", "rjieba"))
    model = run.load_model(checkpoint, compile=False)
    return run, model, featurizer, dictionary


def _compile(model: Any, settings: TrainSettings, steps: int) -> None:
    import keras

    optimizer = keras.optimizers.Adam(
        settings.learning_rate, use_ema=True, ema_momentum=ema_momentum(steps * settings.epochs),
        ema_overwrite_frequency=steps)
    loss = keras.losses.BinaryCrossentropy()
    model.compile(optimizer=optimizer, loss=[loss, loss, loss])


def train(kb: KnowledgeBase, train_texts: list[Text], dev_texts: list[Text],
          out: str | os.PathLike, settings: TrainSettings | None = None, *,
          resume: bool = False, overwrite: bool = False, verbose: int | str = "auto"
          ) -> dict[str, Any]:
    """Train a linking run in ``out`` (or resume the one there) and return its metrics.

    Args:
        kb: the knowledge base.
        train_texts: training texts with gold mentions.
        dev_texts: development texts (dev micro-F1 each epoch picks ``best.keras``).
        out: the run directory.
        settings: :class:`TrainSettings` (on resume only its ``epochs`` is read: the run's
            own settings are used, with that many epochs in all).
        resume: continue the run in ``out`` from ``last.keras``.
        overwrite: replace an existing run in ``out``.
        verbose: Keras ``fit`` verbosity (progress bar).
    """
    import keras

    from kexue.metrics.linking import linking_scores
    from kexue.tasks.linking.decode import EntityLinker
    from kexue.tasks.linking.model import build_model
    from kexue.tasks.runs import RunDirectory, make_checkpoint
    from kexue.text.word_vectors import load_word_vectors

    if not train_texts:
        raise ValueError("no training texts")
    if resume:
        run = RunDirectory.open(out, TASK, require=("last.keras",))
        if settings is not None and settings.epochs != run.settings["epochs"]:
            run.update_settings(epochs=settings.epochs)
        settings = TrainSettings(**run.settings)
        settings.validate()
        dictionary = CandidateDictionary.from_json(run.read_json("candidates.json"), kb)
        featurizer = Featurizer(run.read_json("chars.json"),
                                load_word_vectors(run.path / "word_vectors.txt"),
                                tokenizer=settings.tokenizer)
        model = run.load_model("last.keras")
        initial_epoch = int(run.state.get("epoch", 0))
    else:
        settings = settings or TrainSettings()
        settings.validate()
        run = RunDirectory.create(out, TASK, asdict(settings), overwrite=overwrite)
        keras.utils.set_random_seed(settings.seed)
        dictionary = CandidateDictionary.fit(kb, train_texts, threshold=settings.threshold,
                                             min_count=settings.min_count)
        run.write_json("candidates.json", dictionary.to_json())
        write_kb(run.file("kb_data.json.gz"), kb)
        run.register("kb_data.json.gz")
        chars = build_char_vocabulary([t.text for t in train_texts]
                                      + [e.description() for e in kb.entities.values()])
        run.write_json("chars.json", chars)
        vectors = _word_vectors(train_texts, settings.tokenizer, settings.word_dim,
                                settings.seed)
        vectors.save(run.file("word_vectors.txt"))
        run.register("word_vectors.txt")
        featurizer = Featurizer(chars, vectors, tokenizer=settings.tokenizer)
        model = build_model(featurizer.vocabulary_size, vectors.dim,
                            embedding_dim=settings.embedding_dim,
                            lstm_units=settings.lstm_units, conv_filters=settings.conv_filters,
                            heads=settings.heads, head_size=settings.head_size,
                            hidden=settings.hidden)
        initial_epoch = 0
    examples = [_Example(t, dictionary, featurizer) for t in train_texts]
    examples = [e for e in examples if e.matches and (e.linkable or e.negatives)]
    if not examples:
        raise ValueError("no training text has a dictionary match: nothing to learn")
    data = _Batches(examples, featurizer, dictionary, settings)
    if not resume:
        _compile(model, settings, len(data))
    dev = dev_texts[: settings.dev_texts] if settings.dev_texts else dev_texts
    gold = {t.text_id: [(m.mention, m.offset, m.kb_id) for m in t.mentions] for t in dev}
    linker = EntityLinker(model, featurizer, dictionary,
                          mention_threshold=settings.mention_threshold,
                          link_threshold=settings.link_threshold)

    def dev_scores(epoch: int) -> dict[str, float]:
        predicted = linker.link_texts(dev)
        scores = linking_scores({t.text_id: [(m.mention, m.offset, m.kb_id)
                                             for m in t.mentions] for t in predicted}, gold)
        return {"dev_f1": scores.f1, "dev_precision": scores.precision,
                "dev_recall": scores.recall}

    checkpoint = make_checkpoint(run, monitor="dev_f1", mode="max", extra_logs=dev_scores)
    if initial_epoch < settings.epochs:
        model.fit(data, epochs=settings.epochs, initial_epoch=initial_epoch,
                  callbacks=[checkpoint], verbose=verbose)
    metrics = {"best_dev_f1": run.state.get("best"), "best_epoch": run.state.get("best_epoch"),
               "epochs": run.state.get("epoch"), "training_examples": len(examples),
               "steps_per_epoch": len(data),
               "dev_recall_cap": dictionary.recall_cap(dev),
               "pruned_aliases": len(dictionary.pruned)}
    run.write_json("metrics.json", metrics)
    return metrics


def resolve_data(spec: str | os.PathLike, kb_path: str | os.PathLike | None = None, *,
                 strict: bool = False) -> tuple[KnowledgeBase, dict[str, list[Text]], list[str]]:
    """The KB and splits of ``spec``: ``pd1998`` (the embedded set) or a CCKS folder with
    ``kb_data.json`` (unless ``kb_path``), ``train.json``, ``dev.json`` and optionally
    ``test.json``; returns the skip summaries too."""
    from kexue.tasks.linking.data import build_embedded_set, read_texts

    if str(spec) == "pd1998" and kb_path is None:
        embedded = build_embedded_set()
        return embedded.kb, embedded.splits, []
    folder = Path(spec)
    summaries = []
    if str(spec) == "pd1998":
        embedded = build_embedded_set()
        kb, report = read_kb(kb_path, strict=strict)
        summaries.append(report.summary())
        return kb, embedded.splits, summaries
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder not found: {folder} (or use 'pd1998')")
    kb, report = read_kb(kb_path if kb_path is not None else folder / "kb_data.json",
                         strict=strict)
    summaries.append(report.summary())
    splits = {}
    for split in ("train", "dev", "test"):
        path = folder / f"{split}.json"
        if not path.exists():
            if split == "test":
                continue
            path = folder / ("develop.json" if split == "dev" else f"{split}.json")
        texts, report = read_texts(path, kb, strict=strict)
        summaries.append(report.summary())
        splits[split] = texts
    return kb, splits, summaries

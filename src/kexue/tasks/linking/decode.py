"""Batched entity linking: matches → mention filter → candidates → scores → entity or NIL.

For each text the behaviour-modelled dictionary gives maximum-matching matches; the mention
filter keeps a match when its start and end probabilities both reach ``mention_threshold``
(the article's 0.4; with non-overlapping matches this is its "each start with the nearest
end"); every candidate of a kept match is scored by the disambiguator, and the best one is
the link when its probability reaches ``link_threshold`` (the article's 0.1), else the
mention is ``NIL``. Texts are batched by padded length so that few shapes are compiled.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kexue._validation import check_positive_int, check_probability
from kexue.tasks.linking.candidates import CandidateDictionary
from kexue.tasks.linking.data import NIL, Mention, Text
from kexue.tasks.linking.features import Featurizer, pad_length

__all__ = ["EntityLinker", "pad_batch", "flag_arrays", "read_input_lines"]


def pad_batch(arrays: Sequence[np.ndarray], length: int, rows: int | None = None
              ) -> np.ndarray:
    """Stack ``arrays`` (first axis = time) zero-padded to ``length`` (and to ``rows``
    examples: fixed shapes mean few compilations).

    Example:
        >>> pad_batch([np.array([1, 2]), np.array([3])], 3, rows=3).tolist()
        [[1, 2, 0], [3, 0, 0], [0, 0, 0]]
    """
    first = arrays[0]
    out = np.zeros((max(rows or 0, len(arrays)), length) + first.shape[1:], dtype=first.dtype)
    for i, array in enumerate(arrays):
        out[i, : len(array)] = array[:length]
    return out


def flag_arrays(length: int, matches: Sequence[tuple[int, int, str]]
                ) -> tuple[np.ndarray, np.ndarray]:
    """``(length, 1)`` start and end flags of ``matches``.

    Example:
        >>> starts, ends = flag_arrays(5, [(0, 2, "北京"), (3, 5, "上海")])
        >>> starts[:, 0].tolist(), ends[:, 0].tolist()
        ([1.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 1.0])
    """
    starts = np.zeros((length, 1), dtype="float32")
    ends = np.zeros((length, 1), dtype="float32")
    for start, end, _ in matches:
        starts[start] = 1.0
        ends[end - 1] = 1.0
    return starts, ends


def text_inputs(featurizer: Featurizer, text: str, matches: Sequence[tuple[int, int, str]]
                ) -> list[np.ndarray]:
    starts, ends = flag_arrays(len(text), matches)
    return [featurizer.char_ids(text), featurizer.word_features(text), starts, ends]


def pair_inputs(featurizer: Featurizer, text_arrays: list[np.ndarray], text: str,
                entity: Any, span: tuple[int, int]) -> list[np.ndarray]:
    channels = featurizer.channels(text, entity, span)
    _, description_ids, description_words, _, _ = featurizer.entity_features(entity)
    return text_arrays + [channels[:, :1], channels[:, 1:], description_ids,
                          description_words]


def stack_inputs(rows: Sequence[list[np.ndarray]], length: int, description_length: int,
                 batch: int | None = None) -> list[np.ndarray]:
    """Batch per-example input lists: text inputs to ``length``, description ones to
    ``description_length``, ``batch`` rows."""
    columns = list(zip(*rows, strict=True))
    return [pad_batch(col, length if i < 6 else description_length, batch)
            for i, col in enumerate(columns)]


class EntityLinker:
    """A trained linking system: dictionary, featurizer and the joint network.

    Args:
        model: the joint Keras model (:func:`kexue.tasks.linking.model.build_model`).
        featurizer: the run's :class:`Featurizer`.
        dictionary: the run's :class:`CandidateDictionary`.
        mention_threshold: start / end probability a match needs.
        link_threshold: probability the best candidate needs.
        batch_size: texts (or pairs) per forward pass.
    """

    def __init__(self, model: Any, featurizer: Featurizer, dictionary: CandidateDictionary,
                 *, mention_threshold: float = 0.4, link_threshold: float = 0.1,
                 batch_size: int = 64):
        from kexue.tasks.linking.model import detector, linker

        self.model = model
        self.featurizer = featurizer
        self.dictionary = dictionary
        self.mention_threshold = check_probability(mention_threshold, "mention_threshold")
        self.link_threshold = check_probability(link_threshold, "link_threshold")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.detector = detector(model)
        self.linker = linker(model)
        self.description_length = featurizer.max_description

    @classmethod
    def from_run(cls, path: str | os.PathLike, *, kb: str | os.PathLike | None = None,
                 checkpoint: str = "best.keras", **kwargs: Any) -> EntityLinker:
        """Load a run directory made by :func:`kexue.tasks.linking.train.train`.

        Args:
            path: the run directory.
            kb: a knowledge base file to use instead of the run's compressed copy.
            checkpoint: ``best.keras`` or ``last.keras``.
            **kwargs: thresholds and batch size (default: the run's settings).
        """
        from kexue.tasks.linking.train import load_run_parts

        run, model, featurizer, dictionary = load_run_parts(path, kb=kb, checkpoint=checkpoint)
        settings = run.settings
        options = {"mention_threshold": settings.get("mention_threshold", 0.4),
                   "link_threshold": settings.get("link_threshold", 0.1)}
        options.update(kwargs)
        return cls(model, featurizer, dictionary, **options)

    def _buckets(self, items: Sequence[int], lengths: Sequence[int]) -> list[list[int]]:
        groups: dict[int, list[int]] = defaultdict(list)
        for item in items:
            groups[pad_length(lengths[item])].append(item)
        batches = []
        for _, members in sorted(groups.items()):
            for i in range(0, len(members), self.batch_size):
                batches.append(members[i:i + self.batch_size])
        return batches

    def link(self, texts: Sequence[str], *, progress: bool = False) -> list[list[Mention]]:
        """Link every text; return its mentions (offset order) with ``kb_id`` and score
        (``EntityLinker.from_run("RUN").link(["河北省石家庄市召开会议。"])``)."""
        dictionary, featurizer = self.dictionary, self.featurizer
        matches = [dictionary.match(text) for text in texts]
        lengths = [len(text) for text in texts]
        arrays = {i: text_inputs(featurizer, texts[i], matches[i])
                  for i in range(len(texts)) if matches[i]}
        kept: list[tuple[int, int, int, str]] = []
        batches = self._buckets(list(arrays), lengths)
        if progress:
            from rich.progress import track

            batches = track(batches, description="mentions", transient=True)
        for batch in batches:
            length = pad_length(max(lengths[i] for i in batch))
            inputs = [pad_batch(col, length, self.batch_size)
                      for col in zip(*(arrays[i] for i in batch), strict=True)]
            start, end = self.detector.predict_on_batch(inputs)
            start, end = np.asarray(start)[..., 0], np.asarray(end)[..., 0]
            for row, i in enumerate(batch):
                for s, e, alias in matches[i]:
                    if (start[row, s] >= self.mention_threshold
                            and end[row, e - 1] >= self.mention_threshold):
                        kept.append((i, s, e, alias))
        scores = self._score_pairs(texts, arrays, kept, progress=progress)
        out: list[list[Mention]] = [[] for _ in texts]
        for (i, s, _e, alias), candidate_scores in zip(kept, scores, strict=True):
            best_id, best = max(candidate_scores, key=lambda kv: kv[1])
            kb_id = best_id if best >= self.link_threshold else NIL
            out[i].append(Mention(alias, s, kb_id, score=float(best)))
        return out

    def _score_pairs(self, texts: Sequence[str], arrays: dict[int, list[np.ndarray]],
                     kept: Sequence[tuple[int, int, int, str]], *, progress: bool = False
                     ) -> list[list[tuple[str, float]]]:
        pairs = []  # (kept index, entity id, text index)
        for k, (i, _s, _e, alias) in enumerate(kept):
            for entity_id in self.dictionary.candidates(alias):
                pairs.append((k, entity_id, i))
        scores: list[list[tuple[str, float]]] = [[] for _ in kept]
        lengths = [len(texts[i]) for _, _, i in pairs]
        kb = self.dictionary.kb
        batches = self._buckets(list(range(len(pairs))), lengths)
        if progress:
            from rich.progress import track

            batches = track(batches, description="candidates", transient=True)
        for batch in batches:
            length = pad_length(max(lengths[p] for p in batch))
            rows = []
            for p in batch:
                k, entity_id, i = pairs[p]
                rows.append(pair_inputs(self.featurizer, arrays[i], texts[i], kb[entity_id],
                                        (kept[k][1], kept[k][2])))
            probabilities = np.asarray(self.linker.predict_on_batch(
                stack_inputs(rows, length, self.description_length, self.batch_size)))[:, 0]
            for p, probability in zip(batch, probabilities, strict=False):
                scores[pairs[p][0]].append((pairs[p][1], float(probability)))
        return scores

    def link_texts(self, texts: Sequence[Text], *, progress: bool = False) -> list[Text]:
        """:meth:`link` on records, keeping their ids."""
        mentions = self.link([t.text for t in texts], progress=progress)
        return [Text(t.text_id, t.text, m) for t, m in zip(texts, mentions, strict=True)]

    def link_gold_mentions(self, texts: Sequence[Text]) -> list[Text]:
        """Disambiguate the given gold mentions only (linking accuracy): each non-NIL gold
        mention gets its best-scoring candidate (``NIL`` if it has none)."""
        arrays = {}
        kept = []
        for i, text in enumerate(texts):
            spans = [(m.offset, m.offset + len(m.mention), m.mention) for m in text.mentions
                     if m.kb_id != NIL]
            if spans:
                arrays[i] = text_inputs(self.featurizer, text.text, spans)
                kept += [(i, s, e, a) for s, e, a in spans if self.dictionary.candidates(a)]
        scores = self._score_pairs([t.text for t in texts], arrays, kept)
        out = [Text(t.text_id, t.text, []) for t in texts]
        for (i, s, _e, alias), candidate_scores in zip(kept, scores, strict=True):
            best_id, best = max(candidate_scores, key=lambda kv: kv[1])
            out[i].mentions.append(Mention(alias, s, best_id, score=best))
        return out


def read_input_lines(path: str | os.PathLike) -> list[Text]:
    """Texts to link from a file: CCKS JSON lines (``text_id``, ``text``) or plain lines."""
    from kexue.tasks.linking.data import read_texts

    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().lstrip()
    if first.startswith("{"):
        texts, _ = read_texts(path, strict=True, require_mentions=False)
        return texts
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\n") for line in handle]
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise ValueError(f"{path}, line {number}: empty text")
    return [Text(str(n), line, []) for n, line in enumerate(lines, 1)]

"""CCKS 2019 entity-linking scores: micro precision / recall / F1 over triples.

The official definition, as el-2019 computes it: per text, the sets R (predicted) and T
(gold) of ``(mention, offset, kb_id)`` triples; A += |R ∩ T|, B += |R|, C += |T|;
P = A / B, R = A / C, F1 = 2A / (B + C). kexue adds ignored spans: a gold mention whose
``kb_id`` is ``NIL`` is, by default (``nil="ignore"``), removed from T, and a prediction on
its span is removed from R (neither a true nor a false positive), as el-2019 dropped NIL;
``nil="strict"`` keeps NIL triples in both as CCKS data with NIL would count them.
Extra spans to ignore can be given per text.

Inputs are mappings ``text_id -> iterable of (mention, offset, kb_id)``; a predicted text id
absent from the gold mapping is an error (a prediction for a text nobody annotated).
Pure Python: ``kexue link score`` does not import Keras.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kexue._validation import check_choice

__all__ = ["NIL", "Scores", "linking_scores", "mention_scores", "linking_accuracy"]

NIL = "NIL"

Triple = tuple[str, int, str]
Span = tuple[str, int]


@dataclass(frozen=True)
class Scores:
    """Micro scores with their counts (``correct`` = A, ``predicted`` = B, ``gold`` = C)."""

    precision: float
    recall: float
    f1: float
    correct: int
    predicted: int
    gold: int

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "correct": self.correct, "predicted": self.predicted, "gold": self.gold}


def _scores(correct: int, predicted: int, gold: int) -> Scores:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * correct / (predicted + gold) if predicted + gold else 0.0
    return Scores(precision, recall, f1, correct, predicted, gold)


def _prepare(predictions: Mapping[str, Iterable[Triple]], gold: Mapping[str, Iterable[Triple]],
             nil: str, ignore: Mapping[str, Iterable[Span]] | None
             ) -> list[tuple[set[Triple], set[Triple]]]:
    nil = check_choice(nil, "nil", ("ignore", "strict"))
    unknown = [key for key in predictions if key not in gold]
    if unknown:
        raise ValueError(f"predictions for {len(unknown)} text id(s) not in the gold data, "
                         f"e.g. {unknown[0]!r}")
    pairs = []
    for text_id, gold_triples in gold.items():
        truth = {(m, int(o), k) for m, o, k in gold_triples}
        guess = {(m, int(o), k) for m, o, k in predictions.get(text_id, ())}
        skip: set[Span] = {(m, int(o)) for m, o in (ignore or {}).get(text_id, ())}
        if nil == "ignore":
            skip |= {(m, o) for m, o, k in truth if k == NIL}
            guess = {t for t in guess if t[2] != NIL}
        truth = {t for t in truth if (t[0], t[1]) not in skip}
        guess = {t for t in guess if (t[0], t[1]) not in skip}
        pairs.append((guess, truth))
    return pairs


def linking_scores(predictions: Mapping[str, Iterable[Triple]],
                   gold: Mapping[str, Iterable[Triple]], *, nil: str = "ignore",
                   ignore: Mapping[str, Iterable[Span]] | None = None) -> Scores:
    """Micro P / R / F1 over ``(mention, offset, kb_id)`` triples (the CCKS score).

    Args:
        predictions: ``text_id -> triples`` predicted.
        gold: ``text_id -> triples`` annotated (``kb_id`` ``"NIL"`` for mentions outside
            the KB).
        nil: ``"ignore"`` (gold NIL spans are ignored) or ``"strict"``.
        ignore: extra ``text_id -> (mention, offset)`` spans to ignore.

    Example:
        >>> gold = {"1": [("北京", 0, "B"), ("欧洲", 3, "NIL")]}
        >>> pred = {"1": [("北京", 0, "B"), ("欧洲", 3, "E")]}
        >>> linking_scores(pred, gold).f1, linking_scores(pred, gold, nil="strict").f1
        (1.0, 0.5)
    """
    correct = predicted = total = 0
    for guess, truth in _prepare(predictions, gold, nil, ignore):
        correct += len(guess & truth)
        predicted += len(guess)
        total += len(truth)
    return _scores(correct, predicted, total)


def mention_scores(predictions: Mapping[str, Iterable[Triple]],
                   gold: Mapping[str, Iterable[Triple]], *, nil: str = "ignore",
                   ignore: Mapping[str, Iterable[Span]] | None = None) -> Scores:
    """Micro P / R / F1 of mention detection alone: ``(mention, offset)`` spans.

    With ``nil="ignore"`` gold NIL spans are ignored as in :func:`linking_scores`; a
    prediction's ``kb_id`` plays no part otherwise.

    Example:
        >>> gold = {"1": [("北京", 0, "B"), ("上海", 3, "S")]}
        >>> mention_scores({"1": [("北京", 0, "X")]}, gold).as_dict()["recall"]
        0.5
    """
    nil = check_choice(nil, "nil", ("ignore", "strict"))
    relabelled = {k: [(m, o, "") for m, o, _ in v] for k, v in predictions.items()}
    correct = predicted = total = 0
    for guess, truth in _prepare(relabelled, gold, nil, ignore):
        spans = {(m, o) for m, o, _ in truth}
        found = {(m, o) for m, o, _ in guess}
        correct += len(found & spans)
        predicted += len(found)
        total += len(spans)
    return _scores(correct, predicted, total)


def linking_accuracy(predictions: Mapping[str, Iterable[Triple]],
                     gold: Mapping[str, Iterable[Triple]]) -> float:
    """Linking given gold mentions: the share of gold non-NIL mentions whose span got the
    gold ``kb_id`` (a span left unlinked counts as wrong); 0.0 when there are none.

    Example:
        >>> gold = {"1": [("吉林", 0, "P"), ("吉林", 5, "C"), ("欧洲", 9, "NIL")]}
        >>> linking_accuracy({"1": [("吉林", 0, "P"), ("吉林", 5, "P")]}, gold)
        0.5
    """
    right = total = 0
    for text_id, triples in gold.items():
        predicted = {(m, int(o)): k for m, o, k in predictions.get(text_id, ())}
        for mention, offset, kb_id in triples:
            if kb_id == NIL:
                continue
            total += 1
            right += predicted.get((mention, int(offset))) == kb_id
    return right / total if total else 0.0

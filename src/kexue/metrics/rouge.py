"""Character-level ROUGE-1/2/L F1 and positional accuracy for Chinese titles.

The Chinese headline convention (LCSTS, CSL; bert4keras' title example): one token per
character, lowercased, whitespace is not a token, and no sentence splitting (so ``"5.7"``
stays in one title). Scores are F1 per title, averaged over titles, as fractions in [0, 1].
Positional accuracy is the analysis of Zhou et al., "Synchronous Bidirectional Neural
Machine Translation" (TACL 2019): for ``i = 1..4`` the share of titles whose ``i``-th
character from the start (or from the end) equals the reference's, averaged over ``i``.

Example:
    >>> scores = rouge_scores(["北京下雨了"], ["北京今天下雨"])
    >>> {k: round(v, 4) for k, v in scores.items()}
    {'rouge_1': 0.7273, 'rouge_2': 0.4444, 'rouge_l': 0.7273}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = [
    "char_tokens",
    "rouge_n",
    "rouge_l",
    "rouge_scores",
    "positional_accuracy",
    "title_scores",
]


def char_tokens(text: str) -> list[str]:
    """The tokens of ``text``: its characters, lowercased, whitespace dropped.

    Example:
        >>> char_tokens("GDP 增长 5.7%")
        ['g', 'd', 'p', '增', '长', '5', '.', '7', '%']
    """
    return [c for c in text.lower() if not c.isspace()]


def _f1(overlap: int, predicted: int, reference: int) -> float:
    if overlap == 0 or predicted == 0 or reference == 0:
        return 0.0
    precision, recall = overlap / predicted, overlap / reference
    return 2 * precision * recall / (precision + recall)


def rouge_n(prediction: str, reference: str, n: int = 1) -> float:
    """ROUGE-N F1 of one title (clipped n-gram overlap of character n-grams).

    Example:
        >>> round(rouge_n("北京下雨了", "北京今天下雨", 2), 4)
        0.4444
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive integer; received {n!r}")
    p, r = char_tokens(prediction), char_tokens(reference)
    grams_p = Counter(tuple(p[i:i + n]) for i in range(len(p) - n + 1))
    grams_r = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
    overlap = sum((grams_p & grams_r).values())
    return _f1(overlap, sum(grams_p.values()), sum(grams_r.values()))


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 of one title (longest common character subsequence).

    Example:
        >>> round(rouge_l("北京下雨了", "北京今天下雨"), 4)
        0.7273
    """
    p, r = char_tokens(prediction), char_tokens(reference)
    return _f1(_lcs_length(p, r), len(p), len(r))


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not references:
        raise ValueError("no titles to score")


def rouge_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean character ROUGE-1/2/L F1 over titles: ``{"rouge_1", "rouge_2", "rouge_l"}``."""
    _check_pairs(predictions, references)
    pairs = list(zip(predictions, references, strict=True))
    return {
        "rouge_1": sum(rouge_n(p, r, 1) for p, r in pairs) / len(pairs),
        "rouge_2": sum(rouge_n(p, r, 2) for p, r in pairs) / len(pairs),
        "rouge_l": sum(rouge_l(p, r) for p, r in pairs) / len(pairs),
    }


def positional_accuracy(predictions: Sequence[str], references: Sequence[str],
                        positions: int = 4) -> dict[str, float]:
    """Share of titles whose ``i``-th character matches, averaged over ``i = 1..positions``.

    A title (either one) shorter than ``i`` counts as wrong at ``i``.

    Returns:
        ``{"first": accuracy from the start, "last": accuracy from the end}``.

    Example:
        >>> positional_accuracy(["abcdx"], ["abxd"], positions=2)
        {'first': 1.0, 'last': 0.0}
    """
    _check_pairs(predictions, references)
    if isinstance(positions, bool) or not isinstance(positions, int) or positions < 1:
        raise ValueError(f"`positions` must be a positive integer; received {positions!r}")
    first = last = 0
    for prediction, reference in zip(predictions, references, strict=True):
        p, r = char_tokens(prediction), char_tokens(reference)
        for i in range(positions):
            first += i < len(p) and i < len(r) and p[i] == r[i]
            last += i < len(p) and i < len(r) and p[-1 - i] == r[-1 - i]
    total = positions * len(references)
    return {"first": first / total, "last": last / total}


def title_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """ROUGE-1/2/L and first/last-4 positional accuracy in one dict, plus ``"titles"``.

    Example:
        >>> title_scores(["ab"], ["ab"])["rouge_l"]
        1.0
    """
    scores: dict[str, float] = dict(rouge_scores(predictions, references))
    accuracy = positional_accuracy(predictions, references)
    scores["first4"], scores["last4"] = accuracy["first"], accuracy["last"]
    scores["titles"] = len(references)
    return scores

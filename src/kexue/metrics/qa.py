"""Question-answering scores with the semantics of their official scripts (no Keras).

Three scorers, each a faithful re-implementation of an official evaluation script (run
offline, in Python 3), tested on hand-computed cases:

- **SogouQA** (``evaluate.py`` of the 2018 Sogou reading-comprehension contest, as shipped
  with Su Jianlin's DGCNN code, kexue.fm/archives/6906): accuracy against an expanded set of
  acceptable answers, character F1 maximised over that set, final = (accuracy + F1) / 2,
  and a per-line report ``qid, answer, correct, F1, precision, recall, gold variant``.
  Normalisation: full-width → half-width, ASCII lower-casing (the script lower-cases byte
  strings), every mark of :data:`SOGOU_PUNCTUATION` → a space, ASCII whitespace removed.
- **CMRC2018** (``cmrc2018_evaluate.py``): lower-case; CJK ideographs and the marks of
  :data:`CMRC_PUNCTUATION` are single tokens, other runs go through NLTK's Treebank word
  tokenizer (``word_tokenize(..., preserve_line=True)``: no sentence splitting, so no data
  download); punctuation removed; F1 from the longest common *substring* of the token lists;
  EM on the strings with the marks removed; AVERAGE = (EM + F1) / 2; all × 100.
- **SQuAD** v1.1 and v2.0 (``evaluate-v1.1.py``, ``evaluate-v2.0.py``): lower-case, ASCII
  punctuation and the articles a/an/the removed, whitespace tokens; EM and bag-of-tokens F1;
  v2.0 scores an empty prediction against an unanswerable question as correct. Its tokens
  are whitespace-separated words, so on Chinese text (no spaces) F1 equals EM: use CMRC2018
  for Chinese.

Ids: for CMRC2018 and SQuAD, a gold question without a prediction scores 0 (as their
scripts do); for SogouQA the predicted questions are the ones scored (as its script does);
either way the unmatched gold ids are listed in :attr:`QAScore.missing_ids`, and predicted
ids absent from the gold set in :attr:`QAScore.extra_ids` (never scored).

Example:
    >>> gold = {"q1": SogouGold("林海音", ("林海音", "林含英")), "q2": SogouGold("巴西", ("巴西",))}
    >>> result = sogou_score({"q1": "林含英", "q2": "巴西人"}, gold)
    >>> result.scores["accuracy"], round(result.scores["f1"], 4), round(result.scores["final"], 4)
    (0.5, 0.9, 0.7)
    >>> cmrc_score({"a": "《红楼梦》"}, {"a": ["红楼梦"]}).scores["em"]
    100.0
"""

from __future__ import annotations

import collections
import io
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CMRC_PUNCTUATION",
    "METRICS",
    "QAScore",
    "SOGOU_PUNCTUATION",
    "SogouGold",
    "cmrc_em",
    "cmrc_f1",
    "cmrc_score",
    "cmrc_segment",
    "load_sogou_gold",
    "read_predictions",
    "score",
    "sogou_char_f1",
    "sogou_exact_match",
    "sogou_normalize",
    "sogou_score",
    "squad_em",
    "squad_f1",
    "squad_normalize",
    "squad_score",
]

#: the metric names accepted by :func:`score`.
METRICS = ("sogou", "cmrc", "squad")

#: the SogouQA scorer's punctuation file, one mark per line, as its Python 2 reader keeps
#: it: byte-string ``strip()`` empties the ASCII-space line but keeps U+3000.
SOGOU_PUNCTUATION = frozenset(
    "`^~<=>|_-,;:!?/.'\"()[]{}@$*\\&#%+\x7f"
    "…‰※•—‖‘’“”№←↑→↓∴∨∵∶∩∈∑√∞≯≡≮≤≥≈≌⊥⊙⌒□◆◇◎●★☆♀♂¨°·§¤±"
    "\u3000、。〃々〈〉《》「」『』【】〓〔〕〖〗÷×′▲″△∠≠■ˇˉ￣￥＿！＄（），．：；？～﹑￠"
)

#: the CMRC2018 scorer's ``sp_char`` list. ``"……"`` is one two-character entry, which a
#: character-by-character test never matches: a lone "…" is kept, as in the official script.
CMRC_PUNCTUATION = ("-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
                    "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·",
                    "、", "「", "」", "（", "）", "－", "～", "『", "』")
_CMRC_MARKS = frozenset(CMRC_PUNCTUATION)
_CJK = re.compile("[\u4e00-\u9fa5]")

_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
_ASCII_BLANKS = re.compile(r"[ \t\n\r\x0b\x0c]+")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass
class QAScore:
    """The result of a scorer.

    Attributes:
        metric: ``"sogou"``, ``"cmrc"`` or ``"squad"``.
        scores: the headline numbers (SogouQA: accuracy, f1, final in [0, 1]; CMRC2018:
            average, f1, em × 100; SQuAD: exact, f1 × 100, plus HasAns_/NoAns_ breakdowns
            for v2.0).
        total: questions scored (CMRC2018, SQuAD: every gold question; SogouQA: the
            predicted ones).
        missing_ids: gold ids without a prediction (scored 0 by CMRC2018 and SQuAD).
        extra_ids: predicted ids absent from the gold set (not scored).
        lines: one dict per scored question (the per-line report).
    """

    metric: str
    scores: dict[str, float]
    total: int
    missing_ids: list[str] = field(default_factory=list)
    extra_ids: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Everything but the per-line report, as a JSON-ready dict."""
        return {"metric": self.metric, **self.scores, "total": self.total,
                "missing": len(self.missing_ids), "extra": len(self.extra_ids),
                "missing_ids": self.missing_ids, "extra_ids": self.extra_ids}


def _check_predictions(predictions: Mapping[str, str], gold: Mapping[str, Any]
                       ) -> tuple[list[str], list[str]]:
    if not isinstance(predictions, Mapping):
        raise TypeError(f"`predictions` must be a mapping id -> answer; received "
                        f"{type(predictions).__name__}")
    if not isinstance(gold, Mapping):
        raise TypeError(f"`gold` must be a mapping id -> answers; received {type(gold).__name__}")
    for qid, answer in predictions.items():
        if not isinstance(answer, str):
            raise TypeError(f"prediction for {qid!r} must be a string; received {answer!r}")
    missing = [qid for qid in gold if qid not in predictions]
    extra = [qid for qid in predictions if qid not in gold]
    return missing, extra


# --- SogouQA ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SogouGold:
    """One SogouQA gold line: the standard answer and the acceptable variants."""

    standard: str
    expanded: tuple[str, ...]


def _full_to_half(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if code == 0x3000:
            code = 0x20
        elif 0xFF01 <= code <= 0xFF5E:
            code -= 0xFEE0
        out.append(chr(code))
    return "".join(out)


def _drop_sogou_punctuation(text: str) -> str:
    return "".join(" " if char in SOGOU_PUNCTUATION else char for char in text)


def sogou_normalize(text: str) -> str:
    """SogouQA normalisation: half-width, ASCII lower case, marks and whitespace removed.

    Example:
        >>> sogou_normalize("ＡＢ，C d《书》")
        'abcd书'
    """
    text = _full_to_half(text).translate(_ASCII_LOWER)
    return _ASCII_BLANKS.sub("", _drop_sogou_punctuation(text)).strip(_ASCII_WHITESPACE)


def _expanded_set(gold: SogouGold) -> list[str]:
    # the script adds each variant's normalised form to the set of raw variants; here in a
    # fixed order (raw variants first, in file order) so that ties report the first one.
    variants = list(dict.fromkeys(gold.expanded))
    return variants + [v for v in dict.fromkeys(map(sogou_normalize, gold.expanded))
                       if v not in variants]


def sogou_exact_match(prediction: str, gold: SogouGold) -> int:
    """1 if the prediction is acceptable under the SogouQA rules, else 0.

    Example:
        >>> sogou_exact_match("巴西，俄罗斯", SogouGold("巴西 俄罗斯", ("巴西俄罗斯",)))
        1
    """
    prediction = prediction.strip(_ASCII_WHITESPACE)
    if not prediction:
        return 0
    if sogou_normalize(prediction) in _expanded_set(gold):
        return 1

    def pieces(text: str) -> set[str]:
        dropped = _drop_sogou_punctuation(text).translate(_ASCII_LOWER)
        return {sogou_normalize(piece) for piece in dropped.split(" ")}

    return int(pieces(prediction) == pieces(gold.standard))


def sogou_char_f1(prediction: str, gold: SogouGold) -> tuple[float, float, float, str | None]:
    """Character F1 maximised over the acceptable answers: ``(f1, precision, recall, variant)``.

    Each gold character can be matched once. ``variant`` is the gold answer giving the
    maximum (``None`` when every F1 is 0).

    Example:
        >>> sogou_char_f1("战国", SogouGold("战国时期", ("战国时期",)))
        (0.6666666666666666, 1.0, 0.5, '战国时期')
    """
    prediction = prediction.strip(_ASCII_WHITESPACE)
    if not prediction:
        return 0.0, 0.0, 0.0, None
    predicted = list(sogou_normalize(prediction))
    best = (0.0, 0.0, 0.0, None)
    for variant in _expanded_set(gold):
        tokens = list(sogou_normalize(variant))
        right = sum((collections.Counter(predicted) & collections.Counter(tokens)).values())
        if right == 0:
            continue
        precision, recall = right / len(predicted), right / len(tokens)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best[0]:
            best = (f1, precision, recall, variant)
    return best


def _as_sogou_gold(value: Any) -> SogouGold:
    if isinstance(value, SogouGold):
        return value
    if isinstance(value, str):
        return SogouGold(value, (value,))
    answers = tuple(value)
    return SogouGold(answers[0] if answers else "", answers or ("",))


def sogou_score(predictions: Mapping[str, str],
                gold: Mapping[str, SogouGold | str | Sequence[str]]) -> QAScore:
    """SogouQA accuracy, character F1 and final score, with the per-line report.

    As in the official script, the questions scored are the predicted ones (one line each),
    so a prediction file for the dev third can be scored against the expanded answers of
    all 30,000 questions; gold ids without a prediction are listed in ``missing_ids`` but
    not scored, predicted ids absent from the gold set in ``extra_ids`` (the script stops
    there).

    Args:
        predictions: id → predicted answer ("" for no answer).
        gold: id → :class:`SogouGold`, or a list of acceptable answers (the first is the
            standard one), or one answer string.
    """
    missing, extra = _check_predictions(predictions, gold)
    right = 0
    f1_sum = 0.0
    lines = []
    for qid, answer in predictions.items():
        if qid not in gold:
            continue
        entry = _as_sogou_gold(gold[qid])
        correct = sogou_exact_match(answer, entry)
        f1, precision, recall, variant = sogou_char_f1(answer, entry)
        right += correct
        f1_sum += f1
        lines.append({"id": qid, "answer": answer, "correct": correct, "f1": f1,
                      "precision": precision, "recall": recall, "gold": variant})
    total = len(lines)
    accuracy = right / total if total else 0.0
    f1 = f1_sum / total if total else 0.0
    return QAScore("sogou", {"accuracy": accuracy, "f1": f1, "final": (accuracy + f1) / 2},
                   total, missing, extra, lines)


def load_sogou_gold(path: str | Path) -> dict[str, SogouGold]:
    """Read a SogouQA gold file: ``qid<TAB>standard answer<TAB>variants joined by "|"``.

    Raises:
        ValueError: a line without three fields (the message names the file and line).
    """
    path = Path(path)
    gold: dict[str, SogouGold] = {}
    from kexue._io import read_text

    with io.StringIO(read_text(path)) as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.strip(_ASCII_WHITESPACE).split("\t")
            if len(fields) != 3:
                raise ValueError(f"{path}:{lineno}: expected 'qid<TAB>answer<TAB>a|b|...'; "
                                 f"got {line.strip()[:60]!r}")
            qid, standard, expanded = fields
            gold[qid] = SogouGold(standard, tuple(expanded.split("|")))
    if not gold:
        raise ValueError(f"{path}: no gold answers")
    return gold


# --- CMRC2018 -----------------------------------------------------------------------------
def _word_tokenize(text: str) -> list[str]:
    from nltk.tokenize import word_tokenize

    return word_tokenize(text, preserve_line=True)


def cmrc_segment(text: str, remove_punctuation: bool = False) -> list[str]:
    """CMRC2018 mixed segmentation: one token per CJK character or mark, words elsewhere.

    Example:
        >>> cmrc_segment("2018年的CMRC，测试", remove_punctuation=True)
        ['2018', '年', '的', 'cmrc', '测', '试']
    """
    text = text.lower().strip()
    tokens: list[str] = []
    run = ""
    for char in text:
        if remove_punctuation and char in _CMRC_MARKS:
            continue
        if _CJK.match(char) or char in _CMRC_MARKS:
            if run:
                tokens.extend(_word_tokenize(run))
                run = ""
            tokens.append(char)
        else:
            run += char
    if run:
        tokens.extend(_word_tokenize(run))
    return tokens


def _longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for i in range(len(a)):
        current = [0] * (len(b) + 1)
        for j in range(len(b)):
            if a[i] == b[j]:
                current[j + 1] = previous[j] + 1
                best = max(best, current[j + 1])
        previous = current
    return best


def _cmrc_strip(text: str) -> str:
    return "".join(char for char in text.lower().strip() if char not in _CMRC_MARKS)


def cmrc_f1(prediction: str, answers: Sequence[str]) -> float:
    """CMRC2018 F1 in [0, 1]: longest common token substring, best over ``answers``.

    With no gold answers (an unanswerable question, which CMRC2018 itself never has) an
    empty prediction scores 1 and anything else 0, as in SQuAD v2.0.

    Example:
        >>> round(cmrc_f1("北京大学", ["北京的大学"]), 4)
        0.4444
    """
    predicted = cmrc_segment(prediction, remove_punctuation=True)
    if not answers:
        return float(not predicted)
    scores = []
    for answer in answers:
        gold = cmrc_segment(answer, remove_punctuation=True)
        common = _longest_common_substring(gold, predicted)
        if common == 0:
            scores.append(0.0)
            continue
        precision, recall = common / len(predicted), common / len(gold)
        scores.append(2 * precision * recall / (precision + recall))
    return max(scores)


def cmrc_em(prediction: str, answers: Sequence[str]) -> int:
    """CMRC2018 exact match: equal after lower-casing, stripping and removing the marks."""
    if not answers:
        return int(not _cmrc_strip(prediction))
    return int(any(_cmrc_strip(answer) == _cmrc_strip(prediction) for answer in answers))


def cmrc_score(predictions: Mapping[str, str], gold: Mapping[str, Sequence[str]]) -> QAScore:
    """CMRC2018 EM, F1 and AVERAGE (× 100) over the gold questions."""
    missing, extra = _check_predictions(predictions, gold)
    em_sum = 0
    f1_sum = 0.0
    lines = []
    for qid, answers in gold.items():
        answers = [answers] if isinstance(answers, str) else list(answers)
        if qid not in predictions:
            lines.append({"id": qid, "answer": None, "em": 0, "f1": 0.0})
            continue
        answer = predictions[qid]
        em, f1 = cmrc_em(answer, answers), cmrc_f1(answer, answers)
        em_sum += em
        f1_sum += f1
        lines.append({"id": qid, "answer": answer, "em": em, "f1": f1})
    total = len(lines)
    em = 100.0 * em_sum / total if total else 0.0
    f1 = 100.0 * f1_sum / total if total else 0.0
    return QAScore("cmrc", {"average": (em + f1) / 2, "f1": f1, "em": em}, total,
                   missing, extra, lines)


# --- SQuAD --------------------------------------------------------------------------------
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no ASCII punctuation, no articles, single spaces.

    Example:
        >>> squad_normalize("The  Eiffel-Tower!")
        'eiffeltower'
    """
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_em(prediction: str, answers: Sequence[str], version: str = "2.0") -> int:
    """SQuAD exact match, best over ``answers`` (v2.0: no answers means "")."""
    answers = _squad_answers(answers, version)
    return max(int(squad_normalize(prediction) == squad_normalize(a)) for a in answers) \
        if answers else 0


def _squad_answers(answers: Sequence[str], version: str) -> list[str]:
    if version == "2.0":
        kept = [a for a in answers if squad_normalize(a)]
        return kept or [""]
    return list(answers)


def _squad_token_f1(prediction: str, answer: str, version: str) -> float:
    predicted = squad_normalize(prediction).split()
    gold = squad_normalize(answer).split()
    if version == "2.0" and (not predicted or not gold):
        return float(predicted == gold)
    common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_f1(prediction: str, answers: Sequence[str], version: str = "2.0") -> float:
    """SQuAD bag-of-tokens F1 in [0, 1], best over ``answers``.

    Example:
        >>> squad_f1("the Eiffel tower", ["Eiffel Tower in Paris"])
        0.6666666666666666
    """
    answers = _squad_answers(answers, version)
    return max(_squad_token_f1(prediction, a, version) for a in answers) if answers else 0.0


def squad_score(predictions: Mapping[str, str], gold: Mapping[str, Sequence[str]], *,
                version: str = "2.0") -> QAScore:
    """SQuAD EM and F1 (× 100); v2.0 adds ``HasAns_*`` and ``NoAns_*`` breakdowns.

    Args:
        predictions: id → answer ("" for no answer).
        gold: id → gold answer texts (empty for an unanswerable v2.0 question).
        version: ``"1.1"`` or ``"2.0"``.
    """
    if version not in ("1.1", "2.0"):
        raise ValueError(f"`version` must be one of '1.1', '2.0'; received {version!r}")
    missing, extra = _check_predictions(predictions, gold)
    lines = []
    for qid, answers in gold.items():
        answers = [answers] if isinstance(answers, str) else list(answers)
        answer = predictions.get(qid)
        em = squad_em(answer, answers, version) if answer is not None else 0
        f1 = squad_f1(answer, answers, version) if answer is not None else 0.0
        lines.append({"id": qid, "answer": answer, "em": em, "f1": f1,
                      "has_answer": bool(answers)})

    def summary(rows: list[dict[str, Any]]) -> tuple[float, float]:
        if not rows:
            return 0.0, 0.0
        return (100.0 * sum(r["em"] for r in rows) / len(rows),
                100.0 * sum(r["f1"] for r in rows) / len(rows))

    exact, f1 = summary(lines)
    scores = {"exact": exact, "f1": f1}
    if version == "2.0":
        for name, rows in (("HasAns", [r for r in lines if r["has_answer"]]),
                           ("NoAns", [r for r in lines if not r["has_answer"]])):
            if rows:
                scores[f"{name}_exact"], scores[f"{name}_f1"] = summary(rows)
                scores[f"{name}_total"] = float(len(rows))
    return QAScore("squad", scores, len(lines), missing, extra, lines)


# --- files and dispatch -------------------------------------------------------------------
def read_predictions(path: str | Path) -> dict[str, str]:
    """Read predictions: a JSON object ``{id: answer}`` (CMRC2018/SQuAD), JSON lines
    ``{"id": ..., "answer": ...}`` (``kexue qa answer``), or ``id<TAB>answer`` lines
    (SogouQA).

    Raises:
        ValueError: a malformed file or line (the message names the file and line), or a
            repeated id.
    """
    path = Path(path)
    from kexue._io import read_text

    text = read_text(path, "utf-8-sig")
    predictions: dict[str, str] = {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and not ("id" in data and "answer" in data):
        if not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path}: a JSON prediction file must map ids to answer strings")
        return {str(k): v for k, v in data.items()}
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object {{id: answer}}, JSON lines or "
                         f"id<TAB>answer lines; got a JSON {type(data).__name__}")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "id" not in row or "answer" not in row:
                raise ValueError(f"{path}:{lineno}: a JSON line needs 'id' and 'answer'")
            qid, answer = str(row["id"]), row["answer"] if row["answer"] is not None else ""
            if not isinstance(answer, str):
                raise ValueError(f"{path}:{lineno}: 'answer' must be a string")
        else:
            fields = line.split("\t")
            if len(fields) != 2:
                raise ValueError(f"{path}:{lineno}: expected 'id<TAB>answer' (2 fields); "
                                 f"got {len(fields)}")
            qid, answer = fields
        if qid in predictions:
            raise ValueError(f"{path}:{lineno}: id {qid!r} is predicted twice")
        predictions[qid] = answer
    if not predictions:
        raise ValueError(f"{path}: no predictions")
    return predictions


def score(predictions: Mapping[str, str], gold: Mapping[str, Any], metric: str = "cmrc",
          *, squad_version: str = "2.0") -> QAScore:
    """Dispatch to :func:`sogou_score`, :func:`cmrc_score` or :func:`squad_score`.

    Example:
        >>> score({"q": "Paris"}, {"q": ["paris"]}, "squad").scores["exact"]
        100.0
    """
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {', '.join(METRICS)}; received {metric!r}")
    if metric == "sogou":
        return sogou_score(predictions, gold)
    if metric == "cmrc":
        return cmrc_score(predictions, gold)
    return squad_score(predictions, gold, version=squad_version)

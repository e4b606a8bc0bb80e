"""Reading-comprehension data: readers for WebQA/SogouQA JSON, SQuAD JSON and JSON lines.

Every reader returns a :class:`QADataset` of :class:`Question` records: a question, its
passages (each with its positive answer spans as character offsets) and its gold answers.

Labelling (the positives a model is trained on):

- WebQA / SogouQA give each passage an answer string and no offsets: every exact
  occurrence of the answer in the passage is a positive span (Su Jianlin's 2019 labelling,
  kexue.fm/archives/6906).
- SQuAD v1.1/v2.0 (the format of CMRC2018 and DRCD) give ``answer_start``: those spans are
  the positives (``label="given"``), or every occurrence of each answer text
  (``label="every"``). Unanswerable v2.0 questions are kept, with no span.

A record that cannot be used is skipped and counted per reason (:data:`SKIP_REASONS`), with
its id: an empty question, no passages, an ``answer_start`` that does not hold its text
(real CMRC2018 files have a few), an answer that occurs nowhere in its passage (SQuAD with
``label="every"``), a malformed record. ``strict=True`` turns the first one into a
``ValueError`` naming the file and the id. A file with nothing usable is a ``ValueError``
naming the file.

Example:
    >>> import json, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "webqa.json"
    >>> _ = path.write_text(json.dumps([{"id": "q1", "question": "中国的首都是____",
    ...     "passages": [{"passage": "北京是首都。北京很大。", "answer": "北京"},
    ...                  {"passage": "上海是城市。", "answer": ""}]}]), encoding="utf-8")
    >>> data = read_qa(path)
    >>> data.format, data.questions[0].passages[0].spans, data.questions[0].answers
    ('webqa', ((0, 2), (6, 8)), ('北京',))
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kexue._io import atomic_write, read_text
from kexue._validation import check_bool, check_choice

__all__ = [
    "FORMATS",
    "LABELS",
    "SKIP_REASONS",
    "Passage",
    "QADataset",
    "Question",
    "detect_format",
    "every_occurrence",
    "read_qa",
    "write_jsonl",
    "write_squad",
    "write_webqa",
]

#: input formats: WebQA/SogouQA JSON list, SQuAD v1.1/v2.0 JSON, JSON lines.
FORMATS = ("webqa", "squad", "jsonl")
#: how SQuAD-family positives are chosen.
LABELS = ("given", "every")
#: why a record is skipped.
SKIP_REASONS = ("empty_question", "no_passages", "answer_start_mismatch",
                "answer_not_in_passage", "malformed")
#: how many skipped ids are kept per reason for reports.
SHOWN_IDS = 5


@dataclass(frozen=True)
class Passage:
    """A passage and its positive answer spans ``[start, end)`` (character offsets)."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def has_answer(self) -> bool:
        return bool(self.spans)


@dataclass(frozen=True)
class Question:
    """A question with its passages and gold answers (``()``: no answer)."""

    id: str
    question: str
    passages: tuple[Passage, ...]
    answers: tuple[str, ...] = ()


@dataclass
class QADataset:
    """Questions read from one source, with what was skipped and why.

    Attributes:
        questions: the usable questions, in file order.
        format: ``"webqa"``, ``"squad"``, ``"jsonl"`` or ``"cloze"``.
        source: the file (or the name of the embedded set).
        skipped: reason → ids of the skipped records (all of them).
    """

    questions: list[Question]
    format: str
    source: str
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.questions)

    def gold(self) -> dict[str, list[str]]:
        """id → gold answers, for :mod:`kexue.metrics.qa`."""
        return {q.id: list(q.answers) for q in self.questions}

    def skip_report(self) -> str:
        """One line per skip reason with its count and first ids ("" when none)."""
        lines = []
        for reason, ids in self.skipped.items():
            shown = ", ".join(ids[:SHOWN_IDS]) + (", ..." if len(ids) > SHOWN_IDS else "")
            lines.append(f"skipped {len(ids)} ({reason.replace('_', ' ')}): {shown}")
        return "\n".join(lines)


def every_occurrence(text: str, answer: str) -> tuple[tuple[int, int], ...]:
    """All non-overlapping exact occurrences of ``answer`` in ``text``, left to right.

    Example:
        >>> every_occurrence("北京北京，北京", "北京")
        ((0, 2), (2, 4), (5, 7))
    """
    if not answer:
        return ()
    return tuple((m.start(), m.end()) for m in re.finditer(re.escape(answer), text))


class _Collector:
    def __init__(self, source: str, strict: bool):
        self.source = source
        self.strict = strict
        self.questions: list[Question] = []
        self.skipped: dict[str, list[str]] = {}
        self.seen: set[str] = set()

    def skip(self, reason: str, qid: str, detail: str = "") -> None:
        if self.strict:
            raise ValueError(f"{self.source}: record {qid!r}: {reason.replace('_', ' ')}"
                             + (f" ({detail})" if detail else ""))
        self.skipped.setdefault(reason, []).append(qid)

    def add(self, question: Question) -> None:
        if not question.question.strip():
            self.skip("empty_question", question.id)
            return
        passages = tuple(p for p in question.passages if p.text.strip())
        if not passages:
            self.skip("no_passages", question.id)
            return
        if question.id in self.seen:
            raise ValueError(f"{self.source}: question id {question.id!r} occurs twice")
        self.seen.add(question.id)
        self.questions.append(Question(question.id, question.question, passages,
                                       question.answers))

    def result(self, fmt: str) -> QADataset:
        if not self.questions:
            reasons = "; ".join(f"{len(v)} {k.replace('_', ' ')}"
                                for k, v in self.skipped.items())
            raise ValueError(f"{self.source}: no usable question"
                             + (f" (skipped: {reasons})" if reasons else ""))
        return QADataset(self.questions, fmt, self.source, self.skipped)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _answer_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            text = item.get("text") if isinstance(item, dict) else item
            if isinstance(text, str) and text.strip():
                out.append(text)
        return out
    return []


def _webqa_record(record: Any, index: int, collector: _Collector) -> None:
    """{"id", "question", "passages": [{"passage", "answer"} | str, ...], "answer"?}."""
    if not isinstance(record, dict):
        collector.skip("malformed", f"#{index}", "not a JSON object")
        return
    qid = str(record.get("id", record.get("qid", record.get("query_id", index))))
    question = _text(record.get("question", record.get("query")))
    shared = _answer_list(record.get("answers", record.get("answer")))
    raw_passages = record.get("passages", record.get("documents"))
    if not isinstance(raw_passages, list):
        collector.skip("no_passages", qid)
        return
    passages = []
    answers = list(shared)
    for item in raw_passages:
        if isinstance(item, str):
            text, own = item, None
        elif isinstance(item, dict):
            text = _text(item.get("passage", item.get("text", item.get("content"))))
            own = item.get("answer", item.get("answers")) if (
                "answer" in item or "answers" in item) else None
        else:
            continue
        labels = _answer_list(own) if own is not None else shared
        answers += [a for a in labels if a not in answers]
        spans = sorted({span for a in labels for span in every_occurrence(text, a)})
        passages.append(Passage(text, tuple(spans)))
    collector.add(Question(qid, question, tuple(passages), tuple(answers)))


def _squad_question(qid: str, question: str, context: str, raw_answers: Any,
                    impossible: bool, label: str, collector: _Collector) -> None:
    answers: list[str] = []
    spans: set[tuple[int, int]] = set()
    items = [] if impossible else (raw_answers if isinstance(raw_answers, list) else [])
    for item in items:
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            collector.skip("malformed", qid, "an answer without 'text'")
            return
        text = item["text"]
        if not text.strip():
            continue
        if text not in answers:
            answers.append(text)
        start = item.get("answer_start")
        if label == "given" and start is not None:
            if (not isinstance(start, int) or isinstance(start, bool)
                    or context[start:start + len(text)] != text):
                collector.skip("answer_start_mismatch", qid,
                               f"answer_start {start!r} does not hold {text!r}")
                return
            spans.add((start, start + len(text)))
        else:
            found = every_occurrence(context, text)
            if not found:
                collector.skip("answer_not_in_passage", qid, f"{text!r}")
                return
            spans.update(found)
    collector.add(Question(qid, question, (Passage(context, tuple(sorted(spans))),),
                           tuple(answers)))


def _read_squad(data: Any, label: str, collector: _Collector) -> None:
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise ValueError(f"{collector.source}: a SQuAD file needs a 'data' list")
    count = 0
    for article in articles:
        for paragraph in (article.get("paragraphs", []) if isinstance(article, dict) else []):
            if not isinstance(paragraph, dict):
                continue
            context = _text(paragraph.get("context"))
            for qa in paragraph.get("qas", []):
                count += 1
                if not isinstance(qa, dict):
                    collector.skip("malformed", f"#{count}", "not a JSON object")
                    continue
                qid = str(qa.get("id", f"#{count}")).strip()
                _squad_question(qid, _text(qa.get("question")).strip(), context,
                                qa.get("answers"), bool(qa.get("is_impossible", False)),
                                label, collector)


def detect_format(path: str | os.PathLike) -> str:
    """Guess a file's format: ``.jsonl`` → jsonl; a JSON object with ``data`` → squad;
    a JSON list → webqa.

    Raises:
        ValueError: the file is in none of the formats (the message names it).
    """
    path = Path(path)
    if path.suffix == ".jsonl":
        return "jsonl"
    head = read_text(path, "utf-8-sig")[:4096].lstrip()
    if head.startswith("["):
        return "webqa"
    if head.startswith("{"):
        try:
            data = json.loads(read_text(path, "utf-8-sig"))
        except json.JSONDecodeError:
            return "jsonl"
        if isinstance(data, dict) and "data" in data:
            return "squad"
        if isinstance(data, dict) and "question" in data:
            return "jsonl"
    raise ValueError(f"{path}: in none of the QA formats (WebQA/SogouQA JSON list, SQuAD "
                     "JSON with 'data', JSON lines of questions)")


def read_qa(path: str | os.PathLike, format: str | None = None, *, label: str = "given",
            strict: bool = False) -> QADataset:
    """Read a QA file.

    Args:
        path: the file.
        format: ``"webqa"`` (WebQA/SogouQA JSON list), ``"squad"`` (v1.1/v2.0 JSON),
            ``"jsonl"`` (one WebQA-style record, or a SQuAD-style record with ``context``,
            per line); ``None`` detects it (:func:`detect_format`).
        label: SQuAD positives: ``"given"`` (``answer_start``) or ``"every"`` occurrence.
        strict: raise on the first unusable record instead of skipping it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: malformed JSON (file and line named), no usable question, or (strict)
            an unusable record (file and id named).
    """
    path = Path(path)
    if format is not None:
        format = check_choice(format, "format", FORMATS)
    label = check_choice(label, "label", LABELS)
    strict = check_bool(strict, "strict")
    if not path.exists():
        raise FileNotFoundError(f"QA file not found: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"QA file is a directory: {path}")
    fmt = format or detect_format(path)
    collector = _Collector(str(path), strict)
    if fmt == "jsonl":
        with io.StringIO(read_text(path, "utf-8-sig")) as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if isinstance(record, dict) and "context" in record:
                    qid = str(record.get("id", lineno))
                    _squad_question(qid, _text(record.get("question")).strip(),
                                    _text(record["context"]), record.get("answers"),
                                    bool(record.get("is_impossible", False)), label,
                                    collector)
                else:
                    _webqa_record(record, lineno, collector)
    else:
        try:
            data = json.loads(read_text(path, "utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if fmt == "squad":
            _read_squad(data, label, collector)
        else:
            if not isinstance(data, list):
                raise ValueError(f"{path}: a WebQA/SogouQA file must be a JSON list of "
                                 "questions")
            for index, record in enumerate(data):
                _webqa_record(record, index, collector)
    return collector.result(fmt)


# --- writers ------------------------------------------------------------------------------
def _passage_answer(passage: Passage, answers: Sequence[str]) -> str:
    for answer in answers:
        if every_occurrence(passage.text, answer):
            return answer
    return ""


def write_webqa(questions: Iterable[Question], path: str | os.PathLike) -> None:
    """Write questions as a WebQA/SogouQA JSON list (atomically): each passage carries the
    answer when it occurs in it, else ``""``."""
    records = [{"id": q.id, "question": q.question,
                "passages": [{"passage": p.text, "answer": _passage_answer(p, q.answers)}
                             for p in q.passages]} for q in questions]
    with atomic_write(path) as handle:
        json.dump(records, handle, ensure_ascii=False, indent=1)
        handle.write("\n")


def write_squad(questions: Iterable[Question], path: str | os.PathLike, *,
                title: str = "kexue") -> None:
    """Write questions as SQuAD v2.0 JSON (atomically): one article per question, one
    paragraph per passage, whose question id is ``<id>#<passage index>``; a passage without
    the answer is an unanswerable (``is_impossible``) question."""
    data = []
    for q in questions:
        paragraphs = []
        for k, p in enumerate(q.passages):
            answer = _passage_answer(p, q.answers)
            spans = every_occurrence(p.text, answer) if answer else ()
            paragraphs.append({"context": p.text, "qas": [{
                "id": f"{q.id}#{k}", "question": q.question,
                "answers": [{"text": answer, "answer_start": s} for s, _ in spans],
                "is_impossible": not spans}]})
        data.append({"title": q.id, "paragraphs": paragraphs})
    with atomic_write(path) as handle:
        json.dump({"version": "v2.0", "title": title, "data": data}, handle,
                  ensure_ascii=False, indent=1)
        handle.write("\n")


def write_jsonl(questions: Iterable[Question], path: str | os.PathLike) -> None:
    """Write questions as JSON lines in the WebQA record shape (atomically)."""
    with atomic_write(path) as handle:
        for q in questions:
            handle.write(json.dumps({"id": q.id, "question": q.question, "passages": [
                {"passage": p.text, "answer": _passage_answer(p, q.answers)}
                for p in q.passages]}, ensure_ascii=False) + "\n")

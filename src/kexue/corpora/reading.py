"""Streaming line reading shared by every kexue corpus.

The counting unit of kexue is the line. Files are read as UTF-8 (a leading BOM is dropped)
with universal newlines, one line at a time and never more than ``max_line_chars`` characters
at once, so a 100 MB file without a newline is read in bounded memory.

Overlong lines: a line longer than ``max_line_chars`` is split into pieces of at most that
many characters, each cut placed just after the last whitespace character before the limit,
or failing that just after the last punctuation mark from :data:`BOUNDARY_PUNCTUATION`, or
failing both (a run of ``max_line_chars`` characters with neither) at the limit itself.
Whitespace and those marks never occur inside a jieba, rjieba, char or regex token, so the
first two kinds of cut change no token; only the last can cut one (it is counted in
:attr:`ReadStats.hard_splits`).

Corrupt or truncated compressed files (``.gz``, ``.xz``, ``.bz2``) raise :class:`ValueError`
naming the file and what is wrong with it (:func:`read_checked`), whatever the
decompressor raised.

Invalid UTF-8 follows ``encoding_errors``: ``"replace"`` (default) decodes the line with
U+FFFD replacement characters, ``"skip-line"`` drops the line, ``"strict"`` raises
:class:`ValueError` naming the file and line. Affected lines are counted per file.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from kexue._validation import check_choice, check_int

#: how invalid UTF-8 is handled.
ENCODING_ERRORS = ("strict", "replace", "skip-line")
#: default longest line handed to a tokenizer in one piece (characters).
DEFAULT_MAX_LINE_CHARS = 1_000_000
#: punctuation after which an overlong line may be cut when it has no whitespace.
BOUNDARY_PUNCTUATION = "，。、；：？！…—·“”（）《》【】「」『』〈〉;:!?()[]{}\"<>|"

_LAST_WHITESPACE = re.compile(r"(?s).*\s")
_LAST_PUNCTUATION = re.compile("(?s).*[" + re.escape(BOUNDARY_PUNCTUATION) + "]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


@dataclass
class ReadStats:
    """What a read has seen so far; updated in place while lines are streamed.

    Attributes:
        documents: documents started (a .txt file, a JSONL record, an iNews article, ...).
        lines: lines yielded (pieces of a split overlong line count once each).
        characters: characters yielded (newlines excluded).
        split_lines: overlong lines that were split into pieces.
        hard_splits: cuts that found no whitespace or punctuation boundary.
        bad_lines: per file, lines that held invalid UTF-8 (replaced or skipped).
    """

    documents: int = 0
    lines: int = 0
    characters: int = 0
    split_lines: int = 0
    hard_splits: int = 0
    bad_lines: dict[str, int] = field(default_factory=dict)

    def add(self, other: ReadStats) -> None:
        """Add the figures of ``other`` (the read of another part of a corpus) to these.

        Example:
            >>> total = ReadStats(lines=2, bad_lines={"a": 1})
            >>> total.add(ReadStats(lines=3, bad_lines={"a": 1, "b": 2}))
            >>> total.lines, total.bad_lines
            (5, {'a': 2, 'b': 2})
        """
        self.documents += other.documents
        self.lines += other.lines
        self.characters += other.characters
        self.split_lines += other.split_lines
        self.hard_splits += other.hard_splits
        for name, count in other.bad_lines.items():
            self.bad_lines[name] = self.bad_lines.get(name, 0) + count


def check_encoding_errors(encoding_errors: str) -> str:
    """Validate an ``encoding_errors`` value and return it."""
    return check_choice(encoding_errors, "encoding_errors", ENCODING_ERRORS)


def check_max_line_chars(max_line_chars: int) -> int:
    """Validate a ``max_line_chars`` value and return it."""
    # Reads take a C ssize_t: larger values cannot be honoured (and no line is that long).
    return check_int(max_line_chars, "max_line_chars", minimum=16, maximum=2**62)


def split_overlong(text: str, max_line_chars: int, stats: ReadStats | None = None) -> list[str]:
    """Split ``text`` into pieces of at most ``max_line_chars`` characters at safe boundaries.

    Args:
        text: one line (no newline inside).
        max_line_chars: the longest piece allowed.
        stats: if given, its ``hard_splits`` counts cuts made without a boundary.

    Returns:
        ``[text]`` when it is short enough, else the pieces, which join back to ``text``.

    Example:
        >>> split_overlong("ab cd，ef", 4)
        ['ab ', 'cd，', 'ef']
    """
    if len(text) <= max_line_chars:
        return [text]
    pieces = []
    while len(text) > max_line_chars:
        match = _LAST_WHITESPACE.match(text, 0, max_line_chars) \
            or _LAST_PUNCTUATION.match(text, 0, max_line_chars)
        if match is not None:
            cut = match.end()
        else:
            cut = max_line_chars
            if stats is not None:
                stats.hard_splits += 1
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def text_lines(text: str, stats: ReadStats, max_line_chars: int) -> Iterator[str]:
    """Yield the lines of an in-memory document (split at ``"\\n"``; a trailing ``"\\r"``
    is dropped), splitting overlong ones and updating ``stats``.

    Example:
        >>> stats = ReadStats()
        >>> list(text_lines("标题\\r\\n正文", stats, 100)), stats.lines, stats.characters
        (['标题', '正文'], 2, 4)
    """
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if len(line) > max_line_chars:
            stats.split_lines += 1
            pieces = split_overlong(line, max_line_chars, stats)
        else:
            pieces = (line,)
        for piece in pieces:
            stats.lines += 1
            stats.characters += len(piece)
            yield piece


def has_invalid_utf8(text: str) -> bool:
    """Whether ``text`` (decoded with ``surrogateescape``) holds bytes that were not UTF-8."""
    return _ESCAPED_BYTE.search(text) is not None


def repair_invalid_utf8(text: str, name: str, lineno: int, encoding_errors: str) -> str | None:
    """Apply the ``encoding_errors`` policy to a line holding invalid UTF-8.

    Returns the line with U+FFFD for each bad byte (``"replace"``), ``None`` to drop it
    (``"skip-line"``), or raises ``ValueError`` naming ``name:lineno`` (``"strict"``).
    """
    if encoding_errors == "strict":
        raise ValueError(f"{name}:{lineno}: invalid UTF-8 (use encoding_errors "
                         f"'replace' or 'skip-line' to read past it)")
    if encoding_errors == "skip-line":
        return None
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


#: what the decompressors raise on corrupt or truncated input (gzip.BadGzipFile and the
#: bz2 module's "Invalid data stream" are OSErrors).
_CORRUPT = (EOFError, OSError, lzma.LZMAError, zlib.error, gzip.BadGzipFile)
_CONTAINERS = {".gz": "gzip", ".xz": "xz", ".bz2": "bzip2"}


def corrupt_container(name: str, exc: BaseException) -> ValueError:
    """A ValueError naming the file ``name`` and what is wrong with its compressed data.

    Example:
        >>> print(corrupt_container("a.txt.gz", EOFError("ended")))
        a.txt.gz: truncated gzip file: the compressed data ends early (ended)
    """
    kind = _CONTAINERS.get(os.path.splitext(name)[1].lower())
    detail = str(exc) or type(exc).__name__
    if kind is None:
        return ValueError(f"{name}: cannot be read ({detail})")
    if isinstance(exc, EOFError):
        return ValueError(f"{name}: truncated {kind} file: the compressed data ends early "
                          f"({detail})")
    return ValueError(f"{name}: not a valid {kind} file: corrupt or not {kind} data ({detail})")


def read_checked(handle: IO[str], name: str, size: int = -1, *, line: bool = True) -> str:
    """``handle.readline(size)`` (or ``handle.read(size)`` with ``line=False``), turning
    what a decompressor raises on corrupt or truncated data into :func:`corrupt_container`.
    """
    try:
        return handle.readline(size) if line else handle.read(size)
    except _CORRUPT as exc:
        raise corrupt_container(name, exc) from None


def physical_lines(handle: IO[str], name: str, stats: ReadStats, *, encoding_errors: str,
                   max_line_chars: int, first_line: int = 1) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, piece)`` from a text handle opened with ``surrogateescape``.

    Reads at most ``max_line_chars`` characters at a time and applies the encoding policy
    (a line with invalid UTF-8 is counted once in ``stats.bad_lines``); an overlong line
    comes out as several pieces with the same number (with ``"skip-line"``, only its pieces
    holding invalid bytes are dropped). Does not touch ``stats.lines``/``stats.characters``:
    callers count what they keep. ``first_line`` is the number of the handle's first line
    (a byte range of a file starts past line 1).
    """
    lineno = first_line
    pending = ""
    pieces_out = 0
    bad = False
    while True:
        chunk = read_checked(handle, name, max_line_chars)
        eof = not chunk
        if eof and not pending and not pieces_out:
            return
        ended = chunk.endswith("\n")
        text = pending + (chunk[:-1] if ended else chunk)
        final = ended or eof
        if not final and len(text) <= max_line_chars:
            pending = text
            continue
        pieces = split_overlong(text, max_line_chars, stats)
        pending = "" if final else pieces.pop()
        for piece in pieces:
            if _ESCAPED_BYTE.search(piece) is not None:
                if not bad:
                    bad = True
                    stats.bad_lines[name] = stats.bad_lines.get(name, 0) + 1
                piece = repair_invalid_utf8(piece, name, lineno, encoding_errors)
                if piece is None:
                    continue
            yield lineno, piece
        pieces_out += len(pieces)
        if final:
            if pieces_out > 1:
                stats.split_lines += 1
            if eof:
                return
            lineno += 1
            pieces_out = 0
            bad = False


#: bytes a shard of a plain file ends on: a line boundary.
_NEWLINE = b"\n"


class _ByteRange(io.RawIOBase):
    """The bytes ``[start, stop)`` of a file, as a raw stream."""

    def __init__(self, path: str | os.PathLike, start: int, stop: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 (closed with this stream)
        self._file.seek(start)
        self._left = max(0, stop - start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        with memoryview(buffer) as view:
            count = self._file.readinto(view[: self._left]) or 0
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def open_byte_range(path: str | os.PathLike, start: int, stop: int) -> IO[str]:
    """Open the bytes ``[start, stop)`` of a UTF-8 file as text, as a whole-file read would
    decode them: universal newlines, ``surrogateescape``, a BOM dropped only at offset 0.
    ``start`` must be 0 or just after a ``"\\n"`` byte (UTF-8 never holds that byte inside
    a character, so the range decodes to exactly the text of its lines).

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = path.write_bytes("一\\n二\\r\\n三".encode())
        >>> with open_byte_range(path, 4, 9) as handle:
        ...     handle.read()
        '二\\n'
    """
    raw = _ByteRange(path, start, stop)
    return io.TextIOWrapper(io.BufferedReader(raw, 1 << 16),
                            encoding="utf-8-sig" if start == 0 else "utf-8",
                            errors="surrogateescape")


def line_cuts(path: str | os.PathLike, target_bytes: int) -> list[tuple[int, int]]:
    """Cut a file into byte ranges of about ``target_bytes`` that start at line starts.

    Each cut is placed just after the first ``"\\n"`` byte at or past the target offset
    (a file without one, or a single line longer than the rest, stays in one range). Only a
    few bytes around each cut are read, so planning costs nothing per megabyte.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = path.write_bytes(b"aaaa\\nbb\\ncc\\n")
        >>> line_cuts(path, 3)
        [(0, 5), (5, 11)]
    """
    size = os.path.getsize(path)
    starts = [0]
    with open(path, "rb") as handle:
        position = target_bytes
        while position < size:
            handle.seek(position)
            while True:
                block = handle.read(1 << 16)
                if not block:
                    cut = size
                    break
                found = block.find(_NEWLINE)
                if found >= 0:
                    cut = position + found + 1
                    break
                position += len(block)
            if cut >= size:
                break
            starts.append(cut)
            position = cut + target_bytes
    return list(zip(starts, starts[1:] + [size], strict=True))


def line_number_at(path: str | os.PathLike, offset: int) -> int:
    """The number of the line starting at byte ``offset`` (just after a ``"\\n"``), counted
    as universal newlines count them (``"\\n"``, ``"\\r\\n"`` and a lone ``"\\r"`` each end
    a line). Reads the file up to ``offset``: used on the error path only.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = path.write_bytes(b"a\\rb\\r\\nc\\nd")
        >>> line_number_at(path, 8)
        4
    """
    breaks = 0
    carry = b""
    with open(path, "rb") as handle:
        left = offset
        while left > 0:
            block = handle.read(min(left, 1 << 20))
            if not block:
                break
            left -= len(block)
            text = carry + block
            # A trailing "\r" may pair with a "\n" in the next block: keep it for then.
            carry = b"\r" if text.endswith(b"\r") and left > 0 else b""
            if carry:
                text = text[:-1]
            breaks += text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
    return breaks + 1

"""kexue.corpora: files, folders, compression, encodings, overlong lines, embedded corpora."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kexue.corpora import (
    ReadStats,
    load_inews,
    open_corpus,
    resolve_source,
    strip_pos_tags,
)
from kexue.corpora.reading import BOUNDARY_PUNCTUATION, physical_lines, split_overlong

TEXT = "第一行 中文\n\nsecond line\r\nlast line without newline"
EXPECTED = ["第一行 中文", "", "second line", "last line without newline"]


def _lines(specs, **kwargs):
    corpus = open_corpus(specs, **kwargs)
    return list(corpus.lines()), corpus.stats


@pytest.mark.parametrize("suffix,opener", [(".txt", open), (".txt.gz", gzip.open),
                                           (".txt.bz2", bz2.open), (".txt.xz", lzma.open)])
def test_text_file_formats(tmp_path, suffix, opener):
    path = tmp_path / f"doc{suffix}"
    with opener(path, "wb") as handle:
        handle.write(TEXT.encode("utf-8"))
    lines, stats = _lines([path])
    assert lines == EXPECTED
    assert (stats.documents, stats.lines) == (1, 4)
    assert stats.characters == sum(map(len, EXPECTED))
    assert list(resolve_source(path)[0].documents()) == [TEXT.replace("\r\n", "\n")]


def test_bom_and_empty_file(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfabc\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    lines, stats = _lines([tmp_path / "bom.txt", tmp_path / "empty.txt"])
    assert lines == ["abc"]
    assert (stats.documents, stats.lines, stats.characters) == (2, 1, 3)


@pytest.mark.parametrize("compress", [None, gzip.compress, lzma.compress])
def test_jsonl(tmp_path, compress):
    records = [{"text": "一\n二", "id": 1}, {"text": "", "id": 2}, {"text": "三", "id": 3}]
    raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode() + b"\n\n"
    suffix = {None: "", gzip.compress: ".gz", lzma.compress: ".xz"}[compress]
    name = "a.jsonl" + suffix
    (tmp_path / name).write_bytes(raw if compress is None else compress(raw))
    lines, stats = _lines([tmp_path / name])
    assert lines == ["一", "二", "", "三"]
    assert stats.documents == 3
    assert list(resolve_source(tmp_path / name)[0].documents()) == ["一\n二", "", "三"]


def test_jsonl_nested_field_and_errors(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text('{"meta": {"body": "正文"}}\n{"meta": {}}\n', encoding="utf-8")
    corpus = open_corpus([path], field="meta.body")
    lines = corpus.lines()
    assert next(lines) == "正文"
    with pytest.raises(ValueError, match=r"n.jsonl:2: record has no field 'meta.body'"):
        next(lines)
    path.write_text('{"text": 3}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"n.jsonl:1: field 'text' must be a string; got int"):
        list(open_corpus([path]).lines())
    path.write_text('\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"n.jsonl:2: not valid JSON"):
        list(open_corpus([path]).lines())


def test_folder_walk_is_recursive_sorted_and_filtered(tmp_path):
    for rel in ["b/2.txt", "b/10.txt", "a/z.txt.gz", "a/sub/x.jsonl", "c.txt", ".hidden.txt",
                "notes.md", ".git/x.txt"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"text": rel}) if rel.endswith(".jsonl") else rel
        path.write_bytes(gzip.compress(data.encode()) if rel.endswith(".gz") else data.encode())
    names = [s.name.replace(str(tmp_path) + "/", "") for s in resolve_source(tmp_path)]
    assert names == ["a/sub/x.jsonl", "a/z.txt.gz", "b/10.txt", "b/2.txt", "c.txt"]
    lines, stats = _lines([tmp_path])
    assert lines == names and stats.documents == 5
    assert [s.name for s in resolve_source(tmp_path)] == [s.name for s in resolve_source(tmp_path)]


def test_missing_source_is_named_before_reading(tmp_path):
    with pytest.raises(FileNotFoundError, match="'nowhere.txt': no such file or folder"):
        open_corpus(["embedded", "nowhere.txt"])
    with pytest.raises(FileNotFoundError, match="not an embedded corpus"):
        open_corpus("inews:validation")
    with pytest.raises(ValueError, match="`encoding_errors` must be one of"):
        open_corpus("inews", encoding_errors="ignore")
    with pytest.raises(ValueError, match="at least one"):
        open_corpus([])


BAD = b"ok line\nbad \xff\xfe here\nfine\ncut \xe4\xb8\n"


def test_encoding_replace_counts_lines(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(BAD)
    lines, stats = _lines([path])
    reference = BAD.decode("utf-8", "replace").split("\n")[:-1]
    assert lines == reference
    assert stats.bad_lines == {str(path): 2}


def test_encoding_skip_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(BAD)
    lines, stats = _lines([path], encoding_errors="skip-line")
    assert lines == ["ok line", "fine"]
    assert stats.bad_lines == {str(path): 2} and stats.lines == 2


def test_encoding_strict_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(BAD)
    with pytest.raises(ValueError, match=r"bad.txt:2: invalid UTF-8"):
        _lines([path], encoding_errors="strict")


def test_jsonl_bad_utf8(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "a\xffb"}\n{"text": "c"}\n')
    lines, stats = _lines([path])
    assert lines == ["a\ufffdb", "c"] and stats.bad_lines == {str(path): 1}
    assert _lines([path], encoding_errors="skip-line")[0] == ["c"]


def test_split_overlong_examples():
    assert split_overlong("short", 16) == ["short"]
    stats = ReadStats()
    assert split_overlong("x" * 40, 16, stats) == ["x" * 16, "x" * 16, "x" * 8]
    assert stats.hard_splits == 2
    assert split_overlong("今天天气很好，我们去公园散步吧。明天下雨", 16) == [
        "今天天气很好，我们去公园散步吧。", "明天下雨"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab中文 ，.\t3")), max_size=300),
       st.integers(min_value=16, max_value=40))
def test_split_overlong_properties(text, limit):
    stats = ReadStats()
    pieces = split_overlong(text, limit, stats)
    assert "".join(pieces) == text
    assert all(len(p) <= limit for p in pieces)
    soft_cuts = [p for p in pieces[:-1] if p[-1].isspace() or p[-1] in BOUNDARY_PUNCTUATION]
    assert len(pieces) - 1 - len(soft_cuts) == stats.hard_splits


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab中 ，\xff")), max_size=120),
                max_size=6),
       st.integers(min_value=16, max_value=50), st.booleans())
def test_streamed_pieces_rebuild_lines(lines, limit, trailing_newline):
    raw = "\n".join(lines).encode("utf-8").replace("\xff".encode(), b"\xff")
    if trailing_newline and lines:
        raw += b"\n"
    handle = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", errors="surrogateescape")
    stats = ReadStats()
    got: dict[int, str] = {}
    for number, piece in physical_lines(handle, "mem", stats, encoding_errors="replace",
                                        max_line_chars=limit):
        assert len(piece) <= limit
        got[number] = got.get(number, "") + piece
    expected = raw.decode("utf-8", "replace").split("\n")
    if raw.endswith(b"\n") or not raw:
        expected = expected[:-1]
    assert [got.get(i + 1, "") for i in range(len(expected))] == expected
    assert sorted(got) == list(range(1, len(expected) + 1)) or not expected


def test_huge_line_without_newline_reads_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.txt"
    unit = "今天天气很好，我们去公园散步。" * 1000 + " "
    with open(path, "w", encoding="utf-8") as handle:
        for _ in range(400):  # about 6 M characters, 18 MB, no newline
            handle.write(unit)
    total = len(unit) * 400
    corpus = open_corpus([path], max_line_chars=100_000)
    tracemalloc.start()
    try:
        characters = pieces = 0
        for piece in corpus.lines():
            characters += len(piece)
            pieces += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert characters == total and pieces >= total // 100_000
    assert corpus.stats.split_lines == 1 and corpus.stats.hard_splits == 0
    assert peak < 10_000_000  # a few pieces, not the 6 M-character line


def test_strip_pos_tags_matches_naive_parse():
    from kexue.corpora.sources import PeoplesDailySource

    source = PeoplesDailySource()
    with open(source.path, encoding="utf-8") as handle:
        raw = handle.read().split("\n")
    if raw[-1] == "":
        raw.pop()
    naive = ["".join(item.rsplit("/", 1)[0] for item in line.split()) for line in raw]
    assert list(source.documents()) == naive
    assert sum(map(len, naive)) == 1_841_657
    tagged = "[中央/n  人民/n  广播/vn  电台/n]nt  记者/n  ［/w"
    assert strip_pos_tags(tagged) == "中央人民广播电台记者［"


def _inews_lines() -> int:
    # Every line of every document, paragraphs included (independent of the reader).
    return sum(len(document.split("\n")) for split in ("train", "dev", "test")
               for document in load_inews(split).documents())


@pytest.mark.parametrize(("name", "documents", "lines"), [
    ("inews", 7353, None), ("peoples-daily", 19484, 19484), ("reviews", 35124, 35124)])
def test_embedded_corpora(name, documents, lines):
    lines = _inews_lines() if lines is None else lines
    corpus = open_corpus(name)
    count = sum(1 for _ in corpus.lines())
    assert (corpus.stats.documents, corpus.stats.lines, count) == (documents, lines, lines)


def test_embedded_is_the_union():
    corpus = open_corpus("embedded")
    for _ in corpus.lines():
        pass
    assert corpus.stats.documents == 7353 + 19484 + 35124
    assert 13_000_000 < corpus.stats.characters < 14_000_000

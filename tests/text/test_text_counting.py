"""kexue.text.count_words: the exactness contract against the naive serial loop."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kexue.corpora import load_inews, open_corpus
from kexue.parallel import WorkerError
from kexue.text import Tokenizer, count_words, naive_count, write_counts
from kexue.text.counting import batches

ALPHABET = list("我们中出了一个叛徒北京大学生abc 12.\t，。\u3000")
lines_strategy = st.lists(st.text(alphabet=st.sampled_from(ALPHABET), max_size=40),
                          min_size=0, max_size=60)


def _write(tmp_path, lines, name="gen.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _reference(path, spec, **kwargs):
    return naive_count(open_corpus([path], **kwargs).lines(), Tokenizer(spec))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, spec=st.sampled_from(["jieba", "rjieba", "char", "regex"]),
       batch_lines=st.integers(1, 7), ordered=st.booleans())
def test_serial_engine_equals_naive_loop(tmp_path, lines, spec, batch_lines, ordered):
    path = _write(tmp_path, lines)
    result = count_words([path], spec, workers=0, batch_lines=batch_lines, ordered=ordered)
    expected = _reference(path, spec)
    assert dict(result.counts) == expected
    assert result.tokens == sum(expected.values()) and result.vocabulary == len(expected)
    assert all(token.strip() for token in result.counts)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, spec=st.sampled_from(["jieba", "rjieba", "char", "regex"]),
       workers=st.integers(1, 3), ordered=st.booleans(), batch_lines=st.integers(1, 9))
def test_process_engine_equals_naive_loop(tmp_path, lines, spec, workers, ordered, batch_lines):
    path = _write(tmp_path, lines)
    result = count_words([path], spec, workers=workers, ordered=ordered,
                         batch_lines=batch_lines, max_in_flight=2)
    assert dict(result.counts) == _reference(path, spec)


@pytest.mark.parametrize(("spec", "workers", "ordered"), [
    ("rjieba", 2, False), ("rjieba", 2, True), ("char", 1, False), ("regex", 2, False)])
def test_real_text_equals_naive_loop(spec, workers, ordered):
    expected = naive_count(open_corpus("inews:dev").lines(), Tokenizer(spec))
    result = count_words("inews:dev", spec, workers=workers, ordered=ordered,
                         batch_chars=50_000)
    assert result.counts == Counter(expected)
    documents = list(load_inews("dev").documents())
    assert result.stats.documents == len(documents) == 999
    assert result.stats.lines == sum(len(document.split("\n")) for document in documents)


def test_real_text_jieba_two_workers(tmp_path):
    lines = list(open_corpus("peoples-daily").lines())[:1500]
    path = _write(tmp_path, lines)
    result = count_words([path], "jieba", workers=2, batch_lines=200)
    assert result.counts == Counter(naive_count(lines, Tokenizer("jieba")))


@pytest.mark.timeout(240)
def test_spawn_start_method(tmp_path):
    path = _write(tmp_path, ["北京大学生前来应聘", "我们中出了一个叛徒"] * 50)
    result = count_words([path], "jieba", workers=2, start_method="spawn", batch_lines=10)
    assert dict(result.counts) == _reference(path, "jieba")


@pytest.mark.timeout(120)
def test_worker_exception_propagates_without_hang(tmp_path):
    path = _write(tmp_path, ["1 2", "3", "not a number", "4"])
    # builtins:int fails on "not a number" (and returns a non-iterable elsewhere).
    with pytest.raises(WorkerError) as info:
        count_words([path], "builtins:int", workers=2, batch_lines=1, ordered=True)
    assert "int" in info.value.traceback


def test_overlong_lines_split_without_changing_jieba_counts(tmp_path):
    text = "，".join(["北京大学生前来应聘", "我们中出了一个叛徒 hello world 3.14"] * 300)
    path = _write(tmp_path, [text])
    whole = naive_count([text], Tokenizer("jieba"))
    result = count_words([path], "jieba", workers=0, max_line_chars=100)
    assert result.stats.split_lines == 1 and result.stats.lines > 100
    assert dict(result.counts) == whole


def test_min_count_and_stats(tmp_path):
    path = _write(tmp_path, ["a a b", "a c"])
    result = count_words([path], "regex", workers=0, min_count=2)
    assert dict(result.counts) == {"a": 3}
    assert (result.tokens, result.vocabulary) == (5, 3)
    summary = result.summary()
    assert summary["characters"] == 8 and summary["lines"] == 2 and summary["reported"] == 1
    assert result.top(5) == [("a", 3)]


def test_sorted_items_and_write_counts(tmp_path):
    path = _write(tmp_path, ["b a b c c", "tab\\x"])
    result = count_words([path], "builtins:str.split", workers=0)
    assert result.sorted_items() == [("b", 2), ("c", 2), ("a", 1), ("tab\\x", 1)]
    write_counts(result.sorted_items(), tmp_path / "out.tsv")
    assert (tmp_path / "out.tsv").read_text(encoding="utf-8") == "b\t2\nc\t2\na\t1\ntab\\\\x\t1\n"
    write_counts(result.sorted_items(), tmp_path / "out.json")
    loaded = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert list(loaded.items()) == result.sorted_items()
    with pytest.raises(ValueError, match="`out` must end in .tsv, .txt or .json; received .*csv"):
        write_counts([], tmp_path / "x.csv")
    assert sorted(os.listdir(tmp_path)) == ["gen.txt", "out.json", "out.tsv"]


def test_argument_errors():
    with pytest.raises(ValueError, match="`engine` must be one of 'local', 'dask'; received 'spa"):
        count_words("inews:dev", engine="spark")
    with pytest.raises(ValueError, match="`workers` must be an integer >= 0; received -1"):
        count_words("inews:dev", workers=-1)
    with pytest.raises(TypeError, match="`min_count` must be a positive integer; received 2.5"):
        count_words("inews:dev", min_count=2.5)
    with pytest.raises(TypeError, match="`batch_lines` must be a positive integer; received None"):
        count_words("inews:dev", batch_lines=None)
    with pytest.raises(ValueError, match="`scheduler` is only used with engine 'dask'"):
        count_words("inews:dev", scheduler="tcp://x:1")
    with pytest.raises(FileNotFoundError, match="'missing.txt'"):
        count_words(["missing.txt"])


def test_batches():
    assert list(batches([], batch_lines=2)) == []
    assert list(batches(["aaaa", "b", "c"], batch_lines=10, batch_chars=4)) == [
        ["aaaa"], ["b", "c"]]


def test_progress_reports_totals(tmp_path):
    path = _write(tmp_path, ["ab"] * 10)
    seen = []
    count_words([path], "char", workers=0, batch_lines=3, progress=lambda *a: seen.append(a))
    assert len(seen) == 4 and seen[-1] == (10, 20)


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("北京大学生我们 ab'’3.1,，。！:（）\t")),
                    max_size=200),
       limit=st.integers(16, 40), spec=st.sampled_from(["jieba", "rjieba", "char", "regex"]))
def test_soft_splits_never_change_tokens(text, limit, spec):
    from kexue.corpora import ReadStats
    from kexue.corpora.reading import split_overlong

    stats = ReadStats()
    pieces = split_overlong(text, limit, stats)
    if stats.hard_splits:
        return
    assert naive_count(pieces, Tokenizer(spec)) == naive_count([text], Tokenizer(spec))

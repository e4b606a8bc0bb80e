"""kexue.text.count_words: the exactness contract against the naive serial loop."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kexue.corpora import ReadStats, load_inews, open_corpus
from kexue.corpora.sources import Shard
from kexue.parallel import WorkerError
from kexue.text import Tokenizer, count_words, naive_count, write_counts
from kexue.text.counting import batches, plan_work

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
       shard_bytes=st.integers(1, 200), ordered=st.booleans())
def test_serial_engine_equals_naive_loop(tmp_path, lines, spec, shard_bytes, ordered):
    path = _write(tmp_path, lines)
    result = count_words([path], spec, workers=0, shard_bytes=shard_bytes, ordered=ordered)
    expected = _reference(path, spec)
    assert dict(result.counts) == expected
    assert result.tokens == sum(expected.values()) and result.vocabulary == len(expected)
    assert all(token.strip() for token in result.counts)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, spec=st.sampled_from(["jieba", "rjieba", "char", "regex"]),
       workers=st.integers(1, 3), ordered=st.booleans(), shard_bytes=st.integers(1, 300))
def test_process_engine_equals_naive_loop(tmp_path, lines, spec, workers, ordered, shard_bytes):
    path = _write(tmp_path, lines)
    result = count_words([path], spec, workers=workers, ordered=ordered,
                         shard_bytes=shard_bytes, max_in_flight=2)
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
    result = count_words([path], "jieba", workers=2, shard_bytes=8000)
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
        count_words([path], "builtins:int", workers=2, shard_bytes=1, ordered=True)
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


@pytest.mark.parametrize("workers", [0, 2])
def test_progress_reports_running_totals_once_per_shard(tmp_path, workers):
    path = _write(tmp_path, ["ab"] * 10)  # 29 bytes; 9-byte shards: lines 1-4, 5-8, 9-10
    seen = []
    count_words([path], "char", workers=workers, shard_bytes=9,
                progress=lambda *a: seen.append(a))
    assert len(seen) == 3 and seen[-1] == (10, 20)
    steps = [b - a for (a, _), (b, _) in zip([(0, 0)] + seen[:-1], seen, strict=True)]
    assert sorted(steps) == [2, 4, 4]


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


# ----------------------------------------------------------------- shards read by workers
def _whole_read(sources, **kwargs):
    """Lines and stats of one serial read of the sources (the reference)."""
    corpus = open_corpus(sources, **kwargs)
    return list(corpus.lines()), corpus.stats


def _sharded_read(sources, shard_bytes, **kwargs):
    """Lines and stats of the shards read one by one, in order, as workers would read them."""
    corpus = open_corpus(sources, **kwargs)
    total = ReadStats()
    lines = []
    groups = list(plan_work(corpus, workers=2, shard_bytes=shard_bytes, ordered=True))
    for shard in (shard for group in groups for shard in group):
        stats = ReadStats()
        lines.extend(shard.lines(stats, encoding_errors=corpus.encoding_errors,
                                 max_line_chars=corpus.max_line_chars))
        total.add(stats)
    return lines, total


PIECES = ["北京", "大学生", "a b", " ", "，", "\r", "\r\n", "\n", "\n", "\ufeff", "\xff",
          "\xe4\xb8", "x" * 30]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=40), shard_bytes=st.integers(1, 40),
       bom=st.booleans(), policy=st.sampled_from(["replace", "skip-line"]),
       limit=st.sampled_from([16, 1000]))
def test_byte_range_shards_read_exactly_the_whole_file(tmp_path, pieces, shard_bytes, bom,
                                                        policy, limit):
    # Raw bytes: CRLF, lone CR, BOMs mid-file, invalid and truncated UTF-8, overlong lines.
    data = (b"\xef\xbb\xbf" if bom else b"") + b"".join(
        p.encode("latin-1") if p in ("\xff", "\xe4\xb8") else p.encode() for p in pieces)
    path = tmp_path / "raw.txt"
    path.write_bytes(data)
    kwargs = {"encoding_errors": policy, "max_line_chars": limit}
    lines, stats = _whole_read([path], **kwargs)
    assert _sharded_read([path], shard_bytes, **kwargs) == (lines, stats)


def test_shards_of_embedded_and_packaged_corpora_read_exactly_the_whole(tmp_path):
    lines, stats = _whole_read(["inews:dev", "reviews"])
    sharded, sharded_stats = _sharded_read(["inews:dev", "reviews"], 300_000)
    assert sharded == lines and sharded_stats == stats
    shards = [shard for source in open_corpus(["inews:dev", "reviews"]).sources
              for shard in source.shards(300_000)]
    assert len(shards) > 6 and all(isinstance(shard, Shard) for shard in shards)
    assert sum(shard.stop - shard.start for shard in shards if shard.source.name != "inews:dev") \
        == sum(os.path.getsize(shard.source.path) for shard in shards if shard.start == 0
               and shard.source.name != "inews:dev")
    groups = list(plan_work(open_corpus(["inews:dev", "reviews"]), workers=2,
                            shard_bytes=300_000))
    loads = [sum(shard.size for shard in group) for group in groups]
    assert sorted(id(s) for g in groups for s in g) == sorted(set(id(s) for g in groups for s in g))
    assert sum(len(group) for group in groups) == len(shards) and len(groups) < len(shards)
    # guided self-scheduling: a group of several shards holds at most a quarter of what
    # remained before it (2 workers), and the groups end with single shards
    remaining = sum(loads)
    for group, load in zip(groups, loads, strict=True):
        assert len(group) == 1 or load <= remaining / 4
        remaining -= load
    assert len(groups[-1]) == 1 and loads[0] == max(loads)
    lpt = list(plan_work(open_corpus(["inews:dev", "reviews"]), workers=2,
                         shard_bytes=300_000, ordered=True))
    def key(shard):
        return shard.source.name, shard.start, shard.stop

    assert len(lpt) == 8 and [key(s) for g in lpt for s in g] == [key(s) for s in shards]


def test_folder_of_plain_gzip_and_jsonl_files_counts_exactly(tmp_path):
    import gzip

    lines = list(open_corpus("inews:dev").lines())[:3000]
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("\n".join(lines[:1000]), encoding="utf-8")
    with gzip.open(folder / "sub" / "b.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\r\n".join(lines[1000:2000]))
    (folder / "c.jsonl").write_text(
        "".join(json.dumps({"text": line}, ensure_ascii=False) + "\n\n"
                for line in lines[2000:]), encoding="utf-8")
    expected = naive_count(lines, Tokenizer("rjieba"))
    _, stats = _whole_read([folder])
    for workers in (0, 2):
        result = count_words([folder], "rjieba", workers=workers, shard_bytes=20_000)
        assert result.counts == Counter(expected)
        assert result.stats == stats and result.stats.documents == 1 + 1 + 1000


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_bad_record_in_a_late_shard_names_its_true_line(tmp_path, workers, newline):
    bad = 877
    records = [json.dumps({"text": f"第{i}行"}, ensure_ascii=False) for i in range(1, 1200)]
    records[bad - 1] = '{"text": 5}'
    path = tmp_path / "r.jsonl"
    path.write_bytes(newline.join(records).encode() + b"\n")
    # Independent reference: the line as an editor numbers it.
    assert path.read_text(encoding="utf-8").splitlines()[bad - 1] == '{"text": 5}'
    with pytest.raises(ValueError, match=rf"r\.jsonl:{bad}: field 'text' must be a string"):
        count_words([path], "char", workers=workers, shard_bytes=500)


def test_invalid_utf8_in_a_late_shard_names_its_true_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"ok\n" * 500 + b"\r\n" * 10 + b"bad \xff\n" + b"ok\n" * 50)
    with pytest.raises(ValueError, match=r"t\.txt:511: invalid UTF-8"):
        count_words([path], "char", workers=2, shard_bytes=100, encoding_errors="strict")


def test_standard_input_is_read_by_the_caller_and_mixed_with_shards(tmp_path, monkeypatch):
    import io
    import sys

    lines = list(open_corpus("inews:dev").lines())[:400]
    path = _write(tmp_path, lines[200:])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        "\n".join(lines[:200]).encode())))
    result = count_words(["-", path], "char", workers=2, batch_lines=30, shard_bytes=2000)
    assert result.counts == Counter(naive_count(lines, Tokenizer("char")))
    assert result.stats.lines == 400 and result.stats.documents == 2


def test_count_shard_separates_input_errors_from_tokenizer_errors(tmp_path):
    from kexue.corpora.sources import Shard as ShardType
    from kexue.corpora.sources import TextFileSource
    from kexue.text.counting import InputError, count_shard

    path = tmp_path / "gen.txt"
    path.write_bytes(b"1\n\xff\n")
    shard = ShardType(TextFileSource(path))
    with pytest.raises(InputError, match=r"gen\.txt:2: invalid UTF-8"):
        count_shard(Tokenizer("char"), shard, encoding_errors="strict")
    with pytest.raises(TypeError):
        count_shard(Tokenizer("builtins:int"), shard)


def test_the_parent_reads_no_file_text_when_workers_count(tmp_path, monkeypatch):
    import multiprocessing

    from kexue.corpora.sources import TextFileSource

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patch below reaches the workers only through fork")
    parent = os.getpid()
    original = TextFileSource.read_shard

    def read_shard(self, *args, **kwargs):
        assert os.getpid() != parent, "the parent read a shard"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TextFileSource, "read_shard", read_shard)
    lines = ["北京大学生前来应聘", "我们中出了一个叛徒"] * 300
    path = _write(tmp_path, lines)
    result = count_words([path], "char", workers=2, shard_bytes=500)
    assert result.counts == Counter(naive_count(lines, Tokenizer("char")))
    with pytest.raises(WorkerError, match="the parent read a shard"):
        count_words([path], "char", workers=0)

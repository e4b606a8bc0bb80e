"""The Dask engine on a real LocalCluster: same counts as the naive loop."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from kexue.corpora import open_corpus
from kexue.text import Tokenizer, count_words, naive_count

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("spec", ["rjieba", "regex"])
def test_dask_threads_cluster_equals_naive(client, spec, ordered):
    expected = naive_count(open_corpus("inews:dev").lines(), Tokenizer(spec))
    result = count_words("inews:dev", spec, engine="dask", client=client, ordered=ordered,
                         batch_chars=100_000, max_in_flight=3)
    assert result.counts == Counter(expected)
    assert result.engine == "dask" and result.stats.documents == 999


@pytest.mark.timeout(120)
def test_dask_worker_error_names_batch(client, tmp_path):
    from kexue.parallel import WorkerError

    path = tmp_path / "n.txt"
    path.write_text("1\n2\nnot a number\n", encoding="utf-8")
    with pytest.raises(WorkerError) as info:
        count_words([path], "builtins:int", engine="dask", client=client, shard_bytes=1,
                    ordered=True)
    assert info.value.index in (0, 2) and "int" in info.value.traceback


@pytest.mark.timeout(240)
def test_dask_own_local_cluster_with_processes(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("北京大学生前来应聘\n我们中出了一个叛徒\n" * 200, encoding="utf-8")
    result = count_words([path], "jieba", engine="dask", workers=2, shard_bytes=1000)
    assert dict(result.counts) == naive_count(open_corpus([path]).lines(), Tokenizer("jieba"))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("ordered", [False, True])
def test_dask_reads_shards_of_written_files_exactly_as_local(client, tmp_path, ordered):
    import gzip
    import json

    lines = list(open_corpus("reviews").lines())[:4000]
    (tmp_path / "a.txt").write_text("\r\n".join(lines[:1500]), encoding="utf-8")
    with gzip.open(tmp_path / "b.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines[1500:3000]))
    (tmp_path / "c.jsonl").write_text("\n".join(
        json.dumps({"text": line}, ensure_ascii=False) for line in lines[3000:]),
        encoding="utf-8")
    local = count_words([tmp_path], "rjieba", workers=0, shard_bytes=10_000)
    remote = count_words([tmp_path], "rjieba", engine="dask", client=client,
                         shard_bytes=10_000, ordered=ordered, max_in_flight=3)
    assert remote.counts == local.counts == Counter(naive_count(lines, Tokenizer("rjieba")))
    assert remote.stats == local.stats and remote.stats.lines == 4000


@pytest.mark.timeout(120)
def test_dask_bad_record_is_a_value_error_naming_file_and_line(client, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(['{"text": "好"}'] * 300 + ['{"txt": "x"}']), encoding="utf-8")
    with pytest.raises(ValueError, match=r"r\.jsonl:301: record has no field 'text'"):
        count_words([path], "char", engine="dask", client=client, shard_bytes=1000)

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
        count_words([path], "builtins:int", engine="dask", client=client, batch_lines=1,
                    ordered=True)
    assert info.value.index in (0, 2) and "int" in info.value.traceback


@pytest.mark.timeout(240)
def test_dask_own_local_cluster_with_processes(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("北京大学生前来应聘\n我们中出了一个叛徒\n" * 200, encoding="utf-8")
    result = count_words([path], "jieba", engine="dask", workers=2, batch_lines=50)
    assert dict(result.counts) == naive_count(open_corpus([path]).lines(), Tokenizer("jieba"))

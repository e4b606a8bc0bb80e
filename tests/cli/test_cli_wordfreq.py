"""``kexue wordfreq``: options, outputs, exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.corpora import open_corpus
from kexue.text import Tokenizer, naive_count

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["wordfreq", *map(str, args)])


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "news.txt"
    path.write_text("北京大学生前来应聘\n我们中出了一个叛徒\n\n北京 北京\n", encoding="utf-8")
    return path


def _expected(path, spec="jieba"):
    return Counter(naive_count(open_corpus([path]).lines(), Tokenizer(spec)))


def test_tsv_output_is_exact_and_sorted(corpus_file, tmp_path):
    out = tmp_path / "counts.tsv"
    result = _run(corpus_file, "-j", "0", "--out", out, "--top", "3")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    counts = {token: int(n) for token, n in rows}
    assert counts == _expected(corpus_file)
    assert [(-int(n), t) for t, n in rows] == sorted((-int(n), t) for t, n in rows)
    assert "北京" in result.stdout and "chars/s" in result.stdout and "documents" in result.stdout


def test_json_output_and_json_summary(corpus_file, tmp_path):
    out = tmp_path / "counts.json"
    result = _run(corpus_file, "-t", "char", "-j", "2", "--out", out, "--json", "--top", "2",
                  "--min-count", "2")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = {t: n for t, n in _expected(corpus_file, "char").items() if n >= 2}
    assert json.loads(out.read_text(encoding="utf-8")) == expected
    summary = payload["summary"]
    assert summary["documents"] == 1 and summary["lines"] == 4
    assert summary["characters"] == len("北京大学生前来应聘我们中出了一个叛徒北京 北京")
    # Four lines make one batch: one worker process is started, not the two asked for.
    assert summary["reported"] == len(expected) and summary["workers"] == 1
    assert payload["top"][0] == ["京", 3]


@pytest.mark.parametrize("args,needle", [
    (["missing_file.txt"], "missing_file.txt"),
    (["inews", "nope/dir/x.jsonl"], "nope/dir/x.jsonl"),
    (["wikipedia"], "'wikipedia'"),
    (["inews", "--tokenizer", "spacy"], "`--tokenizer` must be one of"),
    (["inews", "--encoding-errors", "ignore"], "'ignore' is not one of"),
    (["inews", "--engine", "spark"], "'spark' is not one of"),
    (["inews", "--scheduler", "tcp://x:1"], "--scheduler needs --engine dask"),
    (["inews", "--out", "counts.csv"], "--out must end in .tsv"),
    (["inews", "--out", "no/such/dir/c.tsv"], "does not exist"),
])
def test_bad_usage_exits_2_before_work(args, needle):
    result = _run(*args)
    assert result.exit_code == 2
    assert needle in result.output


def test_bad_utf8_is_reported(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good\n\xff\xfebad\nok\n")
    result = _run(path, "-t", "regex", "-j", "0")
    assert result.exit_code == 0
    assert "1 line had invalid UTF-8" in result.output and "bad.txt (1)" in result.output
    result = _run(path, "-t", "regex", "-j", "0", "--encoding-errors", "skip-line", "--json")
    assert json.loads(result.stdout)["summary"]["tokens"] == 2


def test_strict_failure_keeps_previous_output(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good\n\xff\xfebad\n")
    out = tmp_path / "counts.tsv"
    out.write_text("previous\t1\n", encoding="utf-8")
    result = _run(path, "-j", "0", "--encoding-errors", "strict", "--out", out)
    assert result.exit_code == 2
    assert "bad.txt:2: invalid UTF-8" in result.output
    assert out.read_text(encoding="utf-8") == "previous\t1\n"
    assert sorted(os.listdir(tmp_path)) == ["bad.txt", "counts.tsv"]


def test_interrupted_write_leaves_no_partial_file(tmp_path):
    from kexue.text import write_counts

    out = tmp_path / "counts.tsv"
    out.write_text("previous\t1\n", encoding="utf-8")

    def items():
        yield ("a", 2)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_counts(items(), out)
    assert out.read_text(encoding="utf-8") == "previous\t1\n"
    assert os.listdir(tmp_path) == ["counts.tsv"]


def test_worker_failure_exits_1(corpus_file):
    result = _run(corpus_file, "-t", "builtins:int", "-j", "1")
    assert result.exit_code == 1
    assert "counting failed" in result.output


def test_folder_and_jsonl_field(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("alpha beta", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"body": "beta gamma"}\n', encoding="utf-8")
    result = _run(tmp_path, "-t", "regex", "-j", "0", "--field", "body", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert dict(payload["top"]) == {"beta": 2, "alpha": 1, "gamma": 1}
    assert payload["summary"]["documents"] == 2


@pytest.mark.timeout(240)
def test_dask_engine_local_cluster(corpus_file):
    result = _run(corpus_file, "--engine", "dask", "-j", "1", "--json", "-t", "rjieba")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert dict(payload["top"]) == dict(_expected(corpus_file, "rjieba").most_common(20))
    assert payload["summary"]["engine"] == "dask"


def test_subprocess_entry_point_and_no_keras(corpus_file):
    code = ("import sys; from kexue.cli.main import main; sys.argv=['kexue','wordfreq',"
            f"{str(corpus_file)!r},'-j','0','--json']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('keras','jax','torch','tensorflow')]\nprint(bad, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["documents"] == 1
    assert done.stderr.strip().endswith("[]")

"""Corrupt and truncated compressed files, empty folders and standard input as sources."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.corpora import open_corpus

runner = CliRunner()
TEXT = ("北京 words and more words\n" * 3000).encode()


def _corrupt_files(folder):
    packed = gzip.compress(TEXT)
    files = {
        "truncated.txt.gz": (packed[: len(packed) // 2], "truncated gzip"),
        "random.txt.gz": (b"\x13\x37" * 100, "not a valid gzip"),
        "random.xz": (b"not xz at all" * 10, "not a valid xz"),
        "truncated.txt.xz": (lzma.compress(TEXT)[:-20], "truncated xz"),
        "random.txt.bz2": (b"BZh9" + b"\x00" * 50, "not a valid bzip2"),
        "truncated.jsonl.bz2": (bz2.compress(b'{"text": "a"}\n' * 3000)[:-10], "bzip2"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {folder / name: message for name, (_, message) in files.items()}


def test_corrupt_containers_raise_value_error_naming_file_and_fault(tmp_path):
    for path, message in _corrupt_files(tmp_path).items():
        corpus = open_corpus(path)
        with pytest.raises(ValueError, match=message) as info:
            sum(1 for _ in corpus.lines())
        assert str(path) in str(info.value)
        with pytest.raises(ValueError, match=message):
            list(corpus.documents())


def test_cli_exits_2_and_writes_nothing(tmp_path):
    files = _corrupt_files(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    for path, message in files.items():
        for workers in ("0", "2"):
            result = runner.invoke(app, ["wordfreq", str(path), "-t", "char", "-j", workers,
                                         "-o", str(tmp_path / "counts.tsv")])
            assert result.exit_code == 2, result.output
            assert str(path) in result.stderr and message in result.stderr
            assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_empty_folder_is_an_error_not_zero_documents(tmp_path):
    with pytest.raises(ValueError, match="holds no .txt or .jsonl files"):
        open_corpus(tmp_path)
    result = runner.invoke(app, ["wordfreq", str(tmp_path)])
    assert result.exit_code == 2 and str(tmp_path.name) in result.stderr


def test_standard_input_as_a_source_and_standard_output_as_the_target():
    result = runner.invoke(app, ["wordfreq", "-", "-t", "regex:\\S+", "-j", "2", "-o", "-"],
                           input=b"b a b\nc [/x]\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "b\t2\n[/x]\t1\na\t1\nc\t1\n"
    assert "top 4 tokens" in result.stderr and "documents" in result.stderr
    result = runner.invoke(app, ["wordfreq", "-", "-"], input=b"x")
    assert result.exit_code == 2 and "once" in result.stderr
    result = runner.invoke(app, ["wordfreq", "-", "-o", "-", "--json"], input=b"x")
    assert result.exit_code == 2 and "--json" in result.stderr

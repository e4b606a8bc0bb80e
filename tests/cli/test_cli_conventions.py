"""Conventions every command follows: -h, python -m kexue, completion, verbatim user text,
one error -> exit 2 naming the flag, plural wording, table quirks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from kexue.cli._common import markup_safe, name_flags, visible
from kexue.cli.main import app
from kexue.text import Tokenizer, count_words

runner = CliRunner()


def test_help_short_option_module_entry_and_completion():
    for args in (["-h"], ["ellipse", "-h"], ["wordfreq", "-h"], ["hsic", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.stdout, args
    assert "--show-completion" in runner.invoke(app, ["--help"]).stdout
    done = subprocess.run([sys.executable, "-m", "kexue", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("kexue ")


def test_user_text_is_shown_verbatim_and_harmless():
    assert visible("a\x1b[31mb\u202ec\rd") == "a\\x1b[31mb\\u202ec\\x0dd"
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(markup_safe("[red]x[/red] a [/i] \x1b[2J"))
    assert console.export_text().strip() == "[red]x[/red] a [/i] \\x1b[2J"


def test_tokens_with_markup_and_escapes_in_the_table(tmp_path):
    corpus = tmp_path / "m.txt"
    corpus.write_text("a [/x] b\n[red]tok[/red] \x1b[31mred\n", encoding="utf-8")
    result = runner.invoke(app, ["wordfreq", str(corpus), "-t", "regex:\\S+", "-j", "0",
                                 "-o", str(tmp_path / "c.tsv")])
    assert result.exit_code == 0, result.output
    assert "[/x]" in result.stdout and "[red]tok[/red]" in result.stdout
    assert "\x1b" not in result.stdout and "\\x1b[31mred" in result.stdout
    # The written counts keep the data exactly.
    assert "\x1b[31mred\t1" in (tmp_path / "c.tsv").read_text(encoding="utf-8")


def test_markup_in_a_file_name_does_not_break_the_error_message(tmp_path):
    folder = tmp_path / "x["
    folder.mkdir()
    missing = folder / "i] [bold]data.csv"   # the path reads ".../x[/i] [bold]data.csv"
    result = runner.invoke(app, ["hsic", str(missing), "--x", "a", "--y", "b"])
    assert result.exit_code == 2
    assert "x[/i] [bold]data.csv" in result.stderr


def test_errors_name_the_flag_not_the_python_parameter(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b\n", encoding="utf-8")
    result = runner.invoke(app, ["wordfreq", str(corpus), "--encoding-errors", "bogus"])
    assert result.exit_code == 2 and "--encoding-errors" in result.stderr
    assert "encoding_errors" not in result.stderr
    assert name_flags("max_line_chars must be >= 16", {"max_line_chars": "--max-line-chars"}) \
        == "--max-line-chars must be >= 16"


def test_user_dictionary_that_is_a_directory_or_binary(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b\n", encoding="utf-8")
    binary = tmp_path / "dict.bin"
    binary.write_bytes(bytes(range(256)))
    nul = tmp_path / "dict.txt"
    nul.write_bytes(b"word\x00\x00 3\n")
    for path, message in ((tmp_path, "is a directory"), (binary, "not a UTF-8 text file"),
                          (nul, "a binary file")):
        result = runner.invoke(app, ["wordfreq", str(corpus), "--user-dict", str(path)])
        assert result.exit_code == 2 and message in result.stderr, result.output


def test_plural_wording_and_worker_count(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"ok\n\xff bad\n")
    (tmp_path / "b.txt").write_text("x\n", encoding="utf-8")
    result = runner.invoke(app, ["wordfreq", str(tmp_path / "a.txt"), str(tmp_path / "b.txt"),
                                 "-t", "char", "-j", "200", "-o", str(tmp_path / "n.json")])
    assert result.exit_code == 0, result.output
    assert "1 line had invalid UTF-8" in result.stderr
    # Two files are two shards, so two worker processes, not 200 (no idle workers).
    assert "(2 workers)" in result.stdout
    result = runner.invoke(app, ["wordfreq", str(tmp_path / "b.txt"), "-t", "char", "-j", "200",
                                 "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert "(1 worker)" in result.stdout  # the singular
    assert "lines had" not in result.stderr


def test_callable_tokenizer_and_its_pickling(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("x y x\n", encoding="utf-8")
    serial = count_words(path, str.split, workers=0)
    assert serial.counts == {"x": 2, "y": 1} and serial.tokenizer == "builtins:str.split"
    import pickle

    assert pickle.loads(pickle.dumps(Tokenizer(str.split)))("a b") == ["a", "b"]
    with pytest.raises(ValueError, match="user_dict"):
        Tokenizer(str.split, tmp_path)


def test_table_quirks(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(30)
    rows = "\n".join(f"{a},note {i},{a * a}" for i, a in enumerate(x))
    bom = tmp_path / "bom.csv"
    bom.write_text("\ufeffa,text,b\n" + rows + "\n", encoding="utf-8")
    result = runner.invoke(app, ["hsic", str(bom), "--x", "a", "--y", "b", "--json"])
    assert result.exit_code == 0, result.output
    by_name = json.loads(result.stdout)["statistic"]
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pyarrow.table({"a": x, "text": [f"note {i}" for i in range(30)], "b": x * x})
    pq.write_table(table, tmp_path / "d.parquet")
    for path in (bom, tmp_path / "d.parquet"):
        result = runner.invoke(app, ["hsic", str(path), "--x", "0", "--y", "2", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["statistic"] == pytest.approx(by_name, rel=1e-12)
        result = runner.invoke(app, ["hsic", str(path), "--x", "1", "--y", "2"])
        assert result.exit_code == 2 and "--x" in result.stderr and "text" in result.stderr

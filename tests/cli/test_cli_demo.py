"""``kexue demo``: counts the embedded corpus with jieba by calling the library."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import kexue.text
from kexue.cli.main import app

runner = CliRunner()


def _recording(monkeypatch, redirect: str | None = None):
    """Wrap ``kexue.text.count_words``: record each call and its result (optionally counting
    a small corpus instead, to keep the fast test fast)."""
    real = kexue.text.count_words
    calls = []

    def count_words(sources, tokenizer, **kwargs):
        result = real(redirect or sources, tokenizer, **{**kwargs, "workers": 0}
                      if redirect else kwargs)
        calls.append(((sources, tokenizer), kwargs, result))
        return result

    monkeypatch.setattr(kexue.text, "count_words", count_words)
    return calls


def _printed_count(result, rank: int = 0) -> str:
    return f"{result.top(rank + 1)[rank][1]:,}"


def test_demo_calls_count_words_on_the_embedded_corpora(monkeypatch):
    calls = _recording(monkeypatch, redirect="inews:dev")
    result = runner.invoke(app, ["demo", "--top", "5", "-j", "2"])
    assert result.exit_code == 0, result.output
    ((args, kwargs, counts),) = calls
    assert args == ("embedded", "jieba") and kwargs["workers"] == 2
    assert "top 5 tokens (jieba)" in result.stdout
    # what is printed is what the library counted in this run (no hard-coded count)
    assert counts.top(1)[0][0] in result.stdout and _printed_count(counts) in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_real_run(monkeypatch):
    calls = _recording(monkeypatch)
    result = runner.invoke(app, ["demo", "--top", "20"])
    assert result.exit_code == 0, result.output
    ((_, _, counts),) = calls
    assert counts.stats.documents > 0 and "chars/s" in result.stdout
    for rank in range(3):
        assert counts.top(3)[rank][0] in result.stdout
        assert _printed_count(counts, rank) in result.stdout

"""``kexue demo``: counts the embedded corpus with the default tokenizer."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app

runner = CliRunner()


def test_demo_counts_embedded_with_jieba(monkeypatch):
    import kexue.cli.wordfreq as wordfreq_module

    calls = []
    monkeypatch.setattr(wordfreq_module, "wordfreq", lambda **kwargs: calls.append(kwargs))
    result = runner.invoke(app, ["demo", "--top", "5", "-j", "2"])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["sources"] == ["embedded"] and call["tokenizer"] == "jieba"
    assert call["top"] == 5 and call["workers"] == 2 and call["out"] is None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_real_run():
    result = runner.invoke(app, ["demo", "--top", "20"])
    assert result.exit_code == 0, result.output
    for needle in ("top 20 tokens (jieba)", "的", "61,961", "chars/s"):
        assert needle in result.stdout

"""``kexue demo``: kexue's main job on its embedded data."""

from __future__ import annotations

import typer


def demo(
    top: int = typer.Option(20, "--top", min=1, help="How many of the most frequent words "
                                                     "to show."),
    workers: int | None = typer.Option(None, "--workers", "-j", min=0,
                                       help="Worker processes (default: the core count)."),
) -> None:
    """Count word frequencies over the embedded Chinese corpora (about 13.4 M characters of
    news, People's Daily and reviews) with jieba and show the top words and the throughput."""
    from kexue.cli.wordfreq import wordfreq

    wordfreq(sources=["embedded"], tokenizer="jieba", user_dict=None, workers=workers,
             min_count=1, top=top, out=None, engine="local", scheduler=None,
             encoding_errors="replace", field="text", max_line_chars=1_000_000,
             ordered=False, start_method=None, as_json=False)

"""``kexue demo``: kexue's main job on its embedded data."""

from __future__ import annotations

import typer


def demo(
    top: int = typer.Option(20, "--top", min=1, help="How many of the most frequent words to show."),
) -> None:
    """Count word frequencies over the embedded Chinese corpora and show the top words."""
    from kexue.cli.wordfreq import wordfreq

    wordfreq(sources=["embedded"], top=top)

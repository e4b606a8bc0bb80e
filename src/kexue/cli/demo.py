"""``kexue demo``: kexue's main job on its embedded data."""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def demo(
    top: Annotated[int, typer.Option(
        "--top", min=1, help="How many of the most frequent words to show.")] = 20,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", min=0, help="Worker processes (default: the core count).")] = None,
) -> None:
    """Count word frequencies over the embedded Chinese corpora (about 13.4 M characters of
    news, People's Daily and reviews) with jieba and show the top words and the throughput."""
    from kexue.cli._common import fail, user_errors
    from kexue.cli.wordfreq import _FLAGS, _Progress, _report
    from kexue.parallel import WorkerCrashed, WorkerError
    from kexue.text import count_words

    with user_errors(_FLAGS), _Progress(enabled=sys.stderr.isatty()) as progress:
        try:
            result = count_words("embedded", "jieba", workers=workers, progress=progress)
        except (WorkerError, WorkerCrashed) as exc:
            raise fail(f"counting failed: {exc}", code=1) from None
    _report(result, top=top, as_json=False, out=None)

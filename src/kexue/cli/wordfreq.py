"""``kexue wordfreq``: exact word frequencies over files, folders and embedded corpora."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def wordfreq(
    sources: list[str] = typer.Argument(
        ..., metavar="SOURCE",
        help="Files (.txt, .jsonl, optionally .gz/.bz2/.xz), folders (walked recursively), "
             "or embedded corpora: inews, inews:train|dev|test, peoples-daily, reviews, "
             "embedded."),
    tokenizer: str = typer.Option(
        "jieba", "--tokenizer", "-t",
        help="jieba, rjieba, char, regex, regex:PATTERN, or module:function."),
    user_dict: Path | None = typer.Option(
        None, "--user-dict",
        help="jieba user dictionary: a word, optionally its frequency and tag, per line."),
    workers: int | None = typer.Option(
        None, "--workers", "-j", min=0,
        help="Worker processes (default: the core count; 0: serial in this process)."),
    min_count: int = typer.Option(1, "--min-count", min=1,
                                  help="Drop tokens counted fewer times."),
    top: int = typer.Option(20, "--top", "-k", min=0, help="Rows of the table printed."),
    out: Path | None = typer.Option(
        None, "--out", "-o",
        help="Write all counts: .tsv/.txt (token<TAB>count) or .json; atomic."),
    engine: str = typer.Option("local", "--engine", help="local or dask."),
    scheduler: str | None = typer.Option(
        None, "--scheduler",
        help="Dask scheduler address (tcp://host:8786); default: a LocalCluster."),
    encoding_errors: str = typer.Option(
        "replace", "--encoding-errors",
        help="Invalid UTF-8: replace (U+FFFD), skip-line, or strict (fail)."),
    field: str = typer.Option("text", "--field", help="JSONL field holding the text "
                                                      "(dotted path for nested objects)."),
    max_line_chars: int = typer.Option(
        1_000_000, "--max-line-chars", min=16,
        help="Longer lines are split at whitespace/punctuation so no token is cut."),
    ordered: bool = typer.Option(False, "--ordered/--unordered",
                                 help="Merge batches in input or completion order."),
    start_method: str | None = typer.Option(
        None, "--start-method", help="fork, spawn or forkserver (default: the platform's)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary and top-K as JSON."),
) -> None:
    """Count word frequencies exactly, in parallel, over SOURCE... and print the top words."""
    from kexue.cli._common import fail, user_errors
    from kexue.corpora import open_corpus
    from kexue.parallel import WorkerCrashed, WorkerError
    from kexue.text import Tokenizer, count_words, output_kind, write_counts

    if engine not in ("local", "dask"):
        raise fail(f"--engine must be local or dask; got {engine!r}")
    if scheduler is not None and engine != "dask":
        raise fail("--scheduler needs --engine dask")
    with user_errors():
        if out is not None:
            output_kind(out)
        tokenize = Tokenizer(tokenizer, user_dict)
        corpus = open_corpus(sources, field=field, encoding_errors=encoding_errors,
                             max_line_chars=max_line_chars)
        with _Progress(enabled=sys.stderr.isatty() and not as_json) as progress:
            try:
                result = count_words(corpus, tokenize, workers=workers, engine=engine,
                                     scheduler=scheduler, ordered=ordered,
                                     start_method=start_method, min_count=min_count,
                                     progress=progress)
            except (WorkerError, WorkerCrashed) as exc:
                raise fail(f"counting failed: {exc}", code=1) from None
        if out is not None:
            write_counts(result.sorted_items(), out)
    _report(result, top=top, as_json=as_json, out=out)


class _Progress:
    """A rich progress display on stderr (or nothing), used as ``progress(lines, chars)``."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(SpinnerColumn(), TextColumn("counting"), BarColumn(),
                            TextColumn("{task.fields[lines]:,} lines, "
                                       "{task.completed:,.0f} chars"),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        self.task = self.bar.add_task("count", total=None, lines=0)
        return self.update

    def update(self, lines: int, characters: int) -> None:
        self.bar.update(self.task, completed=characters, lines=lines)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc_info)


def _report(result, *, top: int, as_json: bool, out: Path | None) -> None:
    summary = result.summary()
    rows = result.top(top) if top else []
    if as_json:
        import json

        payload = {"summary": summary, "top": [[token, count] for token, count in rows]}
        if out is not None:
            payload["out"] = str(out)
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if rows:
        table = Table(title=f"top {len(rows)} tokens ({summary['tokenizer']})")
        table.add_column("rank", justify="right")
        table.add_column("token")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        for rank, (token, count) in enumerate(rows, start=1):
            share = count / summary["tokens"] if summary["tokens"] else 0.0
            table.add_row(str(rank), token, f"{count:,}", f"{share:.2%}")
        console.print(table)
    facts = Table(show_header=False, title="summary")
    facts.add_column("what")
    facts.add_column("value", justify="right")
    for key in ("documents", "lines", "characters", "tokens", "vocabulary"):
        facts.add_row(key, f"{summary[key]:,}")
    if summary["reported"] != summary["vocabulary"]:
        facts.add_row("kept (min count)", f"{summary['reported']:,}")
    facts.add_row("seconds", f"{summary['seconds']:.2f}")
    facts.add_row("chars/s", f"{summary['chars_per_second']:,.0f}")
    facts.add_row("engine", f"{summary['engine']} ({summary['workers']} workers)")
    if summary["split_lines"]:
        facts.add_row("overlong lines split", f"{summary['split_lines']:,}")
    console.print(facts)
    if summary["bad_lines"]:
        affected = sum(summary["bad_lines"].values())
        where = ", ".join(f"{name} ({n})" for name, n in summary["bad_lines"].items())
        Console(stderr=True).print(f"warning: {affected} lines had invalid UTF-8: {where}",
                                   highlight=False, soft_wrap=True)
    if out is not None:
        console.print(f"wrote {summary['reported']:,} counts to {out}")

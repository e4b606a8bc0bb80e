"""``kexue wordfreq``: exact word frequencies over files, folders and embedded corpora."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Engine(str, Enum):
    local = "local"
    dask = "dask"


class EncodingErrors(str, Enum):
    replace = "replace"
    skip_line = "skip-line"
    strict = "strict"


class StartMethod(str, Enum):
    fork = "fork"
    spawn = "spawn"
    forkserver = "forkserver"


def wordfreq(
    sources: Annotated[list[str], typer.Argument(
        metavar="SOURCE",
        help="Files (.txt, .jsonl, optionally .gz/.bz2/.xz), folders (walked recursively), "
             "embedded corpora: inews, inews:train|dev|test, peoples-daily, reviews, "
             "embedded; or - for standard input (read by this process).")],
    tokenizer: Annotated[str, typer.Option(
        "--tokenizer", "-t",
        help="jieba, rjieba, char, regex, regex:PATTERN, or module:function.")] = "jieba",
    user_dict: Annotated[Path | None, typer.Option(
        "--user-dict",
        help="jieba user dictionary: a word, optionally its frequency and tag, per line."),
    ] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-j", min=0,
        help="Worker processes (default: the core count; 0: serial in this process).")] = None,
    min_count: Annotated[int, typer.Option(
        "--min-count", min=1, help="Drop tokens counted fewer times.")] = 1,
    top: Annotated[int, typer.Option("--top", "-k", min=0,
                                     help="Rows of the table printed.")] = 20,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o",
        help="Write all counts: .tsv/.txt (token<TAB>count) or .json; atomic. "
             "'-': TSV to standard output (the tables then go to standard error).")] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="Where to count.")] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786); default: a LocalCluster.")] = None,
    encoding_errors: Annotated[EncodingErrors, typer.Option(
        "--encoding-errors",
        help="Invalid UTF-8: replace (U+FFFD), skip-line, or strict (fail).",
    )] = EncodingErrors.replace,
    field: Annotated[str, typer.Option(
        "--field", help="JSONL field holding the text (dotted path for nested objects).",
    )] = "text",
    max_line_chars: Annotated[int, typer.Option(
        "--max-line-chars", min=16,
        help="Longer lines are split at whitespace/punctuation so no token is cut.",
    )] = 1_000_000,
    ordered: Annotated[bool, typer.Option(
        "--ordered/--unordered",
        help="Merge work units (shards, or batches of standard input) in input or completion "
        "order.")] = False,
    start_method: Annotated[StartMethod | None, typer.Option(
        "--start-method", help="Process start method (default: the platform's).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the summary and top-K as JSON.")] = False,
) -> None:
    """Count word frequencies exactly, in parallel, over SOURCE... and print the top words."""
    from kexue.cli._common import check_outputs, fail, is_stdio, user_errors
    from kexue.corpora import open_corpus
    from kexue.parallel import WorkerCrashed, WorkerError
    from kexue.text import Tokenizer, count_words, write_counts
    from kexue.text.counting import output_kind

    engine, encoding_errors = engine.value, encoding_errors.value
    start_method = None if start_method is None else start_method.value
    if scheduler is not None and engine != "dask":
        raise fail("--scheduler needs --engine dask")
    if sum(is_stdio(source) for source in sources) > 1:
        raise fail("SOURCE '-' (standard input) can be given once only")
    if out is not None and is_stdio(out) and as_json:
        raise fail("--out - and --json both write to standard output: choose one")
    with user_errors(_FLAGS):
        # Every output path is checked before any reading: a clash is found in a second.
        check_outputs([("--out", out)], inputs=[Path(s) for s in sources if Path(s).is_file()],
                      allowed={"--out": (".tsv", ".txt", ".json")}, stdout=["--out"])
        if out is not None and not is_stdio(out):
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


_FLAGS = {"encoding_errors": "--encoding-errors", "max_line_chars": "--max-line-chars",
          "min_count": "--min-count", "workers": "--workers", "field": "--field",
          "tokenizer": "--tokenizer", "user_dict": "--user-dict", "engine": "--engine",
          "start_method": "--start-method", "scheduler": "--scheduler", "sources": "SOURCE",
          "out": "--out"}


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


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
    from kexue.cli._common import is_stdio, json_text, markup_safe

    if as_json:
        payload = {"summary": summary, "top": [[token, count] for token, count in rows]}
        if out is not None:
            payload["out"] = str(out)
        typer.echo(json_text(payload))
        return
    from rich.console import Console
    from rich.table import Table

    # With --out - the counts own standard output; the tables go to standard error.
    console = Console(stderr=out is not None and is_stdio(out))
    if rows:
        table = Table(title=f"top {_plural(len(rows), 'token')} "
                            f"({markup_safe(summary['tokenizer'])})")
        table.add_column("rank", justify="right")
        table.add_column("token")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        for rank, (token, count) in enumerate(rows, start=1):
            share = count / summary["tokens"] if summary["tokens"] else 0.0
            table.add_row(str(rank), markup_safe(token), f"{count:,}", f"{share:.2%}")
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
    facts.add_row("engine", f"{summary['engine']} ({_plural(summary['workers'], 'worker')})")
    if summary["split_lines"]:
        facts.add_row("overlong lines split", f"{summary['split_lines']:,}")
    console.print(facts)
    if summary["bad_lines"]:
        affected = sum(summary["bad_lines"].values())
        where = ", ".join(f"{name} ({n})" for name, n in summary["bad_lines"].items())
        Console(stderr=True).print(
            f"warning: {_plural(affected, 'line')} had invalid UTF-8: {markup_safe(where)}",
            highlight=False, soft_wrap=True)
    if out is not None and not is_stdio(out):
        console.print(f"wrote {_plural(summary['reported'], 'count')} to {markup_safe(out)}",
                      highlight=False)

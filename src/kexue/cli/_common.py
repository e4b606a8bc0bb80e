"""Helpers shared by the CLI command modules (kept import-light)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer

#: exit code for bad usage or bad input (missing file, malformed data), as in Typer/Click.
EXIT_USAGE = 2
#: exit code for a run that failed for another reason.
EXIT_FAILURE = 1


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``message`` to stderr and return a ``typer.Exit`` to raise."""
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn input errors raised by the library into a clear message and exit code 2."""
    try:
        yield
    except (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError, UnicodeDecodeError, LookupError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise typer.Exit(130) from None

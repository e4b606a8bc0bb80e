"""Helpers shared by the CLI command modules (kept import-light).

Two policies live here so that every command follows them:

* **One error, exit 2.** :func:`user_errors` turns what bad input makes the library raise
  (ValueError, a missing or unreadable file, a corrupt compressed file, an overflow) into one
  line on stderr and exit code 2; exit code 1 stays for a run that fails for its own reasons.
  Library messages name Python parameters (```encoding_errors```); given the command's
  ``flags`` the message names the CLI flag (``--encoding-errors``) instead.
* **User text is shown verbatim and harmless.** Every string that came from the user or
  their data (file and column names, tokens, messages quoting them) goes through
  :func:`markup_safe` before rich sees it, or :func:`visible` before it reaches the terminal
  raw: rich markup such as ``[red]`` is escaped, and control characters (ESC sequences,
  carriage returns, bidirectional overrides) are shown as ``\\x1b``-style escapes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import typer

#: exit code for bad usage or bad input (missing file, malformed data), as in Typer/Click.
EXIT_USAGE = 2
#: exit code for a run that failed for another reason.
EXIT_FAILURE = 1

# C0/C1 control characters (tab and newline excepted) and the Unicode bidirectional
# controls, which can reorder or hide what a terminal shows.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069]")
# In JSON, the C0 controls are escaped by json.dumps already; these are not.
_JSON_CONTROL = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape_control(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with control characters replaced by visible escapes (``\\x1b``, ``\\u202e``).

    Example:
        >>> visible("a\\x1b[31mb")
        'a\\\\x1b[31mb'
    """
    return _CONTROL.sub(_escape_control, str(text))


def markup_safe(text: object) -> str:
    """``text`` made safe to embed in rich markup: control characters made visible and
    square brackets escaped, so that ``[red]x[/red]`` prints as typed.

    Example:
        >>> markup_safe("[red]tok[/red]")
        '\\\\[red]tok\\\\[/red]'
    """
    from rich.markup import escape

    return escape(visible(text))


def json_text(payload: object, indent: int | None = None) -> str:
    """``payload`` as strict JSON: NaN and infinities (which are not JSON) become ``null``,
    and the control characters ``json.dumps`` leaves raw (DEL, C1, bidirectional controls)
    are written as ``\\u`` escapes, so the output is safe to print.

    Example:
        >>> json_text({"token": "a\\u202eb", "n": float("nan")})
        '{"token": "a\\\\u202eb", "n": null}'
    """
    import json

    text = json.dumps(_finite(payload), ensure_ascii=False, allow_nan=False, indent=indent)
    return _JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _finite(value: object) -> object:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``message`` (verbatim: no markup, control characters made visible) to stderr
    and return a ``typer.Exit`` to raise."""
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]error:[/] {markup_safe(message)}", highlight=False)
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print ``message`` as a warning on stderr (shown verbatim)."""
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"warning: {markup_safe(message)}",
                                               highlight=False)


def name_flags(message: str, flags: Mapping[str, str]) -> str:
    """Replace Python parameter names in ``message`` by the CLI flags in ``flags``.

    A parameter is recognised in backticks anywhere (```encoding_errors```) or bare at the
    start of the message (``encoding_errors must be ...``).

    Example:
        >>> name_flags("`encoding_errors` must be one of strict, replace",
        ...            {"encoding_errors": "--encoding-errors"})
        '`--encoding-errors` must be one of strict, replace'
    """
    for name, flag in flags.items():
        message = message.replace(f"`{name}`", f"`{flag}`")
        if message.startswith(f"{name} ") or message.startswith(f"{name}:"):
            message = flag + message[len(name):]
    return message


def _corrupt_types() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    return (EOFError, lzma.LZMAError, zlib.error)


@contextlib.contextmanager
def user_errors(flags: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn input errors raised by the library into a clear message and exit code 2.

    Handled: ValueError (bad values, malformed files), OSError (missing, unreadable or
    unwritable files and folders; a corrupt ``.gz``), EOFError, ``lzma.LZMAError`` and
    ``zlib.error`` (truncated or corrupt compressed data), LookupError (an unknown
    encoding or key), UnicodeError, OverflowError and MemoryError (a request too large for
    this machine). ``flags`` maps Python parameter names to the command's CLI flags, so the
    message names the flag the user typed. Ctrl-C exits 130.
    """
    flags = flags or {}
    try:
        yield
    except (ValueError, OSError, LookupError, OverflowError, *_corrupt_types()) as exc:
        raise fail(name_flags(_message(exc), flags)) from None
    except MemoryError as exc:
        raise fail(f"not enough memory for this request ({exc or 'MemoryError'}); "
                   "ask for less") from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise typer.Exit(130) from None


def _message(exc: BaseException) -> str:
    """A one-line description of ``exc`` that names the file where there is one."""
    text = str(exc) or type(exc).__name__
    filename = getattr(exc, "filename", None)
    if isinstance(exc, OSError) and filename is not None and str(filename) not in text:
        text = f"{filename}: {text}"
    if not isinstance(exc, (ValueError, OSError)) or isinstance(exc, EOFError):
        text = f"{text} ({type(exc).__name__})"
    return text


def directory_path(value: str | Path) -> Path:
    """Typer ``parser=`` for folder options (``--run``, ``--out``): ``Path(value)``, but an
    empty value is refused (``Path("")`` would silently mean the current folder); Click
    reports the refusal naming the option, with exit code 2.

    Example:
        >>> directory_path("runs/a").name
        'a'
        >>> try:
        ...     directory_path("")
        ... except typer.BadParameter as exc:
        ...     print(exc)
        an empty path names no folder; give a directory
    """
    if str(value).strip() == "":
        raise typer.BadParameter("an empty path names no folder; give a directory")
    return Path(value)


def is_stdio(path: object) -> bool:
    """Whether a path argument is ``-`` (standard input or output)."""
    return str(path) == "-"


def check_outputs(outputs: Mapping[str, Path | str | None]
                  | Iterable[tuple[str, Path | str | None]],
                  inputs: Iterable[Path | str] = (),
                  allowed: Mapping[str, tuple[str, ...]] | None = None,
                  stdout: Iterable[str] = ()) -> None:
    """Check output paths before any work starts; raise ValueError naming the flag.

    Each output (``{"--stl": path}`` or ``(flag, path)`` pairs; None is skipped) must name
    a file, not be a directory, have an existing folder, not repeat another output or
    overwrite an input, and end in one of its ``allowed`` suffixes. ``-`` (standard output)
    is accepted for the flags in ``stdout`` only.
    """
    seen: dict[Path, str] = {}
    resolved_inputs = {_resolve(Path(p)) for p in inputs if not is_stdio(p)}
    pairs = outputs.items() if isinstance(outputs, Mapping) else outputs
    stdout = set(stdout)
    for flag, path in pairs:
        if path is None:
            continue
        if is_stdio(path):
            if flag in stdout:
                continue
            raise ValueError(f"{flag} cannot write to standard output ('-'); give a file name")
        text = str(path)
        shown = repr(text)
        path = Path(path)
        if text.strip() == "" or path.name in ("", ".", "..") or text.endswith(("/", os.sep)):
            raise ValueError(f"{flag} must name a file; got {shown}")
        suffixes = (allowed or {}).get(flag)
        if suffixes and path.suffix.lower() not in suffixes:
            raise ValueError(f"{flag} must end in {' or '.join(suffixes)}; got {shown}")
        if path.is_dir():
            raise ValueError(f"{flag} {shown} is a directory, not a file")
        if not path.parent.is_dir():
            raise ValueError(f"{flag} {shown}: the folder {str(path.parent)!r} does not exist")
        key = _resolve(path)
        if key in seen:
            both = flag if seen[key] == flag else f"{flag} and {seen[key]}"
            raise ValueError(f"{both} name the same file {shown} twice; give each output "
                             "its own file")
        if key in resolved_inputs:
            raise ValueError(f"{flag} {shown} is also an input file; it would be overwritten")
        seen[key] = flag


def _resolve(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


@contextlib.contextmanager
def staged(paths: list[Path]) -> Iterator[dict[Path, Path]]:
    """All-or-nothing writing of several outputs.

    Yields ``{final path: temporary path}`` (a hidden file beside each target, same
    suffix); the block writes the temporary files. When it succeeds they are renamed onto
    their targets; when it fails they are removed and no target is touched, so one failing
    output of several leaves none of the others behind.
    """
    import uuid

    token = uuid.uuid4().hex[:8]
    temporary = {p: p.with_name(f".{p.stem}.{token}.partial{p.suffix}") for p in paths}
    try:
        yield temporary
        for path, temp in temporary.items():
            os.replace(temp, path)
    finally:
        for temp in temporary.values():
            with contextlib.suppress(OSError):
                temp.unlink()


def progress_enabled(quiet: bool = False) -> bool:
    """Whether to draw a progress bar: stderr is a terminal and no JSON was asked for."""
    return not quiet and sys.stderr.isatty()

"""Entry point of the ``kexue`` command.

Each command lives in its own module under :mod:`kexue.cli`; those modules import only Typer
at import time and load the library inside the command, so ``kexue --help`` stays fast.
Commands are registered one line each below; task command groups are Typer sub-apps added
with ``app.add_typer``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kexue import __version__
from kexue.cli import demo, ellipse, hsic, wordfreq

app = typer.Typer(
    name="kexue",
    help="Su Jianlin's 2019 Scientific Spaces techniques as tools: word counting, title "
    "generation, reading-comprehension QA, entity linking, HSIC, the two-ellipse solid, and "
    "(from Python) Keras 3 layers and optimizers.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kexue {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.",
    )] = False,
) -> None:
    """kexue command line."""


app.command("demo")(demo.demo)
app.command("wordfreq")(wordfreq.wordfreq)
app.command("hsic")(hsic.hsic)
app.command("ellipse")(ellipse.ellipse)

from kexue.cli import link  # noqa: E402  (a Typer sub-app; imports only typer)

app.add_typer(link.app, name="link")

from kexue.cli import qa  # noqa: E402  (a Typer sub-app; imports only typer)

app.add_typer(qa.app, name="qa")

from kexue.cli import title  # noqa: E402  (a Typer sub-app; imports only typer)

app.add_typer(title.app, name="title")


def main() -> None:
    app()

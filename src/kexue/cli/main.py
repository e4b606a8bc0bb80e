"""Entry point of the ``kexue`` command.

Each command lives in its own module under :mod:`kexue.cli`; those modules import only Typer
at import time and load the library inside the command, so ``kexue --help`` stays fast.
"""

from __future__ import annotations

import importlib
import importlib.util

import typer

from kexue import __version__

app = typer.Typer(
    name="kexue",
    help="Su Jianlin's 2019 Scientific Spaces techniques as tools: word counting, HSIC, "
    "the two-ellipse solid, and (from Python) Keras 3 layers and optimizers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: command name -> module defining a function of the same name.
COMMANDS = {
    "demo": "kexue.cli.demo",
    "wordfreq": "kexue.cli.wordfreq",
    "hsic": "kexue.cli.hsic",
    "ellipse": "kexue.cli.ellipse",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kexue {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """kexue command line."""


for _name, _module in COMMANDS.items():
    if importlib.util.find_spec(_module) is not None:
        app.command(_name)(getattr(importlib.import_module(_module), _name))


def main() -> None:
    app()

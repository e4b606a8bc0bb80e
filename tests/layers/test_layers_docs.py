"""docs/layers.md code blocks and the kexue.layers docstring examples run (JAX)."""

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import kexue.layers

DOCS = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def code_blocks():
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(code_blocks())))
def test_docs_example_runs(index, capsys):
    exec(compile(code_blocks()[index], f"docs/layers.md block {index}", "exec"), {})
    printed = capsys.readouterr().out
    assert "False" not in printed


@pytest.mark.slow
def test_docstring_examples_run():
    failures = 0
    for info in pkgutil.iter_modules(kexue.layers.__path__):
        module = importlib.import_module(f"kexue.layers.{info.name}")
        failures += doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed
    assert failures == 0

"""docs/layers.md code blocks run and print their checks (JAX).

The docstring examples run in tests/test_doctests.py.
"""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def code_blocks():
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(code_blocks())))
def test_docs_example_runs(index, capsys):
    exec(compile(code_blocks()[index], f"docs/layers.md block {index}", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.strip(), "the block prints nothing, so nothing it shows is checked"
    assert "False" not in printed


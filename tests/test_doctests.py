"""Every docstring example in ``src/kexue`` runs as a doctest (default run, JAX backend).

One test per module, so a failure names the module; the runner's report (expected vs got)
is the assertion message. Examples must be fast (< 1 s) and print only stable values.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import kexue

MODULES = sorted(info.name for info in pkgutil.walk_packages(kexue.__path__, "kexue."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    for test in finder.find(module, name):
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()

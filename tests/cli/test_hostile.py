"""Hostile input for every command: no traceback, exit 0 or 2, named errors, clean files.

Each command is one entry of :data:`REGISTRY`; its options are read from the Typer app, so
a new option of an existing command is covered at once, and a new command joins with one
entry. Hypothesis draws, per example, one or two parameters and a hostile value for each
(random bytes as files, markup and control characters in names and tokens, extreme and
non-finite numbers, clashing and unwritable output paths, corrupt compressed files), runs
the command in process and asserts (see ``_hostile.check_run``):

* no traceback, and exit code 0 or 2 (1 is for a run that fails for its own reasons);
* on exit 2, a message that names the offending argument (its flag, or the value given);
* valid JSON (no NaN or Infinity) on standard output whenever ``--json`` was given;
* no partial or foreign file: after exit 2 no new file at all, after exit 0 new files only
  where an output option points, with the content its suffix promises;
* input files untouched.

Commands that train get a deliberately invalid data argument (``invalid_base``), so the
default profile only drives them through their argument and input checks; the slow profile
draws more examples and makes one tiny real run of each (``tiny_run``).

Profiles: the default run is deterministic (``derandomize=True``, no example database) and
stays within a minute; ``-m slow`` runs ``SLOW_FACTOR`` times as many examples.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from _hostile import (
    Entry,
    Files,
    build_argv,
    check_run,
    params_of,
    run,
    snapshot,
    value_strategy,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kexue.cli.main import app

# One entry per command. A command group being written (title, qa, link) joins here with one
# line per subcommand; an entry whose command does not exist (yet) is skipped.
REGISTRY: list[Entry] = [
    Entry(("ellipse",), lambda f: {"a": "2", "b": "1"},
          outputs={"png": ".png", "stl": ".stl", "obj": ".obj", "template": ".svg"},
          examples=24),
    Entry(("wordfreq",), lambda f: {"sources": [str(f.corpus)], "tokenizer": "char",
                                    "workers": "0"},
          outputs={"out": ".tsv"}, skip={"engine": ("dask",), "scheduler": None},
          examples=24),
    Entry(("hsic",), lambda f: {"data": str(f.csv), "x": "a", "y": "b"}, examples=24),
    # Every valid demo run counts the 13.4 M-character embedded corpus (a minute): its two
    # options are wordfreq's --top and --workers, whose checks it shares (tests/cli/
    # test_cli_demo.py covers the command itself).
    Entry(("demo",), lambda f: {"workers": "0"}, examples=0, slow_only=True),
    Entry(("link", "make-set"), lambda f: {"out": str(f.root / "set")}, outputs={"out": ""},
          examples=2),
    Entry(("link", "train"), lambda f: {"out": str(f.root / "run"), "data": str(f.missing)},
          outputs={"out": ""}, invalid_base=("data",), examples=6,
          tiny_run=lambda f: {"out": str(f.root / "run"), "epochs": "1", "steps": "2",
                              "train_texts": "50"}),
    Entry(("link", "predict"), lambda f: {"run": str(f.missing), "text": "北京"},
          outputs={"output": ".json"}, invalid_base=("run",), examples=6),
    Entry(("link", "evaluate"), lambda f: {"run": str(f.missing), "data": str(f.ccks)},
          invalid_base=("run",), examples=6),
    Entry(("link", "score"), lambda f: {"predictions": str(f.ccks), "gold": str(f.ccks)},
          examples=8),
    Entry(("link", "candidates"), lambda f: {"data": str(f.missing)},
          invalid_base=("data",), examples=6),
    Entry(("title", "train"), lambda f: {"out": str(f.root / "run"), "data": str(f.missing)},
          outputs={"out": ""}, invalid_base=("data",), examples=6),
    Entry(("title", "generate"), lambda f: {"run": str(f.missing), "text": "北京欢迎你"},
          outputs={"output": ".jsonl"}, invalid_base=("run",), examples=6),
    Entry(("title", "evaluate"), lambda f: {"run": str(f.missing), "data": str(f.jsonl)},
          invalid_base=("run", "data"), examples=6),
    Entry(("title", "score"), lambda f: {"predictions": str(f.corpus),
                                         "references": str(f.corpus)}, examples=8),
    Entry(("qa", "make-cloze"), lambda f: {"out": str(f.root / "cloze"), "limit": "2"},
          outputs={"out": ""}, examples=2),
    Entry(("qa", "train"), lambda f: {"out": str(f.root / "run"), "data": str(f.missing)},
          outputs={"out": ""}, invalid_base=("data",), examples=6,
          tiny_run=lambda f: {"out": str(f.root / "run"), "epochs": "1", "limit": "16",
                              "dim": "8"}),
    Entry(("qa", "answer"), lambda f: {"run": str(f.missing), "question": "谁",
                                       "passage": ["北京欢迎你"]},
          outputs={"output": ".json"}, invalid_base=("run",), examples=6),
    Entry(("qa", "evaluate"), lambda f: {"run": str(f.missing), "data": str(f.ccks)},
          outputs={"predictions": ".json"}, invalid_base=("run", "data"), examples=6),
    Entry(("qa", "score"), lambda f: {"predictions": str(f.ccks), "gold": str(f.ccks)},
          outputs={"lines": ".tsv"}, invalid_base=("predictions", "gold"), examples=6),
]

SLOW_FACTOR = 3
# Deterministic and database-free, so CI sees the same examples on every run. The default
# profile reports a failing example without shrinking it (shrinking reruns slow commands
# many times); the slow profile shrinks it to a minimal one.
_SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=False,
                 suppress_health_check=list(HealthCheck))
_FAST_PHASES = (Phase.explicit, Phase.generate)


def _command(entry: Entry):
    """The click command of ``entry``, or None when the command does not exist yet."""
    import typer.main

    command = typer.main.get_command(app)
    for word in entry.argv:
        commands = getattr(command, "commands", {})
        if word not in commands:
            return None
        command = commands[word]
    return command


def _hostile(entry: Entry, examples: int, shrink: bool = False) -> None:
    command = _command(entry)
    if command is None:
        pytest.skip(f"no command 'kexue {entry.id}' (yet)")
    if examples == 0:
        pytest.skip(f"'kexue {entry.id}' has no cheap runs (see its entry)")
    shrink = shrink and not entry.known_defect
    params = params_of(command)
    mutable = [p for p in params if entry.skip.get(p.name, ()) is not None]

    phases = tuple(Phase) if shrink else _FAST_PHASES

    @settings(max_examples=examples, phases=phases, **_SETTINGS)
    @given(st.data())
    def example(data):
        with tempfile.TemporaryDirectory() as folder:
            files = Files.create(Path(folder).resolve())
            values = dict(entry.base(files))
            chosen = data.draw(st.lists(st.sampled_from(mutable), min_size=1, max_size=2,
                                        unique_by=lambda p: p.name), label="mutated")
            for param in chosen:
                values[param.name] = data.draw(value_strategy(param, entry, files),
                                               label=param.label)
            stdin = data.draw(st.sampled_from([b"", b"a [/i] b\n\x1b[31mx\n",
                                               bytes(range(256))]), label="stdin")
            argv = build_argv(entry, params, values)
            before = snapshot(files.root)
            cwd = os.getcwd()
            os.chdir(files.root)
            try:
                result = run(app, argv, stdin)
            finally:
                os.chdir(cwd)
            check_run(result, entry, params, values, [p.name for p in chosen], files, before)

    example()


def _cases(entries: list[Entry]) -> list:
    return [pytest.param(e, id=e.id, marks=[pytest.mark.xfail(reason=e.known_defect,
                                                               strict=False)]
                         if e.known_defect else []) for e in entries]


@pytest.mark.parametrize("entry", _cases([e for e in REGISTRY if not e.slow_only]))
def test_hostile_input(entry):
    _hostile(entry, entry.examples)


@pytest.mark.slow
@pytest.mark.parametrize("entry", _cases(REGISTRY))
def test_hostile_input_slow(entry):
    _hostile(entry, entry.examples * SLOW_FACTOR, shrink=True)


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in REGISTRY if e.tiny_run], ids=lambda e: e.id)
def test_tiny_real_run(entry, tmp_path):
    """One tiny real run (training included): exit 0, and a run directory that holds a
    complete config and no temporary file."""
    import json

    command = _command(entry)
    if command is None:
        pytest.skip(f"no command 'kexue {entry.id}' (yet)")
    files = Files.create(tmp_path.resolve())
    values = entry.tiny_run(files)
    result = run(app, build_argv(entry, params_of(command), values), b"")
    assert result.exit_code == 0, (result.stdout[-2000:], result.stderr[-2000:])
    for name, suffix in entry.outputs.items():
        if suffix == "" and name in values:
            folder = Path(values[name])
            assert json.loads((folder / "config.json").read_text(encoding="utf-8"))
            leftovers = [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]
            assert not leftovers, leftovers


def test_every_command_is_in_the_registry():
    """A command missing here would escape the harness."""
    import typer.main

    def walk(command, prefix):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*prefix, name))
        else:
            yield prefix

    known = {e.argv for e in REGISTRY}
    missing = [" ".join(c) for c in walk(typer.main.get_command(app), ()) if c not in known]
    assert not missing, f"add an Entry to REGISTRY for: {missing}"

"""Machinery of the hostile-input harness (tests/cli/test_hostile.py).

A command is described by an :class:`Entry`; its options are read from the Typer app itself
(names, types, Enum choices), so a new option is covered without touching the harness. Each
example invokes the command once, in process, with a valid (or deliberately invalid)
baseline and one or two of its parameters replaced by a hostile value of the parameter's
kind, and :func:`check_run` asserts the house rules.
"""

from __future__ import annotations

import bz2
import enum
import gzip
import hashlib
import json
import lzma
import os
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from typer.testing import CliRunner

from kexue.cli._common import visible


@dataclass
class Files:
    """The files every example starts with, in a fresh folder (absolute paths)."""

    root: Path
    csv: Path = None
    bom_csv: Path = None
    npy: Path = None
    corpus: Path = None
    jsonl: Path = None
    folder: Path = None
    empty_folder: Path = None
    random_bytes: Path = None
    empty: Path = None
    truncated_gz: Path = None
    random_gz: Path = None
    random_xz: Path = None
    random_bz2: Path = None
    markup_csv: Path = None
    control_txt: Path = None
    ccks: Path = None
    missing: Path = None

    @classmethod
    def create(cls, root: Path) -> Files:
        rng = np.random.default_rng(0)
        f = cls(root)
        x = rng.standard_normal(40)
        rows = "\n".join(f"{a:.6f},{b:.6f},{c:.6f}" for a, b, c in
                         zip(x, x**2 + 0.1 * rng.standard_normal(40), rng.standard_normal(40),
                             strict=True))
        f.csv = _write(root / "data.csv", "a,b,c\n" + rows + "\n")
        f.bom_csv = _write(root / "bom.csv", "\ufeffa,b,c\n" + rows + "\n")
        f.npy = root / "data.npy"
        np.save(f.npy, np.column_stack([x, x**2]))
        text = "北京大学生前来应聘\n[red]tok[/red] a [/x] b \x1b[31mred\x1b[0m\n\u202eabc\n"
        f.corpus = _write(root / "corpus.txt", text)
        f.jsonl = _write(root / "docs.jsonl", '{"text": "a b [/i]"}\n{"text": "c"}\n')
        f.folder = root / "folder"
        f.folder.mkdir()
        _write(f.folder / "one.txt", "x y x\n")
        f.empty_folder = root / "empty_folder"
        f.empty_folder.mkdir()
        f.random_bytes = root / "random.bin"
        f.random_bytes.write_bytes(rng.bytes(300))
        f.empty = _write(root / "empty.txt", "")
        packed = gzip.compress(("中文 words " * 4000).encode())
        f.truncated_gz = root / "truncated.txt.gz"
        f.truncated_gz.write_bytes(packed[: len(packed) // 2])
        f.random_gz = root / "random.txt.gz"
        f.random_gz.write_bytes(rng.bytes(200))
        f.random_xz = root / "random.xz"
        f.random_xz.write_bytes(lzma.compress(b"x" * 5000)[:40])
        f.random_bz2 = root / "random.txt.bz2"
        f.random_bz2.write_bytes(bz2.compress(b"y" * 5000)[:30])
        # A folder "[red]x[" holding "i] [bold].csv": the path reads "...[red]x[/i] [bold].csv".
        (root / "[red]x[").mkdir()
        f.markup_csv = _write(root / "[red]x[" / "i] [bold].csv", "a,b,c\n" + rows + "\n")
        f.control_txt = _write(root / "e\x1b[31mvil\u202e.txt", "a b\n")
        f.ccks = _write(root / "texts.json", "\n".join(json.dumps(t, ensure_ascii=False) for t in [
            {"text_id": "1", "text": "北京欢迎你", "mention_data": [
                {"kb_id": "110000000000", "mention": "北京", "offset": "0"}]},
            {"text_id": "2", "text": "[red]x[/red]", "mention_data": []}]) + "\n")
        f.missing = root / "no-such" / "file.txt"
        return f

    def inputs(self) -> list[Path]:
        """Every hostile input path, for paths drawn by the strategies."""
        return [self.csv, self.bom_csv, self.npy, self.corpus, self.jsonl, self.folder,
                self.empty_folder, self.random_bytes, self.empty, self.truncated_gz,
                self.random_gz, self.random_xz, self.random_bz2, self.markup_csv,
                self.control_txt, self.ccks, self.missing]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Entry:
    """One command of the harness.

    Args:
        argv: the words that select the command (``("ellipse",)``, ``("link", "train")``).
        base: baseline arguments as ``{param name: value}`` from the example's
            :class:`Files` (a list value for a multi-value argument; True for a flag).
        outputs: parameter name -> the suffix its file should have (``""``: a folder, as
            a run directory). These get output-path hostility (directories, clashes,
            wrong suffixes, standard output) and are the only places new files may appear.
        invalid_base: parameters whose baseline value is invalid on purpose (a command that
            would otherwise train): the run then must end in exit 2, and its message may
            name these instead of the mutated parameter.
        skip: parameter name -> values never generated (for example ones that would start
            a Dask cluster), or None to never mutate the parameter at all.
        examples: how many examples the fast profile spends on this command (the slow
            profile spends ``SLOW_FACTOR`` times as many).
        slow_only: run only in the slow profile (a command whose every run is long).
        tiny_run: arguments of one tiny real run (training included) for the slow profile,
            or None.
        known_defect: a defect the harness found and its owner has not fixed yet: the
            entry's runs are then expected to fail (non-strict xfail, so a fix shows as
            XPASS); the text says what fails.
    """

    argv: tuple[str, ...]
    base: Callable[[Files], dict] = lambda f: {}
    outputs: dict[str, str] = field(default_factory=dict)
    invalid_base: tuple[str, ...] = ()
    skip: dict[str, tuple | None] = field(default_factory=dict)
    examples: int = 10
    slow_only: bool = False
    tiny_run: Callable[[Files], dict] | None = None
    known_defect: str = ""

    @property
    def id(self) -> str:
        return " ".join(self.argv)


@dataclass
class Param:
    """What the harness knows about one parameter of a command."""

    name: str
    opts: list[str]
    kind: str  # float | int | str | path | choice | flag | paths (multi-value argument)
    argument: bool
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.opts[0] if self.opts else self.name.upper()


def _unwrap(annotation):
    """``X | None`` -> X, ``Optional[X]`` -> X, ``Annotated[X, ...]`` -> X."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def params_of(command) -> list[Param]:
    """The parameters of a Typer (click) command, classified by their Python annotation."""
    found = []
    for p in command.params:
        if getattr(p, "hidden", False) or p.name in ("help",):
            continue
        annotation = getattr(getattr(p, "type_descriptor", None), "annotation", str)
        bare = _unwrap(annotation)
        many = typing.get_origin(bare) in (list, tuple)
        if many:
            bare = _unwrap(typing.get_args(bare)[0])
        choices: tuple[str, ...] = ()
        if getattr(p, "is_flag", False) or bare is bool:
            kind = "flag"
        elif isinstance(bare, type) and issubclass(bare, enum.Enum):
            kind, choices = "choice", tuple(str(e.value) for e in bare)
        elif bare is float:
            kind = "float"
        elif bare is int:
            kind = "int"
        elif bare is Path or (isinstance(bare, type) and issubclass(bare, os.PathLike)):
            kind = "paths" if many else "path"
        else:
            kind = "paths" if many else "str"
        found.append(Param(p.name, list(getattr(p, "opts", [])) if p.param_type_name == "option"
                           else [], kind, p.param_type_name == "argument", choices))
    return found


# ------------------------------------------------------------------------ hostile values

FLOATS = ("nan", "inf", "-inf", "1e309", "-1e309", "1e-320", "0", "-0.0", "-1", "1e200",
          "2e-200", "1e-300", "1e300", "x", "", " 1", "0x10", "1e", "[/i]")
INTS = ("-1", "0", "1", "2", "9223372036854775808", str(10**30), "x", "1.5", "", "-0",
        "[red]1")
TEXTS = ("[/i]", "[red]x[/red]", "\x1b[31mred\x1b[0m", "", " ", "-", "\u202eabc", "%s{}",
         "regex:(", "regex:[", "a:b", ":", "ellipse:", "ellipse:[/i]", "stadium:-1",
         "stadium-across:nan", "ellipse:1e300", "ellipse:1e-300", "a\nb", "é" * 40)


def text_values() -> st.SearchStrategy[str]:
    # Letters a and b only: random text can never spell an importable module ('os:system').
    return st.one_of(st.sampled_from(TEXTS),
                     st.text(alphabet="ab[]/:\x1b\u202e \\-,.0123", max_size=12))


def value_strategy(param: Param, entry: Entry, files: Files) -> st.SearchStrategy:
    """A hostile value for ``param``: a string, a list of strings, or True/False (flags)."""
    avoid = entry.skip.get(param.name) or ()

    def allowed(strategy: st.SearchStrategy) -> st.SearchStrategy:
        return strategy.filter(lambda v: v not in avoid) if avoid else strategy

    if param.kind == "flag":
        return st.booleans()
    if param.kind == "float":
        return allowed(st.one_of(st.sampled_from(FLOATS),
                                 st.floats(allow_nan=True, allow_infinity=True).map(repr)))
    if param.kind == "int":
        return allowed(st.one_of(st.sampled_from(INTS),
                                 st.integers(-10**20, 10**20).map(str)))
    if param.kind == "choice":
        return allowed(st.one_of(st.sampled_from(param.choices), text_values()))
    if param.name in entry.outputs:
        return output_paths(param, entry, files)
    inputs = st.sampled_from([str(p) for p in files.inputs()])
    if param.kind == "paths":
        return allowed(st.lists(st.one_of(inputs, st.just("-"), text_values()),
                                min_size=1, max_size=2))
    if param.kind == "path":
        return allowed(st.one_of(inputs, st.just("-"), text_values()))
    return allowed(text_values())


def output_paths(param: Param, entry: Entry, files: Files) -> st.SearchStrategy[str]:
    suffix = entry.outputs[param.name]
    return st.sampled_from([
        str(files.root / f"result{suffix}"),              # valid
        str(files.root / f"[red]res[/red] \x1b[1m{suffix}") if suffix else str(files.folder),
        str(files.folder),                                # an existing directory
        str(files.root / "no-such-folder" / f"x{suffix}"),
        str(files.root / "result.jpg"),                   # a foreign suffix
        str(files.root / "result"),                       # no suffix
        str(files.csv), str(files.corpus),               # an input file
        str(files.root / "same.out"),                     # shared by every output
        "-",
        "",
    ])


# ----------------------------------------------------------------------------- running

def build_argv(entry: Entry, params: list[Param], values: dict) -> list[str]:
    argv = list(entry.argv)
    positional: list[str] = []
    by_name = {p.name: p for p in params}
    for name, value in values.items():
        param = by_name[name]
        if param.argument:
            positional += list(value) if isinstance(value, list) else [str(value)]
        elif param.kind == "flag":
            if value:
                argv.append(param.opts[0])
        elif isinstance(value, list):
            for item in value:
                argv += [param.opts[0], str(item)]
        else:
            argv += [param.opts[0], str(value)]
    # "--" ends the options: a positional value like "-x" is then not taken for one.
    return argv + (["--", *positional] if positional else [])


def snapshot(root: Path) -> dict[str, str]:
    """relative path -> content hash of every file under ``root``."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


_BOX = re.compile(r"[\s│╭╮╰╯─┃━┏┓┗┛┡┩└┘┌┐]+")


def _flat(text: str) -> str:
    return _BOX.sub("", text)


def _strict_json(text: str):
    def bad_constant(name: str):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=bad_constant)


def _json_or_json_lines(text: str) -> None:
    try:
        _strict_json(text)
    except json.JSONDecodeError:
        for line in text.splitlines():
            if line.strip():
                _strict_json(line)


MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml", ".stl": None, ".obj": b"#"}


def run(app, argv: list[str], stdin: bytes):
    return CliRunner().invoke(app, argv, input=stdin, catch_exceptions=True)


def check_run(result, entry: Entry, params: list[Param], values: dict, mutated: list[str],
              files: Files, before: dict[str, str]) -> None:
    """The harness's assertions for one invocation."""
    shown = f"argv={values!r}\nstdout={result.stdout[-2000:]!r}\nstderr={result.stderr[-2000:]!r}"
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}\n{shown}"
    assert "Traceback (most recent call last)" not in result.output, shown
    assert result.exit_code in (0, 2), f"exit {result.exit_code}\n{shown}"
    if entry.invalid_base:
        assert result.exit_code == 2, f"an invalid baseline must end in exit 2\n{shown}"
    after = snapshot(files.root)
    by_name = {p.name: p for p in params}
    outputs = [Path(str(values[n])) for n in entry.outputs if n in values and str(values[n])
               not in ("", "-")]
    folders = [Path(str(values[n])) for n, suffix in entry.outputs.items()
               if suffix == "" and n in values and str(values[n]) not in ("", "-")]
    for name, digest in before.items():
        if after.get(name) != digest:
            target = files.root / name
            assert result.exit_code == 0 and any(target == o for o in outputs), \
                f"input file {name!r} was changed or removed\n{shown}"
    new = sorted(set(after) - set(before))
    if result.exit_code == 2:
        assert not new, f"files left behind by a failed run: {new}\n{shown}"
        message = _flat(result.stderr + result.stdout)
        names = set()
        for name in [*mutated, *entry.invalid_base]:
            param = by_name[name]
            names.update(param.opts or [param.name.upper(), param.name])
            value = values.get(name)
            for item in value if isinstance(value, list) else [value]:
                if item == "-":
                    names.update({"'-'", "-:", "standard input", "standard output"})
                elif isinstance(item, str) and (len(item) < 3 or _is_number(item)):
                    names.add(repr(item))  # a short value counts when quoted
                elif isinstance(item, str):
                    names.update({item, visible(item), Path(item).name, visible(Path(item).name),
                                  repr(item)[1:-1], repr(Path(item).name)[1:-1]})
        assert any(_flat(n) in message for n in names if _flat(n)), \
            f"the message names none of {sorted(names)}\n{shown}"
        return
    for name in new:
        target = files.root / name
        assert any(target == o or (target.parent == o.parent and target.name.startswith(o.stem))
                   for o in outputs) or any(o in target.parents for o in folders), \
            f"foreign file {name!r} written\n{shown}"
        magic = MAGIC.get(target.suffix.lower())
        if magic:
            assert target.read_bytes().startswith(magic), f"{name} is not {target.suffix}"
        if target.suffix.lower() in (".json", ".jsonl"):
            _json_or_json_lines(target.read_text(encoding="utf-8"))
    if values.get("as_json") is True:
        _strict_json(result.stdout)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

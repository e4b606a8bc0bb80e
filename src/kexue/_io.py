"""File input and output shared by every command.

``atomic_write`` gives every writer all-or-nothing outputs; ``load_table`` reads numeric
tables (CSV, TSV, ``.npy``, Parquet) into arrays for any command that takes a data file.
Reading errors are ValueError or FileNotFoundError whose message names the file (and, for
text files, the line) and says what was expected.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                 newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it onto ``path`` only on success.

    An exception (or Ctrl-C) inside the ``with`` block removes the temporary file and leaves
    any previous ``path`` untouched, so a reader never sees a truncated output.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "counts.tsv"
        >>> with atomic_write(target) as f:
        ...     _ = f.write("的\\t3\\n")
        >>> target.read_text(encoding="utf-8")
        '的\\t3\\n'
    """
    target = Path(path)
    if not target.parent.exists():
        raise FileNotFoundError(f"output directory does not exist: {target.parent}")
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding,
                                                        "newline": newline})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; give the output the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of ``path``, with universal newlines, as ``Path.read_text`` gives it; bytes
    that are not valid in ``encoding`` raise a ValueError naming the file and the line.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"ok\\r\\nfine\\n")
        >>> read_text(p)
        'ok\\nfine\\n'
        >>> p.write_bytes(b"ok\\nbad \\xff\\n") and read_text(p)
        Traceback (most recent call last):
        ...
        ValueError: .../a.txt, line 2: not utf-8 text (invalid start byte 0xff at byte 7)
    """
    import io

    data = Path(path).read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.start + 1].hex()
        raise ValueError(f"{path}, line {line}: not {encoding.removesuffix('-sig')} text "
                         f"({exc.reason} 0x{bad} at byte {exc.start})") from None
    return io.StringIO(text, newline=None).getvalue()


# --- reading numeric tables -------------------------------------------------------------

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".npy": "npy",
           ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Table:
    """A numeric table: column names and an (n, columns) float64 array.

    Attributes:
        path: the file it came from.
        columns: column names (``"0"``, ``"1"``, ... when the file has none).
        values: the data (NaN where a cell of a column is not a number: see ``problems``).
        lines: the file line of each row (text files), for error messages.
        problems: column index -> why that column is not numeric (its first bad cell, or
            its type). Such a column fails only when it is selected.

    Every column of the file is a column of the table, so an index means the same column
    in every format.
    """

    path: str
    columns: list[str]
    values: np.ndarray
    lines: np.ndarray | None = None
    problems: dict[int, str] = field(default_factory=dict)

    def select(self, spec: str, option: str) -> np.ndarray:
        """Columns named in ``spec`` ("a,b" by name or "0,2" by 0-based index) as (n, k).

        Args:
            spec: comma-separated names or 0-based indices.
            option: the command-line option, for error messages.

        Example:
            >>> t = Table("t.csv", ["a", "b"], np.array([[1.0, 2.0]]))
            >>> t.select("b,0", "--x").tolist()
            [[2.0, 1.0]]
        """
        indices = self.indices(spec, option)
        for index in indices:
            if index in self.problems:
                raise ValueError(f"{option}: {self.problems[index]}")
        selected = self.values[:, indices]
        finite = np.isfinite(selected)
        if not finite.all():
            row = int(np.flatnonzero(~finite.all(axis=1))[0])
            where = (f"line {self.lines[row]}" if self.lines is not None
                     else f"row {row} (0-based)")
            raise ValueError(f"{self.path} {where}: {option} columns contain "
                             f"{selected[row][~finite[row]][0]}; expected finite numbers")
        return selected

    def indices(self, spec: str, option: str) -> list[int]:
        """0-based column indices named in ``spec`` (names or indices, comma-separated);
        a column named twice is a ValueError.

        Example:
            >>> Table("t.csv", ["a", "b"], np.zeros((1, 2))).indices("b, 0", "--x")
            [1, 0]
        """
        indices: list[int] = []
        for raw in spec.split(","):
            token = raw.strip()
            if not token:
                raise ValueError(f"{option} must list columns separated by commas, "
                                 f"got {spec!r}")
            if token in self.columns:
                indices.append(self.columns.index(token))
            elif token.lstrip("-").isdigit() and 0 <= int(token) < len(self.columns):
                indices.append(int(token))
            else:
                raise ValueError(f"{option}: no column {token!r} in {self.path} (columns: "
                                 f"{', '.join(self.columns[:20])}"
                                 f"{', ...' if len(self.columns) > 20 else ''}; or a 0-based "
                                 f"index below {len(self.columns)})")
            if indices.count(indices[-1]) > 1:
                raise ValueError(f"{option} names column {self.columns[indices[-1]]!r} twice")
        return indices


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read_text(path: Path, delimiter: str) -> Table:
    # utf-8-sig: a byte-order mark is not part of the first column's name.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            first = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: the file is empty") from None
        header = not all(_is_number(cell) for cell in first)
        columns = ([cell.strip() for cell in first] if header
                   else [str(i) for i in range(len(first))])
        problems: dict[int, str] = {}
        rows: list[list[float]] = []
        lines: list[int] = []

        def add(row: list[str], line: int) -> None:
            values = []
            for index, cell in enumerate(row):
                number = _number(cell)
                if number is None:
                    number = math.nan
                    # Only a selected column has to be numeric: remember the first bad cell.
                    problems.setdefault(index, f"{path} line {line}: column "
                                               f"{columns[index]!r} holds {cell!r}; "
                                               "expected numbers")
                values.append(number)
            rows.append(values)
            lines.append(line)

        if not header:
            add(first, 1)
        for row in reader:
            if not row:
                continue
            if len(row) != len(columns):
                raise ValueError(f"{path} line {reader.line_num}: expected {len(columns)} "
                                 f"fields, got {len(row)}")
            add(row, reader.line_num)
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return Table(str(path), columns, np.array(rows, dtype=np.float64), np.array(lines),
                 problems)


def _read_npy(path: Path) -> Table:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    if array.dtype.names:
        columns = list(array.dtype.names)
        values = np.column_stack([np.asarray(array[name], dtype=np.float64)
                                  for name in columns])
        return Table(str(path), columns, values)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{path}: expected a 1-D or 2-D array, got shape {array.shape}")
    try:
        values = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: expected a numeric array, got dtype {array.dtype}") from None
    return Table(str(path), [str(i) for i in range(values.shape[1])], values)


def _read_parquet(path: Path) -> Table:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    # Every column keeps its place (indices mean the file's columns, as in CSV); a column
    # that is not numeric fails only when selected.
    columns, arrays, problems = [], [], {}
    for index, (name, column) in enumerate(zip(table.column_names, table.columns,
                                               strict=True)):
        columns.append(name)
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) \
                or pa.types.is_boolean(column.type):
            arrays.append(column.to_numpy(zero_copy_only=False).astype(np.float64))
        else:
            arrays.append(np.full(table.num_rows, math.nan))
            problems[index] = (f"{path}: column {name!r} holds {column.type} values; "
                               "expected numbers")
    if not columns:
        raise ValueError(f"{path}: no columns")
    return Table(str(path), columns, np.column_stack(arrays), problems=problems)


def load_table(path: str | os.PathLike, format: str | None = None) -> Table:
    """Read a numeric table from CSV, TSV, ``.npy`` or Parquet (chosen by extension).

    Text files may have a header row (detected: a first row that is not all numbers); without
    one, columns are named by 0-based index; a leading byte-order mark is dropped. Every
    column of the file is kept in its place in every format (so an index means the same
    column in CSV and Parquet), and only the columns selected must hold numbers.

    Args:
        path: the file.
        format: "csv", "tsv", "npy" or "parquet"; None picks by extension.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_text("a,b\\n1,2\\n3,4\\n")
        >>> load_table(p).select("a", "--x").ravel().tolist()
        [1.0, 3.0]
    """
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"{str(path)!r}: no such file")
    if file.is_dir():
        raise ValueError(f"{file}: is a directory, expected a data file")
    kind = format or FORMATS.get(file.suffix.lower())
    if kind is None:
        raise ValueError(f"{file}: unknown extension {file.suffix!r}; expected one of "
                         f"{', '.join(sorted(FORMATS))}")
    try:
        if kind == "csv":
            return _read_text(file, ",")
        if kind == "tsv":
            return _read_text(file, "\t")
    except UnicodeDecodeError:
        raise ValueError(f"{file}: not UTF-8 text") from None
    if kind == "npy":
        return _read_npy(file)
    if kind == "parquet":
        return _read_parquet(file)
    raise ValueError(f"format must be csv, tsv, npy or parquet, got {format!r}")

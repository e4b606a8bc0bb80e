"""Load numeric tables for ``kexue hsic``: CSV, TSV, ``.npy`` and Parquet.

Errors are ValueError or FileNotFoundError whose message names the file (and, for text
files, the line) and says what was expected.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".npy": "npy",
           ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class Table:
    """A numeric table: column names and an (n, columns) float64 array.

    Attributes:
        path: the file it came from.
        columns: column names (``"0"``, ``"1"``, ... when the file has none).
        values: the data.
        lines: the file line of each row (text files), for error messages.
    """

    path: str
    columns: list[str]
    values: np.ndarray
    lines: np.ndarray | None = None

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
        indices = []
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
        selected = self.values[:, indices]
        finite = np.isfinite(selected)
        if not finite.all():
            row = int(np.flatnonzero(~finite.all(axis=1))[0])
            where = (f"line {self.lines[row]}" if self.lines is not None
                     else f"row {row} (0-based)")
            raise ValueError(f"{self.path} {where}: {option} columns contain "
                             f"{selected[row][~finite[row]][0]}; expected finite numbers")
        return selected


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_text(path: Path, delimiter: str) -> Table:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            first = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: the file is empty") from None
        header = not all(_is_number(cell) for cell in first)
        columns = ([cell.strip() for cell in first] if header
                   else [str(i) for i in range(len(first))])
        rows: list[list[float]] = [] if header else [[float(cell) for cell in first]]
        lines: list[int] = [] if header else [1]
        for row in reader:
            if not row:
                continue
            if len(row) != len(columns):
                raise ValueError(f"{path} line {reader.line_num}: expected {len(columns)} "
                                 f"fields, got {len(row)}")
            try:
                rows.append([float(cell) for cell in row])
                lines.append(reader.line_num)
            except ValueError:
                bad = next(cell for cell in row if not _is_number(cell))
                raise ValueError(f"{path} line {reader.line_num}: expected numbers, got "
                                 f"{bad!r}") from None
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return Table(str(path), columns, np.array(rows, dtype=np.float64), np.array(lines))


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
    columns, arrays = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) \
                or pa.types.is_boolean(column.type):
            columns.append(name)
            arrays.append(column.to_numpy(zero_copy_only=False).astype(np.float64))
    if not columns:
        raise ValueError(f"{path}: no numeric columns")
    return Table(str(path), columns, np.column_stack(arrays))


def load_table(path: str | os.PathLike, format: str | None = None) -> Table:
    """Read a numeric table from CSV, TSV, ``.npy`` or Parquet (chosen by extension).

    Text files may have a header row (detected: a first row that is not all numbers); without
    one, columns are named by 0-based index. Parquet keeps its numeric columns.

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
        raise FileNotFoundError(f"{file}: no such file")
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

"""CSV tables as read and written by the command-line tools.

A table is a header and rows of strings. The first column is the key (an epoch, a worker id, ...):
its values are unique, so rows can be matched across files. Cells keep the exact text of the file
- numbers are never reformatted on the way in - and numbers are written with the shortest text
that reads back to the same float, so a table survives any number of read/write round trips.

Every problem with a file is a ``ValueError`` whose one-line message starts with the file name.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from allora_ref.atomic import refuse_inputs, write_text_atomic

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class Table:
    """A header and rows of cells, all strings; the first column is the key.

    :func:`read_table` guarantees what the rest of the package relies on: a non-empty header of
    distinct names, every row as long as the header, distinct keys.
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> int:
        """The index of the column called ``name``."""
        try:
            return self.header.index(name)
        except ValueError:
            raise ValueError(f"no column {name!r}") from None

    @property
    def keys(self) -> tuple[str, ...]:
        """The values of the first (key) column, in row order."""
        return tuple(row[0] for row in self.rows)


def read_table(path: StrPath) -> Table:
    """Read a UTF-8 CSV file (a leading byte-order mark is dropped) into a :class:`Table`."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            records = _numbered_records(csv.reader(f))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path}: cannot read ({_reason(e)})") from None
    if not records or not records[0][1]:
        raise ValueError(f"{path}: empty file, no header")
    header = tuple(records[0][1])
    seen_columns: set[str] = set()
    for name in header:
        if name in seen_columns:
            raise ValueError(f"{path}: duplicate column {name!r} in the header")
        seen_columns.add(name)
    first_line: dict[str, int] = {}
    for line, row in records[1:]:
        if len(row) != len(header):
            raise ValueError(f"{path}: line {line} has {len(row)} cells, "
                             f"the header has {len(header)}")
        if row[0] in first_line:
            raise ValueError(f"{path}: duplicate {header[0]} {row[0]} at line {line} "
                             f"(first at line {first_line[row[0]]})")
        first_line[row[0]] = line
    return Table(header, tuple(tuple(row) for _, row in records[1:]))


def family_size(header: Iterable[str], pattern: str) -> int:
    """How many columns a numbered family has: one more than the largest n for which
    ``pattern.format(n)`` names a column (0 if none does). A gap in the numbering is then a
    missing column, never a smaller family."""
    prefix, suffix = pattern.split("{}")
    numbers = [int(name[len(prefix): len(name) - len(suffix)]) for name in header
               if name.startswith(prefix) and name.endswith(suffix)
               and name[len(prefix): len(name) - len(suffix)].isdigit()]
    return max(numbers, default=-1) + 1


def check_consecutive_keys(table: Table, what: str) -> None:
    """ValueError unless the table has rows keyed by consecutive integers (``what``: epochs,
    months), naming the first row that is not."""
    if not table.rows:
        raise ValueError("the table has a header but no rows")
    previous = None
    for key in table.keys:
        try:
            number = int(key)
        except ValueError:
            raise ValueError(f"{table.header[0]} {key!r} is not an integer "
                             f"{what.removesuffix('s')}") from None
        if previous is not None and number != previous + 1:
            raise ValueError(f"{what} must be consecutive: {key} follows {previous}")
        previous = number


def _numbered_records(reader) -> list[tuple[int, list[str]]]:
    """Each CSV record with the file line it starts on (a quoted cell may span lines)."""
    records = []
    start = 1
    for row in reader:
        if row:                                    # blank lines (e.g. at the end) are skipped
            records.append((start, row))
        start = reader.line_num + 1
    return records


def _reason(error: Exception) -> str:
    """A short, single-line description of why a file could not be read or written."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8: byte {error.object[error.start]:#04x} at offset {error.start}"
    return str(error).splitlines()[0]


def try_number(cell: str) -> float | None:
    """The cell as a finite float (any text ``float()`` accepts), or None if it is not one.

    ``nan``, ``inf`` and values that overflow to infinity are not numbers here.
    """
    try:
        x = float(cell)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def parse_optional_number(cell: str, column: str, key: str) -> float | None:
    """The cell as a finite float, or None if it is empty; anything else is a ``ValueError``.

    ``column`` and ``key`` (the row's key) only name the cell in the error message.
    """
    if cell == "":
        return None
    x = try_number(cell)
    if x is None:
        raise ValueError(f"non-numeric value {cell!r} in column {column}, row {key}")
    return x


def format_number(x: float, column: str = "") -> str:
    """The shortest text that reads back to exactly ``x`` (``repr``); nan and inf are refused,
    naming the ``column`` if given."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot write the non-finite number {x}"
                         + (f" in column {column}" if column else ""))
    return repr(x)


def write_table_atomic(path: StrPath, table: Table, *, inputs: Iterable[StrPath] = ()) -> None:
    """Write ``table`` as CSV to ``path`` atomically, never over one of the ``inputs``.

    The rows go to a temporary file in the same directory, which then replaces ``path`` in one
    step, so a reader sees the old file or the new one, never a partial one. A path that names an
    input file - also through a symlink, a hard link or a different relative path - is refused.
    """
    refuse_inputs(path, inputs)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    try:
        write_text_atomic(path, text.getvalue())
    except OSError as e:
        raise ValueError(f"{path}: cannot write ({_reason(e)})") from None

"""Compare an implementation's table with the expected one, cell by cell, within a tolerance.

This is the check behind ``allora-ref compare EXPECTED.csv ACTUAL.csv``. Rows are matched on the
key (first column), columns by name. A cell passes when

    |actual - expected| <= atol + rtol * |expected|

(both numbers), or when the two texts are equal (anything else, ``true``/``false`` included). An
empty actual cell is skipped - the implementation does not produce that value - while an empty
expected cell with a filled actual one fails. Results are summarised per column family: the
column name with every run of digits replaced by ``*``, so ``reputer_3_loss_inference_4`` and
``reputer_0_loss_inference_1`` are both ``reputer_*_loss_inference_*``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import numpy as np

from allora_ref.table import Table, try_number

#: How many missing rows or columns a report line names before it abbreviates.
LISTED = 10


def column_family(name: str) -> str:
    """The column name with every maximal run of digits replaced by ``*``."""
    return re.sub(r"\d+", "*", name)


def numeric_errors(expected, actual, rtol: float, atol: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Elementwise absolute, relative and ULP errors of ``actual`` against ``expected``, and
    which elements fail ``|actual - expected| <= atol + rtol |expected|``.

    Equal values have no error (relative error 0 also at 0); a non-zero error against an
    expected 0 has infinite relative error. NaN means "absent": two NaNs agree, a NaN against
    a number is an infinite error. The ULP error counts the float64 values between the two.
    """
    e, a = np.asarray(expected, dtype=float), np.asarray(actual, dtype=float)
    absent = np.isnan(e) | np.isnan(a)
    both_absent = np.isnan(e) & np.isnan(a)
    with np.errstate(all="ignore"):
        abs_error = np.where(absent, np.inf, np.abs(a - e))
        rel_error = np.where(absent, np.inf, np.where(
            a == e, 0.0, np.where(e != 0, abs_error / np.abs(e), np.inf)))
    ulp_error = np.where(absent, np.inf, ulp_distance(e, a))
    abs_error, rel_error, ulp_error = (np.where(both_absent, 0.0, x)
                                       for x in (abs_error, rel_error, ulp_error))
    failed = ~both_absent & ~(abs_error <= atol + rtol * np.abs(e))
    return abs_error, rel_error, ulp_error, failed


def ulp_distance(x, y) -> np.ndarray:
    """How many float64 values lie between x and y, plus one if they differ (exact below 2^62)."""
    ordered = []
    for value in (x, y):
        bits = np.where(np.isnan(value), 0.0, value).astype(float).view(np.int64)
        ordered.append(np.where(bits < 0, -(bits & np.int64(0x7FFFFFFFFFFFFFFF)), bits))
    with np.errstate(over="ignore"):
        exact = np.abs(np.subtract(*ordered, dtype=np.int64)).astype(float)
    approximate = np.abs(ordered[0].astype(float) - ordered[1].astype(float))
    return np.where(approximate < 2.0**62, exact, approximate)


@dataclass
class Family:
    """The summary of one column family: cell counts, largest errors and the worst cell.

    A cell whose texts differ and are not both numbers has infinite absolute and relative error.
    The worst cell is a failed one if there is any, then the one with the largest relative
    error, then the largest absolute error; the first such cell in row-major order. A family
    whose cells all match exactly has none.
    """

    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst_column: str | None = None
    worst_key: str | None = None
    _worst_rank: tuple[bool, float, float] = field(default=(False, 0.0, 0.0), init=False,
                                                   repr=False)

    def add(self, column: str, key: str, failed: bool, abs_error: float, rel_error: float) -> None:
        """Count one compared cell with its errors (``cell_errors``)."""
        if failed:
            self.failed += 1
        else:
            self.passed += 1
        self.max_abs_error = max(self.max_abs_error, abs_error)
        self.max_rel_error = max(self.max_rel_error, rel_error)
        rank = (failed, rel_error, abs_error)
        if rank > self._worst_rank:
            self._worst_rank = rank
            self.worst_column, self.worst_key = column, key


def cell_errors(expected: list[str], actual: list[str], rtol: float, atol: float
                ) -> tuple[list[float], list[float], list[bool]]:
    """Absolute and relative errors of each actual cell against its expected one, and which
    fail: ``numeric_errors`` where both are numbers (all at once), else equal texts or infinite
    errors."""
    e = [try_number(cell) for cell in expected]
    a = [try_number(cell) for cell in actual]
    numeric = [x is not None and y is not None for x, y in zip(e, a)]
    abs_error, rel_error, _, failed = numeric_errors(
        [x if n else 0.0 for x, n in zip(e, numeric)],
        [y if n else 0.0 for y, n in zip(a, numeric)], rtol, atol)
    abs_error, rel_error, failed = abs_error.tolist(), rel_error.tolist(), failed.tolist()
    for i, n in enumerate(numeric):
        if not n:
            failed[i] = expected[i] != actual[i]
            abs_error[i] = rel_error[i] = math.inf if failed[i] else 0.0
    return abs_error, rel_error, failed


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare_tables`: per-family summaries and what only one file has."""

    key_name: str
    families: tuple[Family, ...]
    columns_only_in_expected: tuple[str, ...]
    columns_only_in_actual: tuple[str, ...]
    rows_only_in_expected: tuple[str, ...]
    rows_only_in_actual: tuple[str, ...]

    @property
    def passed(self) -> int:
        return sum(f.passed for f in self.families)

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.families)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.families)

    @property
    def ok(self) -> bool:
        """Whether the comparison succeeded: no cell failed and at least one was compared."""
        return not self.failed and self.passed > 0

    def nothing_compared(self) -> str:
        """Why no cell was compared ("" if some were): a check that checked nothing fails."""
        if self.passed or self.failed:
            return ""
        if not self.families:
            return "the tables have no column in common (besides the key)"
        if not self.skipped:
            return f"the tables have no row ({self.key_name}) in common"
        return "every cell of the actual table in the common rows and columns is empty"

    def lines(self) -> list[str]:
        """The report: an aligned table of families, what only one file has, and the totals."""
        table = [("family", "passed", "failed", "skipped", "max_abs", "max_rel", "worst")]
        for f in self.families:
            worst = "-" if f.worst_column is None else (
                f"{f.worst_column} at {self.key_name} {f.worst_key}")
            table.append((f.name, str(f.passed), str(f.failed), str(f.skipped),
                          f"{f.max_abs_error:.3g}", f"{f.max_rel_error:.3g}", worst))
        lines = _aligned(table) if self.families else []
        for what, side, names in (
                ("columns", "expected", self.columns_only_in_expected),
                ("columns", "actual", self.columns_only_in_actual),
                (f"rows ({self.key_name})", "expected", self.rows_only_in_expected),
                (f"rows ({self.key_name})", "actual", self.rows_only_in_actual)):
            if names:
                more = ", ..." if len(names) > LISTED else ""
                lines.append(f"{len(names)} {what} only in {side}: "
                             f"{', '.join(names[:LISTED])}{more}")
        reason = self.nothing_compared()
        if reason:
            lines.append(f"nothing was compared: {reason}")
        lines.append(f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped")
        return lines


def _aligned(table: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as lines: the first column left-aligned, the middle ones right-aligned."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join([row[0].ljust(widths[0])]
                      + [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1])]
                      + [row[-1]]).rstrip()
            for row in table]


def compare_tables(expected: Table, actual: Table, rtol: float = 1e-9, atol: float = 0.0,
                   exclude: Iterable[str] = ()) -> Comparison:
    """Compare ``actual`` with ``expected`` cell by cell (see the module docstring for the rule).

    Columns whose name matches one of the ``exclude`` globs are ignored entirely. Rows and
    columns present in only one table are listed in the result, not counted.
    """
    for option, value in (("rtol", rtol), ("atol", atol)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"--{option} must be a finite number >= 0, got {value}")
    key_name = expected.header[0]
    if actual.header[0] != key_name:
        raise ValueError(f"the key columns differ: {key_name!r} (expected) and "
                         f"{actual.header[0]!r} (actual)")
    exclude = tuple(exclude)

    def compared(table: Table) -> list[str]:
        return [name for name in table.header[1:]
                if not any(fnmatchcase(name, pattern) for pattern in exclude)]

    expected_columns, actual_columns = compared(expected), compared(actual)
    in_expected, in_actual = set(expected_columns), set(actual_columns)
    columns = [(name, column_family(name), expected.column(name), actual.column(name))
             for name in expected_columns if name in in_actual]
    families = {family: Family(family) for _, family, _, _ in columns}
    actual_rows = dict(zip(actual.keys, actual.rows))
    cells = []                      # (family, column, key, expected, actual), row-major
    for expected_row in expected.rows:
        actual_row = actual_rows.get(expected_row[0])
        if actual_row is None:
            continue
        for name, family, i, j in columns:
            if actual_row[j] == "":
                families[family].skipped += 1     # the implementation does not produce it
            else:
                cells.append((family, name, expected_row[0], expected_row[i], actual_row[j]))
    errors = cell_errors([c[3] for c in cells], [c[4] for c in cells], rtol, atol)
    for (family, name, key, _, _), abs_error, rel_error, failed in zip(cells, *errors):
        families[family].add(name, key, failed, abs_error, rel_error)
    expected_keys = set(expected.keys)
    return Comparison(
        key_name=key_name,
        families=tuple(families.values()),
        columns_only_in_expected=tuple(c for c in expected_columns if c not in in_actual),
        columns_only_in_actual=tuple(c for c in actual_columns if c not in in_expected),
        rows_only_in_expected=tuple(k for k in expected.keys if k not in actual_rows),
        rows_only_in_actual=tuple(k for k in actual.keys if k not in expected_keys),
    )

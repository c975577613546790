"""The research simulator's synthesis table: its columns, and its replay through the spec.

The table (``synthesis_epochs_300-303.csv`` and any file with its columns) has one row per epoch.
The first row only provides state. For each later row every input column is copied and every
output column is recomputed from the row's inputs and the state of the row before: the file's
own value where the cell is present, the replay's value where it is empty. A cell is left empty
only when the file lacks the history to determine it. The column roles and the state each row
needs are those of the golden data's COLUMNS.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from allora_ref.compare import compare_tables
from allora_ref.params import Params
from allora_ref.spec.confidence_intervals import confidence_interval
from allora_ref.spec.inference_synthesis import (
    Submissions, SynthesisState, loss_vector_size, settle, synthesise)
from allora_ref.table import Table, format_number, parse_optional_number, read_table

#: The percentiles of the table's ``network_inference_errorbar_q`` columns (eqs 16-18). A profile
#: fills the columns of the percentiles it has and leaves the others empty.
ERRORBAR_PERCENTILES = (2.28, 15.87, 50.0, 84.13, 97.72)


@dataclass(frozen=True)
class SynthesisColumns:
    """The column names of the synthesis table for N_i inferers, N_f forecasters, N_r reputers."""

    n_inferers: int
    n_forecasters: int
    n_reputers: int

    @classmethod
    def from_header(cls, header: tuple[str, ...]) -> "SynthesisColumns":
        """Read the sizes from the header and check that every needed column is there."""
        def count(pattern: str) -> int:
            n = 0
            while pattern.format(n) in header:
                n += 1
            return n
        columns = cls(count("inference_{}"), count("forecast_implied_inference_{}"),
                      count("reputer_stake_{}"))
        if columns.n_inferers == 0 or columns.n_reputers == 0:
            raise ValueError("not a synthesis table: no inference_0 or reputer_stake_0 column")
        missing = [name for name in columns.inputs + columns.outputs if name not in header]
        if missing:
            raise ValueError(f"synthesis table lacks {len(missing)} columns, e.g. {missing[0]}")
        return columns

    @property
    def n_workers(self) -> int:
        return self.n_inferers + self.n_forecasters

    def forecasts(self, pattern: str) -> list[str]:
        """Names per forecaster k and inferer j (k major), e.g. ``forecasted_loss_{k}_for_{j}``."""
        return [pattern.format(k=k, j=j)
                for k in range(self.n_forecasters) for j in range(self.n_inferers)]

    def loss_vector(self, prefix: str = "") -> list[str]:
        """The loss-vector entries (eq 12 order): reported by reputer ``prefix`` or aggregated."""
        i, f, w = range(self.n_inferers), range(self.n_forecasters), range(self.n_workers)
        if prefix:
            names = ([f"{prefix}network_inference", f"{prefix}naive_network_inference"]
                     + [f"{prefix}inference_{j}" for j in i]
                     + [f"{prefix}forecast_implied_inference_{k}" for k in f]
                     + self.forecasts(prefix + "forecast_implied_inference_{k}_oneout_{j}")
                     + [f"{prefix}network_inference_oneout_{l}" for l in w]
                     + [f"{prefix}naive_network_inference_onein_{k}" for k in f])
        else:
            names = (["network_loss", "network_naive_loss"]
                     + [f"inference_loss_{j}" for j in i]
                     + [f"forecast_implied_inference_loss_{k}" for k in f]
                     + self.forecasts("forecast_implied_inference_loss_{k}_oneout_{j}")
                     + [f"network_loss_oneout_{l}" for l in w]
                     + [f"network_naive_loss_onein_{k}" for k in f])
        assert len(names) == loss_vector_size(self.n_inferers, self.n_forecasters)
        return names

    @property
    def reputer_losses(self) -> list[list[str]]:
        return [self.loss_vector(f"reputer_{m}_loss_") for m in range(self.n_reputers)]

    @property
    def regrets(self) -> dict[tuple[int, int], str]:
        """Regret columns by (combination row, worker) of eq 15's table."""
        n_i, n_w = self.n_inferers, self.n_workers
        names = {(0, l): f"inference_regret_worker_{l}" for l in range(n_w)}
        names |= {(1, j): f"naive_inference_regret_worker_{j}" for j in range(n_i)}
        names |= {(2 + m, l): f"inference_regret_worker_{l}_oneout_{m}"
                  for m in range(n_w) for l in range(n_w)}
        for k in range(self.n_forecasters):
            names |= {(2 + n_w + k, j): f"inference_regret_worker_{j}_onein_{k}" for j in range(n_i)}
            names[(2 + n_w + k, n_i + k)] = f"inference_regret_worker_{n_i}_onein_{k}"
        return names

    @property
    def combined(self) -> list[str]:
        """The combination rows' inferences: network, naive, one-out, one-in."""
        return (["network_inference", "network_naive_inference"]
                + [f"network_inference_oneout_{l}" for l in range(self.n_workers)]
                + [f"network_naive_inference_onein_{k}" for k in range(self.n_forecasters)])

    @property
    def inputs(self) -> list[str]:
        return ([f"inference_{j}" for j in range(self.n_inferers)]
                + self.forecasts("forecasted_loss_{k}_for_{j}")
                + [f"reputer_stake_{m}" for m in range(self.n_reputers)]
                + [name for names in self.reputer_losses for name in names])

    @property
    def outputs(self) -> list[str]:
        """The §3 output columns."""
        return (self.forecasts("forecasted_regret_{k}_inferer_{j}")
                + [f"forecast_implied_inference_{k}" for k in range(self.n_forecasters)]
                + self.forecasts("forecast_implied_inference_{k}_oneout_{j}")
                + self.combined + self.errorbars + self.loss_vector()
                + list(self.regrets.values()))

    @property
    def errorbars(self) -> list[str]:
        """The confidence-interval columns, one per percentile of ERRORBAR_PERCENTILES."""
        return [f"network_inference_errorbar_{q}" for q in range(len(ERRORBAR_PERCENTILES))]


class Row:
    """One row of the table as numbers, read on demand (empty cell = None)."""

    def __init__(self, table: Table, index: int):
        self.cells = dict(zip(table.header, table.rows[index]))
        self.key = table.rows[index][0]

    def get(self, name: str) -> float | None:
        return parse_optional_number(self.cells[name], name, self.key)

    def values(self, names: list[str]) -> np.ndarray:
        """The named cells as floats, NaN where empty."""
        return np.array([np.nan if (v := self.get(n)) is None else v for n in names], dtype=float)

    def required(self, names: list[str]) -> np.ndarray:
        values = self.values(names)
        if np.isnan(values).any():
            name = names[int(np.argmax(np.isnan(values)))]
            raise ValueError(f"missing value in column {name}, {self.key}")
        return values


@dataclass(frozen=True)
class Known:
    """The replay's state with what the file's history determines (False = unknown)."""

    state: SynthesisState
    loss_known: bool
    regrets_known: np.ndarray


def state_from_row(row: Row, columns: SynthesisColumns, computed: Known | None) -> Known:
    """State left by ``row``: the file's cells where present, else the replay's own values."""
    shape = (2 + columns.n_workers + columns.n_forecasters, columns.n_workers)
    regrets = np.full(shape, np.nan)
    known = np.zeros(shape, bool)
    if computed is not None:
        regrets, known = computed.state.regrets.copy(), computed.regrets_known.copy()
    for (r, l), name in columns.regrets.items():
        if (value := row.get(name)) is not None:
            regrets[r, l], known[r, l] = value, True
    loss = row.get("network_loss")
    loss_known = loss is not None or (computed is not None and computed.loss_known)
    if loss is None:
        loss = computed.state.previous_network_log_loss if computed else np.nan
    return Known(SynthesisState(loss, np.where(known, regrets, np.nan)), loss_known, known)


def replay_row(row: Row, columns: SynthesisColumns, before: Known, params: Params
               ) -> tuple[dict[str, float], Known]:
    """The §3 outputs of one row (NaN = not determinable) and the state it leaves."""
    submissions = Submissions(row.values([f"inference_{j}" for j in range(columns.n_inferers)]),
                              row.values(columns.forecasts("forecasted_loss_{k}_for_{j}"))
                              .reshape(columns.n_forecasters, columns.n_inferers))
    stakes = row.required([f"reputer_stake_{m}" for m in range(columns.n_reputers)])
    reported = np.array([row.values(names) for names in columns.reputer_losses])
    inferred = synthesise(before.state, submissions, params)
    losses, after = settle(before.state, inferred, stakes, reported, params)

    fi_known = before.loss_known
    rows_known = ~(inferred.members & ~before.regrets_known).any(axis=1)
    rows_known &= fi_known | ~inferred.members[:, columns.n_inferers:].any(axis=1)
    blank = np.nan
    out = dict(zip(columns.forecasts("forecasted_regret_{k}_inferer_{j}"),
                   inferred.forecasted_regrets.ravel()))
    out |= dict(zip([f"forecast_implied_inference_{k}" for k in range(columns.n_forecasters)],
                    inferred.forecast_implied if fi_known else np.full(columns.n_forecasters, blank)))
    out |= dict(zip(columns.forecasts("forecast_implied_inference_{k}_oneout_{j}"),
                    inferred.one_out_forecast_implied.T.ravel() if fi_known else
                    np.full(columns.n_forecasters * columns.n_inferers, blank)))
    out |= dict(zip(columns.combined, np.where(rows_known, inferred.combined, blank)))
    network = inferred.members[0]
    if rows_known[0] and network.any():
        interval = confidence_interval(inferred.values[0, network], inferred.weights[0, network],
                                       params)
        out |= {name: interval[params.ci_percentiles.index(percentile)]
                for name, percentile in zip(columns.errorbars, ERRORBAR_PERCENTILES)
                if percentile in params.ci_percentiles}
    out |= dict(zip(columns.loss_vector(), losses))
    regrets_known = before.regrets_known
    out |= {name: after.regrets[r, l] if regrets_known[r, l] else blank
            for (r, l), name in columns.regrets.items()}
    return out, Known(after, True if not np.isnan(losses[0]) else before.loss_known,
                      regrets_known)


def replay_synthesis(table: Table, params: Params) -> Table:
    """Replay every row after the first; §4 output columns (not yet specified) are left empty."""
    columns = SynthesisColumns.from_header(table.header)
    inputs = set(columns.inputs) | {table.header[0], "target", "topic_rewards"}
    rows = [table.rows[0]]
    known = state_from_row(Row(table, 0), columns, None)
    for index in range(1, len(table.rows)):
        row = Row(table, index)
        outputs, computed = replay_row(row, columns, known, params)
        rows.append(tuple(cell if name in inputs else
                          format_number(outputs[name]) if not np.isnan(outputs.get(name, np.nan))
                          else "" for name, cell in row.cells.items()))
        known = state_from_row(row, columns, computed)
    return Table(table.header, tuple(rows))


def section_4_columns(header: tuple[str, ...]) -> list[str]:
    """Output columns of the synthesis table that belong to §4 (scores, rewards, ...)."""
    columns = SynthesisColumns.from_header(header)
    known = set(columns.inputs) | set(columns.outputs)
    return [name for name in header[1:] if name not in known | {"target", "topic_rewards"}]


def replay_difference(path: str | os.PathLike, params: Params) -> tuple[float, str]:
    """Largest relative error of the replayed §3 outputs against the file, and its column."""
    table = read_table(path)
    comparison = compare_tables(table, replay_synthesis(table, params),
                                exclude=section_4_columns(table.header))
    worst = max(comparison.families, key=lambda family: family.max_rel_error)
    return worst.max_rel_error, f"{worst.worst_column} ({worst.name})"


def emptied(table: Table, keys: set[str], columns: list[str]) -> Table:
    """A copy of ``table`` with ``columns`` emptied in the rows whose key is in ``keys``."""
    drop = {table.column(name) for name in columns}
    return replace(table, rows=tuple(
        tuple("" if row[0] in keys and i in drop else cell for i, cell in enumerate(row))
        for row in table.rows))

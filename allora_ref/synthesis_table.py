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
from allora_ref.spec.epoch import EpochInputs, TopicState, step
from allora_ref.spec.inference_synthesis import (
    Submissions, SynthesisState, loss_vector_size, reported_entries)
from allora_ref.spec.participant_rewards import score_window
from allora_ref.table import (Table, check_consecutive_keys, family_size, format_number,
                              parse_optional_number, read_table)
from allora_ref.vector_cases import manifest, tolerances
from allora_ref.vector_kinds import encode_inputs, encode_state, evaluate
from allora_ref.vectors import encode, encode_params

#: The percentiles of the table's ``network_inference_errorbar_q`` columns (eqs 16-18). A profile
#: fills the columns of the percentiles it has and leaves the others empty.
ERRORBAR_PERCENTILES = (2.28, 15.87, 50.0, 84.13, 97.72)


#: Numbered columns of inferers, forecasters and reputers: the largest number in any of them
#: sets the count, so that a missing column is reported, never read as a smaller topic.
FAMILIES = (("inference_{}", "inference_loss_{}", "inferer_score_{}", "inferer_reward_{}"),
            ("forecast_implied_inference_{}", "forecasted_loss_{}_for_0", "forecaster_score_{}",
             "forecaster_reward_{}"),
            ("reputer_stake_{}", "reputer_{}_loss_network_inference", "reputer_score_{}",
             "reputer_reward_{}"))


def names(pattern: str, count: int) -> list[str]:
    """``pattern`` formatted with 0 .. count - 1."""
    return [pattern.format(n) for n in range(count)]


@dataclass(frozen=True)
class SynthesisColumns:
    """The column names of the synthesis table for N_i inferers, N_f forecasters, N_r reputers."""

    n_inferers: int
    n_forecasters: int
    n_reputers: int

    @classmethod
    def from_header(cls, header: tuple[str, ...]) -> "SynthesisColumns":
        """Read the sizes from the header and check that every needed column is there."""
        columns = cls(*(max(family_size(header, pattern) for pattern in patterns)
                        for patterns in FAMILIES))
        if columns.n_inferers == 0 or columns.n_reputers == 0:
            raise ValueError("not a synthesis table: no inference_0 or reputer_stake_0 column")
        missing = [name for name in columns.inputs + columns.outputs + columns.section_4_outputs
                   if name not in header]
        if missing:
            raise ValueError(f"synthesis table of {columns.n_inferers} inferers, "
                             f"{columns.n_forecasters} forecasters and {columns.n_reputers} "
                             f"reputers lacks the column {missing[0]}"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
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
    def section_4_outputs(self) -> list[str]:
        """The §4 output columns (scores, reward fractions, reputers, entropies, rewards)."""
        groups = (("inferer", self.n_inferers), ("forecaster", self.n_forecasters),
                  ("reputer", self.n_reputers))
        return ([name for who, n in groups[:2] for name in names(f"{who}_score_{{}}", n)]
                + [name for who, n in groups[:2]
                   for name in names(f"{who}_reward_fraction_{{}}", n)]
                + [name for pattern in ("reputer_listening_coefficient_{}",
                                        "reputer_adjusted_stake_{}", "reputer_score_{}",
                                        "reputer_reward_fraction_{}")
                   for name in names(pattern, self.n_reputers)]
                + [name for who, n in groups for name in names(f"{who}_reward_fraction_smooth_{{}}", n)]
                + [f"{who}s_entropy" for who, _ in groups]
                + ["forecaster_task_score", "forecaster_score_ratio", "forecasters_utility"]
                + [f"{who}s_reward_fraction" for who, _ in groups]
                + [name for who, n in groups for name in names(f"{who}_reward_{{}}", n)])

    @property
    def state(self) -> list[str]:
        """The output columns that later rows need (COLUMNS.md, "State that row i needs")."""
        return (["network_loss"] + list(self.regrets.values())
                + names("inferer_score_{}", self.n_inferers)
                + names("forecaster_score_{}", self.n_forecasters)
                + names("reputer_listening_coefficient_{}", self.n_reputers)
                + [name for who, n in (("inferer", self.n_inferers),
                                       ("forecaster", self.n_forecasters),
                                       ("reputer", self.n_reputers))
                   for name in names(f"{who}_reward_fraction_smooth_{{}}", n)]
                + ["forecaster_score_ratio"])

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
            raise ValueError(f"missing value in column {name}, row {self.key}")
        return values


class History:
    """The state columns of the rows replayed so far, newest first: a number, or None where
    neither the file nor the replay determines it."""

    def __init__(self, columns: SynthesisColumns, depth: int):
        self.columns, self.depth = columns, depth
        self.rows: list[dict[str, float | None]] = []

    def push(self, row: Row, computed: dict[str, float]) -> None:
        """Record a row: the file's cell where present, else the replay's value if known."""
        cells = {}
        for name in self.columns.state:
            value = row.get(name)
            if value is None and not np.isnan(computed.get(name, np.nan)):
                value = computed[name]
            cells[name] = value
        self.rows = [cells, *self.rows][: self.depth]

    def values(self, pattern: str, count: int, back: int = 0) -> np.ndarray:
        """The named cells of the row ``back`` rows before the newest, NaN where unknown."""
        cells = self.rows[back] if back < len(self.rows) else {}
        return np.array([np.nan if cells.get(n) is None else cells[n]
                         for n in names(pattern, count)], dtype=float)

    def known(self, pattern: str, count: int, back: int = 0) -> np.ndarray:
        cells = self.rows[back] if back < len(self.rows) else {}
        return np.array([cells.get(n) is not None for n in names(pattern, count)])

    def score_history(self, pattern: str, count: int) -> tuple[np.ndarray, int]:
        """Scores of the previous rows (newest first, ``depth`` rows, NaN where unknown) and
        how many of the newest rows are known completely."""
        history = np.array([self.values(pattern, count, back) for back in range(self.depth)])
        known = 0
        while known < len(self.rows) and self.known(pattern, count, known).all():
            known += 1
        return history.reshape(self.depth, count), known


def topic_state(history: History, stakes: np.ndarray, params: Params) -> TopicState:
    """The state a row starts from, built from the history (unknown cells as NaN)."""
    c = history.columns
    regrets = np.full((2 + c.n_workers + c.n_forecasters, c.n_workers), np.nan)
    newest = history.rows[0]
    for (r, l), name in c.regrets.items():
        if newest.get(name) is not None:
            regrets[r, l] = newest[name]
    loss = np.nan if newest.get("network_loss") is None else newest["network_loss"]
    listening = history.values("reputer_listening_coefficient_{}", c.n_reputers)
    return TopicState(
        SynthesisState(loss, regrets), stakes, np.where(np.isnan(listening), 1.0, listening),
        history.score_history("inferer_score_{}", c.n_inferers)[0],
        history.score_history("forecaster_score_{}", c.n_forecasters)[0],
        tuple(history.values(f"{who}_reward_fraction_smooth_{{}}", n) for who, n in
              (("inferer", c.n_inferers), ("forecaster", c.n_forecasters),
               ("reputer", c.n_reputers))),
        newest.get("forecaster_score_ratio") or 0.0)


def window_known(scores: np.ndarray, history: np.ndarray, known_rows: int, params: Params
                 ) -> bool:
    """Eq 28: whether the score window lies within the current row and the known rows."""
    if params.score_window_unit == "epochs":
        return known_rows + 1 >= params.score_window
    window = score_window(np.vstack([scores[None, :], history[:known_rows]]), params)
    return int((~np.isnan(window)).sum()) >= params.score_window


def row_epoch(row: Row, columns: SynthesisColumns, history: History, params: Params
              ) -> tuple[TopicState, EpochInputs]:
    """The state a row starts from (the history's) and what arrives in it (the row's inputs)."""
    c = columns
    submissions = Submissions(row.values(names("inference_{}", c.n_inferers)),
                              row.values(c.forecasts("forecasted_loss_{k}_for_{j}"))
                              .reshape(c.n_forecasters, c.n_inferers))
    stakes = row.required(names("reputer_stake_{}", c.n_reputers))
    reported = np.array([row.values(n) for n in c.reputer_losses])
    reported = reported[:, reported_entries(c.n_inferers, c.n_forecasters, params)]
    topic_reward = row.get("topic_rewards")
    return topic_state(history, stakes, params), EpochInputs(
        submissions, reported, 0.0 if topic_reward is None else topic_reward)


def replay_row(row: Row, columns: SynthesisColumns, history: History, params: Params
               ) -> dict[str, float]:
    """Every output of one row, NaN where the file's history does not determine it."""
    c = columns
    state, inputs = row_epoch(row, columns, history, params)
    topic_reward = row.get("topic_rewards")
    epoch, after = step(state, inputs, params)
    inferred = epoch.inferences

    blank = np.nan
    loss_known = history.rows[0].get("network_loss") is not None
    regrets_known = np.zeros(state.synthesis.regrets.shape, bool)
    for (r, l), name in c.regrets.items():
        regrets_known[r, l] = history.rows[0].get(name) is not None
    rows_known = ~(inferred.members & ~regrets_known).any(axis=1)
    rows_known &= loss_known | ~inferred.members[:, c.n_inferers:].any(axis=1)

    out = dict(zip(c.forecasts("forecasted_regret_{k}_inferer_{j}"),
                   inferred.forecasted_regrets.ravel()))
    if loss_known:
        out |= dict(zip(names("forecast_implied_inference_{}", c.n_forecasters),
                        inferred.forecast_implied))
        out |= dict(zip(c.forecasts("forecast_implied_inference_{k}_oneout_{j}"),
                        inferred.one_out_forecast_implied.T.ravel()))
    out |= dict(zip(c.combined, np.where(rows_known, inferred.combined, blank)))
    if rows_known[0]:
        out |= {name: epoch.confidence_interval[params.ci_percentiles.index(percentile)]
                for name, percentile in zip(c.errorbars, ERRORBAR_PERCENTILES)
                if percentile in params.ci_percentiles}
    out |= dict(zip(c.loss_vector(), epoch.losses))
    out |= {name: after.synthesis.regrets[r, l] for (r, l), name in c.regrets.items()
            if regrets_known[r, l]}

    # §4: scores need only this row; everything else needs the history named below
    out |= dict(zip(names("inferer_score_{}", c.n_inferers), epoch.inferer_scores))
    out |= dict(zip(names("forecaster_score_{}", c.n_forecasters), epoch.forecaster_scores))
    fractions_known = []
    for who, n, scores, fractions in (("inferer", c.n_inferers, epoch.inferer_scores,
                                       epoch.inferer_fractions),
                                      ("forecaster", c.n_forecasters, epoch.forecaster_scores,
                                       epoch.forecaster_fractions)):
        past, known_rows = history.score_history(f"{who}_score_{{}}", n)
        fractions_known.append(window_known(scores, past, known_rows, params))
        if fractions_known[-1]:
            out |= dict(zip(names(f"{who}_reward_fraction_{{}}", n), fractions))
    reputers_known = history.known("reputer_listening_coefficient_{}", c.n_reputers).all()
    fractions_known.append(reputers_known)
    if reputers_known:
        out |= dict(zip(names("reputer_listening_coefficient_{}", c.n_reputers), epoch.listening))
        out |= dict(zip(names("reputer_adjusted_stake_{}", c.n_reputers), epoch.adjusted_stakes))
        out |= dict(zip(names("reputer_score_{}", c.n_reputers), epoch.reputer_scores))
        out |= dict(zip(names("reputer_reward_fraction_{}", c.n_reputers),
                        epoch.reputer_fractions))
    entropies_known = []
    for (who, n), known, carried, entropy in zip(
            (("inferer", c.n_inferers), ("forecaster", c.n_forecasters), ("reputer", c.n_reputers)),
            fractions_known, after.smoothed, epoch.entropies):
        smooth = f"{who}_reward_fraction_smooth_{{}}"
        entropies_known.append(known and history.known(smooth, n).all())
        if entropies_known[-1]:
            out |= dict(zip(names(smooth, n), carried))
            out[f"{who}s_entropy"] = entropy
    out["forecaster_task_score"] = epoch.forecasting_task_score
    tau_known = history.rows[0].get("forecaster_score_ratio") is not None
    if tau_known:
        out["forecaster_score_ratio"] = epoch.score_ratio
        out["forecasters_utility"] = epoch.forecasting_utility
    if all(entropies_known) and tau_known and topic_reward is not None and topic_reward > 0:
        for who, share in zip(("inferers", "forecasters", "reputers"), epoch.class_rewards):
            out[f"{who}_reward_fraction"] = share / topic_reward
        out |= dict(zip(names("inferer_reward_{}", c.n_inferers), epoch.inferer_rewards))
        out |= dict(zip(names("forecaster_reward_{}", c.n_forecasters), epoch.forecaster_rewards))
        out |= dict(zip(names("reputer_reward_{}", c.n_reputers), epoch.reputer_rewards))
    return out


def replay_synthesis(table: Table, params: Params) -> Table:
    """Replay every row after the first (the first provides state only)."""
    columns = SynthesisColumns.from_header(table.header)
    check_consecutive_keys(table, "epochs")
    unknown = sorted(set(params.ci_percentiles) - set(ERRORBAR_PERCENTILES))
    if unknown:
        raise ValueError(f"the table has no network_inference_errorbar column for the profile's "
                         f"percentile(s) {unknown} (eqs 16-18)")
    inputs = set(columns.inputs) | {table.header[0], "target", "topic_rewards"}
    history = History(columns, params.score_window)
    history.push(Row(table, 0), {})
    rows = [table.rows[0]]
    for index in range(1, len(table.rows)):
        row = Row(table, index)
        try:
            outputs = replay_row(row, columns, history, params)
            rows.append(tuple(cell if name in inputs else
                              format_number(outputs[name], name)
                              if not np.isnan(outputs.get(name, np.nan))
                              else "" for name, cell in row.cells.items()))
        except ValueError as error:
            raise ValueError(f"{table.header[0]} {row.key}: {error}") from None
        history.push(row, outputs)
    return Table(table.header, tuple(rows))


def section_4_columns(header: tuple[str, ...]) -> list[str]:
    """The §4 output columns of a synthesis table (scores, reward fractions, rewards, ...)."""
    return SynthesisColumns.from_header(header).section_4_outputs


def deviation_effects(path: str | os.PathLike, simulator: Params, whitepaper: Params,
                      fields: list[str], exclude: list[str] = ()) -> list[tuple[str, float, str, int]]:
    """Replay the file with the simulator profile, the whitepaper profile, and the simulator
    profile with each of ``fields`` set to its whitepaper value: (variant, largest relative
    error against the file, its column, cells left empty)."""
    table = read_table(path)
    variants = {"allora-simulator": simulator, "whitepaper": whitepaper}
    for field in fields:
        value = getattr(whitepaper, field)
        if value != getattr(simulator, field):
            variants[f"simulator with {field} = {value}"] = replace(simulator, **{field: value})
    effects = []
    for name, params in variants.items():
        comparison = compare_tables(table, replay_synthesis(table, params), exclude=exclude)
        worst = max(comparison.families, key=lambda family: family.max_rel_error)
        effects.append((name, worst.max_rel_error, worst.worst_column or "-", comparison.skipped))
    return effects


def emptied(table: Table, keys: set[str], columns: list[str]) -> Table:
    """A copy of ``table`` with ``columns`` emptied in the rows whose key is in ``keys``."""
    drop = {table.column(name) for name in columns}
    return replace(table, rows=tuple(
        tuple("" if row[0] in keys and i in drop else cell for i, cell in enumerate(row))
        for row in table.rows))


def vector_fields(columns: SynthesisColumns, params: Params) -> dict[tuple[str, str], list]:
    """The columns of each field of an epoch vector (``allora_ref.vector_kinds``), as
    ``(part, field) -> column names`` in the field's element order; None marks an element
    the table has no column for (a regret outside its row's family, which is always absent)."""
    c = columns
    i, f, w = c.n_inferers, c.n_forecasters, c.n_workers
    combined = c.combined
    by_who = {who: n for who, n in (("inferer", i), ("forecaster", f), ("reputer", c.n_reputers))}
    smooth = {f"{who}_{kind}_fractions": names(f"{who}_reward_fraction_smooth_{{}}", n)
              for who, n in by_who.items() for kind in ("modified", "smoothed")}
    outputs = {
        "forecasted_regrets": c.forecasts("forecasted_regret_{k}_inferer_{j}"),
        "forecast_implied_inferences": names("forecast_implied_inference_{}", f),
        "one_out_forecast_implied_inferences": [f"forecast_implied_inference_{k}_oneout_{j}"
                                                for j in range(i) for k in range(f)],
        "network_inference": combined[:1], "naive_inference": combined[1:2],
        "one_out_inferences": combined[2: 2 + w], "one_in_inferences": combined[2 + w:],
        "confidence_interval": [c.errorbars[ERRORBAR_PERCENTILES.index(q)]
                                for q in params.ci_percentiles],
        "network_log_losses": c.loss_vector(),
        "inferer_scores": names("inferer_score_{}", i),
        "forecaster_scores": names("forecaster_score_{}", f),
        "inferer_reward_fractions": names("inferer_reward_fraction_{}", i),
        "forecaster_reward_fractions": names("forecaster_reward_fraction_{}", f),
        "listening_coefficients": names("reputer_listening_coefficient_{}", c.n_reputers),
        "adjusted_stakes": names("reputer_adjusted_stake_{}", c.n_reputers),
        "reputer_scores": names("reputer_score_{}", c.n_reputers),
        "reputer_reward_fractions": names("reputer_reward_fraction_{}", c.n_reputers),
        "inference_entropy": ["inferers_entropy"], "forecasting_entropy": ["forecasters_entropy"],
        "reputer_entropy": ["reputers_entropy"],
        "forecasting_task_score": ["forecaster_task_score"],
        "score_ratio": ["forecaster_score_ratio"], "forecasting_utility": ["forecasters_utility"],
    } | {key: value for key, value in smooth.items() if "modified" in key} | {
        f"{who}_rewards": names(f"{who}_reward_{{}}", n) for who, n in by_who.items()}
    state = {"previous_network_log_loss": ["network_loss"],
             "regrets": [c.regrets.get((r, l)) for r in range(2 + w + f) for l in range(w)],
             "listening_coefficients": outputs["listening_coefficients"],
             "score_ratio": ["forecaster_score_ratio"]}
    if params.smoothed_state == "normalised":
        state |= {key: value for key, value in smooth.items() if "smoothed" in key}
    return {("outputs", key): value for key, value in outputs.items()} | {
        ("state", key): value for key, value in state.items()}


def epoch_cases(table: Table, params: Params, profile: str) -> list[dict]:
    """Each row after the first as an epoch vector whose expected values are the file's own.

    The state comes from the rows before (as in :func:`replay_synthesis`); a field is expected
    only where the file holds every one of its cells and its history determines them.
    """
    columns = SynthesisColumns.from_header(table.header)
    check_consecutive_keys(table, "epochs")
    history = History(columns, params.score_window)
    history.push(Row(table, 0), {})
    fields = vector_fields(columns, params)
    cases = []
    for index in range(1, len(table.rows)):
        row = Row(table, index)
        state, inputs = row_epoch(row, columns, history, params)
        case_manifest = manifest(profile, "epoch", "step", f"{table.header[0]}_{row.key}",
                                 f"the row {table.header[0]} {row.key} of a recorded table")
        case_inputs = encode({"state": encode_state(state), "epoch": encode_inputs(inputs)})
        reference = evaluate(case_manifest, case_inputs, params)
        replayed = replay_row(row, columns, history, params)
        expected: dict[str, dict] = {"outputs": {}, "state": {}}
        for (part, key), cells in fields.items():
            if all(name is None or (row.get(name) is not None
                                    and not np.isnan(replayed.get(name, np.nan)))
                   for name in cells):
                values = np.array([np.nan if name is None else row.get(name) for name in cells])
                shape = np.shape(reference[part][key])
                expected[part][key] = encode(values.reshape(shape) if shape else values[0])
        cases.append({"manifest": case_manifest, "parameters": encode_params(params),
                      "inputs": case_inputs, "expected": expected,
                      "tolerance": tolerances(expected)})
        history.push(row, replayed)
    return cases

"""The research simulator's monthly tokenomics table: its columns, and its replay through the spec.

The table (``tokenomics_months_00-24.csv`` and any file with its columns) has one row per month.
The first row (launch) only provides state. For each later row every input column is copied and
every output column is recomputed from the month's inputs and the state of the month before: the
file's own value where the cell is present, the replay's value where it is empty. A cell is left
empty only when the file cannot determine it:

* the rewards of each validator (eq 54) unless the row lists every active validator - the
  simulator's denominator is not the exported ``all_validator_stake_sum``;
* the weight (eq 56) and rewards (eq 55) of a topic whose previous weight is not in the file;
* under the ``whitepaper`` profile, the treasury once fees return to it (the table exports the
  fees of 3 topics only) and e^_max after the first month (the measured f_stakers needs the
  reputers' rewards, which the table does not export) - and whatever depends on them.

Conventions of the table (COLUMNS.md, dataset 2): the launch row has ``e_i`` = 0 - a month whose
``e_i`` is 0 has emitted nothing yet, so the next month starts the smoothing of eq 52; the month's
vesting unlock is the sum of the ``*_tokens_emission`` of the vesting and allocation buckets, of
which the simulated holders stake UNLOCK_STAKED_FRACTION at once; the topic slots can hold
different topics from month to month (matched by ``topic_id_t``), and a month that follows one
without active topics starts every topic afresh.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from allora_ref.compare import compare_tables
from allora_ref.params import Params
from allora_ref.spec.token_emission import (
    EmissionInputs, EmissionState, Supply, emission_step)
from allora_ref.spec.topic_rewards import (
    emission_split, target_topic_weight, topic_emission, topic_weights, validator_emission)
from allora_ref.synthesis_table import Row
from allora_ref.table import Table, check_consecutive_keys, family_size, format_number, read_table
from allora_ref.vector_cases import manifest, tolerances
from allora_ref.vector_kinds import encode_emission_inputs, encode_emission_state
from allora_ref.vectors import encode, encode_params

#: The supply buckets whose ``*_tokens_emission`` is the month's vesting unlock (the ecosystem
#: bucket is the treasury, whose emission is eq 47's).
BUCKETS = ("investors_preseed", "investors_seed", "team", "foundation", "participants")
#: The share of a month's unlock that the simulated holders stake before the emission (found
#: from the data: staked* = staked[i-1] + 0.75 unlock[i]). Holder behaviour, not mechanism.
UNLOCK_STAKED_FRACTION = 0.75


#: Numbered columns of topics and validators: the largest number in any of them sets the count.
FAMILIES = (("topic_id_{}", "topic_total_stake_{}", "topic_weights_{}", "topic_rewards_{}"),
            ("validator_id_{}", "validator_stake_{}", "validator_rewards_{}"))


@dataclass(frozen=True)
class TokenomicsColumns:
    """The column names of the tokenomics table for N_t exported topics and N_v validators."""

    n_topics: int
    n_validators: int

    @classmethod
    def from_header(cls, header: tuple[str, ...]) -> "TokenomicsColumns":
        """Read the sizes from the header and check that every needed column is there."""
        columns = cls(*(max(family_size(header, pattern) for pattern in patterns)
                        for patterns in FAMILIES))
        if "ehat_target_i" not in header:
            raise ValueError("not a tokenomics table: no ehat_target_i column")
        missing = [name for name in columns.inputs + columns.outputs if name not in header]
        if missing:
            raise ValueError(f"tokenomics table of {columns.n_topics} topics and "
                             f"{columns.n_validators} validators lacks the column {missing[0]}"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        return columns

    def topics(self, family: str) -> list[str]:
        return [f"topic_{family}_{t}" for t in range(self.n_topics)]

    def validators(self, family: str) -> list[str]:
        return [f"validator_{family}_{v}" for v in range(self.n_validators)]

    @property
    def unlocks(self) -> list[str]:
        return [f"{bucket}_tokens_emission" for bucket in BUCKETS]

    @property
    def inputs(self) -> list[str]:
        """The columns the replay reads (every other non-output column is copied as well)."""
        return (["network_tokens_total", "network_tokens_circulating", "network_tokens_staked",
                 "n_active_topics", "all_topic_weight_sum", "n_active_validators"]
                + self.unlocks + self.topics("id") + self.topics("total_stake")
                + self.topics("total_fee_revenue") + self.validators("stake"))

    @property
    def outputs(self) -> list[str]:
        """The §5 output columns (eqs 47-57)."""
        return (["network_tokens_emission", "ecosystem_tokens_total", "ecosystem_tokens_emission",
                 "ehat_target_i", "ehat_max_i", "ehat_i", "e_i", "validator_rewards",
                 "topics_rewards"] + self.topics("weights") + self.topics("rewards")
                + self.validators("rewards"))


@dataclass(frozen=True)
class MonthState:
    """What a month leaves for the next (NaN = not determinable from the file)."""

    emission: EmissionState
    topic_weights: dict[str, float]
    """w_t by topic id (eq 56)."""
    any_topics: bool
    """Whether the month had active topics (else the next month's topics are all new)."""


def state_from_row(row: Row, columns: TokenomicsColumns, computed: MonthState | None,
                   params: Params) -> MonthState:
    """State left by ``row``: the file's cells where present, else the replay's own values."""
    def cell(name: str, own: float) -> float:
        value = row.get(name)
        return own if value is None else value

    own = computed.emission if computed else None
    total = row.required(["network_tokens_total"])[0]
    if total != params.total_supply:
        raise ValueError(f"network_tokens_total {total!r} differs from the profile's "
                         f"total_supply {params.total_supply!r}")
    e = cell("e_i", own.e if own else np.nan)
    started = e != 0.0
    circulating, staked = row.required(["network_tokens_circulating", "network_tokens_staked"])
    treasury = cell("ecosystem_tokens_total", own.supply.treasury if own else np.nan)
    # the locked supply is not exported (N_total - treasury - circulating would carry rounding)
    supply = Supply(treasury, circulating, staked, np.nan)
    if started:
        emission = EmissionState(supply, e, True, own.stakers_fraction if own else np.nan)
    else:
        emission = EmissionState.genesis(supply, params)
    weights = dict(computed.topic_weights) if computed else {}
    for id_name, weight_name in zip(columns.topics("id"), columns.topics("weights")):
        topic = row.cells[id_name]
        weights[topic] = cell(weight_name, weights.get(topic, np.nan))
    return MonthState(emission, weights, active_count(row, "n_active_topics") > 0)


def active_count(row: Row, name: str) -> int:
    """A count column of the month (``n_active_topics``, ``n_active_validators``)."""
    value = row.required([name])[0]
    if not (value >= 0 and value == int(value)):
        raise ValueError(f"{name} must be a count (an integer >= 0), got {row.cells[name]!r}")
    return int(value)


def month_inputs(row: Row, columns: TokenomicsColumns) -> EmissionInputs:
    """The emission step's flows of a month: its unlock, the staked share, unknown fees and
    reputer fraction (the table exports neither)."""
    unlock = row.required(columns.unlocks).sum()
    return EmissionInputs(unlock, UNLOCK_STAKED_FRACTION * unlock, fees=np.nan,
                          reputer_fraction=np.nan)


def replay_month(row: Row, columns: TokenomicsColumns, before: MonthState, params: Params
                 ) -> tuple[dict[str, float], MonthState]:
    """The §5 outputs of one month (NaN = not determinable) and the state it leaves."""
    inputs = month_inputs(row, columns)
    unlock = inputs.unlock
    emission, after = emission_step(before.emission, inputs, params)
    to_validators, to_topics = emission_split(emission.total, params.f_v)
    out = {"ehat_target_i": emission.target, "ehat_max_i": emission.maximum,
           "ehat_i": emission.capped, "e_i": emission.e,
           "ecosystem_tokens_emission": emission.total,
           "ecosystem_tokens_total": after.supply.treasury,
           "network_tokens_emission": unlock + emission.total,
           "validator_rewards": float(to_validators), "topics_rewards": float(to_topics)}

    ids = [row.cells[name] for name in columns.topics("id")]
    target = target_topic_weight(row.required(columns.topics("total_stake")),
                                 row.required(columns.topics("total_fee_revenue")),
                                 params.mu, params.nu)
    previous = [before.topic_weights.get(topic, np.nan) for topic in ids]
    weights = topic_weights(target, previous, before.any_topics, params)
    rewards = topic_emission(emission.total, weights, params.f_v,
                             weight_sum=row.required(["all_topic_weight_sum"])[0])
    out |= dict(zip(columns.topics("weights"), weights))
    out |= dict(zip(columns.topics("rewards"), rewards))

    every_validator = active_count(row, "n_active_validators") == columns.n_validators
    out |= dict(zip(columns.validators("rewards"),
                    validator_emission(emission.total, row.required(columns.validators("stake")),
                                       params.f_v)
                    if every_validator else np.full(columns.n_validators, np.nan)))
    return out, MonthState(after, dict(zip(ids, weights)),
                           active_count(row, "n_active_topics") > 0)


def replay_tokenomics(table: Table, params: Params) -> Table:
    """Replay every month after the first through eqs 47-57 (see the module documentation)."""
    columns = TokenomicsColumns.from_header(table.header)
    check_consecutive_keys(table, "months")
    rows, state = [], None
    for index in range(len(table.rows)):
        row = Row(table, index)
        try:
            values, computed = ({}, None) if state is None else replay_month(row, columns, state,
                                                                              params)
            state = state_from_row(row, columns, computed, params)
            rows.append(tuple(cell if name not in values else
                              "" if np.isnan(values[name]) else format_number(values[name], name)
                              for name, cell in row.cells.items()))
        except ValueError as error:
            raise ValueError(f"{table.header[0]} {row.key}: {error}") from None
    return Table(table.header, tuple(rows))


#: The columns of the emission-step vector fields (``allora_ref.vector_kinds``) in the table.
EMISSION_FIELDS = {("outputs", "target"): "ehat_target_i", ("outputs", "maximum"): "ehat_max_i",
                   ("outputs", "capped"): "ehat_i", ("outputs", "e"): "e_i",
                   ("outputs", "total"): "ecosystem_tokens_emission",
                   ("state", "treasury"): "ecosystem_tokens_total", ("state", "e"): "e_i"}


def emission_cases(table: Table, params: Params, profile: str) -> list[dict]:
    """Each month after the first as an emission-step vector whose expected values are the
    file's own (eqs 47-53; the fields of EMISSION_FIELDS that the file holds and determines).

    The state comes from the month before (as in :func:`replay_tokenomics`); the locked supply,
    the fees and the reputers' share are not in the table and stay unknown (null).
    """
    columns = TokenomicsColumns.from_header(table.header)
    check_consecutive_keys(table, "months")
    cases, state = [], None
    for index in range(len(table.rows)):
        row = Row(table, index)
        computed = None
        if state is not None:
            replayed, computed = replay_month(row, columns, state, params)
            case_manifest = manifest(profile, "epoch", "emission_step",
                                     f"{table.header[0]}_{row.key}",
                                     f"the row {table.header[0]} {row.key} of a recorded table")
            case_inputs = encode({"state": encode_emission_state(state.emission),
                                  "epoch": encode_emission_inputs(month_inputs(row, columns))})
            expected: dict[str, dict] = {"outputs": {}, "state": {}}
            for (part, key), name in EMISSION_FIELDS.items():
                value = row.get(name)
                if value is not None and not np.isnan(replayed.get(name, np.nan)):
                    expected[part][key] = encode(value)
            cases.append({"manifest": case_manifest, "parameters": encode_params(params),
                          "inputs": case_inputs, "expected": expected,
                          "tolerance": tolerances(expected)})
        state = state_from_row(row, columns, computed, params)
    return cases


def profile_measurement(path: str | os.PathLike, params: Params) -> tuple[float, str, int]:
    """Replay a table with ``params``: (largest relative error, its column, empty output cells)."""
    table = read_table(path)
    comparison = compare_tables(table, replay_tokenomics(table, params))
    worst = max(comparison.families, key=lambda family: family.max_rel_error)
    return (worst.max_rel_error, f"{worst.worst_column} ({worst.name})" if worst.worst_column
            else "-", comparison.skipped)

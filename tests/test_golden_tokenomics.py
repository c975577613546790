"""The research simulator's monthly tokenomics, replayed through the spec (COLUMNS.md contract)."""

from __future__ import annotations

import dataclasses

import pytest

from allora_ref.compare import compare_tables
from allora_ref.params import load_profile
from allora_ref.synthesis_table import emptied
from allora_ref.table import Table, read_table
from allora_ref.tokenomics_table import TokenomicsColumns, replay_tokenomics

SIMULATOR = load_profile("allora-simulator")
WHITEPAPER = load_profile("whitepaper")


def empty_outputs(table: Table) -> set[tuple[str, str]]:
    """(month, column) of every output cell the replay left empty."""
    columns = TokenomicsColumns.from_header(table.header)
    return {(row[0], name) for row in table.rows[1:]
            for name, cell in zip(table.header, row) if name in columns.outputs and cell == ""}


def undeterminable(golden) -> set[tuple[str, str]]:
    """What the file cannot determine: validator rewards after month 1 (not every validator is
    exported), and topic 4 in month 20 (its previous weight is not in the file)."""
    months = golden.keys[1:]
    cells = {(month, f"validator_rewards_{v}") for month in months[1:] for v in range(3)}
    return cells | {("20", "topic_weights_2"), ("20", "topic_rewards_2")}


def assert_reproduced(golden, replayed, also_empty=frozenset()):
    """0 failed at rtol 1e-9 (far better in fact), empty exactly where the file cannot tell."""
    comparison = compare_tables(golden, replayed, rtol=1e-9)
    assert comparison.failed == 0, "\n".join(comparison.lines())
    assert max(f.max_rel_error for f in comparison.families) < 1e-12
    assert empty_outputs(replayed) == undeterminable(golden) | also_empty


@pytest.mark.eq(47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57)
def test_replay_reproduces_every_determinable_output(golden_tokenomics):
    golden = read_table(golden_tokenomics)
    replayed = replay_tokenomics(golden, SIMULATOR)
    assert_reproduced(golden, replayed)
    assert replayed.rows[0] == golden.rows[0]                        # the launch row is copied


def test_replay_runs_forward_from_its_own_state(golden_tokenomics):
    """Months 6-24 with every output emptied: the replay carries its own treasury, e_i and
    topic weights forward (topic 4, new to the export in month 20, stays undeterminable)."""
    golden = read_table(golden_tokenomics)
    columns = TokenomicsColumns.from_header(golden.header)
    blank = emptied(golden, {str(month) for month in range(6, 25)}, columns.outputs)
    assert dict(zip(blank.header, blank.rows[24]))["e_i"] == ""
    topic_4 = {(str(month), f"topic_{family}_2") for month in range(21, 25)
               for family in ("weights", "rewards")}
    assert_reproduced(golden, replay_tokenomics(blank, SIMULATOR), topic_4)


def test_replay_leaves_undeterminable_cells_empty(golden_tokenomics):
    """Without the launch treasury month 1 has no target (eq 48) and nothing that follows from
    it, while month 2 starts again from the file's month 1; a topic the file did not export in
    the month before has no previous weight (eq 56)."""
    golden = read_table(golden_tokenomics)
    columns = TokenomicsColumns.from_header(golden.header)
    replayed = replay_tokenomics(emptied(golden, {"0"}, ["ecosystem_tokens_total"]), SIMULATOR)
    month_1 = {("1", name) for name in columns.outputs
               if name not in ["ehat_max_i", *columns.topics("weights")]}
    assert_reproduced(golden, replayed, month_1)
    moved = golden.column("topic_id_0")
    renamed = Table(golden.header, tuple(
        row[:moved] + ("99",) + row[moved + 1:] if row[0] == "10" else row for row in golden.rows))
    cells = replay_tokenomics(renamed, SIMULATOR).rows
    for month in (10, 11):                 # topic 99 is new to the file, topic 1 left it
        row = dict(zip(golden.header, cells[month]))
        assert row["topic_weights_0"] == row["topic_rewards_0"] == ""
        assert row["topic_weights_1"] != ""


@pytest.mark.eq(49, 50)
def test_whitepaper_profile_departs_measurably(golden_tokenomics):
    """xi_max = 0.0095 moves every capped month by 1.2e-3; fees returning to the treasury and the
    measured f_stakers make the treasury and e^_max undeterminable from the table."""
    golden = read_table(golden_tokenomics)
    comparison = compare_tables(golden, replay_tokenomics(golden, WHITEPAPER))
    family = {f.name: f for f in comparison.families}
    assert family["e_i"].max_rel_error == pytest.approx(0.0095 / SIMULATOR.xi_max - 1, rel=1e-9)
    assert family["ehat_max_i"].passed == 1 and family["ehat_max_i"].skipped == 23
    assert family["ecosystem_tokens_total"].skipped == 24
    assert family["ehat_target_i"].failed == 0                 # the file's treasury is the state
    alone = replay_tokenomics(golden, dataclasses.replace(SIMULATOR, xi_max=WHITEPAPER.xi_max))
    e_i = golden.column("e_i")
    moved = [int(a[0]) for a, b in zip(alone.rows, golden.rows)
             if float(a[e_i]) != pytest.approx(float(b[e_i]), rel=1e-9)]
    assert moved == list(range(1, 12))          # the cap binds until the unlock of month 12


def test_table_must_match_the_profiles_total_supply(golden_tokenomics):
    golden = read_table(golden_tokenomics)
    with pytest.raises(ValueError, match="network_tokens_total .* differs from the profile"):
        replay_tokenomics(golden, dataclasses.replace(SIMULATOR, total_supply=2e9))

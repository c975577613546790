"""The research simulator's golden epochs, replayed through the spec (COLUMNS.md contract)."""

from __future__ import annotations

import numpy as np
import pytest

from allora_ref.compare import compare_tables
from allora_ref.params import load_profile
from allora_ref.synthesis_table import (SynthesisColumns, emptied, replay_synthesis, section_4_columns)
from allora_ref.table import read_table

SIMULATOR = load_profile("allora-simulator")


def section_3_comparison(golden, table):
    replayed = replay_synthesis(table, SIMULATOR)
    return replayed, compare_tables(golden, replayed, rtol=1e-9,
                                    exclude=section_4_columns(golden.header))


def assert_every_section_3_cell_reproduced(golden, replayed, comparison):
    assert comparison.failed == 0, "\n".join(comparison.lines())
    columns = SynthesisColumns.from_header(golden.header)
    for row in replayed.rows[1:]:
        cells = dict(zip(replayed.header, row))
        assert all(cells[name] != "" for name in columns.outputs), f"empty §3 cell in {row[0]}"
    assert comparison.skipped == 0


@pytest.mark.eq(3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18)
def test_replay_reproduces_every_section_3_output(golden_synthesis):
    golden = read_table(golden_synthesis)
    replayed, comparison = section_3_comparison(golden, golden)
    assert_every_section_3_cell_reproduced(golden, replayed, comparison)
    assert replayed.rows[0] == golden.rows[0]                  # the first row is copied
    worst = max(f.max_rel_error for f in comparison.families)
    assert worst < 1e-12                                       # far inside the 1e-9 contract


def test_replay_runs_forward_from_its_own_state(golden_synthesis):
    """Rows 302-303 with every output emptied: the replay uses the state it computed itself."""
    golden = read_table(golden_synthesis)
    columns = SynthesisColumns.from_header(golden.header)
    outputs = columns.outputs + section_4_columns(golden.header)
    blank = emptied(golden, {"302", "303"}, outputs)
    assert all(dict(zip(blank.header, blank.rows[3]))[name] == "" for name in columns.outputs)
    replayed, comparison = section_3_comparison(golden, blank)
    assert_every_section_3_cell_reproduced(golden, replayed, comparison)


def test_replay_leaves_undeterminable_cells_empty(golden_synthesis):
    """Without row 300's regrets, row 301 cannot weight anything; its losses still follow."""
    golden = read_table(golden_synthesis)
    columns = SynthesisColumns.from_header(golden.header)
    blank = emptied(golden, {"300"}, list(columns.regrets.values()) + ["network_loss"])
    replayed = dict(zip(golden.header, replay_synthesis(blank, SIMULATOR).rows[1]))
    assert replayed["network_inference"] == "" and replayed["forecast_implied_inference_0"] == ""
    assert replayed["inference_regret_worker_0"] == ""
    expected = dict(zip(golden.header, golden.rows[1]))
    assert float(replayed["network_loss"]) == pytest.approx(float(expected["network_loss"]),
                                                            rel=1e-12)


def test_whitepaper_profile_departs_measurably(golden_synthesis):
    """The paper read literally (population sigma, no guard rails, no median) is not the data."""
    golden = read_table(golden_synthesis)
    replayed = replay_synthesis(golden, load_profile("whitepaper"))
    comparison = compare_tables(golden, replayed, exclude=section_4_columns(golden.header))
    assert comparison.failed > 0
    cells = dict(zip(golden.header, replayed.rows[1]))
    assert cells["network_inference_errorbar_2"] == ""        # the paper has no median
    np.testing.assert_allclose(float(cells["network_loss"]),
                               float(dict(zip(golden.header, golden.rows[1]))["network_loss"]))

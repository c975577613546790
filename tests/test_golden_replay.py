"""The research simulator's golden epochs, replayed through the spec (COLUMNS.md contract)."""

from __future__ import annotations

import fnmatch

import numpy as np
import pytest

from allora_ref.compare import compare_tables
from allora_ref.params import load_profile
from allora_ref.synthesis_table import (SynthesisColumns, emptied, replay_synthesis,
                                        section_4_columns)
from allora_ref.table import read_table

SIMULATOR = load_profile("allora-simulator")

#: What rows 301-302 cannot determine: the forecasters' 10-sample score window reaches epochs
#: before 300, which the file does not hold (COLUMNS.md), and everything that follows from it.
WINDOW_BEFORE_THE_FILE = ["forecaster_reward_fraction_*", "forecasters_entropy",
                          "*s_reward_fraction", "inferer_reward_*", "forecaster_reward_*",
                          "reputer_reward_*"]


def empty_outputs(replayed, key):
    columns = SynthesisColumns.from_header(replayed.header)
    row = dict(zip(replayed.header, next(r for r in replayed.rows if r[0] == key)))
    return [name for name in columns.outputs + columns.section_4_outputs if row[name] == ""]


@pytest.mark.eq(3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46)
def test_replay_reproduces_every_column(golden_synthesis):
    golden = read_table(golden_synthesis)
    replayed = replay_synthesis(golden, SIMULATOR)
    comparison = compare_tables(golden, replayed, rtol=1e-9)
    assert comparison.failed == 0, "\n".join(comparison.lines())
    assert max(f.max_rel_error for f in comparison.families) < 1e-11
    assert replayed.rows[0] == golden.rows[0]                  # the first row is copied
    assert empty_outputs(replayed, "303") == []
    for key in ("301", "302"):
        skipped = empty_outputs(replayed, key)
        assert skipped and all(any(fnmatch.fnmatchcase(name, pattern)
                                   for pattern in WINDOW_BEFORE_THE_FILE) for name in skipped)
    assert "inferer_reward_fraction_0" not in empty_outputs(replayed, "301")


def test_replay_runs_forward_from_its_own_state(golden_synthesis):
    """Rows 302-303 with every output emptied: the replay uses the state it computed itself."""
    golden = read_table(golden_synthesis)
    columns = SynthesisColumns.from_header(golden.header)
    blank = emptied(golden, {"302", "303"}, columns.outputs + columns.section_4_outputs)
    assert all(cell == "" for name, cell in zip(blank.header, blank.rows[3])
               if name in columns.outputs)
    replayed = replay_synthesis(blank, SIMULATOR)
    comparison = compare_tables(golden, replayed, rtol=1e-9)
    assert comparison.failed == 0, "\n".join(comparison.lines())
    assert [name for name in empty_outputs(replayed, "303")
            if name in columns.outputs] == []                 # every §3 cell of 303 is back
    # §4: only what depends on epoch 302's forecaster fractions (window before the file) is empty
    assert "reputer_listening_coefficient_0" not in empty_outputs(replayed, "303")
    assert "inferer_reward_fraction_0" not in empty_outputs(replayed, "303")


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
    assert float(replayed["inferer_score_0"]) == pytest.approx(float(expected["inferer_score_0"]),
                                                               rel=1e-9)


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

"""Unit and property tests of §5.1 (eqs 47-53): emission, APY cap, smoothing, supply."""

from __future__ import annotations

import dataclasses
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import examples

from allora_ref.params import load_profile
from allora_ref.spec import token_emission as spec
from allora_ref.table import read_table

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
#: The research simulator's launch (month 0) and its first month (tokenomics_months_00-24.csv).
LAUNCH = spec.Supply(treasury=359.5e6, circulating=155e6, staked=47e6, locked=485.5e6)


# --- eq 47 ---------------------------------------------------------------------------------

@pytest.mark.eq(47)
def test_eq47_emission_per_step_adds_up_to_the_month():
    assert spec.total_emission(0.02, 50e6, 1.0) == 1e6
    per_epoch = spec.total_emission(0.02, 50e6, 720.0)
    assert per_epoch * 720 == pytest.approx(1e6, rel=1e-15)
    with pytest.raises(ValueError, match=r"N_staked,i \(eq 47\) must be non-negative"):
        spec.total_emission(0.02, -1.0, 1.0)


# --- eq 48 ---------------------------------------------------------------------------------

@pytest.mark.eq(48)
def test_eq48_target_of_the_simulators_first_month():
    target = spec.target_emission(359.5e6, 155e6, 47e6, 1e9, 0.025)
    assert target == pytest.approx(0.029639627659574466, rel=1e-15)   # ehat_target_i, month 1
    # the whole supply circulating: the monthly emission at the target is f_e T_total
    assert spec.target_emission(3e8, 1e9, 4e8, 1e9, 0.025) * 4e8 == pytest.approx(0.025 * 3e8)
    with pytest.raises(ValueError, match=r"N_staked,i \(eq 48\) must be > 0"):
        spec.target_emission(3e8, 1e8, 0.0, 1e9, 0.025)
    with pytest.raises(ValueError, match=r"treasury T_total,i \(eq 48\) must be finite"):
        spec.target_emission(np.inf, 1e8, 1e7, 1e9, 0.025)
    assert np.isnan(spec.target_emission(np.nan, 1e8, 1e7, 1e9, 0.025))   # unknown propagates


# --- eqs 49-51 -----------------------------------------------------------------------------

@pytest.mark.eq(49)
def test_eq49_monthly_yield_and_stakers_fraction():
    assert spec.stakers_fraction(0.25, 1 / 3) == 0.5
    assert spec.monthly_percentage_yield(0.5, 0.02) == 0.01
    with pytest.raises(ValueError, match=r"W/E \(eq 49\) must be <= 1"):
        spec.stakers_fraction(0.25, 1.5)


@pytest.mark.eq(49, 50)
def test_eq49_eq50_apy_cap_of_both_profiles():
    assert spec.maximum_emission(SIMULATOR.xi_max, 0.5) == 0.01897758586916609   # ehat_max_i
    assert spec.annual_percentage_yield(SIMULATOR.xi_max) == pytest.approx(0.12, rel=1e-13)
    assert spec.annual_percentage_yield(WHITEPAPER.xi_max) == pytest.approx(0.1201492162741765,
                                                                            rel=1e-13)
    with pytest.raises(ValueError, match=r"f_stakers,i \(eq 50\) must be > 0"):
        spec.maximum_emission(0.0095, 0.0)


@pytest.mark.eq(51)
def test_eq51_capped_target():
    np.testing.assert_array_equal(spec.capped_target_emission([0.01, 0.03], 0.02), [0.01, 0.02])
    assert np.isnan(spec.capped_target_emission(np.nan, 0.02))


# --- eqs 52-53 -----------------------------------------------------------------------------

@pytest.mark.eq(52, 56)
def test_eq52_ema_and_its_start():
    ema = spec.exponential_moving_average
    assert ema(2.0, 1.0, 0.1, True, "first-value") == pytest.approx(1.1, rel=1e-15)
    assert ema(2.0, np.nan, 0.1, False, "first-value") == 2.0            # e_1 = e^_1 exactly
    assert ema(2.0, np.nan, 0.1, False, "zero") == pytest.approx(0.2, rel=1e-15)
    assert np.isnan(ema(2.0, np.nan, 0.1, True, "first-value"))           # unknown, not new


@pytest.mark.eq(52)
@examples(60)
@given(st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(1, 40))
def test_eq52_step_response_is_geometric(alpha, start, level, steps):
    """After the target jumps to b, e_n = b + (e_0 - b)(1 - alpha)^n (the notebook's solution)."""
    e = start
    for _ in range(steps):
        e = float(spec.exponential_moving_average(level, e, alpha, True, "first-value"))
    assert e == pytest.approx(level + (start - level) * (1 - alpha) ** steps, abs=1e-14)
    assert min(start, level) - 1e-15 <= e <= max(start, level) + 1e-15


@pytest.mark.eq(53)
@examples(60)
@given(st.floats(1e-6, 1.0), st.integers(1, 60))
def test_eq53_recalibrated_alpha_keeps_the_smoothing_per_unit_time(alpha, steps):
    alpha_hat = spec.recalibrated_alpha(alpha, steps)
    assert (1 - alpha_hat) ** steps == pytest.approx(1 - alpha, rel=1e-12, abs=1e-15)
    with mpmath.workdps(40):            # exact reference, free of cancellation for small alpha
        exact = 1 - (1 - mpmath.mpf(alpha)) ** (mpmath.mpf(1) / steps)
    assert alpha_hat == pytest.approx(float(exact), rel=1e-14)


@pytest.mark.eq(53)
def test_eq53_papers_example():
    assert spec.recalibrated_alpha(0.5, 1 / 4) == 0.9375          # weekly 0.5 <-> monthly
    assert spec.recalibrated_alpha(0.1, 1.0) == 0.1
    assert spec.recalibrated_alpha(1.0, 7.0) == 1.0


# --- eqs 47-53 together --------------------------------------------------------------------

@pytest.mark.eq(47, 48, 50, 51, 52)
def test_first_month_of_the_simulator():
    """Month 1 of the golden table, by hand: nothing unlocks, the cap binds, e_1 = e^_1."""
    emission, state = spec.emission_step(spec.EmissionState.genesis(LAUNCH, SIMULATOR),
                                         spec.EmissionInputs(), SIMULATOR)
    assert emission.capped == emission.maximum == emission.e == 0.01897758586916609
    assert emission.total == pytest.approx(891946.5358508063, rel=1e-15)
    assert state.supply.treasury == pytest.approx(358608053.46414924, rel=1e-15)
    assert state.supply.circulating == pytest.approx(155891946.5358508, rel=1e-15)
    assert state.started and state.e == emission.e
    assert emission.apy == pytest.approx(0.12, rel=1e-13)


@pytest.mark.eq(48)
def test_unlock_timing_decides_what_eq48_sees():
    inputs = spec.EmissionInputs(unlock=100e6, unlock_staked=75e6)
    state = spec.EmissionState.genesis(LAUNCH, SIMULATOR)
    before, after_state = spec.emission_step(state, inputs, SIMULATOR)
    late = dataclasses.replace(SIMULATOR, unlock_timing="after-emission")
    after, late_state = spec.emission_step(state, inputs, late)
    assert (before.circulating, before.staked) == (255e6, 122e6)
    assert (after.circulating, after.staked) == (155e6, 47e6)
    for s, e in ((after_state, before), (late_state, after)):    # the books end the same way
        assert s.supply.circulating == pytest.approx(255e6 + e.total, rel=1e-15)
        assert s.supply.locked == 385.5e6 and s.supply.staked == 122e6


@pytest.mark.eq(49, 50)
def test_measured_stakers_fraction_comes_from_the_previous_step():
    state = spec.EmissionState.genesis(LAUNCH, WHITEPAPER)
    first, state = spec.emission_step(state, spec.EmissionInputs(reputer_fraction=0.2),
                                      WHITEPAPER)
    second, _ = spec.emission_step(state, spec.EmissionInputs(reputer_fraction=0.2), WHITEPAPER)
    assert first.stakers_fraction == WHITEPAPER.f_stakers
    assert second.stakers_fraction == pytest.approx(0.25 + 0.75 * 0.2, rel=1e-15)
    assert second.maximum == pytest.approx(WHITEPAPER.xi_max / 0.4, rel=1e-15)


@pytest.mark.eq(49, 52)
def test_measured_stakers_fraction_can_break_the_apy_cap():
    """The MPY cap holds for a constant f_stakers only: e carries older, higher caps."""
    params = dataclasses.replace(WHITEPAPER, f_stakers=0.4)
    low = spec.Supply(359.5e6, 155e6, 0.3 * 155e6, 485.5e6)
    first, state = spec.emission_step(spec.EmissionState.genesis(low, params),
                                      spec.EmissionInputs(reputer_fraction=(0.6 - 0.25) / 0.75),
                                      params)
    second, _ = spec.emission_step(state, spec.EmissionInputs(reputer_fraction=0.2), params)
    assert first.mpy == pytest.approx(params.xi_max, rel=1e-15)
    e_2 = 0.1 * params.xi_max / 0.6 + 0.9 * params.xi_max / 0.4
    assert second.mpy == pytest.approx(0.6 * e_2, rel=1e-15)
    assert second.mpy > params.xi_max


@pytest.mark.eq(49)
def test_measured_stakers_fraction_must_be_given():
    state = spec.EmissionState.genesis(LAUNCH, WHITEPAPER)
    with pytest.raises(ValueError, match=r"W/E \(eq 49\) is required"):
        spec.emission_step(state, spec.EmissionInputs(), WHITEPAPER)


@pytest.mark.eq(47, 49)
def test_yield_counts_only_what_the_treasury_paid():
    """A treasury emptied after a rich month pays less than eq 47 asks (e remembers the rich
    month through eq 52): the MPY is that of the paid emission."""
    _, state = spec.emission_step(spec.EmissionState.genesis(LAUNCH, SIMULATOR),
                                  spec.EmissionInputs(), SIMULATOR)
    poor = spec.Supply(1e3, state.supply.circulating, state.supply.staked, state.supply.locked)
    emission, _ = spec.emission_step(dataclasses.replace(state, supply=poor),
                                     spec.EmissionInputs(), SIMULATOR)
    assert emission.total == 1e3 and emission.paid < 0.01
    assert emission.mpy == pytest.approx(SIMULATOR.f_stakers * 1e3 / emission.staked, rel=1e-12)


@pytest.mark.eq(48)
def test_fees_return_to_the_treasury_only_in_the_whitepaper_profile():
    state = spec.EmissionState.genesis(LAUNCH, WHITEPAPER)
    inputs = spec.EmissionInputs(fees=1e6, reputer_fraction=1 / 3)
    paper, paper_state = spec.emission_step(state, inputs, WHITEPAPER)
    sim, sim_state = spec.emission_step(state, inputs, SIMULATOR)
    assert paper_state.supply.treasury == pytest.approx(359.5e6 - paper.total + 1e6, rel=1e-15)
    assert sim_state.supply.treasury == pytest.approx(359.5e6 - sim.total, rel=1e-15)


def test_bad_supply_and_flows_name_the_quantity():
    with pytest.raises(ValueError, match=r"staked supply N_staked \(eq 48\) .* exceeds"):
        spec.Supply(1.0, 1.0, 2.0, 0.0)
    with pytest.raises(ValueError, match=r"treasury supply \(eq 48\) must be non-negative"):
        spec.Supply(-1.0, 1.0, 0.0, 0.0)
    state = spec.EmissionState.genesis(LAUNCH, SIMULATOR)
    with pytest.raises(ValueError, match=r"vesting unlock \(eq 48\)"):
        spec.emission_step(state, spec.EmissionInputs(unlock=600e6), SIMULATOR)
    with pytest.raises(ValueError, match=r"vesting unlock \(eq 48\)"):
        spec.emission_step(state, spec.EmissionInputs(unlock=1.0, unlock_staked=2.0), SIMULATOR)


@st.composite
def histories(draw):
    """A launch supply of 1e9 tokens and 1-24 steps of random unlocks, fees and staking."""
    fractions = draw(st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3))
    treasury, circulating, locked = 1e9 * np.array(fractions) / sum(fractions)
    staked = draw(st.floats(0.05, 1.0)) * circulating
    steps = draw(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 0.1),
                                    st.floats(0.05, 1.0), st.floats(0, 1)),
                          min_size=1, max_size=24))
    profile = draw(st.sampled_from([WHITEPAPER, SIMULATOR]))
    alpha_e = draw(st.sampled_from([profile.alpha_e, 1.0, 0.02]))
    epochs = draw(st.sampled_from([1.0, 4.0, 30.0]))
    return (spec.Supply(treasury, circulating, staked, locked),
            dataclasses.replace(profile, alpha_e=alpha_e, epochs_per_month=epochs), steps)


@pytest.mark.eq(47, 48, 49, 50, 51, 52, 53)
@examples(80)
@given(histories())
def test_emission_bounded_cap_respected_supply_conserved(history):
    """Emission never exceeds the treasury; with a constant f_stakers the APY never exceeds the
    cap; treasury + circulating + locked = total after every step."""
    supply, params, steps = history
    constant = dataclasses.replace(params, f_stakers_rule="constant")
    for p in (params, constant):
        state = spec.EmissionState.genesis(supply, p)
        for unlock, staked_part, fee, stake_share, reputers in steps:
            before = state.supply
            unlock_now = unlock * before.locked
            inputs = spec.EmissionInputs(unlock_now, staked_part * unlock_now,
                                         fee * (before.circulating - before.staked), reputers)
            emission, state = spec.emission_step(state, inputs, p)
            assert 0 <= emission.total <= before.treasury
            assert math.isclose(state.supply.total, p.total_supply, rel_tol=1e-12)
            if p.f_stakers_rule == "constant":
                assert emission.apy <= (1 + p.xi_max) ** 12 - 1 + 1e-15
            circulating = state.supply.circulating
            state = dataclasses.replace(state, supply=dataclasses.replace(
                state.supply, staked=max(state.supply.staked, stake_share * circulating)))


def test_vesting_schedule_reproduces_the_simulators_unlocks(golden_tokenomics):
    """Investors and team: a third at month 12, then 1/36 a month (DEVIATIONS.md §5)."""
    table = read_table(golden_tokenomics)
    months = np.array([int(key) for key in table.keys])
    buckets = {"investors_preseed": 50e6, "investors_seed": 260.5e6, "team": 175e6}
    unlocks = spec.vesting_unlocks(list(buckets.values()), months, 12, 36)
    for column, name in enumerate(buckets):
        recorded = [float(row[table.column(f"{name}_tokens_emission")]) for row in table.rows]
        np.testing.assert_allclose(unlocks[:, column], recorded, rtol=1e-15, atol=0)

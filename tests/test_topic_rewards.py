"""Unit and property tests of §5.2 (eqs 54-57): validator and topic emission, topic weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import examples

from allora_ref.params import load_profile
from allora_ref.spec import topic_rewards as spec

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")


@pytest.mark.eq(54, 55)
def test_eq54_eq55_pay_out_the_whole_emission():
    validators, topics = spec.emission_split(1000.0, 0.25)
    assert (validators, topics) == (250.0, 750.0)
    v = spec.validator_emission(1000.0, [1.0, 3.0], 0.25)
    t = spec.topic_emission(1000.0, [2.0, 1.0, 1.0], 0.25)
    np.testing.assert_array_equal(v, [62.5, 187.5])
    np.testing.assert_array_equal(t, [375.0, 187.5, 187.5])
    assert v.sum() + t.sum() == 1000.0


@pytest.mark.eq(54)
def test_eq54_simulators_first_month():
    """Month 1: every active validator is exported, so eq 54 reproduces their rewards."""
    stakes = [1220576.890643749, 1199203.1614497465, 1581077.1827374736]
    rewards = spec.validator_emission(891946.5358508063, stakes, SIMULATOR.f_v)
    np.testing.assert_allclose(rewards, [68028.50398354916, 66837.24529860828, 88120.88468054413],
                               rtol=1e-15)
    with pytest.raises(ValueError, match=r"S_v,i \(eq 54\) must be a vector with a positive sum"):
        spec.validator_emission(1.0, [0.0, 0.0], 0.25)


@pytest.mark.eq(55)
def test_eq55_with_the_sum_of_all_topics():
    shares = spec.topic_emission(100.0, [1.0, 2.0], 0.25, weight_sum=10.0)
    np.testing.assert_array_equal(shares, [7.5, 15.0])
    with pytest.raises(ValueError, match=r"sum of topic weights \(eq 55\) must be > 0"):
        spec.topic_emission(100.0, [0.0], 0.25)


@pytest.mark.eq(53, 56)
def test_eq56_topic_weights_monthly():
    assert spec.topic_weight_alpha(SIMULATOR) == 0.9375
    weights = spec.topic_weights([100.0, 100.0, 50.0], [20.0, np.nan, np.nan],
                                 [True, False, True], SIMULATOR)
    np.testing.assert_allclose(weights[:2], [0.9375 * 100 + 0.0625 * 20, 100.0], rtol=1e-15)
    assert np.isnan(weights[2])                     # previous weight unknown
    zero = dataclasses.replace(SIMULATOR, ema_start="zero")
    assert spec.topic_weights(100.0, np.nan, False, zero) == 93.75
    weekly = dataclasses.replace(WHITEPAPER, epochs_per_month=WHITEPAPER.weeks_per_month)
    assert spec.topic_weight_alpha(weekly) == 0.5   # the paper's weekly alpha_t


@pytest.mark.eq(57)
def test_eq57_geometric_mean_of_stake_and_fees():
    target = spec.target_topic_weight([1116348.8993855934, 4.0], [74337.26358999203, 0.0],
                                      0.5, 0.5)
    assert target[0] == pytest.approx(288073.46700455487, rel=1e-15)   # month 1, topic 1
    assert target[1] == 0.0                                            # no fees, no weight
    with pytest.raises(ValueError, match=r"C_t,i \(eq 57\) must be non-negative"):
        spec.target_topic_weight(1.0, -1.0, 0.5, 0.5)


@pytest.mark.eq(57)
@examples(50)
@given(st.floats(0.0, 1e6), st.floats(1e-3, 1e3), st.sampled_from([2.0, 24.0, 168.0]),
       st.integers(1, 200))
def test_eq57_fee_revenue_decays_to_a_window_of_fees(start, fee, epochs_per_week, epochs):
    """Decay-then-add: C_n = (1 - 1/N_w)^n C_0 + N_w (1 - (1 - 1/N_w)^n) F, tending to N_w F."""
    params = dataclasses.replace(WHITEPAPER, epochs_per_month=epochs_per_week * 4.0)
    revenue = start
    for _ in range(epochs):
        revenue = float(spec.effective_fee_revenue(revenue, fee, params))
    keep = (1 - 1 / epochs_per_week) ** epochs
    assert revenue == pytest.approx(keep * start + epochs_per_week * (1 - keep) * fee, rel=1e-11)


@pytest.mark.eq(57)
def test_eq57_fee_revenue_at_monthly_steps_is_the_months_fees():
    assert spec.effective_fee_revenue(1e6, 3.0, SIMULATOR) == 3.0


@pytest.mark.eq(55, 57)
@examples(50)
@given(st.lists(st.floats(1.0, 1e6), min_size=2, max_size=8), st.floats(1.0, 1e6),
       st.floats(1.0, 1e6))
def test_topic_share_elasticity_to_its_fees(other_weights, stake, fees):
    """d ln s_t / d ln C_t = nu (1 - s_t) (the notebook's derivation), by central differences."""
    def share(fee):
        own = spec.target_topic_weight(stake, fee, WHITEPAPER.mu, WHITEPAPER.nu)
        return spec.topic_emission(1.0, own, 0.0, weight_sum=own + sum(other_weights))

    h = 1e-5
    numeric = (np.log(share(fees * np.exp(h))) - np.log(share(fees * np.exp(-h)))) / (2 * h)
    assert numeric == pytest.approx(WHITEPAPER.nu * (1 - share(fees)), rel=1e-6, abs=1e-9)

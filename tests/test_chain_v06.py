"""The chain-v0.6 profile (chain/v0.6.md): its ranges and every rule against numbers derived by
hand from the document's formulas."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from allora_ref.params import check_ranges, load_profile, parse_range, profile_differences
from allora_ref.spec import topic_rewards as tr

CHAIN = load_profile("chain-v0.6")
WHITEPAPER = load_profile("whitepaper")


# --- §12 parameter validation -------------------------------------------------------------

@pytest.mark.parametrize("field, value, interval", [
    ("p", 2.4, r"\[2.5, 4.5\]"), ("p", 4.6, r"\[2.5, 4.5\]"),
    ("alpha_t", 1.0, r"\(0, 1\)"), ("alpha_task", 1.0, r"\(0, 1\)"),
    ("listening_learning_rate", 1.0, r"\(0, 1\)"), ("beta_entropy", 1.5, r"\[0, 1\]"),
    ("mu", 1.01, r"\[0, 1\]"), ("epoch_length", 11.0, r"\[12, inf\)"),
    ("listening_gradient_threshold", 1.0, r"\(0, 1\)"), ("f_e", 1.5, r"\[0, 1\]")])
def test_chain_ranges_reject_with_field_and_range(field, value, interval):
    with pytest.raises(ValueError, match=rf"parameter {field} = .* is outside {interval}, "
                                         r"the range declared by validation 'chain-v0.6'"):
        dataclasses.replace(CHAIN, **{field: value})


def test_chain_ranges_accept_their_ends():
    """§12: AlphaRegret = 1 and p = 2.5 or 4.5 are allowed; TopicRewardAlpha = 1 is not."""
    for change in ({"alpha_regret": 1.0}, {"p": 2.5}, {"p": 4.5}, {"mu": 0.0}, {"nu": 1.0},
                   {"epoch_length": 12.0}, {"initial_regret_offset": -1e9}):
        assert check_ranges(dataclasses.replace(CHAIN, **change)) is not None
    # the paper's profile declares no ranges: p = 2 is fine there
    assert dataclasses.replace(WHITEPAPER, p=2.0, alpha_t=1.0).p == 2.0


def test_parse_range():
    assert parse_range("[2.5, 4.5]") == (2.5, True, 4.5, True)
    assert parse_range("(0, inf)") == (0.0, False, math.inf, False)


def test_chain_profile_differs_from_the_simulator_where_the_document_says():
    simulator = load_profile("allora-simulator")
    differences = profile_differences(simulator, CHAIN)
    assert differences["reward_p_inference"] == (3.0, 1.0)        # PRewardInference
    assert differences["reputer_reward_p"] == (1.0, 3.0)          # PRewardReputer
    assert differences["f_stakers"] == (0.5, 0.25 + 0.75 * 0.3)   # r = 0.3 at genesis (§11)
    assert differences["weeks_per_month"] == (4.0, 4.345)
    assert {"p", "c", "epsilon", "alpha_regret", "sigma_ddof"}.isdisjoint(differences)


# --- §1-3 topic weight, fee drip, topic reward ---------------------------------------------

@pytest.mark.eq(56, 57)
def test_fee_revenue_per_block_and_per_epoch_alpha():
    """§1: w^ = S^mu (C / L)^nu, w = 0.5 w^ + 0.5 w_prev at every epoch end."""
    stake, revenue, previous = 4e6, 2.4e6, 300.0
    target = math.sqrt(4e6) * math.sqrt(2.4e6 / 1200)          # 2000 * sqrt(2000)
    weight = tr.topic_weight(stake, revenue, previous, True, CHAIN)
    np.testing.assert_allclose(weight, 0.5 * target + 0.5 * 300.0, rtol=1e-15)
    # the paper reads C^nu with alpha_t recalibrated: a monthly step uses 1 - 0.5^4
    paper = tr.topic_weight(stake, revenue, previous, True, WHITEPAPER)
    np.testing.assert_allclose(paper, 0.9375 * math.sqrt(4e6 * 2.4e6) + 0.0625 * 300.0,
                               rtol=1e-15)


@pytest.mark.eq(56, 57)
def test_zero_fee_gives_zero_weight_and_a_stored_zero_is_a_prior():
    """§1 edge cases: C = 0 -> w = 0 (no EMA); the next epoch uses EMA(w^, 0) = 0.5 w^."""
    assert tr.topic_weight(1e6, 0.0, 500.0, True, CHAIN) == 0.0
    again = tr.topic_weight(1e6, 1200.0, 0.0, True, CHAIN)
    np.testing.assert_allclose(again, 0.5 * math.sqrt(1e6 * 1.0), rtol=1e-15)
    # zero stake with mu > 0: w^ = 0 and w = (1 - alpha_t) w_prev
    assert tr.topic_weight(0.0, 1200.0, 80.0, True, CHAIN) == 40.0


@pytest.mark.eq(57)
def test_fee_drip_truncates_to_integers():
    """§2: C <- trunc(max(0, C - C / (864000 / 4.345 / L))) once per topic epoch."""
    epochs_per_week = 864000 / 4.345 / 1200                    # 165.707...
    assert tr.topic_epochs_per_week(CHAIN) == pytest.approx(epochs_per_week, rel=1e-15)
    # 75000 - 75000 / 165.7077... = 74547.39...  ->  74547; then fees of the next epoch added
    assert tr.effective_fee_revenue(75000.0, 10.0, CHAIN) == 74547.0 + 10.0
    # L longer than a week's blocks: the drip exceeds C, which becomes 0
    long_epochs = dataclasses.replace(CHAIN, epoch_length=250000.0)
    assert tr.effective_fee_revenue(75000.0, 0.0, long_epochs) == 0.0


@pytest.mark.eq(57)
@given(st.integers(0, 10**12))
def test_fee_drip_never_creates_tokens_and_drains(revenue):
    """§2: the dripped revenue is an integer no larger than the exact geometric decay."""
    dripped = float(tr.effective_fee_revenue(float(revenue), 0.0, CHAIN))
    assert dripped == int(dripped)
    assert dripped <= revenue * (1 - 1 / tr.topic_epochs_per_week(CHAIN)) + 1e-6 * revenue
    if 0 < revenue < 166:                 # below one uallo of drip: one uallo disappears
        assert dripped == revenue - 1


@pytest.mark.eq(57)
def test_small_revenue_drains_in_finitely_many_epochs():
    revenue, epochs = 1000.0, 0
    while revenue > 0:
        revenue = float(tr.effective_fee_revenue(revenue, 0.0, CHAIN))
        epochs += 1
    # each epoch removes trunc-up of C/165.7, i.e. exactly 1 uallo while C < 165.7 and at least
    # 1; so 1000 uallo drain in at most 1000 epochs, and far fewer than a geometric decay needs
    assert 165 < epochs <= 1000


@pytest.mark.eq(55)
def test_topic_reward_is_block_reward_times_epoch_length():
    """§3.2: E_t = (w_t / sum W) R_blk L_t, R_blk = E_blk - trunc(f_v E_blk)."""
    rewards = tr.topic_rewards(1001.0, [600.0, 200.0], 1000.0, 1e15, CHAIN)
    r_blk = 1001 - math.trunc(0.25 * 1001)                    # 1001 - 250 = 751
    np.testing.assert_allclose(rewards, [0.6 * r_blk * 1200, 0.2 * r_blk * 1200], rtol=1e-15)
    # the paper: (1 - f_v) E w / sum w, no truncation, no epoch length
    np.testing.assert_allclose(tr.topic_rewards(1001.0, [600.0, 200.0], 1000.0, None,
                                                WHITEPAPER), [0.75 * 1001 * 0.6,
                                                              0.75 * 1001 * 0.2], rtol=1e-15)


@pytest.mark.eq(55)
def test_treasury_shortfall_and_min_topic_weight():
    """§3.2: payments above T_R split T_R by w_t L_t (one topic: all of it); §3.1: a weight
    below MinTopicWeight = 100 is inactive."""
    np.testing.assert_allclose(tr.topic_rewards(1000.0, [300.0, 100.0], 400.0, 5000.0, CHAIN),
                               [3750.0, 1250.0], rtol=1e-15)
    assert tr.topic_rewards(1000.0, [300.0], 400.0, 5000.0, CHAIN)[0] == 5000.0
    rewards = tr.topic_rewards(1000.0, [99.9, 100.0], 199.9, 1e15, CHAIN)
    assert rewards[0] == 0.0
    np.testing.assert_allclose(rewards[1], 100.0 / 199.9 * 750 * 1200, rtol=1e-15)

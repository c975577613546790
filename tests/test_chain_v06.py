"""The chain-v0.6 profile (chain/v0.6.md): its ranges and every rule against numbers derived by
hand from the document's formulas."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import in_window

from allora_ref.params import check_ranges, load_profile, parse_range, profile_differences
from allora_ref.spec import topic_rewards as tr

CHAIN = load_profile("chain-v0.6")
WHITEPAPER = load_profile("whitepaper")
TWO_SLOTS = dataclasses.replace(CHAIN, max_active_topics_per_block=2)
nan = np.nan


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
    """§3.2: E_t = (w_t / sum W) R_blk L_t, R_blk = E_blk - trunc(f_v E_blk) (two topics
    paid in one block: a block of two slots)."""
    rewards = tr.topic_rewards(1001.0, [600.0, 200.0], 1000.0, 1e15, TWO_SLOTS)
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
    np.testing.assert_allclose(tr.topic_rewards(1000.0, [300.0, 100.0], 400.0, 5000.0,
                                                TWO_SLOTS), [3750.0, 1250.0], rtol=1e-15)
    assert tr.topic_rewards(1000.0, [300.0], 400.0, 5000.0, CHAIN)[0] == 5000.0
    rewards = tr.topic_rewards(1000.0, [99.9, 100.0], 199.9, 1e15, CHAIN)
    assert rewards[0] == 0.0
    np.testing.assert_allclose(rewards[1], 100.0 / 199.9 * 750 * 1200, rtol=1e-15)


@pytest.mark.eq(55)
def test_one_topic_paid_per_block():
    """§0 step 3, §3.2: MaxActiveTopicsPerBlock = 1 - of three topics ending in one block only
    the heaviest is paid, R_blk L_t w / sum W = 750 * 1200 * 400 / 1000; an equal weight goes
    to the lower index; a topic below MinTopicWeight never takes the slot."""
    rewards = tr.topic_rewards(1000.0, [300.0, 400.0, 150.0], 1000.0, 1e15, CHAIN)
    np.testing.assert_allclose(rewards, [0.0, 750 * 1200 * 400 / 1000, 0.0], rtol=1e-15)
    tied = tr.topic_rewards(1000.0, [400.0, 400.0], 1000.0, 1e15, CHAIN)
    assert tied[1] == 0.0 and tied[0] > 0.0
    low = tr.topic_rewards(1000.0, [99.0, 100.0], 1000.0, 1e15, CHAIN)
    assert low[0] == 0.0 and low[1] == pytest.approx(750 * 1200 * 100 / 1000, rel=1e-15)
    # the paper pays every topic at every step
    np.testing.assert_allclose(tr.topic_rewards(1000.0, [300.0, 400.0], 700.0, None,
                                                WHITEPAPER), [750 * 3 / 7, 750 * 4 / 7],
                               rtol=1e-15)


@pytest.mark.eq(55)
def test_weight_sum_is_state():
    """§1, §3.1: Sigma W += w_t - w_prev at each epoch end; a topic whose new weight is below
    100 is inactivated and its weight leaves the sum; a new topic has no stored weight."""
    assert tr.stored_weight_sum(1000.0, [350.0], [300.0], CHAIN) == 1050.0
    assert tr.stored_weight_sum(1000.0, [350.0, 90.0], [300.0, 120.0], CHAIN) == 930.0
    assert tr.stored_weight_sum(0.0, [500.0], [nan], CHAIN) == 500.0


@pytest.mark.eq(55)
def test_slot_competition():
    """§3.1: a full slot (1 topic) takes a newcomer unless its weight is strictly below the
    slot's lowest, which it pushes out; a slot with room takes anyone; no limit: always."""
    assert tr.takes_slot(200.0, [300.0], CHAIN) == (False, None)
    assert tr.takes_slot(300.0, [300.0], CHAIN) == (True, 0)
    assert tr.takes_slot(500.0, [], CHAIN) == (True, None)
    assert tr.takes_slot(100.0, [400.0, 300.0], TWO_SLOTS) == (False, None)
    assert tr.takes_slot(350.0, [400.0, 300.0], TWO_SLOTS) == (True, 1)
    assert tr.takes_slot(1.0, [400.0], WHITEPAPER) == (True, None)


# --- §0-3 topics over time: topics_step ------------------------------------------------------

SHORT = dataclasses.replace(CHAIN, epoch_length=12.0)          # L_t = MinEpochLength
WEEK_EPOCHS = 864000 / 4.345 / 12                              # topic epochs a week (§2)
R_BLK = 1000 - math.trunc(0.25 * 1000)                         # 750 uallo of a 1000 emission


def drip(revenue):
    """§2 by hand: C <- trunc(max(0, C - C / epochs_per_week))."""
    return math.trunc(max(0.0, revenue - revenue / WEEK_EPOCHS))


def blocks(state, params, until, fees=None, stakes=None, emission=1000.0, nonces=None):
    """Run tr.topics_step to block ``until``; fees {block: [...]}, stakes {block: [...]} (the
    last given holds), emission {block: E} or one value; returns (records by block, state)."""
    n = state.weights.size
    fees, stakes = fees or {}, stakes or {}
    current, records = np.full(n, 10000.0), {}
    for h in range(state.block + 1, until + 1):
        current = np.asarray(stakes.get(h, current), float)
        paid = np.asarray(fees.get(h, np.zeros(n)), float)
        e = emission.get(h, 1000.0) if isinstance(emission, dict) else emission
        records[h], state = tr.topics_step(state, tr.TopicsInputs(
            current, e, paid, reward_nonces=None if nonces is None else nonces(h)), params)
    return records, state


@pytest.mark.eq(55, 56, 57)
def test_a_topic_activates_ends_its_epoch_and_is_paid():
    """§3.1: a fee at block 1 activates the topic (weight >= 100), its first epoch ends at
    1 + L = 13; §1-2: w = sqrt(S C / L) from C before the drip; §3.2: E = R_blk L w / sum W."""
    records, state = blocks(tr.TopicsState.initial([1200.0]), SHORT, 25, fees={1: [1.0]})
    assert records[1].active[0] and records[1].epoch_ends[0] == 13
    assert all(np.isnan(records[h].weights[0]) and records[h].rewards[0] == 0 for h in range(1, 13))
    w13 = math.sqrt(10000 * 1201 / 12)
    np.testing.assert_allclose(records[13].weights, [w13], rtol=1e-15)
    assert records[13].weight_sum == pytest.approx(w13, rel=1e-15)
    assert records[13].rewards[0] == pytest.approx(R_BLK * 12 * 1.0, rel=1e-15)   # f_t = 1
    assert records[13].treasury == pytest.approx(13 * R_BLK - 9000, abs=1e-9)      # 750 left
    assert records[13].epoch_ends[0] == 25
    w25 = 0.5 * math.sqrt(10000 * drip(1201) / 12) + 0.5 * w13                   # alpha_t 0.5
    np.testing.assert_allclose(records[25].weights, [w25], rtol=1e-15)
    assert state.fee_revenue[0] == drip(drip(1201))
    assert state.treasury == pytest.approx(25 * R_BLK - 2 * 9000, abs=1e-9)


@pytest.mark.eq(55, 57)
def test_a_topic_below_min_topic_weight_is_inactivated_and_unpaid():
    """§3.1: a weight below 100 at the epoch end inactivates the topic: unscheduled, its
    weight leaves sum W, nothing paid, the stored weight kept; too light a topic never
    activates, and inactive topics do not drip."""
    records, state = blocks(tr.TopicsState.initial([1200.0, 1200.0]), SHORT, 14,
                            fees={1: [1.0, 1.0]}, stakes={1: [10000.0, 1.0], 13: [1.0, 1.0]})
    assert list(records[1].active) == [True, False]      # sqrt(1 * 1201 / 12) = 10 < 100
    low = math.sqrt(1 * 1201 / 12)
    np.testing.assert_allclose(records[13].weights, [low, nan], rtol=1e-15)
    assert records[13].rewards.tolist() == [0.0, 0.0] and records[13].weight_sum == 0.0
    assert not state.active[0] and state.epoch_ends[0] == -1
    assert state.weights[0] == pytest.approx(low, rel=1e-15)
    assert state.fee_revenue.tolist() == [drip(1201), 1201.0]
    assert state.treasury == 14 * R_BLK


@pytest.mark.eq(55)
def test_lost_slot_and_reactivation_count_a_weight_twice():
    """§3.1-3.2 edge cases, MaxActiveTopicsPerBlock = 1. A (topic 0) activates at block 1
    (epoch end 13); B at block 13 takes the slot of block 25 before A's epoch end, where A,
    lighter, loses it: A stays active and counted in sum W without an epoch end. A fee at block
    26 activates A again, adding its stored weight a second time."""
    fees = {1: [1.0, 0.0], 13: [0.0, 1.0], 26: [1.0, 0.0]}
    initial = tr.TopicsState.initial([1200.0, 4800.0])
    records, state = blocks(initial, SHORT, 38, fees=fees)
    a13 = math.sqrt(10000 * 1201 / 12)                          # 1000.4166
    b25 = math.sqrt(10000 * 4801 / 12)                          # 2000.2083
    assert records[13].rewards[0] == pytest.approx(750 * 12 * a13 / a13, rel=1e-15)
    assert records[13].epoch_ends.tolist() == [-1, 25] and records[13].active.all()
    assert records[13].weight_sum == pytest.approx(a13, rel=1e-15)       # A still counted
    assert records[25].rewards[1] == pytest.approx(750 * 12 * b25 / (a13 + b25), rel=1e-14)
    assert records[26].epoch_ends.tolist() == [38, 37]
    assert records[26].weight_sum == pytest.approx(2 * a13 + b25, rel=1e-14)   # twice
    b37 = 0.5 * math.sqrt(10000 * drip(4801) / 12) + 0.5 * b25
    assert records[37].weight_sum == pytest.approx(2 * a13 + b37, rel=1e-14)
    assert records[37].rewards[1] == pytest.approx(750 * 12 * b37 / (2 * a13 + b37), rel=1e-14)
    a38 = 0.5 * math.sqrt(10000 * (drip(1201) + 1) / 12) + 0.5 * a13
    assert records[38].rewards[0] == pytest.approx(750 * 12 * a38 / (a13 + a38 + b37),
                                                   rel=1e-14)
    # the same history without the double count: activation schedules A, counted once
    once = dataclasses.replace(SHORT, double_count_reactivation=False)
    records, _ = blocks(initial, once, 38, fees=fees)
    assert records[26].weight_sum == pytest.approx(a13 + b25, rel=1e-14)
    assert records[38].rewards[0] == pytest.approx(750 * 12 * a38 / (a38 + b37), rel=1e-14)


@pytest.mark.eq(55)
def test_a_heavier_topic_pushes_the_slot_holder_out():
    """§3.1: B, heavier, is rescheduled into the slot A took first: A is inactivated (out of
    sum W and the schedule) although its evaluated weight is above MinTopicWeight."""
    fees = {1: [0.0, 1.0], 13: [1.0, 0.0]}      # B at 1 (ends 13), A at 13 (takes slot 25)
    records, _ = blocks(tr.TopicsState.initial([1200.0, 4800.0]), SHORT, 13, fees=fees)
    b13 = math.sqrt(10000 * 4801 / 12)
    assert records[13].epoch_ends.tolist() == [-1, 25]
    assert records[13].active.tolist() == [False, True]
    assert records[13].weight_sum == pytest.approx(b13, rel=1e-15)


@pytest.mark.eq(55)
def test_treasury_shortfall_and_an_empty_block_emission():
    """§3.2: R_blk of the epoch-end block times L_t; above the treasury a single topic takes
    all of it; a block with no emission reuses the last non-zero one."""
    emission = {h: 100.0 for h in range(1, 13)} | {13: 10000.0}
    records, _ = blocks(tr.TopicsState.initial([1200.0]), SHORT, 13, fees={1: [1.0]},
                        emission=emission)
    treasury = 12 * (100 - 25) + (10000 - 2500)                 # 8400 < 7500 * 12
    assert records[13].rewards[0] == treasury and records[13].treasury == 0.0
    emission = {h: 1000.0 for h in range(1, 13)} | {13: 0.0}
    records, _ = blocks(tr.TopicsState.initial([1200.0]), SHORT, 13, fees={1: [1.0]},
                        emission=emission)
    assert records[13].rewards[0] == 750 * 12 and records[13].treasury == 0.0


@pytest.mark.eq(55)
def test_two_slots_split_a_short_treasury_by_weight_times_epoch_length():
    """§3.2: two topics end in one block (two slots), the treasury is short: split by w L."""
    two = dataclasses.replace(SHORT, max_active_topics_per_block=2)
    emission = {h: 100.0 for h in range(1, 13)} | {13: 10000.0}
    records, _ = blocks(tr.TopicsState.initial([1200.0, 4800.0]), two, 13,
                        fees={1: [1.0, 1.0]}, emission=emission)
    a, b = math.sqrt(10000 * 1201 / 12), math.sqrt(10000 * 4801 / 12)
    np.testing.assert_allclose(records[13].rewards, [8400 * a / (a + b), 8400 * b / (a + b)],
                               rtol=1e-14)


@pytest.mark.eq(55)
def test_without_a_reward_nonce_the_reward_stays_in_the_treasury():
    """§0, §3.2: a topic is paid only in a block where a reputer nonce closes."""
    records, state = blocks(tr.TopicsState.initial([1200.0]), SHORT, 25, fees={1: [1.0]},
                            nonces=lambda h: [h >= 25])
    assert records[13].rewards[0] == 0.0 and records[13].treasury == 13 * 750
    assert records[25].rewards[0] == 750 * 12 and state.treasury == 25 * 750 - 9000


@pytest.mark.eq(55, 56, 57)
def test_the_papers_step_pays_every_topic_over_simultaneous_weights():
    """Eq 55 as printed: every step, E_t = (1 - f_v) E w_t / sum_t w_t with the step's
    weights (eqs 56-57: C^nu, monthly alpha_t = 0.9375)."""
    stakes, fees = [4.0, 9.0, 1.0], [1.0, 4.0, 0.0]
    state = tr.TopicsState.initial([0.0, 0.0, 0.0])
    first, state = tr.topics_step(state, tr.TopicsInputs(
        np.array(stakes), 100.0, np.array(fees), np.ones(3, bool)), WHITEPAPER)
    w = np.array([2.0, 6.0, 0.0])                      # sqrt(S C), the first value as it is
    np.testing.assert_allclose(first.weights, w, rtol=1e-15)
    np.testing.assert_allclose(first.rewards, 75 * w / 8, rtol=1e-15)
    second, state = tr.topics_step(state, tr.TopicsInputs(
        np.array(stakes), 200.0, np.array([0.0, 0.0, 1.0])), WHITEPAPER)
    w2 = 0.9375 * np.sqrt(np.array(stakes) * [0.0, 0.0, 1.0]) + 0.0625 * w   # C: a month's fees
    np.testing.assert_allclose(second.weights, w2, rtol=1e-15)
    assert second.weight_sum == pytest.approx(w2.sum(), rel=1e-15)
    np.testing.assert_allclose(second.rewards, 150 * w2 / w2.sum(), rtol=1e-15)
    assert second.epoch_ends.tolist() == [3, 3, 3]
    assert first.treasury == second.treasury == 0.0          # minted as paid: no treasury


@pytest.mark.eq(55)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3000), st.floats(0, 5e4),
                          st.floats(0, 2000)), min_size=1, max_size=60),
       st.booleans(), st.integers(1, 2))
def test_topics_over_time_never_create_tokens_and_sum_w_is_the_active_weights(
        events, double_count, slots):
    """Properties (§3.2): payments never exceed the minted rewards (what is not paid stays in
    the treasury, never below 0); sum W is the sum of the stored weights of the active topics,
    except that a double-counted re-activation adds to it."""
    params = dataclasses.replace(SHORT, double_count_reactivation=double_count,
                                 max_active_topics_per_block=slots)
    state = tr.TopicsState.initial([1200.0, 4800.0, 75000.0])
    minted = paid = 0.0
    for topic, fee, stake, emission in events:
        fees = np.zeros(3)
        fees[topic] = fee
        record, state = tr.topics_step(state, tr.TopicsInputs(
            np.array([stake, 1e4, 2e4]), emission, fees), params)
        minted += emission - math.trunc(0.25 * emission) if emission else 0.0
        paid += record.rewards.sum()
        assert (record.rewards >= 0).all() and record.treasury >= 0
        counted = np.nan_to_num(state.weights[state.active]).sum()
        if double_count:
            assert state.weight_sum >= counted * (1 - 1e-12) - 1e-9
        else:
            assert state.weight_sum == pytest.approx(counted, rel=1e-12, abs=1e-9)
    assert paid <= minted + 1e-6
    assert paid + state.treasury == pytest.approx(minted, rel=1e-12, abs=1e-6)


# --- §4 initial regret and cold start (eqs 3-11, 15) ---------------------------------------

from allora_ref.spec import inference_synthesis as synthesis            # noqa: E402
from allora_ref.spec import task_rewards as task                        # noqa: E402
from allora_ref.spec.epoch import EpochInputs, TopicState, step         # noqa: E402
from allora_ref.spec.participant_rewards import reputer_reward_fractions  # noqa: E402


@pytest.mark.eq(15)
def test_topic_initial_regret_from_experienced_regrets():
    """§4.2: R0 = Q_0.25(X) + (c - 8.25/p)(sigma(X) + eps), sample sigma, linear quantile."""
    x = np.array([0.6, -0.2, -0.4, 0.0])           # order does not matter
    lower_quartile = -0.4 + 0.75 * (-0.2 - -0.4)   # sorted ascending, position 0.25 * 3
    sigma = math.sqrt((0.6**2 + 0.2**2 + 0.4**2 + 0.0**2) / 3)      # mean 0, N - 1 = 3
    expected = lower_quartile + (0.75 - 8.25 / 3) * (sigma + 0.01)  # factor -2
    assert synthesis.topic_initial_regret(x, 0.0, CHAIN) == pytest.approx(expected, rel=1e-14)
    # one experienced worker: sigma = 0, R0 = R + (c - 8.25/p) eps
    assert synthesis.topic_initial_regret(np.array([0.3]), 0.0, CHAIN) == \
        pytest.approx(0.3 - 2 * 0.01, rel=1e-14)
    # none: R0 unchanged
    assert synthesis.topic_initial_regret(np.array([]), -1.5, CHAIN) == -1.5


@pytest.mark.eq(15)
def test_first_regret_of_a_new_worker_starts_from_r0():
    """§4.1: the first stored regret is alpha (L - L_l) + (1 - alpha) R0."""
    previous = np.array([[0.2, np.nan]])
    new = synthesis.updated_regrets(previous, np.array([-1.0]), np.array([[-1.2, -1.5]]),
                                    np.ones((1, 2), bool), CHAIN, initial_regret=-2.0)
    np.testing.assert_allclose(new, [[0.1 * 0.2 + 0.9 * 0.2, 0.1 * 0.5 + 0.9 * -2.0]],
                               rtol=1e-15)


def four_inferers_two_forecasters():
    inferences = np.array([1.0, 2.0, 4.0, 10.0])
    forecasts = np.array([[-1.0, -2.0, -1.5, np.nan],       # forecaster 0 names inferers 0-2
                          [-1.0, -2.0, -1.5, -0.5]])
    return synthesis.Submissions(inferences, forecasts)


@pytest.mark.eq(3, 9)
def test_cold_start_while_r0_is_zero():
    """§4.3: forecast-implied = median of the named inferences; every row is the plain mean
    of its inferers."""
    subs = four_inferers_two_forecasters()
    state = synthesis.SynthesisState(-1.0, np.full((2 + 6 + 2, 6), np.nan), 0.0)
    inferred = synthesis.synthesise(state, subs, CHAIN)
    np.testing.assert_array_equal(inferred.forecast_implied, [2.0, (2.0 + 4.0) / 2])
    mean = (1 + 2 + 4 + 10) / 4
    assert inferred.network == mean and inferred.naive == mean
    np.testing.assert_allclose(inferred.one_out[:4], [(2 + 4 + 10) / 3, (1 + 4 + 10) / 3,
                                                      (1 + 2 + 10) / 3, (1 + 2 + 4) / 3])
    np.testing.assert_array_equal(inferred.one_out[4:], [mean, mean])   # one-out forecasters
    np.testing.assert_array_equal(inferred.one_in, [mean, mean])


@pytest.mark.eq(3, 9)
def test_before_any_loss_median_and_naive_zero():
    """§4.4: no loss yet -> network = median, naive = 0, nothing else; one inference -> it."""
    subs = four_inferers_two_forecasters()
    inferred = synthesis.synthesise(synthesis.SynthesisState.initial(4, 2), subs, CHAIN)
    assert inferred.network == (2.0 + 4.0) / 2 and inferred.naive == 0.0
    assert np.isnan(inferred.forecast_implied).all() and np.isnan(inferred.combined[2:]).all()
    lone = synthesis.Submissions(np.array([7.0]), np.full((1, 1), np.nan))
    alone = synthesis.synthesise(synthesis.SynthesisState.initial(1, 1), lone, CHAIN)
    assert alone.network == alone.naive == 7.0


@pytest.mark.eq(9, 10)
def test_after_cold_start_unknown_regrets_read_as_r0():
    """§4.1: with R0 != 0 and no stored regret, every member's regret is R0: equal weights
    over inferers and forecast-implied inferences alike."""
    subs = four_inferers_two_forecasters()
    state = synthesis.SynthesisState(-1.0, np.full((10, 6), np.nan), -1.0)
    inferred = synthesis.synthesise(state, subs, CHAIN)
    values = np.concatenate([subs.inferences, inferred.forecast_implied])
    assert inferred.network == pytest.approx(values.mean(), rel=1e-15)
    assert inferred.naive == pytest.approx(subs.inferences.mean(), rel=1e-15)


# --- §8-10 payouts ----------------------------------------------------------------------------

@pytest.mark.eq(35)
def test_all_zero_reputer_terms_give_zero_fractions():
    """§8: every (S T)^p = 0 -> every fraction 0 (the paper: 0/0, an error)."""
    fractions = reputer_reward_fractions(np.zeros(3), np.array([40.0, 50.0, np.nan]), CHAIN)
    np.testing.assert_array_equal(fractions, [0.0, 0.0, np.nan])
    with pytest.raises(ValueError, match="positive total"):
        reputer_reward_fractions(np.zeros(2), np.array([40.0, 50.0]), WHITEPAPER)


@pytest.mark.eq(36, 46)
def test_delegator_share_by_hand():
    """§9: d = trunc(W D / S), reputer part trunc(W - d), re-staked; delegators not."""
    restaked, delegators = task.reputer_reward_split(np.array([1000.7, 50.0]),
                                                     np.array([300.0, 80.0]),
                                                     np.array([100.0, 0.0]), CHAIN)
    np.testing.assert_array_equal(delegators, [math.trunc(1000.7 * 100 / 300), 0.0])   # 333
    np.testing.assert_array_equal(restaked, [math.trunc(1000.7 - 333), 50.0])          # 667
    paper_restaked, none = task.reputer_reward_split(np.array([1000.7]), np.array([300.0]),
                                                     np.array([100.0]), WHITEPAPER)
    assert paper_restaked[0] == 1000.7 and none is None


@pytest.mark.eq(36, 46)
@given(st.floats(0, 1e12), st.floats(1, 1e9), st.floats(0, 1))
def test_delegator_and_reputer_shares_add_up(reward, stake, delegated_part):
    """Truncation never creates tokens: d + r <= W, and at most two uallo are lost; without
    truncation the two parts are W."""
    delegated = stake * delegated_part
    args = (np.array([reward]), np.array([stake]), np.array([delegated]))
    restaked, delegators = task.reputer_reward_split(*args, CHAIN)
    assert restaked[0] + delegators[0] <= reward
    assert reward - (restaked[0] + delegators[0]) < 2.0 + 1e-9 * reward
    assert restaked[0] == int(restaked[0]) and delegators[0] == int(delegators[0])
    real = dataclasses.replace(CHAIN, token_amount_rounding="real")
    restaked, delegators = task.reputer_reward_split(*args, real)
    assert restaked[0] + delegators[0] == pytest.approx(reward, rel=1e-12, abs=1e-6)
    assert task.reputer_reward_split(args[0], args[1], None, CHAIN)[1] is None


# --- a young topic through step ---------------------------------------------------------------

def young_topic(params, epochs: int, latecomer_from: int | None = None, seed: int = 3,
                delegated=None):
    """3 inferers (a 4th joining at ``latecomer_from``) that are also forecasters, 3 reputers
    reporting noisy squared-error log-losses; the topic reward is 1e6 uallo an epoch."""
    rng = np.random.default_rng(seed)
    n = 4
    state = TopicState.initial(n, n, [3e5, 2e5, 1e5], params, delegated=delegated)
    records = []
    for i in range(epochs):
        truth = rng.normal()
        present = np.arange(n) < (3 if latecomer_from is None or i < latecomer_from else 4)
        own = np.where(present, truth + rng.normal(0, 0.3, n), np.nan)
        actual = np.log10((own - truth) ** 2)
        forecasts = np.where(present[:, None] & present[None, :],
                             actual[None, :] + rng.normal(0, 0.1, (n, n)), np.nan)
        subs = synthesis.Submissions(own, forecasts)
        inferred = synthesis.synthesise(state.synthesis, subs, params)
        vector = synthesis.all_inferences(inferred.combined, inferred.forecast_implied,
                                          inferred.one_out_forecast_implied, own)
        with np.errstate(divide="ignore", invalid="ignore"):
            true_losses = np.log10((vector - truth) ** 2)
        reported = true_losses + rng.normal(0, 0.01, (3, vector.size))
        epoch, after = step(state, EpochInputs(subs, reported, 1e6), params)
        records.append((state, epoch, after))
        state = after
    return records


def test_cold_start_ends_when_the_document_says():
    """§4.3: paid every epoch, a worker has count k - 1 at regret update k, so R0 is first set
    at update ceil(1/alpha) + 1; the chain's first epoch pays nobody (no one-out losses before
    any network loss, §4.4, §6), which delays it by one: the epoch with index ceil(1/alpha) + 1
    sets R0, and every epoch before it runs in cold start."""
    for alpha in (0.1, 0.25, 0.5):
        params = dataclasses.replace(CHAIN, alpha_regret=alpha)
        exit_index = math.ceil(1 / alpha) + 1
        records = young_topic(params, exit_index + 2)
        assert records[0][1].class_rewards.sum() == 0.0           # first epoch: no payout
        for index, (before, epoch, after) in enumerate(records):
            assert (after.synthesis.initial_regret != 0.0) == (index >= exit_index), \
                (alpha, index)
            if index < exit_index:          # cold start: the network inference is a mean
                inferers = epoch.inferences.values[0, :4]
                if index > 0:
                    assert epoch.inferences.network == pytest.approx(
                        np.nanmean(inferers), rel=1e-14)


def test_latecomer_starts_from_the_topic_initial_regret():
    """§4.1: a worker joining after the cold start reads R0 in the weights and starts its EMA
    from it: its first regret is alpha (L - L_l) + (1 - alpha) R0."""
    records = young_topic(CHAIN, 16, latecomer_from=14)
    before, epoch, after = records[14]
    r0 = before.synthesis.initial_regret
    assert r0 != 0.0 and np.isnan(before.synthesis.regrets[0, 3])
    row_loss, worker_loss = epoch.losses[0], epoch.losses[2 + 3]     # network, inferer 3
    assert after.synthesis.regrets[0, 3] == pytest.approx(
        0.1 * (row_loss - worker_loss) + 0.9 * r0, rel=1e-14)
    # its inclusion count starts from 0: it is not experienced for the next ceil(1/alpha) epochs
    assert after.synthesis.inclusions[3] <= 1


def test_young_topic_payouts_are_integers_that_never_exceed_the_reward():
    """§10: every payment is a whole number of uallo; truncation never creates tokens; the
    delegators' part is not re-staked (§9)."""
    delegated = np.array([1e5, 0.0, 5e4])
    for before, epoch, after in young_topic(CHAIN, 6, delegated=delegated):
        paid = np.concatenate([epoch.inferer_rewards, epoch.forecaster_rewards,
                               epoch.reputer_rewards, epoch.delegator_rewards])
        # the delegators of reputer 0 get trunc(W D / S) of its reward W
        whole = epoch.reputer_fractions[0] * epoch.class_rewards[2]
        assert epoch.delegator_rewards[0] == math.trunc(whole * (1e5 / before.stakes[0]))
        np.testing.assert_array_equal(paid, np.trunc(paid))
        assert paid.sum() <= epoch.class_rewards.sum() <= 1e6 * (1 + 1e-12)
        np.testing.assert_array_equal(after.stakes, before.stakes + epoch.reputer_rewards)
        np.testing.assert_array_equal(after.delegated, delegated)
        assert epoch.delegator_rewards[1] == 0.0


# --- §5-7 score EMAs, active sets, forecast elements, minimum stake ---------------------------

from allora_ref.spec import participant_rewards as pr                  # noqa: E402
from allora_ref.spec.epoch import active_reports, active_submissions   # noqa: E402


def sets_with(emas, quantile=0.4, lowest=(nan, nan)):
    """Active sets whose inferer task has the given EMAs, topic quantile and lowest record."""
    return pr.ActiveSets((np.array(emas, float), np.full(2, nan), np.full(2, nan)),
                         np.array([quantile, 0.0, 0.0]),
                         np.array([lowest, (nan, nan), (nan, nan)], float))


def test_score_ema_is_the_chains_helper():
    """§6, Conventions: EMA_a(new, prev, first) = new if first or new == prev, else
    a new + (1 - a) prev; no score leaves the EMA as it is."""
    emas = pr.score_emas([2.0, 1.0, 3.0, nan], [1.0, nan, 3.0, 5.0], 0.1)
    np.testing.assert_allclose(emas, [0.1 * 2.0 + 0.9 * 1.0, 1.0, 3.0, 5.0], rtol=1e-15)


@pytest.mark.eq(46)
def test_full_set_admits_above_the_lowest_and_leaves_out_the_rest():
    """§7 by hand, size 2, EMAs (0.5, 0.2, 0.3, 0.1), quantile score 0.4, alpha 0.1, no record:
    0 and 1 fill the set; 2 (0.3) beats the lowest, 1 (0.2): 1 gets EMA(0.4, 0.2) = 0.22 and
    leaves, the record becomes (2, 0.3); 3 (0.1) does not beat 0.3: it gets EMA(0.4, 0.1) = 0.13
    and is left out."""
    members, emas, lowest = pr.admitted(np.ones(4, bool), np.array([0.5, 0.2, 0.3, 0.1]), 0.4,
                                        np.full(2, nan), 2, 0.1)
    np.testing.assert_array_equal(members, [True, False, True, False])
    np.testing.assert_allclose(emas, [0.5, 0.04 + 0.18, 0.3, 0.04 + 0.09], rtol=1e-15)
    np.testing.assert_array_equal(lowest, [2, 0.3])


def test_admission_needs_a_strictly_higher_ema():
    """§7: ties are left out; no EMA reads as 0, and a first EMA is the quantile score itself."""
    members, emas, lowest = pr.admitted(np.ones(2, bool), np.full(2, nan), 0.4, np.full(2, nan),
                                        1, 0.1)
    np.testing.assert_array_equal(members, [True, False])
    np.testing.assert_array_equal(emas, [nan, 0.4])
    np.testing.assert_array_equal(lowest, [0, nan])       # actor 0, which had no EMA


def test_a_stale_record_removes_nobody_and_the_set_grows():
    """§7 item 4: the record (1, 0.2) is left from an earlier epoch and actor 1 does not submit.
    Size 1: 0 fills the set; 2 (0.3) beats 0.2 - actor 1 gets EMA(0.4, 0.2) = 0.22 but is not
    in the set, so 0 and 2 are both in; the record becomes the lower of them, (2, 0.3); 3 (0.35)
    beats it: 2 gets EMA(0.4, 0.3) = 0.31 and leaves, 3 comes in, the record is (3, 0.35)."""
    members, emas, lowest = pr.admitted(np.array([True, False, True, True]),
                                        np.array([0.5, 0.2, 0.3, 0.35]), 0.4,
                                        np.array([1.0, 0.2]), 1, 0.1)
    np.testing.assert_array_equal(members, [True, False, False, True])
    np.testing.assert_allclose(emas, [0.5, 0.22, 0.04 + 0.27, 0.35], rtol=1e-15)
    np.testing.assert_array_equal(lowest, [3, 0.35])


def test_no_limit_admits_every_submission():
    """The paper's profiles: size 0 = no limit, nothing changes."""
    wants = np.array([True, False, True])
    members, emas, lowest = pr.admitted(wants, np.array([0.1, 0.2, 0.3]), 0.4, np.full(2, nan),
                                        0, 0.1)
    np.testing.assert_array_equal(members, wants)
    np.testing.assert_array_equal(emas, [0.1, 0.2, 0.3])
    assert not pr.uses_active_sets(WHITEPAPER) and pr.uses_active_sets(CHAIN)


def test_scores_move_the_emas_and_the_topic_quantile():
    """§6: scored actors' EMAs; Q_0.25 of (1, 2, 3) sorted descending: position 0.75 * 2 = 1.5,
    between 2 and 1: 1.5. A lone forecaster changes nothing; no reputer score: quantile 0."""
    sets = pr.ActiveSets((np.array([nan, 1.0, 3.0, 7.0]), np.array([0.2, nan]),
                          np.array([0.4])), np.array([0.9, 0.8, 0.7]), np.full((3, 2), nan))
    after = pr.scored_active_sets(sets, (np.array([1.0, 2.0, 3.0, nan]), np.array([0.0, nan]),
                                         np.array([nan])), CHAIN)
    np.testing.assert_allclose(after.score_emas[0], [1.0, 0.2 + 0.9, 3.0, 7.0], rtol=1e-15)
    np.testing.assert_array_equal(after.score_emas[1], [0.2, nan])
    np.testing.assert_allclose(after.quantile_scores, [1.5, 0.8, 0.0], rtol=1e-15)


@pytest.mark.eq(3)
def test_forecast_keeps_the_elements_of_the_best_inferers():
    """§5 with a cap of 2: inferers ranked by EMA (0.1, none = 0, 0.3, 0.2) are 2, 3, 0, 1; a
    forecast naming all four keeps 2 and 3, one naming 0 and 1 keeps both; ties go by index."""
    capped = dataclasses.replace(CHAIN, max_elements_per_forecast=2)
    forecasts = np.array([[-1.0, -2.0, -3.0, -4.0], [-1.0, -2.0, nan, nan]])
    kept = pr.kept_forecast_elements(forecasts, np.array([0.1, nan, 0.3, 0.2]), capped)
    np.testing.assert_array_equal(kept, [[nan, nan, -3.0, -4.0], [-1.0, -2.0, nan, nan]])
    tied = pr.kept_forecast_elements(np.ones((1, 3)), np.full(3, nan), capped)
    np.testing.assert_array_equal(tied, [[1.0, 1.0, nan]])
    assert CHAIN.max_elements_per_forecast == 12


@pytest.mark.eq(14)
def test_reputers_below_the_minimum_stake_are_not_admitted():
    """§7: RequiredMinimumStake = 10000 uallo: a stake of 9999 is out, 10000 is in."""
    sets = pr.ActiveSets.initial(1, 1, 3)
    reported, _ = active_reports(sets, np.array([9999.0, 1e4, 5e5]), np.ones((3, 2)), CHAIN)
    np.testing.assert_array_equal(reported[:, 0], [nan, 1.0, 1.0])


@pytest.mark.eq(28)
def test_score_window_keeps_the_last_samples_of_an_epoch():
    """§6: 12 inferers, scores 0..11 in the current epoch: the chain keeps the last 10 (2..11)
    and sigma is taken over them; the simulator's samples are the first 10 (0..9)."""
    history = np.vstack([np.arange(12.0), np.full(12, 5.0)])
    np.testing.assert_array_equal(in_window(pr.score_window(history, CHAIN)), np.arange(2.0, 12.0))
    simulator = load_profile("allora-simulator")
    np.testing.assert_array_equal(in_window(pr.score_window(history, simulator)), np.arange(10.0))
    # an epoch of 3 scores keeps them all and the window reaches into the previous epoch
    three = np.vstack([[1.0, 2.0, 3.0] + [nan] * 9, np.arange(12.0)])
    np.testing.assert_array_equal(in_window(pr.score_window(three, CHAIN)),
                                  [1.0, 2.0, 3.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])


def overflow_topic(params, epochs: int, seed: int = 5, forecaster_emas=None):
    """4 inferers, 8 forecasters (6 admitted), 8 reputers (one below the minimum stake);
    ``forecaster_emas``: the forecasters' score EMAs at the start."""
    rng = np.random.default_rng(seed)
    n_i, n_f = 4, 8
    stakes = [3e5, 2e5, 1e5, 5e3, 4e5, 1.5e5, 2.5e5, 3.5e5]
    state = TopicState.initial(n_i, n_f, stakes, params)
    if forecaster_emas is not None:
        sets = state.active_sets
        state = dataclasses.replace(state, active_sets=dataclasses.replace(
            sets, score_emas=(sets.score_emas[0], np.array(forecaster_emas, float),
                              sets.score_emas[2])))
    records = []
    for _ in range(epochs):
        truth = rng.normal()
        own = truth + rng.normal(0, 0.3, n_i)
        forecasts = rng.normal(-1.0, 0.3, (n_f, n_i))
        raw = synthesis.Submissions(own, forecasts)
        active, _ = active_submissions(state, raw, params)
        inferred = synthesis.synthesise(state.synthesis, active, params)
        vector = synthesis.all_inferences(inferred.combined, inferred.forecast_implied,
                                          inferred.one_out_forecast_implied, active.inferences)
        with np.errstate(divide="ignore", invalid="ignore"):
            exact = np.log10((vector - truth) ** 2)
        # reputers report every worker, the left-out forecasters too (0 is a placeholder)
        exact = np.where(np.isnan(exact), 0.0, exact)
        reported = exact + rng.normal(0, 0.01, (len(stakes), exact.size))
        epoch, after = step(state, EpochInputs(raw, reported, 1e6), params)
        records.append((state, epoch, after))
        state = after
    return records


@pytest.mark.eq(46)
def test_overflowing_forecasters_and_reputers_through_step():
    """§7 through step: in the first epoch nobody has an EMA (all read 0), so the first six
    forecasters and the first six reputers staking enough are admitted and the others get the
    topic quantile score (0 at first) as their first EMA; the left-out ones are not paid, their
    reported losses are dropped (no regret), and their EMAs differ from the scored ones'."""
    records = overflow_topic(CHAIN, 2)
    before, epoch, after = records[0]
    np.testing.assert_array_equal(after.active_sets.score_emas[1][6:], [0.0, 0.0])
    # no network loss before the first epoch: forecasts are first combined in the second
    # (§4.4), where 6 and 7 (EMA 0) do not beat the lowest record (0, no EMA = 0)
    second, later = records[1][1], records[1][2]
    assert np.isnan(second.inferences.forecast_implied[6:]).all()
    assert not np.isnan(second.inferences.forecast_implied[:6]).any()
    assert np.isnan(later.synthesis.regrets[0, 4 + 6:]).all()
    assert not np.isnan(later.synthesis.regrets[0, 4:4 + 6]).any()
    np.testing.assert_array_equal(second.forecaster_rewards[6:], [0.0, 0.0])
    # reputers: 3 stakes 5e3 < 1e4 (not admitted, no EMA); 0-2, 4-6 admitted; 7 left out
    assert np.isnan(epoch.reputer_scores[[3, 7]]).all()
    assert not np.isnan(epoch.reputer_scores[[0, 1, 2, 4, 5, 6]]).any()
    reputer_emas = after.active_sets.score_emas[2]
    assert np.isnan(reputer_emas[3]) and reputer_emas[7] == 0.0
    np.testing.assert_array_equal(reputer_emas[[0, 1, 2, 4, 5, 6]],
                                  epoch.reputer_scores[[0, 1, 2, 4, 5, 6]])   # first EMA = score
    q = np.quantile(epoch.reputer_scores[[0, 1, 2, 4, 5, 6]], 0.25)
    assert after.active_sets.quantile_scores[2] == pytest.approx(q, rel=1e-15)


@pytest.mark.eq(46)
def test_overflow_admits_by_the_emas_of_the_epoch_before():
    """§7 over several epochs: each epoch's forecaster set is the document's rule applied, in
    index order, to the EMAs, quantile score and lowest record the previous epoch left;
    forecasters 6 and 7 start with EMAs 0.5 and 1, above the others' (none = 0), and push
    forecasters out of the full set."""
    replaced_any = False
    records = overflow_topic(CHAIN, 6, forecaster_emas=[nan] * 6 + [0.5, 1.0])
    for index, (before, epoch, after) in enumerate(records):
        sets = before.active_sets
        members = np.zeros(8, bool)
        emas, low = sets.score_emas[1].copy(), sets.lowest[1].copy()
        q = sets.quantile_scores[1]
        for a in range(8):                          # the rule, written out again
            if members.sum() < 6:
                members[a] = True
                continue
            if np.isnan(low[0]):
                zeros = np.where(members, np.nan_to_num(emas), np.inf)
                low = np.array([np.argmin(zeros), emas[np.argmin(zeros)]])
            own, floor = np.nan_to_num(emas[a]), np.nan_to_num(low[1])
            if own > floor:
                replaced_any = True
                prev = low[1]
                emas[int(low[0])] = q if np.isnan(prev) or prev == q else 0.1 * q + 0.9 * prev
                members[int(low[0])], members[a] = False, True
                zeros = np.where(members, np.nan_to_num(emas), np.inf)
                low = np.array([np.argmin(zeros), emas[np.argmin(zeros)]])
            else:
                emas[a] = q if np.isnan(emas[a]) or emas[a] == q else 0.1 * q + 0.9 * emas[a]
        if index > 0:                 # no forecast is combined before the first loss (§4.4)
            np.testing.assert_array_equal(~np.isnan(epoch.inferences.forecast_implied),
                                          members)
        left_out = ~members
        np.testing.assert_array_equal(after.active_sets.score_emas[1][left_out],
                                      emas[left_out])
        np.testing.assert_array_equal(after.active_sets.lowest[1], low)
    assert replaced_any


# --- §11 the mint's fixed point (eqs 48-52) ----------------------------------------------------

from decimal import Decimal                                             # noqa: E402

from allora_ref.spec import token_emission as te                        # noqa: E402


@pytest.mark.eq(48)
def test_fixed_point_rounds_half_to_even_on_the_binary_value():
    """§11: LegacyDec rounds half-to-even at the 18th decimal. On binary64 values: 0.25 -> 0.2,
    0.75 -> 0.8 at one decimal; 0.35 is 0.34999999999999997... -> 0.3; 2^-60 = 8.67e-19 -> 1e-18;
    0 decimals: unchanged (the paper)."""
    np.testing.assert_array_equal(te.fixed_point([0.25, 0.75, 0.35], 1), [0.2, 0.8, 0.3])
    assert te.fixed_point(2.0**-60, 18) == 1e-18
    assert te.fixed_point(1 / 3, 0) == 1 / 3


@pytest.mark.eq(48)
def test_chain_emission_rates_have_18_decimals():
    """§11: the chain's target, maximum and smoothed emission per staked token are 18-decimal
    numbers (the binary64 nearest to one): rounding again changes nothing, and they lie within
    half a unit of the 18th decimal (and an ulp) of the real-number rates."""
    from allora_ref.vector_cases import LAUNCH, emission_months
    real = dataclasses.replace(CHAIN, emission_decimals=0)
    state = te.EmissionState.genesis(LAUNCH, CHAIN)
    for inputs in emission_months(3):
        minted, after = te.emission_step(state, inputs, CHAIN)
        exact, _ = te.emission_step(state, inputs, real)
        for field in ("target", "maximum", "e"):
            value = getattr(minted, field)
            assert te.fixed_point(value, 18) == value
            quantized = Decimal(value).quantize(Decimal("1e-18"))
            assert abs(Decimal(value) - quantized) <= Decimal(2.0**-52) * Decimal(value)
            assert abs(value - getattr(exact, field)) <= 0.5e-18 + 4e-16 * abs(value)
        state = after

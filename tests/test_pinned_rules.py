"""Rules, branches and parameters that no golden row reaches, each pinned by a value worked out
by hand (or by sympy at rational points) in the test itself.

Every expectation here is written from the paper, DEVIATIONS.md or the documented Params field,
never computed by the code under test; each test fails if the rule it names is changed.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

import numpy as np
import pytest
import sympy
from shared import one_inferer_epoch

from allora_ref.claims import NO_JUMP, figure4_checks
from allora_ref.params import load_profile
from allora_ref.spec import inference_synthesis as synthesis
from allora_ref.spec import participant_rewards as rewards
from allora_ref.spec.epoch import EpochInputs, TopicState, step
from allora_ref.spec.task_rewards import forecasting_utility
from allora_ref.spec.token_emission import (
    EmissionInputs, EmissionState, Supply, emission_step, vesting_unlocks)
from allora_ref.spec.topic_rewards import target_topic_weight, validator_emission
from allora_ref.sybil import sybil_split

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
LONE = 0.173286795139986            # DEVIATIONS §3: EntropyForSingleParticipant
E = 100.0                           # the topic reward


def phi(x: float, p: float, c: float) -> float:
    """Eq 6 from its definition."""
    return math.log1p(math.exp(p * (x - c)))


# --- eq 41: the forecasting class needs two inferers (deployed) -------------------------------

@pytest.mark.parametrize("params, inferer_entropy", [(WHITEPAPER, 0.0), (SIMULATOR, LONE)],
                         ids=["whitepaper", "simulator"])
def test_forecasting_class_gets_nothing_with_one_inferer(params, inferer_entropy):
    """G_i = 0 under the rule: V = 0 and eq 41 leaves U = E F / (F + H), W = E H / (F + H) with
    F the lone inferer's entropy and H = ln 2 (two reputers of equal stake, equal reports)."""
    epoch = one_inferer_epoch(dataclasses.replace(params, forecasting_needs_two_inferers=True))
    h = math.log(2)
    assert epoch.entropies[1] == 0.0
    np.testing.assert_allclose(epoch.class_rewards,
                               [E * inferer_entropy / (inferer_entropy + h), 0.0,
                                E * h / (inferer_entropy + h)], rtol=1e-12, atol=1e-12)
    assert not epoch.forecaster_rewards.any()


@pytest.mark.parametrize("params", [WHITEPAPER, SIMULATOR], ids=["whitepaper", "simulator"])
def test_forecasting_class_is_paid_with_one_inferer_without_the_rule(params):
    epoch = one_inferer_epoch(dataclasses.replace(params, forecasting_needs_two_inferers=False))
    assert epoch.entropies[1] > 0 and epoch.class_rewards[1] > 0


def test_forecasting_class_is_paid_with_two_inferers_under_the_rule():
    """Two inferers are enough: the rule does not fire."""
    params = dataclasses.replace(WHITEPAPER, forecasting_needs_two_inferers=True)
    rng = np.random.default_rng(3)
    n = synthesis.loss_vector_size(2, 2)
    reports = (-2.0 + rng.normal(0, 0.05, size=(2, n)))[:, synthesis.reported_entries(2, 2, params)]
    subs = synthesis.Submissions([0.3, -0.1], [[-2.1, -1.9], [-1.8, -2.2]])
    epoch, _ = step(TopicState.initial(2, 2, [1.0, 1.0], params),
                    EpochInputs(subs, reports, E), params)
    assert np.isfinite(epoch.forecaster_fractions).all()
    assert epoch.entropies[1] > 0 and epoch.class_rewards[1] > 0


# --- eqs 26-28 in the epoch: reward_p_forecast and reward_c -----------------------------------

@pytest.mark.parametrize("p, c", [(3.0, 0.75), (1.0, 0.75), (3.0, 0.0), (2.0, -0.5)])
def test_forecaster_fractions_use_reward_p_forecast_and_reward_c(p, c):
    """Whitepaper, shared.ONE_INFERER_LOSSES, two forecasters (f+ = 1/2^2):
    T_0 = 3/4 (0.1) + 1/4 (0.15) = 0.1125,
    T_1 = 3/4 (-0.05) + 1/4 (0.05) = -0.025 (eqs 22-25); the first epoch's window is these two
    scores, sigma = 0.06875 (population); v_k ~ phi_{p,c}(T_k / (sigma + 0.01)) (eqs 27-28)."""
    params = dataclasses.replace(WHITEPAPER, reward_p_forecast=p, reward_c=c)
    epoch = one_inferer_epoch(params)
    scores = [0.1125, -0.025]
    np.testing.assert_allclose(epoch.forecaster_scores, scores, rtol=1e-12)
    mapped = [phi(t / (0.06875 + 0.01), p, c) for t in scores]
    np.testing.assert_allclose(epoch.forecaster_fractions,
                               [m / sum(mapped) for m in mapped], rtol=1e-12)


# --- eq 28 at sigma = epsilon exactly ----------------------------------------------------------

def test_equal_split_is_strictly_below_epsilon():
    """The deployed rule pays equally when sigma(T) < epsilon; at sigma = epsilon exactly eq 28
    applies: M = phi(T / 2 epsilon)."""
    params = dataclasses.replace(WHITEPAPER, equal_split_below_epsilon=True, sigma_ddof=0)
    at = np.array([0.0, 0.02])
    assert statistics.pstdev(at.tolist()) == params.epsilon
    np.testing.assert_allclose(rewards.mapped_scores(at, at, 3.0, 0.75, params),
                               [phi(0.0, 3, 0.75), phi(1.0, 3, 0.75)], rtol=1e-14)
    below = np.array([0.0, 0.0199])
    assert rewards.mapped_scores(below, below, 3.0, 0.75, params).tolist() == [1.0, 1.0]


# --- eq 32: the value that stands in for a missing report --------------------------------------

def test_missing_report_filled_with_a_reported_value_when_all_agree():
    """Entry 0: reputer 0 did not report, the others sit exactly on the consensus (distance 0):
    the fill is their value, never the missing one. Entry 1: the farthest of -1.0 and -1.5 from
    -1.2 is -1.5; the lowest is -1.5 too."""
    reported = np.array([[np.nan, -1.0], [-2.0, np.nan], [-2.0, -1.5]])
    consensus = np.array([-2.0, -1.2])
    for fill in ("farthest", "lowest"):
        params = dataclasses.replace(WHITEPAPER, missing_loss_fill=fill)
        filled = rewards.filled_reports(reported, consensus, params)
        np.testing.assert_array_equal(filled, [[-2.0, -1.0], [-2.0, -1.5], [-2.0, -1.5]])


# --- eq 12: the order of the loss vector -------------------------------------------------------

def test_loss_vector_order_of_deviations():
    """DEVIATIONS §2: network, naive, inferers, forecast-implied, one-out forecast-implied (per
    forecaster, per inferer), one-out inferers, one-out forecasters, one-in forecasters. Labels:
    N_i = 2, N_f = 2; one-out forecast-implied of forecaster k without inferer j is 50 + 2j + k."""
    combined = np.array([10.0, 11, 20, 21, 22, 23, 30, 31])      # net, naive, one-out x4, one-in x2
    forecast_implied = np.array([40.0, 41])
    one_out_fi = np.array([[50.0, 51], [52, 53]])                # (withheld j, forecaster k)
    inferences = np.array([60.0, 61])
    vector = synthesis.all_inferences(combined, forecast_implied, one_out_fi, inferences)
    assert vector.tolist() == [10, 11, 60, 61, 40, 41, 50, 52, 51, 53, 20, 21, 22, 23, 30, 31]
    assert synthesis.loss_vector_size(2, 2) == 16 and synthesis.loss_vector_size(5, 3) == 36


def test_loss_vector_is_read_back_in_the_same_order():
    """Eq 15 reads each row's loss and each worker's loss from the same layout: rows network,
    naive, one-out 0-3, one-in 0-1 = entries 0, 1, 10-15; workers = inferers 60, 61 and
    forecast-implied 40, 41, except in the one-out rows of the inferers, where forecaster k's
    loss is its forecast-implied inference without that inferer (50 + 2j + k)."""
    losses = np.array([10.0, 11, 60, 61, 40, 41, 50, 52, 51, 53, 20, 21, 22, 23, 30, 31])
    reference, workers = synthesis.regret_table_losses(losses, 2, 2)
    assert reference.tolist() == [10, 11, 20, 21, 22, 23, 30, 31]
    expected = np.tile([60.0, 61, 40, 41], (8, 1))
    expected[2] = [60, 61, 50, 51]            # inferer 0 withheld
    expected[3] = [60, 61, 52, 53]            # inferer 1 withheld
    np.testing.assert_array_equal(workers, expected)
    # eq 30 as printed leaves out exactly the four one-out forecast-implied entries 6-9
    entries = rewards.consensus_entries(2, 2, WHITEPAPER)
    assert np.flatnonzero(~entries).tolist() == [6, 7, 8, 9]
    assert rewards.consensus_entries(2, 2, SIMULATOR).all()


# --- §4.2 claims: the sybil break-even beta ----------------------------------------------------

@pytest.mark.parametrize("shares, copies", [((1, 1, 1, 1, 1), 2), ((1, 1, 1, 1, 1), 7),
                                            ((35, 25, 20, 12, 8), 3), ((80, 5, 5, 5, 5), 4)])
def test_sybil_break_even_beta_by_sympy(shares, copies):
    """The largest participant splits into k equal copies; the beta that keeps the modified
    entropy (eqs 37, 40) unchanged solves H0 r0^beta = H1 r1^beta, r = N_eff / N, evaluated by
    sympy from the exact fractions; the ratio at beta = 1/4 is (H1 / H0) (r1 / r0)^(1/4)."""
    total = sum(shares)
    before = [sympy.Rational(s, total) for s in shares]
    top = before.index(max(before))
    after = before[:top] + before[top + 1:] + [before[top] / copies] * copies
    entropy = lambda f: -sum(x * sympy.log(x) for x in f)
    ratio = lambda f: 1 / sum(x**2 for x in f) / len(f)
    h0, h1, r0, r1 = entropy(before), entropy(after), ratio(before), ratio(after)
    beta = sympy.log(h0 / h1) / sympy.log(r1 / r0)
    at_quarter = h1 / h0 * (r1 / r0) ** sympy.Rational(1, 4)
    measured_ratio, measured_beta = sybil_split([float(x) for x in before], copies, WHITEPAPER)
    assert measured_beta == pytest.approx(float(beta.evalf(30)), rel=1e-12)
    assert measured_ratio == pytest.approx(float(at_quarter.evalf(30)), rel=1e-12)


def test_sybil_break_even_beta_equal_shares_by_hand():
    """N = 5 equal shares, the first splits in two: H0 = ln 5, H1 = ln 5 + 0.2 ln 2,
    N_eff1 = 1 / (4 (0.04) + 2 (0.01)) = 50/9 over N = 6."""
    h0, h1 = math.log(5), math.log(5) + 0.2 * math.log(2)
    beta = math.log(h0 / h1) / math.log(50 / 9 / 6)
    assert beta == pytest.approx(1.0736, abs=1e-4)
    assert sybil_split((0.2,) * 5, 2, WHITEPAPER)[1] == pytest.approx(beta, rel=1e-12)


# --- eq 44 with chi_min, chi_max other than the paper's ----------------------------------------

@pytest.mark.parametrize("tau, chi", [(-1.0, 0.2), (0.0, 0.2), (0.5, 0.45), (1.0, 0.7),
                                      (3.0, 0.7)])
def test_forecasting_utility_follows_chi_min_and_chi_max(tau, chi):
    params = dataclasses.replace(WHITEPAPER, chi_min=0.2, chi_max=0.7)
    assert forecasting_utility(tau, params) == pytest.approx(chi, rel=1e-15)


# --- eq 57 with mu, nu other than 1/2 ----------------------------------------------------------

@pytest.mark.parametrize("mu, nu, weight", [(0.5, 0.5, 6.0), (1.0, 0.0, 4.0), (0.0, 1.0, 9.0),
                                            (2.0, 0.5, 48.0), (0.0, 0.0, 1.0)])
def test_target_topic_weight_follows_mu_and_nu(mu, nu, weight):
    """w^ = S^mu C^nu with S = 4, C = 9."""
    assert target_topic_weight(4.0, 9.0, mu, nu) == pytest.approx(weight, rel=1e-15)


# --- eq 54: the validators' stakes are one vector ---------------------------------------------

def test_validator_emission_by_hand_and_its_guards():
    """f_v E S_v / sum S_v: 0.25 x 100 x (1, 3) / 4."""
    np.testing.assert_allclose(validator_emission(100.0, [1.0, 3.0], 0.25), [6.25, 18.75],
                               rtol=1e-15)
    with pytest.raises(ValueError, match=r"validator stakes S_v,i \(eq 54\) must be a vector"):
        validator_emission(100.0, [[1.0, 2.0], [3.0, 4.0]], 0.25)
    with pytest.raises(ValueError, match=r"validator stakes S_v,i \(eq 54\)"):
        validator_emission(100.0, [0.0, 0.0], 0.25)


# --- §5: what the treasury paid when nothing was asked ----------------------------------------

def test_paid_share_with_an_empty_treasury():
    """An empty treasury at launch: eq 48's target is 0, e = 0, eq 47 asks nothing and the
    treasury paid all of it (share 1). After a paying month the EMA of eq 52 still asks for
    tokens that an emptied treasury cannot pay: share 0, and so a yield of 0."""
    params = dataclasses.replace(SIMULATOR, fees_to_treasury=False)
    empty = Supply(0.0, 500e6, 200e6, 500e6)
    emission, _ = emission_step(EmissionState.genesis(empty, params), EmissionInputs(), params)
    assert (emission.target, emission.e, emission.total, emission.paid) == (0.0, 0.0, 0.0, 1.0)
    rich = Supply(100e6, 400e6, 200e6, 500e6)
    _, state = emission_step(EmissionState.genesis(rich, params), EmissionInputs(), params)
    drained = dataclasses.replace(state.supply, treasury=0.0,
                                  circulating=state.supply.circulating + state.supply.treasury)
    emission, _ = emission_step(dataclasses.replace(state, supply=drained), EmissionInputs(),
                                params)
    assert emission.e > 0 and emission.total == 0.0 and emission.paid == 0.0
    assert emission.mpy == 0.0


# --- §5 supply: vesting to the end ------------------------------------------------------------

def test_vesting_unlocks_to_month_36_and_then_stops():
    """Cliff 12, vesting 36 (DEVIATIONS §5): 12/36 at month 12, 1/36 in each of months 13-36,
    nothing after - beyond the golden table's 24 months."""
    months = np.arange(1, 49)
    table = vesting_unlocks([36e6, 72e6], months, 12, 36)
    expected = np.zeros((48, 2))
    expected[11] = [12e6, 24e6]
    expected[12:36] = [1e6, 2e6]
    np.testing.assert_allclose(table, expected, rtol=1e-15, atol=0)


# --- Figure 4: what the paper's claims are judged by -------------------------------------------

FIGURE4_PASS = {"unlock_drop": -0.5, "drop_is_largest": 1.0, "jump_with_smoothing": 1.0,
                "jump_without_smoothing": 10.0, "decline_with_fees": 0.01,
                "decline_without_fees": 0.3, "fees_higher_after_unlock": 1.0}
SHARP, SMOOTH, STABLE = ("sharp drop without smoothing", "smooth with smoothing",
                         "stable and higher with fees")


def test_figure4_no_jump_threshold():
    assert NO_JUMP == 3.0


@pytest.mark.parametrize("change, failing", [
    ({}, set()),
    ({"unlock_drop": -0.16}, set()),
    ({"unlock_drop": -0.14}, {SHARP}),                      # not 15% down
    ({"drop_is_largest": 0.0}, {SHARP}),
    ({"jump_with_smoothing": 3.0}, set()),                  # at most 3 times its neighbours
    ({"jump_with_smoothing": 3.1}, {SMOOTH}),
    ({"jump_without_smoothing": 3.1}, set()),
    ({"jump_without_smoothing": 3.0}, {SMOOTH}),            # no jump to remove
    ({"decline_with_fees": 0.029}, set()),
    ({"decline_with_fees": 0.031}, {STABLE}),               # outside 3%
    ({"decline_with_fees": -0.031}, {STABLE}),
    ({"decline_without_fees": 0.21}, set()),
    ({"decline_without_fees": 0.19}, {STABLE}),             # not 20% down
    ({"fees_higher_after_unlock": 0.0}, {STABLE}),
])
def test_figure4_claim_thresholds(change, failing):
    """The thresholds of figure4_checks' docstring: a drop below -15% that is the largest; a
    jump at the unlock at most NO_JUMP times its neighbours' changes with smoothing, where
    without smoothing it stands out by more; with fees a decline within 3% where it exceeds 20%
    without, and a higher APY after the unlock."""
    checks = figure4_checks({**FIGURE4_PASS, **change})
    assert checks == {claim: claim not in failing for claim in (SHARP, SMOOTH, STABLE)}

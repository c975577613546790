"""Unit and property tests of §4.1 (eqs 21-36), one group per equation.

Expected values are computed here from the paper's formulas (by hand, with the standard library,
or by counting), never taken from the code under test.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shared import catalog_form, examples, in_window, silencing_case

from allora_ref.params import load_profile
from allora_ref.spec import participant_rewards as spec

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
PROFILES = [WHITEPAPER, SIMULATOR]
IDS = ["whitepaper", "simulator"]
FAST = examples(40)


def phi(x: float, p: float = 3.0, c: float = 0.75) -> float:
    """Eq 6, from its definition."""
    return math.log1p(math.exp(p * (x - c)))


def std(values, params) -> float:
    """sigma of eq 28: population (whitepaper) or sample (simulator) standard deviation."""
    values = list(values)
    if params.sigma_ddof == 0:
        return statistics.pstdev(values)
    return statistics.stdev(values) if len(values) > 1 else 0.0


def ln_total(coefficients, stakes, reported, params) -> float:
    """ln T_i of eq 33 at given listening coefficients."""
    return math.log(float(spec.consensus_at(np.asarray(coefficients, float), stakes, reported,
                                            params).total))


# --- eqs 21-24: scores -------------------------------------------------------------------------

@pytest.mark.eq(21)
def test_eq21_inferer_scores_by_hand():
    scores = spec.one_out_scores(-2.0, np.array([-1.5, -2.25, -2.0]))
    np.testing.assert_allclose(scores, [0.5, -0.25, 0.0], rtol=0, atol=1e-15)
    # positive iff removing the inferer increases the network loss (10^-1.5 > 10^-2)
    assert scores[0] > 0 > scores[1]


@pytest.mark.eq(21, 22, 23, 24)
def test_eq21_to_eq24_missing_inference_scores_zero_and_missing_loss_none():
    """A one-out (one-in) inference that does not exist - the worker was the only member -
    scores 0, as deployed (DEVIATIONS §2: a single inferer scores 0); a loss that exists but
    was not reported leaves the worker unscored (NaN)."""
    # rows: network, naive, one-out of inferer 0 and of forecaster 0, one-in of forecaster 0
    losses = np.array([-2.0, -1.8, np.nan, -1.9, np.nan])
    exists = np.array([True, True, False, True, True])
    inferers, forecasters = spec.worker_scores(losses, exists, 1, 1, 1, WHITEPAPER)
    assert inferers.tolist() == [0.0]
    assert np.isnan(forecasters[0])                      # one-in loss exists but is unreported
    exists[4] = False
    _, forecasters = spec.worker_scores(losses, exists, 1, 1, 1, WHITEPAPER)
    assert forecasters[0] == pytest.approx(0.5 * 0.1, abs=1e-15)     # f+ = 1/2, one-in term 0


@pytest.mark.eq(22, 23, 24)
def test_eq22_to_eq24_forecaster_scores_by_hand():
    one_out = spec.one_out_scores(-2.0, np.array([-1.9, -2.1]))
    one_in = spec.one_in_scores(-1.8, np.array([-1.95, -1.7]))
    np.testing.assert_allclose(one_out, [0.1, -0.1], atol=1e-15)     # eq 23
    np.testing.assert_allclose(one_in, [0.15, -0.1], atol=1e-15)     # eq 24: adding k helps
    np.testing.assert_allclose(spec.forecaster_scores(one_out, one_in, 0.25),
                               [0.75 * 0.1 + 0.25 * 0.15, -0.1], atol=1e-15)   # eq 22


@pytest.mark.eq(21, 23, 24)
def test_sympy_eq21_eq23_eq24_agree_with_the_scores():
    b, network, naive = 10.0, 0.01, 0.02
    out, into = np.array([0.03, 0.004]), np.array([0.005, 0.05])
    log = lambda x: np.log(x) / np.log(b)                                  # noqa: E731
    np.testing.assert_allclose(spec.one_out_scores(log(network), log(out)),
                               catalog_form(21)(L_minus=out, L=network, b=b), rtol=1e-13)
    np.testing.assert_allclose(spec.one_out_scores(log(network), log(out)),
                               catalog_form(23)(L_minus=out, L=network, b=b), rtol=1e-13)
    np.testing.assert_allclose(spec.one_in_scores(log(naive), log(into)),
                               catalog_form(24)(L_naive=naive, L_plus=into, b=b), rtol=1e-13)
    np.testing.assert_allclose(spec.forecaster_scores(np.array([0.3]), np.array([-0.2]), 0.125),
                               catalog_form(22)(f_plus=0.125, T_minus=0.3, T_plus=-0.2),
                               rtol=1e-15)


finite = st.floats(-20, 20, allow_nan=False)


@pytest.mark.eq(21, 22, 23, 24)
@FAST
@given(finite, finite, finite, finite, st.floats(0, 1))
def test_scores_are_antisymmetric(network, one_out, naive, one_in, f_plus):
    """Swapping the roles of the one-out (one-in) and the network (naive) losses flips the sign
    of every score (eqs 21, 23, 24), hence of the forecaster score (eq 22)."""
    assert spec.one_out_scores(network, np.array([one_out]))[0] == \
        -spec.one_out_scores(one_out, np.array([network]))[0]
    minus = spec.one_out_scores(network, np.array([one_out]))
    plus = spec.one_in_scores(naive, np.array([one_in]))
    minus_swapped = spec.one_out_scores(one_out, np.array([network]))
    plus_swapped = spec.one_in_scores(one_in, np.array([naive]))
    assert minus[0] == -minus_swapped[0] and plus[0] == -plus_swapped[0]
    assert spec.forecaster_scores(minus, plus, f_plus)[0] == \
        -spec.forecaster_scores(minus_swapped, plus_swapped, f_plus)[0]
    # directionality: positive iff removing the worker (not adding it) would raise the loss
    assert (spec.one_out_scores(network, np.array([one_out]))[0] > 0) == (one_out > network)
    assert (plus[0] > 0) == (one_in < naive)


# --- eq 25: f+ ---------------------------------------------------------------------------------

@pytest.mark.eq(25)
@pytest.mark.parametrize("n_forecasters", range(1, 8))
def test_eq25_both_readings_by_counting_subsets(n_forecasters):
    """f+ = share of the subsets of forecasters in which worker 0 is alone: among all subsets
    (the formula as printed, whitepaper) or among those containing it (deployed)."""
    subsets = [set(s) for r in range(n_forecasters + 1)
               for s in combinations(range(n_forecasters), r)]
    alone = sum(1 for s in subsets if s == {0})
    containing = sum(1 for s in subsets if 0 in s)
    assert spec.one_in_fraction(n_forecasters, WHITEPAPER) == float(Fraction(alone, len(subsets)))
    assert spec.one_in_fraction(n_forecasters, SIMULATOR) == float(Fraction(alone, containing))
    assert spec.one_in_fraction(n_forecasters, WHITEPAPER) == \
        catalog_form(25)(N_f=n_forecasters)
    assert spec.one_in_fraction(n_forecasters, SIMULATOR) == \
        catalog_form(25)(N_f=n_forecasters - 1)


# --- eqs 21-25 together ------------------------------------------------------------------------

# rows: network, naive, one-out of inferers 0-1 and forecasters 0-1, one-in of forecasters 0-1
ROWS = np.array([-2.0, -1.8, -1.7, -2.1, -1.9, -2.1, -1.95, -1.7])


@pytest.mark.eq(21, 22, 23, 24, 25)
@pytest.mark.parametrize("params, f_plus", [(WHITEPAPER, 0.25), (SIMULATOR, 0.5)], ids=IDS)
def test_worker_scores_by_hand(params, f_plus):
    inferers, forecasters = spec.worker_scores(ROWS, np.ones(ROWS.size, bool), 2, 2, 2, params)
    np.testing.assert_allclose(inferers, [0.3, -0.1], atol=1e-15)
    one_out, one_in = np.array([0.1, -0.1]), np.array([0.15, -0.1])
    np.testing.assert_allclose(forecasters, (1 - f_plus) * one_out + f_plus * one_in, atol=1e-15)


@pytest.mark.eq(22, 25)
def test_f_plus_counts_the_forecasters_that_took_part():
    """N_f of eq 25 is the number of forecasters with a forecast-implied inference."""
    # N_i = 2, N_f = 3, forecaster 2 absent (no one-out, no one-in loss): N_f = 2 in eq 25
    rows = np.concatenate([ROWS[:2], [-1.7, -2.1], [-1.9, -2.1, np.nan], [-1.95, -1.7, np.nan]])
    _, forecasters = spec.worker_scores(rows, ~np.isnan(rows), 2, 3, 2, WHITEPAPER)
    np.testing.assert_allclose(forecasters[:2], 0.75 * np.array([0.1, -0.1])
                               + 0.25 * np.array([0.15, -0.1]), atol=1e-15)


@pytest.mark.eq(22, 25)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_single_forecaster_rule(params):
    """Deployed: a lone forecaster scores 0 (its one-out and one-in are never computed). The
    paper's eq 22 applies unchanged, with f+ = 1/2 (1/2^1)."""
    rows = np.array([-2.0, -1.8, -1.7, -2.1, -1.9, -1.95])        # N_i = 2, N_f = 1
    inferers, forecasters = spec.worker_scores(rows, ~np.isnan(rows), 2, 1, 1, params)
    np.testing.assert_allclose(inferers, [0.3, -0.1], atol=1e-15)
    expected = 0.0 if params.lone_forecaster_scores_zero else 0.5 * 0.1 + 0.5 * 0.15
    assert forecasters[0] == pytest.approx(expected, abs=1e-15)


# --- eqs 26-28: mapping function and reward fractions -----------------------------------------

@pytest.mark.eq(26, 28)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq26_eq28_fractions_by_hand(params):
    scores = [0.2, -0.1, 0.05]
    sigma = std(scores, params)
    mapped = [phi(t / (sigma + 0.01)) for t in scores]
    got = spec.mapped_scores(np.array(scores), np.array(scores), 3.0, 0.75, params)
    np.testing.assert_allclose(got, mapped, rtol=1e-13)
    np.testing.assert_allclose(spec.reward_fractions(got), np.array(mapped) / sum(mapped),
                               rtol=1e-13)
    assert mapped[0] > mapped[2] > mapped[1] > 0      # positive scores rewarded, negative a bit


@pytest.mark.eq(27, 28)
def test_eq27_absent_forecaster_keeps_nan_and_others_sum_to_one():
    scores = np.array([0.4, np.nan, -0.2])
    window = np.array([0.4, -0.2, 0.1, 0.3])
    sigma = statistics.pstdev([0.4, -0.2, 0.1, 0.3])
    mapped = [phi(0.4 / (sigma + 0.01)), phi(-0.2 / (sigma + 0.01))]
    v = spec.reward_fractions(spec.mapped_scores(scores, window, 3.0, 0.75, WHITEPAPER))
    assert np.isnan(v[1])
    np.testing.assert_allclose(v[[0, 2]], np.array(mapped) / sum(mapped), rtol=1e-13)


@pytest.mark.eq(28)
def test_sympy_eq28_agrees_with_mapped_scores():
    scores = np.array([-0.3, 0.0, 0.1, 0.45])
    sigma = statistics.pstdev(scores.tolist())
    expected = catalog_form(28)(T=scores, sigma=sigma, epsilon=0.01, p=3.0, c=0.75)
    np.testing.assert_allclose(spec.mapped_scores(scores, scores, 3.0, 0.75, WHITEPAPER),
                               expected, rtol=1e-13)


NAN = np.nan
#: four epochs of three workers, newest first; NaN = no score that epoch
HISTORY = np.array([[0.1, NAN, 0.3],
                    [0.4, 0.5, NAN],
                    [NAN, 0.7, 0.8],
                    [0.9, 1.0, 1.1]])


@pytest.mark.eq(28)
@pytest.mark.parametrize("unit, window, expected", [
    ("epochs", 10, [0.1, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1]),
    ("epochs", 2, [0.1, 0.3, 0.4, 0.5]),
    ("epochs", 3, [0.1, 0.3, 0.4, 0.5, 0.7, 0.8]),
    ("samples", 10, [0.1, 0.3, 0.4, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1]),
    ("samples", 2, [0.1, 0.3]),
    ("samples", 5, [0.1, 0.3, 0.4, 0.5, 0.7]),
])
def test_eq28_score_window_epochs_vs_samples(unit, window, expected):
    params = dataclasses.replace(WHITEPAPER, score_window_unit=unit, score_window=window)
    np.testing.assert_array_equal(in_window(spec.score_window(HISTORY, params)), expected)


@pytest.mark.eq(28)
def test_eq28_deployed_window_of_ten_samples():
    """DEVIATIONS §2: with 5 inferers the last 10 samples are 2 epochs; with 3 forecasters, 3
    epochs and forecaster 0 of the fourth. The paper's 10 epochs take all 50 (30) scores."""
    history = np.arange(50.0).reshape(10, 5)
    window = lambda scores, params: in_window(spec.score_window(scores, params))
    np.testing.assert_array_equal(window(history, SIMULATOR), np.arange(10.0))
    np.testing.assert_array_equal(window(history, WHITEPAPER), np.arange(50.0))
    forecasters = np.arange(30.0).reshape(10, 3)
    np.testing.assert_array_equal(window(forecasters, SIMULATOR), np.arange(10.0))
    assert window(forecasters, SIMULATOR)[-1] == forecasters[3, 0]


@pytest.mark.eq(26, 28)
def test_eq28_equal_split_below_epsilon():
    """sigma < epsilon: the deployed system pays every present worker equally; the paper's M is
    still defined (epsilon keeps the denominator positive) and keeps differentiating."""
    scores = np.array([0.001, 0.002, 0.003, np.nan])
    window = scores[:3]
    simulated = spec.mapped_scores(scores, window, 3.0, 0.75, SIMULATOR)
    np.testing.assert_array_equal(simulated[:3], [1.0, 1.0, 1.0])
    assert np.isnan(simulated[3])
    np.testing.assert_allclose(spec.reward_fractions(simulated)[:3], [1 / 3] * 3, rtol=1e-15)
    sigma = statistics.pstdev([0.001, 0.002, 0.003])
    np.testing.assert_allclose(spec.mapped_scores(scores, window, 3.0, 0.75, WHITEPAPER)[:3],
                               [phi(t / (sigma + 0.01)) for t in (0.001, 0.002, 0.003)],
                               rtol=1e-13)
    # sigma = 0 exactly (all scores equal): both readings pay equally, nothing divides by zero
    equal = np.array([0.2, 0.2])
    for params in PROFILES:
        np.testing.assert_allclose(
            spec.reward_fractions(spec.mapped_scores(equal, equal, 3.0, 0.75, params)),
            [0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(spec.mapped_scores(equal, equal, 3.0, 0.75, WHITEPAPER),
                               [phi(0.2 / 0.01)] * 2, rtol=1e-13)


@pytest.mark.eq(28)
@FAST
@given(hnp.arrays(float, st.integers(2, 8), elements=st.floats(-2, 2)),
       st.floats(1e-3, 1e3), st.sampled_from(PROFILES))
def test_eq28_scale_invariance(scores, scale, params):
    """M(lambda T) = M(T) when the spread (and epsilon) scale with the scores."""
    scaled = dataclasses.replace(params, epsilon=params.epsilon * scale,
                                 equal_split_below_epsilon=False)
    base = dataclasses.replace(params, equal_split_below_epsilon=False)
    np.testing.assert_allclose(spec.mapped_scores(scores * scale, scores * scale, 3.0, 0.75, scaled),
                               spec.mapped_scores(scores, scores, 3.0, 0.75, base),
                               rtol=1e-9, atol=1e-300)


@pytest.mark.eq(28)
def test_eq28_scale_invariance_with_epsilon_negligible():
    """With the fiducial epsilon, scaling the scores up makes the fractions converge to the
    scale-free limit phi(T / sigma(T)) (epsilon only guards the division)."""
    scores = [3.0, -1.0, 2.0, 0.5]
    sigma = statistics.pstdev(scores)
    limit = np.array([phi(t / sigma) for t in scores])
    limit /= limit.sum()
    errors = []
    for scale in (1.0, 10.0, 100.0):
        scaled = scale * np.array(scores)
        got = spec.reward_fractions(spec.mapped_scores(scaled, scaled, 3.0, 0.75, WHITEPAPER))
        errors.append(np.max(np.abs(got / limit - 1)))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-3


@pytest.mark.eq(28)
def test_eq28_spread_grows_with_p():
    scores = np.array([1.0, -0.5, 0.2])
    top = [spec.reward_fractions(spec.mapped_scores(scores, scores, p, 0.75, WHITEPAPER))[0]
           for p in (1.0, 2.0, 3.0, 4.0)]
    assert all(a < b for a, b in zip(top, top[1:]))


@pytest.mark.eq(26, 27, 28)
@FAST
@given(hnp.arrays(float, st.integers(1, 8),
                  elements=st.one_of(st.floats(-3, 3), st.just(np.nan))),
       hnp.arrays(float, st.tuples(st.integers(0, 12), st.integers(1, 8)),
                  elements=st.one_of(st.floats(-3, 3), st.just(np.nan))),
       st.sampled_from(PROFILES))
def test_worker_fractions_are_non_negative_and_sum_to_one(scores, history, params):
    if np.isnan(scores).all():
        scores[0] = 0.0
    history = history[:, :scores.size] if history.shape[1] >= scores.size else \
        np.hstack([history, np.full((history.shape[0], scores.size - history.shape[1]), NAN)])
    window = spec.score_window(np.vstack([scores[None, :], history]), params)
    fractions = spec.reward_fractions(spec.mapped_scores(scores, window, 3.0, 0.75, params))
    present = ~np.isnan(scores)
    np.testing.assert_array_equal(np.isnan(fractions), ~present)
    assert (fractions[present] >= 0).all()
    assert fractions[present].sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.eq(26, 27, 35)
def test_reward_fractions_need_a_positive_total():
    with pytest.raises(ValueError, match=r"eqs 26, 27, 35"):
        spec.reward_fractions(np.array([0.0, 0.0]))
    assert np.isnan(spec.reward_fractions(np.array([np.nan]))).all()    # nobody: nothing to pay


# --- eq 29: adjusted stake ---------------------------------------------------------------------

@pytest.mark.eq(29)
def test_eq29_adjusted_stake_by_hand():
    np.testing.assert_allclose(spec.adjusted_stakes(np.ones(4), np.array([1.0, 1, 1, 7])),
                               [0.4, 0.4, 0.4, 1.0], rtol=1e-15)        # 4 * 1/10; 4*7/10 -> 1
    np.testing.assert_allclose(spec.adjusted_stakes(np.array([0.5, 1, 1]), np.array([2.0, 2, 2])),
                               [0.6, 1.0, 1.0], rtol=1e-15)             # 3 * 1/5; 3 * 2/5 -> 1
    batch = spec.adjusted_stakes(np.array([[1.0, 1.0], [0.25, 1.0]]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(batch, [[1.0, 1.0], [0.4, 1.0]], rtol=1e-15)


@pytest.mark.eq(29)
def test_eq29_saturation_linearity_and_zero_stake():
    coefficients = np.array([1.0, 0.5, 1.0, 1.0, 0.8])
    stakes = np.array([0.0, 3.0, 2.0, 10.0, 1.0])
    adjusted = spec.adjusted_stakes(coefficients, stakes)
    share = coefficients * stakes / (coefficients * stakes).sum()
    assert adjusted[0] == 0.0                                 # zero stake: no say
    assert adjusted[3] == 1.0                                 # above average: saturated at 1
    below = (share > 0) & (share < 1 / 5)
    np.testing.assert_allclose(adjusted[below] / share[below], 5.0, rtol=1e-14)  # slope N_r
    assert spec.adjusted_stakes(np.array([0.0, 1.0]), np.array([5.0, 1.0]))[0] == 0.0
    with pytest.raises(ValueError, match=r"eq 29"):
        spec.adjusted_stakes(np.array([0.0, 0.0]), np.array([1.0, 1.0]))


@pytest.mark.eq(29)
def test_sympy_eq29_agrees_with_adjusted_stakes():
    coefficients, stakes = np.array([0.9, 0.3, 1.0]), np.array([2.0, 5.0, 1.0])
    total = float((coefficients * stakes).sum())
    expected = [catalog_form(29)(N_r=3, a=a, S=s, Sigma=total)
                for a, s in zip(coefficients, stakes)]
    np.testing.assert_allclose(spec.adjusted_stakes(coefficients, stakes), expected, rtol=1e-15)


@pytest.mark.eq(29, 31)
def test_eq29_majority_stake_is_capped_not_neutralised():
    """A reputer with 90% of the stake gets the weight 1 of any above-average reputer (eq 29),
    but the others' weights N_r S / sum S shrink with its stake: its pull on the consensus is
    1 / (1 + 4 * 5/40) = 2/3 instead of 0.9 with raw stakes (and 1/5 with an average stake)."""
    honest = np.array([[-2.0, -3.0]] * 4)
    reported = np.vstack([honest, [[-1.0, -2.0]]])            # the attacker: +1 on every entry
    stakes = np.array([1.0, 1.0, 1.0, 1.0, 36.0])
    adjusted = spec.adjusted_stakes(np.ones(5), stakes)
    np.testing.assert_allclose(adjusted, [1 / 8] * 4 + [1.0], rtol=1e-15)
    shift = spec.consensus_log_losses(adjusted, reported) - honest[0]
    np.testing.assert_allclose(shift, [2 / 3, 2 / 3], rtol=1e-14)
    raw = spec.consensus_log_losses(stakes, reported) - honest[0]
    np.testing.assert_allclose(raw, [0.9, 0.9], rtol=1e-14)
    average = spec.consensus_log_losses(spec.adjusted_stakes(np.ones(5), np.ones(5)), reported)
    np.testing.assert_allclose(average - honest[0], [0.2, 0.2], rtol=1e-14)


@pytest.mark.eq(29)
@FAST
@given(hnp.arrays(float, st.integers(1, 8), elements=st.floats(0, 1)),
       hnp.arrays(float, st.integers(1, 8), elements=st.floats(0, 1e6)))
def test_eq29_adjusted_stakes_lie_in_0_1(coefficients, stakes):
    n = min(coefficients.size, stakes.size)
    coefficients, stakes = coefficients[:n], stakes[:n]
    assume((coefficients * stakes).sum() > 0)
    adjusted = spec.adjusted_stakes(coefficients, stakes)
    assert ((adjusted >= 0) & (adjusted <= 1)).all()
    assert adjusted.max() >= 1 - 1e-12          # someone holds at least the average share


# --- eq 30: the loss vector --------------------------------------------------------------------

@pytest.mark.eq(30)
def test_eq30_consensus_entries():
    # 5 inferers, 3 forecasters: 36 entries deployed, 21 in the paper (DEVIATIONS §2)
    assert spec.consensus_entries(5, 3, SIMULATOR).sum() == 36
    assert spec.consensus_entries(5, 3, WHITEPAPER).sum() == 21
    # N_i = 2, N_f = 1: network, naive, 2 inferers, 1 forecaster, [2 one-out forecast-implied],
    # 3 one-out, 1 one-in
    assert spec.consensus_entries(2, 1, WHITEPAPER).tolist() == \
        [True] * 5 + [False, False] + [True] * 4
    assert spec.consensus_entries(2, 1, SIMULATOR).tolist() == [True] * 11
    assert spec.consensus_entries(3, 0, WHITEPAPER).tolist() == [True] * 8


# --- eq 31: consensus --------------------------------------------------------------------------

@pytest.mark.eq(31)
def test_eq31_consensus_by_hand():
    reported = np.array([[-2.0, -1.0], [-1.0, np.nan]])
    np.testing.assert_allclose(spec.consensus_log_losses(np.array([1.0, 0.5]), reported),
                               [(-2.0 - 0.5) / 1.5, -1.0], rtol=1e-15)   # NaN dropped
    batch = spec.consensus_log_losses(np.array([[1.0, 0.5], [0.0, 1.0]]), reported)
    np.testing.assert_allclose(batch[0], [-5 / 3, -1.0], rtol=1e-15)
    assert batch[1, 0] == -1.0 and np.isnan(batch[1, 1])                  # nobody with weight


# --- eq 32: consensus scores -------------------------------------------------------------------

@pytest.mark.eq(32)
def test_eq32_scores_by_hand():
    consensus = np.array([-2.0, -1.0])
    filled = np.array([[-2.0, -1.0], [-1.7, -1.4]])
    norm = math.hypot(2.0, 1.0)
    expected = [1 / 0.01, 1 / (math.hypot(0.3, 0.4) / norm + 0.01)]
    np.testing.assert_allclose(spec.consensus_scores(filled, consensus, WHITEPAPER), expected,
                               rtol=1e-13)
    np.testing.assert_allclose(expected[1], catalog_form(32)(D=0.5, C=norm, epsilon_r=0.01),
                               rtol=1e-15)


@pytest.mark.eq(32)
def test_eq32_zero_norm_floor():
    """||log L_i|| = 0 (every consensus loss is 1): the norm is floored at 1e-7."""
    consensus = np.zeros(2)
    filled = np.array([[0.0, 0.0], [3e-7, 4e-7]])
    np.testing.assert_allclose(spec.consensus_scores(filled, consensus, WHITEPAPER),
                               [100.0, 1 / (5e-7 / 1e-7 + 0.01)], rtol=1e-12)


@pytest.mark.eq(32)
@pytest.mark.parametrize("params, fill", [(WHITEPAPER, -1.0), (SIMULATOR, -1.8)], ids=IDS)
def test_eq32_missing_report_filled_by_both_rules(params, fill):
    """Entry 1: reported -1.0 and -1.8, consensus -1.7: the farthest reported value is -1.0,
    the lowest -1.8."""
    reported = np.array([[-2.0, -1.0], [-2.1, -1.8], [-2.2, np.nan]])
    consensus = np.array([-2.1, -1.7])
    filled = spec.filled_reports(reported, consensus, params)
    np.testing.assert_array_equal(filled[:2], reported[:2])
    np.testing.assert_array_equal(filled[2], [-2.2, fill])
    norm = math.hypot(2.1, 1.7)
    score = 1 / (math.hypot(-0.1, fill + 1.7) / norm + 0.01)
    assert spec.consensus_scores(filled, consensus, params)[2] == pytest.approx(score, rel=1e-13)


@pytest.mark.eq(29, 31, 32, 33)
def test_consensus_at_composes_eqs_29_to_33():
    stakes = np.array([1.0, 2.0, 3.0])
    coefficients = np.array([1.0, 0.5, 1.0])
    reported = np.array([[-2.0, -1.0], [-1.0, -1.5], [-1.5, np.nan]])
    # eq 29: a S = [1, 1, 3], sum 5, N_r = 3 -> [0.6, 0.6, 1]
    adjusted = np.array([0.6, 0.6, 1.0])
    consensus = np.array([(-1.2 - 0.6 - 1.5) / 2.2, (-0.6 - 0.9) / 1.2])
    filled = reported.copy()
    filled[2, 1] = -1.0 if abs(-1.0 - consensus[1]) > abs(-1.5 - consensus[1]) else -1.5
    norm = float(np.linalg.norm(consensus))
    scores = [1 / (float(np.linalg.norm(x - consensus)) / norm + 0.01) for x in filled]
    state = spec.consensus_at(coefficients, stakes, reported, WHITEPAPER)
    np.testing.assert_allclose(state.adjusted_stakes, adjusted, rtol=1e-15)
    np.testing.assert_allclose(state.consensus, consensus, rtol=1e-14)
    np.testing.assert_allclose(state.scores, scores, rtol=1e-12)
    assert state.total == pytest.approx((1 * scores[0] + 2 * scores[1] + 3 * scores[2]) / 6,
                                        rel=1e-12)


# --- eq 33 -------------------------------------------------------------------------------------

@pytest.mark.eq(33)
def test_eq33_total_consensus_score():
    stakes, scores = np.array([1.0, 3.0]), np.array([10.0, 30.0])
    assert spec.total_consensus_score(stakes, scores) == 25.0
    assert catalog_form(33)(sum_ST=100.0, sum_S=4.0) == 25.0
    np.testing.assert_array_equal(spec.total_consensus_score(stakes, np.array([[10.0, 30.0],
                                                                               [2.0, 2.0]])),
                                  [25.0, 2.0])


# --- eq 34: listening coefficients -------------------------------------------------------------

RNG = np.random.default_rng(3)
REPORTED = RNG.normal(-2, 0.3, size=(4, 7))
REPORTED[1, 2] = np.nan                                       # one missing report
STAKES = np.array([1.0, 2.0, 3.0, 1.5])
POINT = np.array([0.9, 0.6, 0.3, 0.8])                        # no adjusted stake at its kink


def central_difference(coefficients, stakes, reported, params, h=1e-6):
    return np.array([(ln_total(coefficients + h * e, stakes, reported, params)
                      - ln_total(coefficients - h * e, stakes, reported, params)) / (2 * h)
                     for e in np.eye(coefficients.size)])


@pytest.mark.eq(34)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq34_analytic_gradient_is_d_ln_T(params):
    analytic = dataclasses.replace(params, listening_gradient="analytic")
    expected = central_difference(POINT, STAKES, REPORTED, params)
    got = spec.listening_gradient(POINT, STAKES, REPORTED, analytic)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    # at the start (all coefficients 1) as well, where some adjusted stakes saturate
    ones = np.ones(4)
    np.testing.assert_allclose(spec.listening_gradient(ones - 1e-3, STAKES, REPORTED, analytic),
                               central_difference(ones - 1e-3, STAKES, REPORTED, params),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.eq(34)
def test_eq34_one_sided_difference_is_first_order():
    """The deployed g = (1 - T(a)/T(a + delta))/delta equals d ln T/da up to O(delta): halving
    delta halves the error."""
    exact = central_difference(POINT, STAKES, REPORTED, SIMULATOR)
    errors = []
    for delta in (1e-3, 5e-4, 2.5e-4):
        params = dataclasses.replace(SIMULATOR, listening_step=delta)
        got = spec.listening_gradient(POINT, STAKES, REPORTED, params)
        errors.append(np.abs(got - exact))
        assert np.all(errors[-1] < 10 * delta * np.abs(exact).max())
    np.testing.assert_allclose(errors[0] / errors[1], 2.0, rtol=0.02)
    np.testing.assert_allclose(errors[1] / errors[2], 2.0, rtol=0.02)


@pytest.mark.eq(34)
def test_eq34_one_sided_difference_steps_down_at_one():
    """At a = 1 the deployed step is -delta: (1 - T(a)/T(a - delta e_m)) / (-delta)."""
    ones = np.ones(4)
    lower = [math.exp(ln_total(ones - 1e-3 * e, STAKES, REPORTED, SIMULATOR)) for e in np.eye(4)]
    total = math.exp(ln_total(ones, STAKES, REPORTED, SIMULATOR))
    expected = [(1 - total / t) / -1e-3 for t in lower]
    np.testing.assert_allclose(spec.listening_gradient(ones, STAKES, REPORTED, SIMULATOR),
                               expected, rtol=1e-9, atol=1e-12)


@pytest.mark.eq(34)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq34_listened_stake_floor_is_reached_exactly(params):
    reported, stakes = silencing_case()
    previous = np.array([1.0, 1.0, 1.0, 0.35, 0.35, 0.35])           # listened stake 0.57
    final, scored = spec.listening_coefficients(previous, stakes, reported, params)
    assert (final * stakes).sum() / stakes.sum() == pytest.approx(0.5, abs=1e-12)
    assert spec.listened_fraction(final, stakes) == pytest.approx(0.5, abs=1e-12)
    assert np.all(final[3:] < 0.35) and np.all(final[:3] == 1.0)     # the majority is silenced
    assert ((scored >= 0) & (scored <= 1)).all()


@pytest.mark.eq(34)
def test_eq34_listened_fraction():
    assert spec.listened_fraction(np.array([1.0, 0.5, 0.0]), np.array([1.0, 2.0, 5.0])) == 0.25


@pytest.mark.eq(34)
@FAST
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.sampled_from(PROFILES))
def test_eq34_coefficients_stay_in_0_1(seed, n_reputers, params):
    rng = np.random.default_rng(seed)
    reported = rng.normal(-2, rng.choice([0.01, 0.3, 1.0]), size=(n_reputers, 5))
    stakes = rng.uniform(0.1, 10, n_reputers)
    previous = rng.uniform(0.2, 1.0, n_reputers)
    final, scored = spec.listening_coefficients(previous, stakes, reported, params)
    for coefficients in (final, scored):
        assert ((coefficients >= 0) & (coefficients <= 1)).all()
    if spec.listened_fraction(previous, stakes) >= 0.5:
        assert spec.listened_fraction(final, stakes) >= 0.5 - 1e-12


@pytest.mark.eq(34)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq34_iterations_compose_and_stop_at_the_maximum(params):
    """k iterations = k single iterations in a row; "last-iteration-start" reports the
    coefficients after k - 1 of them; the loop never runs more than the maximum."""
    params = dataclasses.replace(params, listening_gradient_threshold=0.0)
    single = dataclasses.replace(params, listening_max_iterations=1)
    coefficients, stakes = np.ones(4), STAKES
    reported = np.where(np.isnan(REPORTED), -2.0, REPORTED)
    steps = [coefficients]
    for _ in range(params.listening_max_iterations):
        steps.append(spec.listening_coefficients(steps[-1], stakes, reported, single)[0])
    final, scored = spec.listening_coefficients(coefficients, stakes, reported, params)
    np.testing.assert_allclose(final, steps[-1], rtol=1e-15)
    expected_scored = steps[-2] if params.listening_scores_from == "last-iteration-start" \
        else steps[-1]
    np.testing.assert_allclose(scored, expected_scored, rtol=1e-15)
    assert not np.allclose(steps[-1], steps[-2], rtol=1e-9)          # it was still moving


@pytest.mark.eq(34)
def test_eq34_maximum_iterations_of_the_profiles():
    assert WHITEPAPER.listening_max_iterations == round(1 / WHITEPAPER.listening_learning_rate)
    assert SIMULATOR.listening_max_iterations == 10                  # GradientDescentMaxIters


@pytest.mark.eq(34)
def test_eq34_one_step_is_lambda_times_d_ln_T():
    params = dataclasses.replace(WHITEPAPER, listening_max_iterations=1)
    final, scored = spec.listening_coefficients(POINT, STAKES, REPORTED, params)
    expected = np.clip(POINT + 0.05 * central_difference(POINT, STAKES, REPORTED, params), 0, 1)
    np.testing.assert_allclose(final, expected, rtol=1e-7)
    np.testing.assert_array_equal(scored, final)                      # "final" in the paper


@pytest.mark.eq(34)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq34_consensus_stops_at_once(params):
    """All reputers report the same losses: every score is 1/epsilon_r whatever a is, the
    gradient is 0 and the coefficients stay where they were."""
    reported = np.tile([-2.0, -1.5, -3.0], (3, 1))
    previous = np.array([1.0, 0.7, 0.9])
    final, scored = spec.listening_coefficients(previous, np.array([1.0, 2.0, 3.0]), reported,
                                                params)
    np.testing.assert_array_equal(final, previous)
    np.testing.assert_array_equal(scored, previous)


@pytest.mark.eq(34)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq34_below_the_floor_an_increasing_step_is_taken(params):
    """Eq 34 interpolates only an update that *decreases* the listened stake below 0.5. Starting
    at 0.2 (e.g. after stakes changed by eq 36), a step that raises it must go through."""
    reported, _ = silencing_case()
    stakes = np.array([2.0, 2, 2, 1, 1, 1])                           # the agreeing ones hold 2/3
    previous = np.full(6, 0.2)
    gradient = central_difference(previous, stakes, reported, params)
    assert (stakes * gradient).sum() > 0                              # the step raises it
    final, _ = spec.listening_coefficients(previous, stakes, reported, params)
    assert spec.listened_fraction(final, stakes) > 0.2


# --- eqs 35-36: reputer reward fractions and stakes ---------------------------------------------

@pytest.mark.eq(35)
def test_eq35_reputer_fractions_by_hand():
    stakes, scores = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 5.0])
    np.testing.assert_allclose(spec.reputer_reward_fractions(stakes, scores, WHITEPAPER),
                               np.array([10.0, 40.0, 15.0]) / 65, rtol=1e-15)
    cubed = dataclasses.replace(WHITEPAPER, reputer_reward_p=3.0)     # the chain's default
    np.testing.assert_allclose(spec.reputer_reward_fractions(stakes, scores, cubed),
                               np.array([1e3, 64e3, 15.0**3]) / (1e3 + 64e3 + 15.0**3),
                               rtol=1e-15)
    z = 10.0**3 + 40.0**3 + 15.0**3
    assert catalog_form(35)(S=2.0, T=20.0, p=3.0, Z=z) == pytest.approx(64e3 / z, rel=1e-15)
    # a zero stake earns nothing; an absent reputer (NaN score) has no fraction
    w = spec.reputer_reward_fractions(np.array([0.0, 1.0, 1.0]), np.array([50.0, 5.0, np.nan]),
                                      WHITEPAPER)
    assert w[0] == 0.0 and w[1] == 1.0 and np.isnan(w[2])


@pytest.mark.eq(35)
@FAST
@given(hnp.arrays(float, st.integers(1, 6), elements=st.floats(0.01, 1e4)),
       st.floats(0.5, 3), st.integers(0, 2**32 - 1))
def test_eq35_fractions_are_non_negative_and_sum_to_one(stakes, p, seed):
    scores = np.random.default_rng(seed).uniform(0.5, 100, stakes.size)
    w = spec.reputer_reward_fractions(stakes, scores,
                                      dataclasses.replace(WHITEPAPER, reputer_reward_p=p))
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.eq(36)
def test_eq36_stakes_grow_by_the_reward():
    fractions = np.array([0.25, np.nan, 0.75])
    new = spec.updated_stakes(np.array([10.0, 20.0, 30.0]), fractions, 8.0)
    np.testing.assert_array_equal(new, [12.0, 20.0, 36.0])      # absent: unchanged
    assert catalog_form(36)(S=30.0, w=0.75, W=8.0) == 36.0

"""Unit and property tests of §3.1 (eqs 1-15), one group per equation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shared import examples

from allora_ref.params import load_profile
from allora_ref.spec import inference_synthesis as spec

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
PROFILES = [WHITEPAPER, SIMULATOR]


def all_members(shape):
    return np.ones(shape, dtype=bool)


# --- eqs 1-2 -------------------------------------------------------------------------------

@pytest.mark.eq(1)
def test_eq01_inferences_accept_absence_and_reject_infinity():
    assert np.isnan(spec.inferences([1.0, np.nan])[1])
    with pytest.raises(ValueError, match=r"inferences I_ij \(eq 1\) must be finite"):
        spec.inferences([1.0, np.inf])
    with pytest.raises(ValueError, match="eq 1"):
        spec.inferences([[1.0]])


@pytest.mark.eq(2)
def test_eq02_forecasted_log_losses_in_profile_base():
    logs = spec.forecasted_log_losses([[1e-3, 10.0, np.nan]], 10.0)
    np.testing.assert_allclose(logs[0, :2], [-3.0, 1.0], rtol=1e-15)
    assert np.isnan(logs[0, 2])
    with pytest.raises(ValueError, match=r"L_ijk \(eq 2\) must be > 0"):
        spec.forecasted_log_losses([[0.0]], 10.0)


# --- eqs 3, 9 ------------------------------------------------------------------------------

@pytest.mark.eq(3, 9)
def test_eq03_eq09_weighted_inference():
    assert spec.weighted_inference(np.array([1.0, 3.0]), np.array([1.0, 3.0])) == 2.5
    # an absent value with zero weight does not poison the average; no member gives NaN
    assert spec.weighted_inference(np.array([np.nan, 2.0]), np.array([0.0, 0.5])) == 2.0
    assert np.isnan(spec.weighted_inference(np.array([1.0]), np.array([0.0])))


# --- eq 4 ----------------------------------------------------------------------------------

@pytest.mark.eq(4)
def test_eq04_forecasted_regrets():
    np.testing.assert_array_equal(spec.forecasted_regrets(-2.0, np.array([[-3.0, -1.5]])),
                                  [[1.0, -0.5]])


# --- eqs 6-7 -------------------------------------------------------------------------------

@pytest.mark.eq(6)
@given(st.floats(-30, 30), st.floats(0.5, 5), st.floats(-2, 2))
def test_eq06_potential_matches_definition(x, p, c):
    expected = math.log1p(math.exp(p * (x - c)))
    assert spec.potential(x, p, c) == pytest.approx(expected, rel=1e-13, abs=1e-300)


@pytest.mark.eq(6)
def test_eq06_potential_no_overflow_and_limits():
    values = spec.potential(np.array([-1e300, 1e3, 1e300]), 3.0, 0.75)
    np.testing.assert_allclose(values, [0.0, 3 * (1e3 - 0.75), 3e300], rtol=1e-15)
    assert spec.potential(0.75, 3.0, 0.75) == pytest.approx(math.log(2), rel=1e-15)


@pytest.mark.eq(7)
@given(st.floats(-50, 50), st.floats(0.5, 5), st.floats(-2, 2))
def test_eq07_gradient_is_derivative_of_potential(x, p, c):
    h = 1e-6
    numeric = (spec.potential(x + h, p, c) - spec.potential(x - h, p, c)) / (2 * h)
    assert spec.potential_gradient(x, p, c) == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    assert spec.potential_gradient(x, p, c) == pytest.approx(p / (math.exp(-p * (x - c)) + 1),
                                                              rel=1e-13)


@pytest.mark.eq(7)
def test_eq07_gradient_extremes_are_finite():
    g = spec.potential_gradient(np.array([-1e6, c := 0.75, 1e6]), 3.0, c)
    np.testing.assert_array_equal(g, [0.0, 1.5, 3.0])
    assert np.isfinite(spec.log_potential_gradient(-1e6, 3.0, 0.75))


# --- eqs 8, 11 -----------------------------------------------------------------------------

@pytest.mark.eq(8, 11)
@pytest.mark.parametrize("params", PROFILES, ids=["whitepaper", "simulator"])
def test_eq08_eq11_normalised_regrets(params):
    regrets = np.array([[0.3, -0.1, 0.5, 9.0]])
    members = np.array([[True, True, True, False]])
    sigma = np.std([0.3, -0.1, 0.5], ddof=params.sigma_ddof)
    np.testing.assert_allclose(spec.normalised_regrets(regrets, members, params)[0, :3],
                               np.array([0.3, -0.1, 0.5]) / (sigma + 0.01), rtol=1e-15)


@pytest.mark.eq(8)
def test_eq08_single_member_has_zero_sigma():
    for params in PROFILES:
        assert spec.normalised_regrets(np.array([0.2]), np.array([True]), params)[0] == 0.2 / 0.01


# --- eqs 5, 10 -----------------------------------------------------------------------------

@pytest.mark.eq(5, 10)
def test_eq05_eq10_weight_ratios_are_potential_gradient_ratios():
    regrets = np.array([0.2, -0.4, 0.1])
    w = spec.regret_weights(regrets, all_members(3), WHITEPAPER)
    g = spec.potential_gradient(spec.normalised_regrets(regrets, all_members(3), WHITEPAPER),
                                3.0, 0.75)
    np.testing.assert_allclose(w / w.max(), g / g.max(), rtol=1e-14)
    assert w.max() == 1.0


@pytest.mark.eq(5, 10)
def test_guard_rails_cap_shift_and_cutoff():
    # normalised regrets chosen directly: sigma of [a, b] with ddof 1 is |a - b| / sqrt 2
    params = dataclasses.replace(SIMULATOR, epsilon=1e-12)
    x = np.array([10.0, 3.0, -5.0])
    capped, members, best = spec.guard_railed_regrets(x, all_members(3), np.array([10.0]), params)
    assert best == capped.max()
    assert capped[0] == 0.75 + 6.75 / 3 and members.all()
    low = np.array([-10.0, -12.0, -30.0])
    shifted, members, best = spec.guard_railed_regrets(low, all_members(3), np.array([-10.0]),
                                                       params)
    assert best == shifted.max() == 0.75 - 8.25 / 3
    np.testing.assert_allclose(shifted, low + (0.75 - 8.25 / 3) - (-10.0))
    assert list(members) == [True, True, False]      # -30 + shift is below c - 17.25/p


@pytest.mark.eq(5, 8)
def test_weights_never_all_underflow():
    regrets = np.array([-5.0, -5.001, -5.003])          # normalised to about -460
    for params in PROFILES:
        w = spec.regret_weights(regrets, all_members(3), params)
        assert w.max() == 1.0 and (w >= 0).all()


# --- eqs 3-8 together ----------------------------------------------------------------------

@pytest.mark.eq(3, 4, 5, 8)
def test_forecast_implied_inference_value():
    inferences = np.array([1.0, 2.0, 4.0])
    forecasts = np.array([[-1.0, -2.0, -1.5]])
    fi = spec.forecast_implied_inferences(inferences, forecasts, -1.2, WHITEPAPER)
    regrets = -1.2 - forecasts[0]
    x = regrets / (np.std(regrets) + 0.01)
    w = 3 / (np.exp(-3 * (x - 0.75)) + 1)
    assert fi[0] == pytest.approx((w * inferences).sum() / w.sum(), rel=1e-14)


def test_partial_forecast_equals_forecast_of_subset():
    """A forecaster covering only some inferers equals one on those inferers alone."""
    inferences = np.array([1.0, 2.0, 4.0, 8.0])
    forecasts = np.array([[-1.0, np.nan, -1.5, -3.0], [np.nan, np.nan, np.nan, np.nan]])
    for params in PROFILES:
        fi = spec.forecast_implied_inferences(inferences, forecasts, -1.2, params)
        subset = spec.forecast_implied_inferences(inferences[[0, 2, 3]],
                                                  forecasts[:1, [0, 2, 3]], -1.2, params)
        assert fi[0] == pytest.approx(subset[0], rel=1e-15) and np.isnan(fi[1])


def test_one_out_forecast_implied_is_recomputed_without_the_inferer():
    inferences = np.array([1.0, 2.0, 4.0])
    forecasts = np.array([[-1.0, -2.0, -1.5], [-2.0, -1.1, -1.7]])
    one_out = spec.one_out_forecast_implied_inferences(inferences, forecasts, -1.2, SIMULATOR)
    for j in range(3):
        keep = [x for x in range(3) if x != j]
        np.testing.assert_allclose(one_out[j], spec.forecast_implied_inferences(
            inferences[keep], forecasts[:, keep], -1.2, SIMULATOR), rtol=1e-15)


def test_cold_start_forecast_implied():
    inferences = np.array([1.0, 2.0, 10.0])
    forecasts = np.array([[-1.0, -2.0, -1.5]])
    assert spec.forecast_implied_inferences(inferences, forecasts, np.nan, WHITEPAPER)[0] == \
        pytest.approx(13 / 3)
    assert spec.forecast_implied_inferences(inferences, forecasts, np.nan, SIMULATOR)[0] == 2.0


# --- combination rows, eqs 9-11 and the initial regret -------------------------------------

def test_row_families():
    families = spec.row_families(2, 1)
    assert families.shape == (2 + 3 + 1, 3)
    assert families[1].tolist() == [True, True, False]          # naive: inferers
    assert families[5].tolist() == [True, True, True]           # one-in of the only forecaster
    assert spec.row_families(2, 2)[-2].tolist() == [True, True, True, False]


@pytest.mark.eq(15)
def test_initial_regret_rules():
    regrets = np.array([[0.1, 0.3, np.nan, 0.2]])
    members = all_members((1, 4))
    assert spec.initial_regrets(regrets, members, WHITEPAPER)[0, 2] == 0.0
    known = np.array([0.1, 0.3, 0.2])
    expected = np.quantile(known, 0.25) + (0.75 - 8.25 / 3) * (np.std(known, ddof=1) + 0.01)
    assert spec.initial_regrets(regrets, members, SIMULATOR)[0, 2] == pytest.approx(expected,
                                                                                   rel=1e-15)


@pytest.mark.eq(9, 10, 11)
def test_cold_start_combination_rows():
    values = np.array([[1.0, 2.0, 9.0]])
    regrets = np.full((1, 3), np.nan)
    members = all_members((1, 3))
    wp, _ = spec.combined_inferences(values, regrets, members, 2, False, WHITEPAPER)
    sim, _ = spec.combined_inferences(values, regrets, members, 2, False, SIMULATOR)
    assert wp[0] == 4.0 and sim[0] == 1.5        # all members vs inferers only
    first = np.array([[1.0, 2.0, 10.0, 9.0]])
    sim_first, _ = spec.combined_inferences(first, np.full((1, 4), np.nan), all_members((1, 4)),
                                            3, True, SIMULATOR)
    assert sim_first[0] == 2.0                   # first epoch, deployed: median of inferers


def secondary_table():
    """2 inferers (I = 1, 2), 1 forecaster (I_ik = 4; 5 without inferer 0, 6 without inferer 1),
    the six rows of eqs 9-11 and each row's own regrets (the naive row prefers inferer 1, the
    network row inferer 0)."""
    values = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 4.0], [1.0, 2.0, 5.0], [1.0, 2.0, 6.0],
                       [1.0, 2.0, 4.0], [1.0, 2.0, 4.0]])
    members = spec.row_families(2, 1) & ~np.vstack([np.zeros((2, 3), bool), np.eye(3, dtype=bool),
                                                    np.zeros((1, 3), bool)])
    regrets = np.array([[0.3, -0.3, 0.0], [-0.2, 0.2, np.nan], [0.0, 0.1, 0.2],
                        [0.1, 0.0, -0.1], [0.2, -0.2, 0.0], [0.0, 0.0, 0.0]])
    return values, np.where(spec.row_families(2, 1), regrets, np.nan), members


def phi_prime(x, p=3.0, c=0.75):
    return p / (math.exp(-p * (x - c)) + 1)


@pytest.mark.eq(9, 10, 11)
def test_secondary_inferences_with_the_network_weights_zeroed():
    """§3.1 items 1-3 read literally: the network row's eq 10 weights, omitted entries zeroed."""
    values, regrets, members = secondary_table()
    scale = math.sqrt(0.06) + 0.01                   # population sigma of (0.3, -0.3, 0) + epsilon
    w = [phi_prime(0.3 / scale), phi_prime(-0.3 / scale), phi_prime(0.0)]
    expected = [(w[0] * 1 + w[1] * 2 + w[2] * 4) / sum(w),          # network
                (w[0] * 1 + w[1] * 2) / (w[0] + w[1]),              # naive: forecaster zeroed
                (w[1] * 2 + w[2] * 5) / (w[1] + w[2]),              # one-out inferer 0
                (w[0] * 1 + w[2] * 6) / (w[0] + w[2]),              # one-out inferer 1
                (w[0] * 1 + w[1] * 2) / (w[0] + w[1]),              # one-out forecaster
                (w[0] * 1 + w[1] * 2 + w[2] * 4) / sum(w)]          # one-in: the only forecaster
    literal = dataclasses.replace(WHITEPAPER, secondary_weights="network-weights")
    combined, weights = spec.combined_inferences(values, regrets, members, 2, False, literal)
    np.testing.assert_allclose(combined, expected, rtol=1e-14)
    np.testing.assert_allclose(weights[1, :2] / weights[1, 0], [1.0, w[1] / w[0]], rtol=1e-14)
    assert weights[1, 2] == 0.0 and weights.max(axis=1).tolist() == [1.0] * 6


@pytest.mark.eq(9, 10, 11)
def test_secondary_inferences_with_their_own_regrets():
    """The deployed reading: each row's own regrets, normalised over its own members."""
    values, regrets, members = secondary_table()
    own = dataclasses.replace(WHITEPAPER, secondary_weights="own-regrets")
    combined, _ = spec.combined_inferences(values, regrets, members, 2, False, own)
    naive = [phi_prime(-0.2 / 0.21), phi_prime(0.2 / 0.21)]          # sigma(-0.2, 0.2) = 0.2
    one_out_0 = [phi_prime(0.1 / 0.06), phi_prime(0.2 / 0.06)]      # (0.1, 0.2): sigma 0.05
    assert combined[1] == pytest.approx((naive[0] * 1 + naive[1] * 2) / sum(naive), rel=1e-14)
    assert combined[2] == pytest.approx((one_out_0[0] * 2 + one_out_0[1] * 5) / sum(one_out_0),
                                        rel=1e-14)
    assert combined[5] == pytest.approx(7 / 3, rel=1e-14)             # equal regrets: plain mean
    literal, _ = spec.combined_inferences(values, regrets, members, 2, False, WHITEPAPER)
    assert combined[0] == literal[0]                  # the network inference is the same
    assert combined[1] > 1.5 > literal[1]             # the readings disagree on the naive one


# --- eq 12-13 ------------------------------------------------------------------------------

@pytest.mark.eq(12)
def test_eq12_all_inferences_in_loss_vector_order():
    combined = np.array([10.0, 11.0, 20, 21, 22, 30])         # N_i = 2, N_f = 1
    vector = spec.all_inferences(combined, np.array([5.0]), np.array([[6.0], [7.0]]),
                                 np.array([1.0, 2.0]))
    assert vector.tolist() == [10, 11, 1, 2, 5, 6, 7, 20, 21, 22, 30]
    assert vector.size == spec.loss_vector_size(2, 1)


@pytest.mark.eq(13)
def test_eq13_log_losses():
    np.testing.assert_allclose(spec.log_losses(np.array([1.1, 0.9, np.nan]), 1.0,
                                               spec.squared_error, 10.0)[:2], [-2, -2], rtol=1e-12)
    with pytest.raises(ValueError, match=r"eq 13"):
        spec.log_losses(np.array([1.0]), 1.0, spec.squared_error, 10.0)


# --- eq 14 ---------------------------------------------------------------------------------

@pytest.mark.eq(14)
def test_eq14_stake_weighted_losses():
    losses = spec.network_log_losses([1.0, 3.0], [[-1.0, -2.0], [-3.0, np.nan]])
    np.testing.assert_allclose(losses, [-2.5, -2.0])
    with pytest.raises(ValueError, match=r"stakes S_im \(eq 14\) must be non-negative"):
        spec.network_log_losses([-1.0, 3.0], [[0.0], [0.0]])
    with pytest.raises(ValueError, match=r"eq 14"):
        spec.network_log_losses([0.0, 0.0], [[0.0], [0.0]])
    with pytest.raises(ValueError, match=r"one row per reputer"):
        spec.network_log_losses([1.0], [[0.0], [0.0]])


# --- eq 15 ---------------------------------------------------------------------------------

@pytest.mark.eq(15)
def test_eq15_regret_ema():
    previous = np.array([[0.5, np.nan, 0.2]])
    families = all_members((1, 3))
    new = spec.updated_regrets(previous, np.array([-2.0]), np.array([[-2.5, -1.0, np.nan]]),
                               families, WHITEPAPER)
    np.testing.assert_allclose(new[0, :2], [0.1 * 0.5 + 0.9 * 0.5, 0.1 * -1.0])
    assert new[0, 2] == 0.2                                   # no loss: carried over


# --- one epoch -----------------------------------------------------------------------------

def epoch(n_i, n_f, n_r, seed):
    rng = np.random.default_rng(seed)
    submissions = spec.Submissions(rng.normal(size=n_i), rng.normal(-2, 0.5, size=(n_f, n_i)))
    state = spec.SynthesisState(-2.0, rng.normal(0, 0.1, size=(2 + n_i + 2 * n_f, n_i + n_f)))
    reports = rng.normal(-2, 0.3, size=(n_r, spec.loss_vector_size(n_i, n_f)))
    return state, submissions, rng.uniform(1, 5, n_r), reports


def test_epoch_with_more_inferers_than_forecasters_and_a_missing_worker():
    state, submissions, stakes, reports = epoch(4, 2, 3, seed=1)
    submissions = spec.Submissions(np.array([0.1, np.nan, 0.3, 0.2]),
                                   submissions.forecasted_log_losses)
    for params in PROFILES:
        inferred = spec.synthesise(state, submissions, params)
        assert not inferred.members[:, 1].any()               # absent inferer 1 is in no row
        assert np.isnan(inferred.one_out_forecast_implied[1]).sum() == 0
        assert np.isfinite(inferred.combined).all()
        losses, after = spec.settle(state, inferred, stakes, reports, params)
        assert after.previous_network_log_loss == losses[0]
        assert after.regrets.shape == state.regrets.shape


def test_first_epoch_of_a_new_topic():
    _, submissions, stakes, reports = epoch(3, 2, 2, seed=2)
    state = spec.SynthesisState.initial(3, 2)
    for params in PROFILES:
        inferred = spec.synthesise(state, submissions, params)
        own = submissions.inferences
        if params.cold_start == "chain":
            assert inferred.network == np.median(own)
            np.testing.assert_allclose(inferred.forecast_implied, np.median(own))
        else:
            everything = np.concatenate([own, inferred.forecast_implied])
            assert inferred.network == pytest.approx(everything.mean(), rel=1e-15)
        _, after = spec.settle(state, inferred, stakes, reports, params)
        assert np.isfinite(after.regrets[0]).all()            # every worker now has a regret


def test_settle_rejects_a_wrong_loss_vector():
    state, submissions, stakes, reports = epoch(2, 1, 2, seed=3)
    inferred = spec.synthesise(state, submissions, WHITEPAPER)
    with pytest.raises(ValueError, match="loss vector"):
        spec.settle(state, inferred, stakes, reports[:, :-1], WHITEPAPER)


def test_an_epoch_without_inferences_is_an_error():
    state, _, _, _ = epoch(2, 1, 1, seed=4)
    with pytest.raises(ValueError, match=r"eq 1\): no inferer submitted"):
        spec.synthesise(state, spec.Submissions(np.full(2, np.nan), np.zeros((1, 2))), WHITEPAPER)


def test_submissions_reject_mismatched_forecasts():
    with pytest.raises(ValueError, match=r"eq 2"):
        spec.Submissions(np.zeros(3), np.zeros((2, 4)))


# --- properties ----------------------------------------------------------------------------

sizes = st.tuples(st.integers(1, 6), st.integers(0, 4), st.integers(1, 4))


@st.composite
def epochs(draw):
    n_i, n_f, n_r = draw(sizes)
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([0.01, 0.3, 3.0]))
    rng = np.random.default_rng(seed)
    state, submissions, stakes, reports = epoch(n_i, n_f, n_r, seed)
    state = spec.SynthesisState(state.previous_network_log_loss, state.regrets * spread / 0.1)
    return state, submissions, stakes, reports, draw(st.sampled_from(PROFILES)), rng


@pytest.mark.eq(9, 10)
@examples(60)
@given(epochs())
def test_every_inference_is_a_convex_combination(case):
    state, submissions, _, _, params, _ = case
    inferred = spec.synthesise(state, submissions, params)
    assert np.isfinite(inferred.weights).all() and (inferred.weights >= 0).all()
    rows = inferred.members.any(axis=1)
    low = np.where(inferred.members, inferred.values, np.inf).min(axis=1)
    high = np.where(inferred.members, inferred.values, -np.inf).max(axis=1)
    tolerance = 1e-12 * np.maximum(1.0, np.abs(low))
    assert np.all(inferred.combined[rows] >= low[rows] - tolerance[rows])
    assert np.all(inferred.combined[rows] <= high[rows] + tolerance[rows])


@examples(40)
@given(epochs(), st.floats(-1e3, 1e3))
def test_shifting_every_inference_shifts_every_output(case, shift):
    state, submissions, _, _, params, _ = case
    base = spec.synthesise(state, submissions, params)
    moved = spec.synthesise(state, spec.Submissions(submissions.inferences + shift,
                                                    submissions.forecasted_log_losses), params)
    scale = 1e-12 * (1 + abs(shift) + np.nanmax(np.abs(base.combined)))
    np.testing.assert_allclose(moved.combined, base.combined + shift, atol=scale)   # NaN = NaN
    np.testing.assert_allclose(moved.forecast_implied, base.forecast_implied + shift, atol=scale)


@examples(40)
@given(epochs())
def test_permuting_inferers_permutes_outputs(case):
    state, submissions, _, _, params, rng = case
    n_i, n_f = submissions.n_inferers, submissions.n_forecasters
    perm = rng.permutation(n_i)
    worker_perm = np.concatenate([perm, n_i + np.arange(n_f)])
    rows = np.concatenate([[0, 1], 2 + worker_perm, 2 + n_i + n_f + np.arange(n_f)])
    permuted_state = spec.SynthesisState(state.previous_network_log_loss,
                                         state.regrets[rows][:, worker_perm])
    base = spec.synthesise(state, submissions, params)
    moved = spec.synthesise(permuted_state, spec.Submissions(
        submissions.inferences[perm], submissions.forecasted_log_losses[:, perm]), params)
    np.testing.assert_allclose(moved.combined, base.combined[rows], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(moved.one_out_forecast_implied, base.one_out_forecast_implied[perm],
                               rtol=1e-12, atol=1e-14)


@pytest.mark.eq(10, 11)
@examples(40)
@given(hnp.arrays(float, st.integers(1, 8), elements=st.floats(-1, 1)), st.floats(-5, 5))
def test_equal_regrets_give_equal_weights(values, regret):
    for params in PROFILES:
        w = spec.regret_weights(np.full(values.size, regret), all_members(values.size), params)
        assert (w == 1.0).all()
        assert spec.weighted_inference(values, w) == pytest.approx(values.mean(), abs=1e-12)

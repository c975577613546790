"""The fast paths of the epoch step against what they replace: the one-out forecast-implied
kernel (§3.1 item 2, eqs 3-8 per withheld inferer) against the plain formula in every profile
variant, with absences, magnitudes and block sizes; a step given its inferences against the step
that synthesises them."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allora_ref.params import load_profile
from allora_ref.spec import inference_synthesis as spec
from allora_ref.spec.epoch import EpochInputs, TopicState, step

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
VARIANTS = {
    "whitepaper": WHITEPAPER,
    "allora-simulator": SIMULATOR,
    "whitepaper, sample sigma, guard rails": dataclasses.replace(
        WHITEPAPER, sigma_ddof=1, regret_guard_rails=True),
    "allora-simulator, population sigma, no guard rails": dataclasses.replace(
        SIMULATOR, sigma_ddof=0, regret_guard_rails=False),
    "chain cold start": dataclasses.replace(WHITEPAPER, cold_start="chain"),
}


def assert_same(fast: np.ndarray, plain: np.ndarray, inferences: np.ndarray) -> None:
    """Same NaN pattern; values within 1e-12 of the inferences' scale."""
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(plain))
    present = inferences[~np.isnan(inferences)]
    scale = max(float(np.abs(present).max()), 1e-300) if present.size else 1.0
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-12 * scale)


@st.composite
def epochs(draw):
    """Inferences (N_i,), forecasted log-losses (N_f, N_i) with absences, a previous loss."""
    n_i, n_f = draw(st.integers(1, 9)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    inferences = draw(st.sampled_from([0.0, 1e-3, 1.0, 1e6])) + rng.normal(
        0, 10.0 ** draw(st.integers(-3, 3)), n_i)
    location = draw(st.sampled_from([0.0, -3.0, 40.0]))
    spread = 10.0 ** draw(st.integers(-5, 2))
    forecasts = location + rng.normal(0, spread, (n_f, n_i))
    if draw(st.booleans()):                                  # a few ties
        forecasts[:, : n_i // 2] = forecasts[:, :1]
    inferences[rng.random(n_i) < draw(st.sampled_from([0.0, 0.3]))] = np.nan
    forecasts[rng.random((n_f, n_i)) < draw(st.sampled_from([0.0, 0.3, 0.7]))] = np.nan
    previous = draw(st.sampled_from([np.nan, location, location + 5 * spread, -20.0]))
    return inferences, forecasts, previous, draw(st.integers(1, 40))


@given(epochs(), st.sampled_from(sorted(VARIANTS)))
@settings(max_examples=300)
def test_kernel_equals_the_plain_formula(epoch, variant):
    inferences, forecasts, previous, block = epoch
    params = VARIANTS[variant]
    plain = spec.one_out_forecast_implied_plain(inferences, forecasts, previous, params)
    fast = spec.one_out_forecast_implied_inferences(inferences, forecasts, previous, params,
                                                    block_elements=block)
    assert fast.shape == (inferences.size, forecasts.shape[0])
    assert_same(fast, plain, inferences)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_an_outlier_carrying_the_spread_is_recomputed(variant):
    # inferer 0's regret is 1e6 times the others' spread: downdating the sum of squares for it
    # cancels every bit, the kernel's two-pass fallback must give the plain value
    rng = np.random.default_rng(3)
    inferences = rng.normal(0, 1, 8)
    forecasts = -1.0 + rng.normal(0, 1e-4, (3, 8))
    forecasts[:, 0] = -101.0
    params = VARIANTS[variant]
    plain = spec.one_out_forecast_implied_plain(inferences, forecasts, -1.0, params)
    assert_same(spec.one_out_forecast_implied_inferences(inferences, forecasts, -1.0, params),
                plain, inferences)
    spreads = spec.one_out_spreads(-1.0 - forecasts, np.ones((3, 8), bool), params.sigma_ddof)
    np.testing.assert_allclose(spreads[0], [spec.masked_std(
        (-1.0 - forecasts)[k, 1:], np.ones(7, bool), params.sigma_ddof) for k in range(3)],
        rtol=1e-12)


def test_regrets_far_below_the_previous_loss_take_the_general_form():
    # whitepaper: every normalised regret near -500, where exp(-p x) leaves float64 (the failure
    # case of the guard-rails section), in every row
    inferences = np.array([1.0, 2.0, 4.0, 8.0])
    forecasts = np.array([[5.0, 5.001, 5.003, 5.002], [5.01, 5.0, 5.004, 5.0]])
    weights = spec.OneOutWeights.of(-forecasts, np.ones((2, 4), bool), WHITEPAPER)
    assert weights.general.all()
    plain = spec.one_out_forecast_implied_plain(inferences, forecasts, 0.0, WHITEPAPER)
    assert np.isfinite(plain).all()
    assert_same(spec.one_out_forecast_implied_inferences(inferences, forecasts, 0.0, WHITEPAPER),
                plain, inferences)


def test_memory_is_one_block_not_the_cube():
    rng = np.random.default_rng(0)
    n_i, n_f = 240, 60            # N_i^2 N_f float64 = 26 MiB
    inferences, forecasts = rng.normal(0, 1, n_i), -1 + rng.normal(0, 0.5, (n_f, n_i))
    tracemalloc.start()
    try:
        spec.one_out_forecast_implied_inferences(inferences, forecasts, -1.0, SIMULATOR,
                                                 block_elements=1 << 14)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_a_step_given_the_inferences_equals_the_step_that_synthesises_them():
    rng = np.random.default_rng(5)
    for params in (WHITEPAPER, SIMULATOR):
        state = TopicState.initial(4, 3, [1.0, 2.0, 3.0], params)
        for _ in range(3):
            submissions = spec.Submissions(rng.normal(0, 1, 4), rng.normal(-1, 0.3, (3, 4)))
            inferred = spec.synthesise(state.synthesis, submissions, params)
            reports = rng.normal(-1, 0.2, (3, spec.loss_vector_size(4, 3)))
            inputs = EpochInputs(submissions, reports, 10.0)
            given_epoch, given_state = step(state, inputs, params, inferred)
            epoch, state = step(state, inputs, params)
            assert given_epoch.inferences is inferred
            for name in ("inferer_rewards", "forecaster_rewards", "reputer_rewards", "listening"):
                np.testing.assert_array_equal(getattr(given_epoch, name), getattr(epoch, name))
            np.testing.assert_array_equal(given_state.synthesis.regrets, state.synthesis.regrets)

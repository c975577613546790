"""The vectorised spec of one synthesis epoch agrees with the loop oracle (eqs 3-18).

``synthesise`` + ``settle`` + the network ``confidence_interval`` against
``tests/loop_reference.loop_epoch`` on generated epochs: random sizes, both profiles, absent
inferences / forecasts / reports, workers with no regret, the cold start and regrets far below
the network loss (guard rails firing).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allora_ref.params import load_profile
from allora_ref.spec.inference_synthesis import loss_vector_size
from loop_reference import loop_epoch
from shared import examples, spec_epoch

RTOL, ATOL = 1e-10, 1e-12
PROFILES = ("whitepaper", "allora-simulator")


@dataclasses.dataclass(frozen=True)
class Scenario:
    """The structural choices of one generated epoch; the numbers come from ``seed``."""

    n_i: int
    n_f: int
    n_r: int
    profile: str
    seed: int
    cold: bool                 # no previous network loss
    absent_inferences: float   # probability that an inference is NaN
    partial_forecasts: float   # probability that a forecast entry is NaN
    absent_reports: float      # probability that a reported log-loss is NaN
    new_workers: float         # probability that a worker's regret column is all NaN
    missing_regrets: float     # probability that a single regret is NaN
    fresh_topic: bool          # every regret NaN
    forecast_mode: str         # "normal", "far" (regrets far below), "tight" (tiny spread),
    #                            "outlier" (far below, with outliers)
    regret_mode: str           # "normal", "far", "tight", "outlier"


def spread_out(rng: np.random.Generator, rows: int, columns: int) -> np.ndarray:
    """A tight cluster with one high and one low outlier per row.

    With the rest at the mean, (max - min) / sigma reaches sqrt(2 (n - 1)) (ddof 1), more than
    the 3 between the guard rails' shift floor and cut-off once n >= 6: the cut-off fires.
    """
    values = rng.normal(0.0, 1e-3, (rows, columns))
    if columns >= 2:
        for row in range(rows):
            high, low = rng.choice(columns, 2, replace=False)
            size = rng.uniform(0.3, 1.0)
            values[row, high] += size
            values[row, low] -= size
    return values


def generate(s: Scenario) -> dict:
    """The inputs of one epoch for ``s``, drawn from numpy.random.default_rng(s.seed)."""
    rng = np.random.default_rng(s.seed)
    n_l = s.n_i + s.n_f
    rows = 2 + n_l + s.n_f
    inferences = rng.normal(0.0, 1.0, s.n_i)
    inferences[rng.random(s.n_i) < s.absent_inferences] = np.nan
    inferences[rng.integers(s.n_i)] = rng.normal()       # an epoch needs at least one inference
    previous = np.nan if s.cold else float(rng.normal(-1.0, 1.0))
    base = -1.0 if s.cold else previous
    if s.forecast_mode == "far":          # forecasted losses far above the last network loss
        forecasts = base + rng.uniform(2.0, 20.0, (s.n_f, 1)) + rng.normal(0, 0.02, (s.n_f, s.n_i))
    elif s.forecast_mode == "tight":      # spread << epsilon: |normalised regrets| large
        forecasts = base + rng.normal(0, 0.2, (s.n_f, 1)) + rng.normal(0, 1e-3, (s.n_f, s.n_i))
    elif s.forecast_mode == "outlier":    # far below, one high and one low outlier: cut-off
        forecasts = base + rng.uniform(2.0, 6.0, (s.n_f, 1)) + spread_out(rng, s.n_f, s.n_i)
    else:
        forecasts = base + rng.normal(0.0, 0.5, (s.n_f, s.n_i))
    forecasts[rng.random((s.n_f, s.n_i)) < s.partial_forecasts] = np.nan

    if s.regret_mode == "far":
        regrets = -rng.uniform(1.0, 30.0) + rng.normal(0, 0.05, (rows, n_l))
    elif s.regret_mode == "tight":
        regrets = rng.normal(0, 0.2, (rows, 1)) + rng.normal(0, 1e-3, (rows, n_l))
    elif s.regret_mode == "outlier":
        regrets = -rng.uniform(1.0, 5.0, (rows, 1)) - spread_out(rng, rows, n_l)
    else:
        regrets = rng.normal(0.0, 0.3, (rows, n_l))
    regrets[:, rng.random(n_l) < s.new_workers] = np.nan
    regrets[rng.random((rows, n_l)) < s.missing_regrets] = np.nan
    if s.fresh_topic:
        regrets[:] = np.nan

    stakes = rng.uniform(0.0, 10.0, s.n_r)
    stakes[rng.random(s.n_r) < 0.2] = 0.0
    if stakes.sum() == 0:
        stakes[0] = 1.0
    size = loss_vector_size(s.n_i, s.n_f)
    reported = rng.normal(-1.0, 1.0, (s.n_r, size))
    reported[rng.random((s.n_r, size)) < s.absent_reports] = np.nan
    return dict(state_regrets=regrets, previous_network_log_loss=previous,
                inferences=inferences, forecasted_log_losses=forecasts, stakes=stakes,
                reported_log_losses=reported)


def relative_weights(weights: np.ndarray) -> np.ndarray:
    """Each row's weights divided by their sum (the spec and the oracle scale rows differently)."""
    total = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def assert_agree(spec: dict, loop: dict) -> None:
    for key in ("forecasted_regrets", "forecast_implied", "one_out_forecast_implied", "values",
                "combined", "confidence", "losses", "regrets", "previous_network_log_loss"):
        np.testing.assert_allclose(spec[key], loop[key], rtol=RTOL, atol=ATOL, equal_nan=True,
                                   err_msg=key)
    np.testing.assert_array_equal(spec["members"], loop["members"], err_msg="members")
    # the guard rails' cut-off gives exactly 0; tolerate only sub-1e-300 underflow differences
    cut_spec = (spec["weights"] == 0) & (loop["weights"] > 1e-300)
    cut_loop = (loop["weights"] == 0) & (spec["weights"] > 1e-300)
    assert not (cut_spec | cut_loop).any(), "zero weights (guard-rail cut-off) differ"
    np.testing.assert_allclose(relative_weights(spec["weights"]), relative_weights(loop["weights"]),
                               rtol=RTOL, atol=ATOL, err_msg="relative weights")


probability = st.sampled_from([0.0, 0.0, 0.25, 0.6])
scenarios = st.builds(
    Scenario,
    n_i=st.integers(1, 6), n_f=st.integers(0, 4), n_r=st.integers(1, 4),
    profile=st.sampled_from(PROFILES), seed=st.integers(0, 2**32 - 1),
    cold=st.booleans(), absent_inferences=probability, partial_forecasts=probability,
    absent_reports=probability, new_workers=probability, missing_regrets=probability,
    fresh_topic=st.sampled_from([False, False, False, True]),
    forecast_mode=st.sampled_from(["normal", "far", "tight", "outlier"]),
    regret_mode=st.sampled_from(["normal", "far", "tight", "outlier"]),
)


@pytest.mark.eq(3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18)
@settings(examples(2000), suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_spec_agrees_with_loop_reference(scenario: Scenario):
    params = load_profile(scenario.profile)
    inputs = generate(scenario)
    assert_agree(spec_epoch(inputs, params), loop_epoch(params=params, **inputs))


@pytest.mark.parametrize("profile", PROFILES)
def test_two_epochs_in_a_row(profile):
    """The state left by one epoch drives the next in both implementations alike."""
    params = load_profile(profile)
    s = Scenario(5, 3, 4, profile, 7, True, 0.2, 0.3, 0.2, 0.0, 0.0, True, "normal", "normal")
    first = generate(s)
    spec, loop = spec_epoch(first, params), loop_epoch(params=params, **first)
    assert_agree(spec, loop)
    second = generate(dataclasses.replace(s, seed=8, cold=False, fresh_topic=False))
    second |= {"state_regrets": spec["regrets"],
               "previous_network_log_loss": spec["previous_network_log_loss"]}
    assert_agree(spec_epoch(second, params), loop_epoch(params=params, **second))


def test_guard_rails_fire():
    """The generated scenarios reach the cap, the shift and the cut-off of the guard rails."""
    params = load_profile("allora-simulator")
    p, c = params.p, params.c
    s = Scenario(6, 4, 2, "allora-simulator", 3, False, 0.0, 0.0, 0.0, 0.0, 0.0, False,
                 "tight", "outlier")
    cut = capped = 0
    for seed in range(40):
        mode = "tight" if seed % 2 else "outlier"
        inputs = generate(dataclasses.replace(s, seed=seed, forecast_mode=mode))
        loop = loop_epoch(params=params, **inputs)
        cut += int((loop["members"] & (loop["weights"] == 0)).sum())
        # the tight forecasts put |normalised regret| beyond the cap c + 6.75 / p
        regrets = inputs["previous_network_log_loss"] - inputs["forecasted_log_losses"]
        sigma = regrets.std(axis=1, ddof=params.sigma_ddof, keepdims=True)
        capped += int((regrets / (sigma + params.epsilon) > c + params.regret_cap / p).sum())
        assert_agree(spec_epoch(inputs, params), loop)
    assert cut > 0 and capped > 0

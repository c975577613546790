"""Tests of §3.2 (eqs 16-18): weighted quantiles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import examples

from allora_ref.params import load_profile
from allora_ref.spec import confidence_intervals as ci

WHITEPAPER = load_profile("whitepaper")


@pytest.mark.eq(16)
def test_eq16_cumulative_weights():
    np.testing.assert_array_equal(ci.cumulative_weights(np.array([1.0, 2.0, 3.0])), [1, 3, 6])


@pytest.mark.eq(17)
def test_eq17_cdf_places_each_value_mid_weight():
    np.testing.assert_allclose(ci.weighted_cdf(np.array([1.0, 2.0, 1.0])), [0.125, 0.5, 0.875])
    np.testing.assert_allclose(ci.weighted_cdf(np.ones(4)), (np.arange(1, 5) - 0.5) / 4)


@pytest.mark.eq(18)
def test_eq18_interpolation_and_ends():
    values, weights = np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0])
    # sorted: 1 (w 1), 2 (w 2), 3 (w 1); C = 0.125, 0.5, 0.875
    q = [0.0, 0.125, 0.3125, 0.5, 0.875, 1.0]
    np.testing.assert_allclose(ci.weighted_quantiles(values, weights, q, "clamp"),
                               [1.0, 1.0, 1.5, 2.0, 3.0, 3.0])
    np.testing.assert_allclose(ci.weighted_quantiles(values, weights, [0.0, 1.0], "extrapolate"),
                               [1.0 - 0.125 / 0.375, 3.0 + 0.125 / 0.375])


@pytest.mark.eq(16, 17, 18)
def test_single_inference_and_zero_weights():
    assert ci.weighted_quantiles([5.0], [2.0], [0.1, 0.9], "clamp").tolist() == [5.0, 5.0]
    # a zero weight repeats a CDF value: eq 18 with the largest index never divides by zero
    result = ci.weighted_quantiles([1.0, 2.0, 3.0], [1.0, 0.0, 1.0], [0.25, 0.5, 0.75], "clamp")
    assert np.isfinite(result).all() and result[1] == 2.0


@pytest.mark.eq(16, 17, 18)
def test_bad_input_names_the_equations():
    with pytest.raises(ValueError, match="eqs 16-18"):
        ci.weighted_quantiles([], [], [0.5], "clamp")
    with pytest.raises(ValueError, match="eqs 16-18"):
        ci.weighted_quantiles([1.0, 2.0], [0.0, 0.0], [0.5], "clamp")


@pytest.mark.eq(16, 17, 18)
@examples(100)
@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=12, unique=True),
       st.lists(st.floats(0.01, 10), min_size=12, max_size=12), st.floats(-1e3, 1e3))
def test_quantiles_are_ordered_bounded_and_shift_equivariant(integers, all_weights, shift):
    values = np.array(integers) / 8.0                      # distinct before and after shifting
    weights = np.array(all_weights[:values.size])
    interval = ci.confidence_interval(values, weights, WHITEPAPER)
    assert np.all(np.diff(interval) >= -1e-9 * (1 + np.abs(values).max()))
    assert interval.min() >= values.min() and interval.max() <= values.max()
    moved = ci.confidence_interval(values + shift, weights, WHITEPAPER)
    np.testing.assert_allclose(moved, interval + shift, atol=1e-9 * (1 + np.abs(values).max()))


def test_extrapolated_ends_leave_the_inner_percentiles_alone():
    values = np.linspace(-2, 2, 5)
    extrapolate = dataclasses.replace(WHITEPAPER, ci_ends="extrapolate")
    clamp = ci.confidence_interval(values, np.ones(5), WHITEPAPER)
    ext = ci.confidence_interval(values, np.ones(5), extrapolate)
    np.testing.assert_array_equal(clamp[1:3], ext[1:3])
    assert ext[0] < clamp[0] == -2.0 and ext[-1] > clamp[-1] == 2.0


def test_tie_order_example_of_the_implementer_docs():
    """IMPLEMENTING.md's example: tied inferences keep their workers' order (a stable sort), and
    eq 17 depends on it - the 30th percentile of (0, 1, 1) is 1.0 with weights (1, 1, 3) and 0.5
    with weights (1, 3, 1)."""
    values = [0.0, 1.0, 1.0]
    np.testing.assert_allclose(ci.weighted_cdf(np.array([1.0, 1.0, 3.0])), [0.1, 0.3, 0.7])
    np.testing.assert_allclose(ci.weighted_cdf(np.array([1.0, 3.0, 1.0])), [0.1, 0.5, 0.9])
    assert ci.weighted_quantiles(values, [1, 1, 3], [0.3], "clamp")[0] == 1.0
    assert ci.weighted_quantiles(values, [1, 3, 1], [0.3], "clamp")[0] == pytest.approx(0.5, rel=1e-15)

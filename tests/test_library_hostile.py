"""The spec functions under hostile input: extreme finite magnitudes give a correct finite result
or a ValueError naming the quantity and the equation - never a silent NaN or infinity, never a
RuntimeWarning - and malformed state or arguments are rejected the same way."""

from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allora_ref.checks import float64_guarded
from allora_ref.params import PROFILES, load_profile
from allora_ref.spec import inference_synthesis as synthesis
from allora_ref.spec.epoch import EpochInputs, TopicState, step
from allora_ref.spec.inference_synthesis import potential
from allora_ref.spec.topic_rewards import validator_emission

NAMES_AN_EQUATION = re.compile(r"\(eqs? \d+")


@pytest.fixture(autouse=True)
def no_warnings():
    """Every test here fails on any warning (a leaked RuntimeWarning included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def an_epoch(profile: str, n_i=3, n_f=2, stakes=(1.0, 2.0, 3.0), seed=0, **changes):
    """A fresh topic's state and one epoch of ordinary inputs, with ``changes`` applied
    (``listening``, ``report`` = (row, column, value), ``inference`` = (j, value))."""
    # stakes of a few units: the chain's minimum reputer stake (10000) would leave them all out
    params = dataclasses.replace(load_profile(profile), required_minimum_stake=0.0)
    rng = np.random.default_rng(seed)
    inferences = rng.normal(size=n_i)
    width = int(synthesis.reported_entries(n_i, n_f, params).sum())   # the profile's layout
    reports = rng.normal(-2, 0.1, size=(len(stakes), width))
    if "inference" in changes:
        inferences[changes["inference"][0]] = changes["inference"][1]
    if "report" in changes:
        row, column, value = changes["report"]
        reports[row, column] = value
    state = TopicState.initial(n_i, n_f, stakes, params)
    if "listening" in changes:
        state = dataclasses.replace(state, listening=np.asarray(changes["listening"], float))
    subs = synthesis.Submissions(inferences, rng.normal(-2, 0.3, size=(n_f, n_i)))
    return state, EpochInputs(subs, reports, 100.0), params


# --- the examples -----------------------------------------------------------------------

def test_potential_beyond_float64_names_eq_6():
    assert potential(1e300, 3.0, 0.75) == pytest.approx(3e300, rel=1e-15)   # p x, to the ulp
    with pytest.raises(ValueError, match=r"potential \(eq 6\) cannot be computed in float64 "
                                         r"for these inputs \(overflow\)"):
        potential(1e308, 3.0, 0.75)
    with pytest.raises(ValueError, match=r"the argument x of phi_\{p,c\} \(eq 6\) must not "
                                         "contain NaN"):
        potential(np.nan, 3.0, 0.75)


def test_validator_emission_at_the_top_of_float64():
    """Eq 54 is a share of f_v E_i: equal stakes split it equally whatever their size."""
    np.testing.assert_array_equal(validator_emission(100.0, [1e308, 1e308], 0.25), [12.5, 12.5])
    np.testing.assert_array_equal(validator_emission(100.0, [1e308, 5e307, 5e307], 0.25),
                                  [12.5, 6.25, 6.25])


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("changes, message", [
    ({"listening": [1.0, 1.0]}, r"listening coefficients a_im \(eq 34\) must have shape \(3,\)"),
    ({"listening": [1.0, 2.0, 1.0]}, r"listening coefficients a_im \(eq 34\) must lie in \[0, 1\]"),
    ({"listening": [1.0, -0.5, 1.0]}, r"listening coefficients a_im \(eq 34\) must lie in"),
    ({"listening": [1.0, np.nan, 1.0]}, r"listening coefficients a_im \(eq 34\) must not "
                                        "contain NaN"),
])
def test_malformed_reputer_state_is_named(profile, changes, message):
    with pytest.raises(ValueError, match=message):
        step(*an_epoch(profile, **changes))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("changes", [{"report": (0, 3, 1e154)}, {"stakes": (1e-163,) * 3},
                                     {"inference": (0, 1e308)}, {"report": (1, 0, -1e300)}])
def test_extreme_epochs_are_finite_or_name_an_equation(profile, changes):
    try:
        epoch, after = step(*an_epoch(profile, **changes))
    except ValueError as error:
        assert NAMES_AN_EQUATION.search(str(error)), error
    else:
        assert_finite(epoch, after)


def test_a_guarded_function_must_cite_its_equations():
    with pytest.raises(TypeError, match="cites its equations"):
        float64_guarded(lambda x: x)


# --- the property -------------------------------------------------------------------------------

def leaves(values):
    """The arrays and numbers inside nested tuples (a state's parts have different shapes)."""
    for value in values:
        if isinstance(value, (tuple, list)):
            yield from leaves(value)
        else:
            yield value


def assert_finite(epoch, after) -> None:
    """No infinity anywhere; the scores, reputer outcomes and rewards of a complete epoch
    (everyone submitted and reported) are finite numbers (losses may be absent: a profile's
    reports can leave entries out, eq 13)."""
    for value in leaves([*dataclasses.astuple(epoch), *dataclasses.astuple(after)]):
        array = np.asarray(value, dtype=object)
        numbers = np.array([x for x in np.ravel(array) if isinstance(x, (float, np.floating))])
        assert not np.isinf(numbers).any()
    for name in ("inferer_scores", "listening", "adjusted_stakes", "reputer_scores",
                 "reputer_fractions", "reputer_rewards", "class_rewards"):
        assert np.isfinite(getattr(epoch, name)).all(), name
    assert np.isfinite(epoch.inferences.combined[0])


FINITE = st.floats(allow_nan=False, allow_infinity=False)
#: A common scale of a group of inputs, across the float range.
SCALE = st.sampled_from([1.0, 1e-300, 1e-160, 1e-20, 1e20, 1e154, 1e300])


def values(draw, count: int, low: float, high: float, non_negative: bool = False) -> np.ndarray:
    """``count`` ordinary values times a common scale, a few replaced by any finite float."""
    array = np.array(draw(st.lists(st.floats(low, high), min_size=count, max_size=count)))
    array = array * draw(SCALE)
    for index, value in draw(st.lists(st.tuples(st.integers(0, max(count - 1, 0)), FINITE),
                                      max_size=2 if count else 0)):
        array[index] = abs(value) if non_negative else value
    return array


@st.composite
def hostile_epochs(draw, params):
    n_i, n_f, n_r = draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, 3))
    size = int(synthesis.reported_entries(n_i, n_f, params).sum())     # the profile's layout
    return (n_i, n_f, values(draw, n_i, -3.0, 3.0),
            values(draw, n_f * n_i, -3.0, 0.0).reshape(n_f, n_i),
            values(draw, n_r * size, -3.0, 0.0).reshape(n_r, size),
            values(draw, n_r, 0.1, 10.0, non_negative=True),
            np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n_r, max_size=n_r))),
            float(values(draw, 1, 0.0, 100.0, non_negative=True)[0]))


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_step_is_finite_or_names_an_equation(profile, data):
    """Over the whole finite float range, for every preset: `step` gives a finite result or a
    ValueError naming an equation."""
    params = dataclasses.replace(load_profile(profile), required_minimum_stake=0.0)  # as above
    n_i, n_f, inferences, forecasts, reports, stakes, listening, reward = data.draw(
        hostile_epochs(params))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            state = dataclasses.replace(TopicState.initial(n_i, n_f, stakes, params),
                                        listening=listening)
            epoch, after = step(state, EpochInputs(synthesis.Submissions(inferences, forecasts),
                                                   reports, reward), params)
        except ValueError as error:
            assert NAMES_AN_EQUATION.search(str(error)), error
            return
    assert_finite(epoch, after)

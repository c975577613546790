"""Unit and property tests of §4.2 (eqs 37-46), one group per equation.

Expected values are computed here from the paper's formulas (by hand or with sympy), never
taken from the code under test.
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from shared import CATALOG, catalog_form, examples

from allora_ref.params import load_profile
from allora_ref.spec import task_rewards as spec

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
PROFILES = [WHITEPAPER, SIMULATOR]
IDS = ["whitepaper", "simulator"]
FAST = examples(50)
LONE = 0.173286795139986            # DEVIATIONS §3: EntropyForSingleParticipant


# --- eq 39: smoothed fractions -----------------------------------------------------------------

@pytest.mark.eq(39)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq39_ema_by_hand(params):
    got = spec.smoothed_fractions(np.array([0.4, 0.6]), np.array([0.2, 0.8]), params)
    np.testing.assert_allclose(got, [0.1 * 0.4 + 0.9 * 0.2, 0.1 * 0.6 + 0.9 * 0.8], rtol=1e-15)
    np.testing.assert_allclose(got, catalog_form(39)(alpha=0.1, u=np.array([0.4, 0.6]),
                                                     u_prev=np.array([0.2, 0.8])), rtol=1e-15)


@pytest.mark.eq(39)
@pytest.mark.parametrize("params, first", [(WHITEPAPER, 0.1 * 0.4), (SIMULATOR, 0.4)], ids=IDS)
def test_eq39_first_appearance_both_starts(params, first):
    """smoothing_start: from "zero" (it earned nothing before: alpha u) or the "current"
    fraction (deployed: u~ = u)."""
    got = spec.smoothed_fractions(np.array([0.4, 0.6]), np.array([np.nan, 0.8]), params)
    assert got[0] == pytest.approx(first, rel=1e-15)
    assert got[1] == pytest.approx(0.1 * 0.6 + 0.9 * 0.8, rel=1e-15)


@pytest.mark.eq(39)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_eq39_absent_participant_is_carried_over(params):
    got = spec.smoothed_fractions(np.array([np.nan, 1.0]), np.array([0.3, 0.7]), params)
    assert got[0] == 0.3
    assert got[1] == pytest.approx(0.1 + 0.9 * 0.7, rel=1e-15)


# --- eq 38: modified fractions -----------------------------------------------------------------

@pytest.mark.eq(38)
def test_eq38_normalised_over_the_present():
    got = spec.modified_fractions(np.array([0.2, 0.3, 0.7]), np.array([True, True, False]))
    np.testing.assert_allclose(got[:2], [0.4, 0.6], rtol=1e-15)
    assert np.isnan(got[2])
    assert catalog_form(38)(u=0.2, sum_u=0.5) == pytest.approx(0.4, rel=1e-15)
    assert np.isnan(spec.modified_fractions(np.array([0.2]), np.array([False]))).all()
    with pytest.raises(ValueError, match=r"eq 38"):
        spec.modified_fractions(np.array([0.0, 0.0]), np.array([True, True]))


# --- eq 40: effective number -------------------------------------------------------------------

@pytest.mark.eq(40)
def test_eq40_effective_number_by_hand():
    assert spec.effective_number(np.full(4, 0.25)) == 4.0                 # uniform: N
    assert spec.effective_number(np.array([1.0])) == 1.0
    f = np.array([0.5, 0.25, 0.25, np.nan])                                 # absent ignored
    assert spec.effective_number(f) == pytest.approx(1 / 0.375, rel=1e-15)
    assert spec.effective_number(f) == pytest.approx(catalog_form(40)(sum_f2=0.375), rel=1e-15)
    assert spec.effective_number(np.array([0.98, 0.01, 0.01])) < 1.05      # N_eff << N
    assert spec.effective_number(np.array([np.nan])) == 0.0


# --- eq 37: modified entropy -------------------------------------------------------------------

@pytest.mark.eq(37, 40)
def test_eq37_modified_entropy_by_hand():
    f = np.array([0.5, 0.25, 0.25])
    shannon = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    expected = shannon * ((1 / 0.375) / 3) ** 0.25
    got = spec.modified_entropy(f, spec.effective_number(f), WHITEPAPER)
    assert got == pytest.approx(expected, rel=1e-14)
    assert got == pytest.approx(catalog_form(37)(sum_flnf=-shannon, N_eff=1 / 0.375, N=3,
                                                 beta=0.25), rel=1e-14)
    # uniform: the number ratio is 1 and the entropy is ln N
    assert spec.modified_entropy(np.full(5, 0.2), 5.0, WHITEPAPER) == \
        pytest.approx(math.log(5), rel=1e-15)


@pytest.mark.eq(37)
def test_eq37_zero_ln_zero_and_absent():
    """0 ln 0 = 0 (a zero fraction adds nothing but still counts in N); NaN = not present."""
    got = spec.modified_entropy(np.array([0.5, 0.5, 0.0]), 2.0, WHITEPAPER)
    assert got == pytest.approx(math.log(2) * (2 / 3) ** 0.25, rel=1e-15)
    assert spec.modified_entropy(np.array([0.5, np.nan, 0.5]), 2.0, WHITEPAPER) == \
        pytest.approx(math.log(2), rel=1e-15)
    assert spec.modified_entropy(np.array([np.nan, np.nan]), 0.0, WHITEPAPER) == 0.0


@pytest.mark.eq(37)
@pytest.mark.parametrize("params, expected", [(WHITEPAPER, 0.0), (SIMULATOR, LONE)], ids=IDS)
def test_eq37_lone_participant(params, expected):
    """-1 ln 1 = 0 in the paper; the deployed constant keeps a lone participant's class paid."""
    assert spec.modified_entropy(np.array([1.0]), 1.0, params) == expected
    assert spec.modified_entropy(np.array([np.nan, 1.0]), 1.0, params) == expected


@pytest.mark.eq(37, 40)
@pytest.mark.parametrize("params, n_eff", [(WHITEPAPER, 2.0), (SIMULATOR, 1 / 0.08)], ids=IDS)
def test_eq37_eq40_effective_number_source(params, n_eff):
    """effective_number_from: the normalised f (paper) or the smoothed u~ before normalisation
    (deployed); they differ when u~ does not sum to 1."""
    f, smoothed = np.array([0.5, 0.5]), np.array([0.2, 0.2])
    assert spec.class_entropy(f, smoothed, params) == \
        pytest.approx(math.log(2) * (n_eff / 2) ** 0.25, rel=1e-14)


@pytest.mark.eq(37, 40)
@FAST
@given(hnp.arrays(float, st.integers(2, 10), elements=st.floats(0, 1)))
def test_eq37_entropy_between_0_and_ln_n(weights):
    assume(weights.sum() > 0)
    f = weights / weights.sum()
    entropy = spec.modified_entropy(f, spec.effective_number(f), WHITEPAPER)
    assert -1e-15 <= entropy <= math.log(f.size) + 1e-12
    assert 1 - 1e-12 <= spec.effective_number(f) <= f.size * (1 + 1e-12)


# --- eq 42: the forecasting task's score --------------------------------------------------------

@pytest.mark.eq(42)
def test_eq42_forecasting_task_score():
    assert spec.forecasting_task_score(-1.8, -2.0) == pytest.approx(0.2, abs=1e-15)
    b, naive, network = 10.0, 0.05, 0.01
    assert spec.forecasting_task_score(math.log(naive, b), math.log(network, b)) == \
        pytest.approx(catalog_form(42)(L_naive=naive, L=network, b=b), rel=1e-14)


# --- eq 43: tau ----------------------------------------------------------------------------------

@pytest.mark.eq(43)
@pytest.mark.parametrize("task, scores, paper, chain", [
    # max_j T_ij > 0: both rules are eq 43
    (0.3, [0.1, 0.2, np.nan], 0.1 * 0.3 / 0.2 + 0.45, 0.1 * 0.3 / 0.2 + 0.45),
    # max_j T_ij < 0: the paper divides by |max|; the chain uses max(0, .) = 0, so |T_i|
    (0.1, [-0.2, -0.4], 0.1 * (0.1 + 0.2) / 0.2 + 0.45, 0.1 * 0.1 / 0.1 + 0.45),
    (-0.3, [-0.2, -0.4], 0.1 * (-0.3 + 0.2) / 0.2 + 0.45, 0.1 * -0.3 / 0.3 + 0.45),
    # max_j T_ij = 0 exactly: undefined in the paper (tau kept); the chain divides by |T_i|
    (0.2, [0.0, -0.1], 0.5, 0.1 * 0.2 / 0.2 + 0.45),
])
def test_eq43_both_rules(task, scores, paper, chain):
    previous = 0.5
    for params, expected in ((WHITEPAPER, paper), (SIMULATOR, chain)):
        tau, pinned = spec.forecasting_score_ratio(task, np.array(scores), previous, params)
        assert tau == pytest.approx(expected, rel=1e-14) and not pinned


@pytest.mark.eq(43, 44)
def test_eq43_both_scores_zero():
    """max_j T_ij = 0 and T_i = 0: the paper keeps tau; the chain pins chi = 0.5, resets tau."""
    assert spec.forecasting_score_ratio(0.0, np.array([0.0, -0.3]), 0.7, WHITEPAPER) == \
        (0.7, False)
    assert spec.forecasting_score_ratio(0.0, np.array([0.0, -0.3]), 0.7, SIMULATOR) == \
        (0.0, True)


@pytest.mark.eq(43)
def test_sympy_eq43_agrees_with_the_paper_rule():
    form = catalog_form(43)
    for task, best in ((0.3, 0.2), (0.1, -0.2), (-0.3, -0.2), (0.05, 1.5)):
        tau, _ = spec.forecasting_score_ratio(task, np.array([best, best - 1]), 0.4, WHITEPAPER)
        assert tau == pytest.approx(form(alpha=0.1, T=task, T_max=best, tau_prev=0.4),
                                    rel=1e-14)


# --- eq 44: chi ----------------------------------------------------------------------------------

@pytest.mark.eq(44)
@pytest.mark.parametrize("tau, chi", [(-5.0, 0.1), (-1e-12, 0.1), (0.0, 0.1), (0.25, 0.2),
                                      (0.5, 0.3), (0.999, 0.4996), (1.0, 0.5), (3.0, 0.5)])
def test_eq44_chi_by_hand(tau, chi):
    for params in PROFILES:
        assert spec.forecasting_utility(tau, params) == pytest.approx(chi, rel=1e-14)
    assert float(catalog_form(44)(tau=tau)) == pytest.approx(chi, rel=1e-14)


@pytest.mark.eq(44)
def test_sympy_eq44_piecewise_is_continuous():
    tau = sympy.Symbol("tau", real=True)
    entry = next(e for e in tomllib.loads(CATALOG.read_text(encoding="utf-8"))["equation"]
                 if e["number"] == 44)
    chi = sympy.sympify(entry["sympy"], locals={"tau": tau})
    for joint in (0, 1):
        assert sympy.limit(chi, tau, joint, "-") == sympy.limit(chi, tau, joint, "+")


@pytest.mark.eq(44)
@FAST
@given(st.floats(-10, 10), st.floats(-1, 1))
def test_eq44_chi_is_continuous_and_bounded(tau, h):
    chi = spec.forecasting_utility(tau, WHITEPAPER)
    assert 0.1 <= chi <= 0.5
    assert abs(spec.forecasting_utility(tau + h, WHITEPAPER) - chi) <= 0.4 * abs(h) + 1e-15
    if tau < 1:
        assert chi < 0.5


# --- eq 45: gamma --------------------------------------------------------------------------------

@pytest.mark.eq(45)
def test_eq45_gamma_by_hand():
    assert spec.normalisation_factor(1.0, 2.0, 0.3) == pytest.approx(3 / 1.3, rel=1e-15)
    assert spec.normalisation_factor(1.0, 2.0, 0.3) == \
        pytest.approx(catalog_form(45)(F=1.0, G=2.0, chi=0.3), rel=1e-15)
    assert spec.normalisation_factor(2.0, 0.0, 0.4) == pytest.approx(1 / 0.6, rel=1e-15)
    assert spec.normalisation_factor(0.0, 0.0, 0.3) == 1.0          # no workers' entropy


@pytest.mark.eq(41, 45)
def test_eq45_symbolic_identity():
    """Substituting eq 45 into eq 41: U + V = E (F + G) / (F + G + H) for every chi."""
    F, G, H, E, chi = sympy.symbols("F G H E chi", positive=True)
    gamma = (F + G) / ((1 - chi) * F + chi * G)
    U = (1 - chi) * gamma * F * E / (F + G + H)
    V = chi * gamma * G * E / (F + G + H)
    assert sympy.simplify(U + V - E * (F + G) / (F + G + H)) == 0
    symbolic = sympy.lambdify((F, G, H, E, chi), (U, V), "math")
    for values in [(0.7, 1.1, 0.4, 50.0, 0.1), (1.3, 0.2, 2.0, 7.5, 0.35), (0.5, 0.5, 0.5, 1.0, 0.5)]:
        code = spec.class_rewards(values[:3], values[4], values[3], (True, True, True))
        np.testing.assert_allclose(code[:2], symbolic(*values), rtol=1e-14)


# --- eq 41: class rewards ------------------------------------------------------------------------

@pytest.mark.eq(41, 45)
def test_eq41_class_rewards_by_hand():
    gamma = 3 / 1.3
    expected = [0.7 * gamma * 1 * 100 / 4, 0.3 * gamma * 2 * 100 / 4, 1 * 100 / 4]
    got = spec.class_rewards((1.0, 2.0, 1.0), 0.3, 100.0, (True, True, True))
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert got.sum() == pytest.approx(100.0, rel=1e-15)


@pytest.mark.eq(41)
def test_eq41_all_entropies_zero():
    """0/0 in eq 41 (every class has one participant, paper): E is split equally between the
    classes that have participants."""
    np.testing.assert_array_equal(spec.class_rewards((0.0, 0.0, 0.0), 0.3, 90.0,
                                                     (True, False, True)), [45.0, 0.0, 45.0])
    np.testing.assert_allclose(spec.class_rewards((0.0, 0.0, 0.0), 0.3, 90.0,
                                                  (True, True, True)), [30.0] * 3, rtol=1e-15)
    np.testing.assert_array_equal(spec.class_rewards((0.0, 0.0, 0.0), 0.3, 90.0,
                                                     (False, False, False)), [0.0] * 3)


@pytest.mark.eq(41, 45)
@FAST
@given(st.tuples(st.floats(0, 5), st.floats(0, 5), st.floats(0, 5)), st.floats(0.1, 0.5),
       st.floats(0, 1e6))
def test_eq41_workers_share_does_not_depend_on_chi(entropies, chi, reward):
    f, g, h = entropies
    assume(f + g + h > 0)
    u, v, w = spec.class_rewards(entropies, chi, reward, (True, True, True))
    assert min(u, v, w) >= 0
    assert u + v == pytest.approx(reward * (f + g) / (f + g + h), rel=1e-12, abs=1e-9)
    assert w == pytest.approx(reward * h / (f + g + h), rel=1e-12, abs=1e-9)
    assert u + v + w == pytest.approx(reward, rel=1e-12, abs=1e-9)


# --- eq 46: per-participant rewards ----------------------------------------------------------------

@pytest.mark.eq(46)
def test_eq46_participant_rewards():
    np.testing.assert_allclose(spec.participant_rewards(np.array([0.2, np.nan, 0.8]), 10.0),
                               [2.0, 0.0, 8.0], rtol=1e-15)
    assert catalog_form(46)(u=0.2, U=10.0) == pytest.approx(2.0, rel=1e-15)


@pytest.mark.eq(26, 27, 35, 46)
@FAST
@given(hnp.arrays(float, st.integers(1, 8),
                  elements=st.one_of(st.floats(0.001, 10), st.just(np.nan))),
       st.floats(0, 1e6))
def test_eq46_a_class_pays_out_its_reward(weights, reward):
    assume(not np.isnan(weights).all())
    fractions = weights / np.nansum(weights)
    paid = spec.participant_rewards(fractions, reward)
    assert (paid >= 0).all() and (paid[np.isnan(weights)] == 0).all()
    assert paid.sum() == pytest.approx(reward, rel=1e-12, abs=1e-9)


# --- eqs 37-41 with the profiles' class rules -----------------------------------------------------

@pytest.mark.eq(37, 41)
def test_lone_classes_both_profiles():
    """One inferer, one reputer, no forecaster: the paper gives every class entropy 0 (equal
    split of E between the two classes present); deployed, both get 0.1733 (half each too)."""
    for params in PROFILES:
        f = spec.modified_entropy(np.array([1.0]), 1.0, params)
        h = spec.modified_entropy(np.array([1.0]), 1.0, params)
        g = spec.modified_entropy(np.array([]), 0.0, params)
        np.testing.assert_allclose(spec.class_rewards((f, g, h), 0.3, 10.0, (True, False, True)),
                                   [5.0, 0.0, 5.0], rtol=1e-15)

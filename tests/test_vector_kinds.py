"""Every function kind of the conformance kit against values derived by hand or by sympy.

The committed vectors' expected values are the reference's own outputs, so the vector and
conformance tests check the format and the runner and detect change; here each function kind, as
an implementation under test sees it (JSON inputs in, JSON outputs out), meets expectations
written from the paper's equations. The epoch and trace kinds meet the research simulator's
golden rows (tests/test_conformance.py). A new function kind registers a case here.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import sympy

from allora_ref.params import load_profile
from allora_ref.vector_kinds import FUNCTIONS, evaluate
from allora_ref.vectors import decode_array, decode_number

NAN = None                                     # an absent value, as the vectors write it
X = sympy.Symbol("x", real=True)
PHI = sympy.log(1 + sympy.exp(3 * (X - sympy.Rational(3, 4))))     # eq 6, p = 3, c = 3/4
DPHI = sympy.diff(PHI, X)                                          # eq 7


def exact(expression, x) -> float:
    """A sympy expression of x at a rational point, to 30 digits."""
    return float(expression.subs(X, sympy.nsimplify(x)).evalf(30))


def phi(x, p=3.0, c=0.75):
    return math.log1p(math.exp(p * (x - c)))


def dphi(x, p=3.0, c=0.75):
    return p / (math.exp(-p * (x - c)) + 1)


def normalised(weights):
    return [w / sum(weights) for w in weights]


def fractions_from_scores(scores, sigma, p=3.0, c=0.75, epsilon=0.01):
    """Eqs 26-28: phi_{p,c}(T / (sigma + epsilon)), normalised."""
    return normalised([phi(t / (sigma + epsilon), p, c) for t in scores])


def interpolated(q, cdf, values):
    """Eq 18 between the two points that bracket q."""
    b = next(i for i, c in enumerate(cdf) if c > q)
    return values[b - 1] + (q - cdf[b - 1]) / (cdf[b] - cdf[b - 1]) * (values[b] - values[b - 1])


def consensus_case():
    """Eqs 29-33: a = (1, 1), S = (1, 3): S^ = min(2 (1, 3) / 4, 1) = (0.5, 1)."""
    reports = [[-2.0, -1.0], [-2.2, -1.2]]
    consensus = [(0.5 * a + b) / 1.5 for a, b in zip(*reports)]
    norm = math.hypot(*consensus)
    scores = [1 / (math.hypot(r[0] - consensus[0], r[1] - consensus[1]) / norm + 0.01)
              for r in reports]
    return ({"listening_coefficients": [1.0, 1.0], "stakes": [1.0, 3.0],
             "reported_log_losses": reports},
            {"adjusted_stakes": [0.5, 1.0], "consensus_log_losses": consensus,
             "reputer_scores": scores, "total_score": (scores[0] + 3 * scores[1]) / 4})


def regrets_case():
    """Eq 15, two inferers: R = 0.1 (log L_row - log L_l) + 0.9 x 0.1 for every row and worker;
    rows network, naive, one-out 0, one-out 1 (losses -2, -1.5, -1.9, -2.1)."""
    rows, workers = [-2.0, -1.5, -1.9, -2.1], [-1.8, -2.2]
    return ({"n_inferers": 2, "n_forecasters": 0, "regrets": [[0.1, 0.1]] * 4,
             "network_log_losses": [-2.0, -1.5, -1.8, -2.2, -1.9, -2.1]},
            {"regrets": [[0.1 * (r - w) + 0.09 for w in workers] for r in rows]})


def synthesis_case():
    """Eqs 9-11 with each row's own regrets (deployed), two inferers (1, 3), no forecasters,
    previous loss -1. Network row regrets (0, 1): sample sigma sqrt(1/2), x = (0, 1/(sqrt(1/2) +
    0.01)), inside the guard rails; naive row regrets equal: weights equal, I^- = 2; each
    one-out row holds the other inferer alone."""
    w = [dphi(0.0), dphi(1 / (math.sqrt(0.5) + 0.01))]
    return ({"inferences": [1.0, 3.0], "forecasted_log_losses": [],
             "previous_network_log_loss": -1.0,
             "regrets": [[0.0, 1.0], [0.5, 0.5], [0.2, 0.3], [0.4, 0.1]]},
            {"network_inference": (w[0] * 1 + w[1] * 3) / sum(w), "naive_inference": 2.0,
             "one_out_inferences": [3.0, 1.0], "one_in_inferences": [],
             "forecast_implied_inferences": []})


def forecast_implied_case():
    """Eqs 3-8: R = -1 - (-1, -2) = (0, 1), sigma 0.5: x = (0, 1/0.51), w = phi'(x)."""
    w = [dphi(0.0), dphi(1 / 0.51)]
    return ({"inferences": [1.0, 2.0], "forecasted_log_losses": [[-1.0, -2.0]],
             "previous_network_log_loss": -1.0},
            {"forecast_implied_inferences": [(w[0] + 2 * w[1]) / sum(w)]})


def interval_case():
    """Eqs 16-18, weights (1, 2, 1): c = (1, 3, 4), C = (0.125, 0.5, 0.875); the outer
    percentiles clamp to the range."""
    cdf, values = [0.125, 0.5, 0.875], [1.0, 2.0, 4.0]
    return ({"inferences": values, "weights": [1.0, 2.0, 1.0]},
            {"confidence_interval": [1.0, interpolated(0.1587, cdf, values),
                                     interpolated(0.8413, cdf, values), 4.0]})


SAMPLES = [0.2, 0.0, -0.1, 0.1, 0.3]        # current scores, then the history's, in order

#: kind -> (profile, inputs, expected outputs); the cases are in the whitepaper profile unless the
#: deployed reading is the point.
CASES = {
    # --- §3.1
    "potential": ("whitepaper", {"x": [0.75, 1.5, -0.25]},
                  {"potential": [exact(PHI, x) for x in (0.75, 1.5, -0.25)]}),
    "potential_gradient": ("whitepaper", {"x": [0.75, 1.5, -0.25]},
                           {"potential_gradient": [exact(DPHI, x) for x in (0.75, 1.5, -0.25)]}),
    "forecasted_log_losses": ("whitepaper", {"forecasted_losses": [[0.1, 100.0], [1.0, NAN]]},
                              {"forecasted_log_losses": [[-1.0, 2.0], [0.0, math.nan]]}),
    "normalised_regrets": ("whitepaper", {"regrets": [[1.0, 3.0, NAN]]},       # sigma 1
                           {"normalised_regrets": [[1 / 1.01, 3 / 1.01, math.nan]]}),
    "regret_weights": ("whitepaper", {"regrets": [[-1.0, 1.0]]},                # sigma 1
                       {"weights": [normalised([exact(DPHI, -1 / 1.01), exact(DPHI, 1 / 1.01)])]}),
    "forecast_implied_inferences": ("whitepaper", *forecast_implied_case()),
    "synthesise": ("allora-simulator", *synthesis_case()),
    "topic_initial_regret": (      # deployed: the 1/4 quantile + (c - 8.25/p)(sample sigma + eps)
        "allora-simulator", {"experienced_regrets": [0.0, 1.0, 2.0, 3.0], "initial_regret": 0.7},
        {"initial_regret": 0.75 + (0.75 - 8.25 / 3) * (statistics.stdev([0, 1, 2, 3]) + 0.01)}),
    "log_losses": ("whitepaper", {"inferences": [1.1, 0.9, 3.0], "truth": 1.0},
                   {"log_losses": [-2.0, -2.0, math.log10(4)]}),
    "network_log_losses": ("whitepaper",
                           {"stakes": [1.0, 3.0], "reported_log_losses": [[-2.0, -1.0],
                                                                          [-1.0, NAN]]},
                           {"network_log_losses": [-1.25, -1.0]}),
    "updated_regrets": ("whitepaper", *regrets_case()),
    # --- §3.2
    "confidence_interval": ("whitepaper", *interval_case()),
    # --- §4.1: T_ij = one-out - network; T_ik = 1/2 (0.05) + 1/2 (0.1) (f+ = 1/2^1)
    "worker_scores": ("whitepaper",
                      {"row_log_losses": [-2.0, -1.8, -1.9, -2.1, -1.95, -1.9],
                       "row_exists": [True] * 6, "n_inferers": 2, "n_forecasters": 1,
                       "active_forecasters": 1},
                      {"inferer_scores": [0.1, -0.1], "forecaster_scores": [0.075]}),
    "inferer_reward_fractions": ("whitepaper",                                 # sigma 0.1
                                 {"scores": [0.1, -0.1], "score_history": [[NAN, NAN]]},
                                 {"reward_fractions": fractions_from_scores([0.1, -0.1], 0.1)}),
    "forecaster_reward_fractions": (                 # deployed: sample sigma of the last samples
        "allora-simulator", {"scores": [0.2, 0.0, -0.1], "score_history": [[0.1, 0.3, NAN]]},
        {"reward_fractions": fractions_from_scores([0.2, 0.0, -0.1],
                                                   statistics.stdev(SAMPLES))}),
    "consensus": ("whitepaper", *consensus_case()),
    "listening_coefficients": (                 # equal reports: every score 1/epsilon_r, no ascent
        "whitepaper", {"listening_coefficients": [0.7, 0.9], "stakes": [1.0, 3.0],
                       "reported_log_losses": [[-2.0, -1.0], [-2.0, -1.0]]},
        {"listening_coefficients": [0.7, 0.9], "scoring_listening_coefficients": [0.7, 0.9]}),
    "reputer_reward_fractions": ("whitepaper", {"stakes": [1.0, 3.0], "reputer_scores": [2.0, 1.0]},
                                 {"reward_fractions": [0.4, 0.6]}),            # S T = (2, 3)
    "reputer_reward_split": (      # chain: delegators take W D / S, truncated to whole uallo
        "chain-v0.6", {"reputer_rewards": [10.5, 20.25], "stakes": [4.0, 8.0],
                       "delegated_stakes": [1.0, 2.0]},
        {"delegator_rewards": [2.0, 5.0], "reputer_rewards": [8.0, 15.0]}),
    "updated_stakes": ("whitepaper", {"stakes": [1.0, 3.0], "reward_fractions": [0.4, 0.6],
                                      "reputer_reward": 10.0}, {"stakes": [5.0, 9.0]}),
    # --- §4.2
    "smoothed_fractions": ("whitepaper",
                           {"reward_fractions": [0.5, 0.5, NAN],
                            "previous_smoothed_fractions": [0.2, NAN, 0.3]},
                           {"smoothed_fractions": [0.23, 0.05, 0.3]}),
    "modified_fractions": ("whitepaper", {"smoothed_fractions": [0.2, 0.6, NAN]},
                           {"modified_fractions": [0.25, 0.75, math.nan]}),
    "effective_number": ("whitepaper", {"modified_fractions": [0.25, 0.75, NAN]},
                         {"effective_number": 1.6}),
    "class_entropy": ("whitepaper", {"modified_fractions": [0.25, 0.75],
                                     "smoothed_fractions": [0.1, 0.3]},
                      {"entropy": -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
                       * 0.8 ** 0.25}),                                       # N_eff / N = 1.6 / 2
    "forecasting_score_ratio": ("whitepaper",
                                {"naive_log_loss": -1.8, "network_log_loss": -2.0,
                                 "inferer_scores": [0.1, 0.05], "previous_score_ratio": 0.3},
                                {"forecasting_task_score": 0.2, "score_ratio": 0.47,
                                 "utility_pinned": False}),     # 0.1 x 0.2 / 0.1 + 0.9 x 0.3
    "forecasting_utility": ("whitepaper", {"score_ratio": 0.5}, {"forecasting_utility": 0.3}),
    "normalisation_factor": ("whitepaper", {"inference_entropy": 1.0, "forecasting_entropy": 2.0,
                                            "forecasting_utility": 0.25},
                             {"gamma": 2.4}),                   # 3 / (0.75 + 0.5)
    "class_rewards": ("whitepaper", {"entropies": [1.0, 2.0, 1.0], "forecasting_utility": 0.25,
                                     "topic_reward": 100.0, "present": [True, True, True]},
                      {"class_rewards": [45.0, 30.0, 25.0]}),  # 25 x (0.75 x 2.4, 0.25 x 4.8, 1)
    "participant_rewards": ("whitepaper", {"reward_fractions": [0.2, NAN, 0.8],
                                           "class_reward": 10.0},
                            {"rewards": [2.0, 0.0, 8.0]}),
    # --- §5
    "total_emission": ("whitepaper", {"e": [0.02], "staked": [5e7]}, {"total_emission": [1e6]}),
    "target_emission": ("whitepaper", {"treasury": [3e8], "circulating": [5e8],
                                       "staked": [2.5e8]},
                        {"target_emission": [0.015]}),          # 0.025 x 0.3 x 0.5 / 0.25
    "stakers_fraction": ("whitepaper", {"reputer_fraction": [0.4]},
                         {"stakers_fraction": [0.55]}),         # 0.25 + 0.75 x 0.4
    "percentage_yield": ("whitepaper", {"stakers_fraction": [0.5], "e": [0.02]},
                         {"monthly_percentage_yield": [0.01],
                          "annual_percentage_yield": [1.01**12 - 1]}),
    "maximum_emission": ("whitepaper", {"stakers_fraction": [0.5]},
                         {"maximum_emission": [0.019]}),        # 0.0095 / 0.5
    "capped_target_emission": ("whitepaper", {"target": [0.03, 0.01], "maximum": [0.019, 0.019]},
                               {"capped_target_emission": [0.019, 0.01]}),
    "smoothed_emission": ("whitepaper", {"capped": [0.02, 0.02], "previous": [0.01, NAN],
                                         "has_history": [True, False]},
                          {"e": [0.011, 0.02]}),                # 0.1 x 0.02 + 0.9 x 0.01
    "recalibrated_alpha": ("whitepaper", {"alpha": [0.5, 0.1], "steps_per_period": [4.0, 1.0]},
                           {"alpha": [1 - 0.5**0.25, 0.1]}),
    "validator_emission": ("whitepaper", {"total": 100.0, "validator_stakes": [1.0, 3.0]},
                           {"validator_emission": [6.25, 18.75]}),
    "topic_emission": ("whitepaper", {"total": 100.0, "topic_weights": [1.0, 3.0],
                                      "weight_sum": 8.0},
                       {"topic_emission": [9.375, 28.125]}),   # 75 x (1, 3) / 8
    "topic_weights": ("whitepaper", {"target": [5.0], "previous": [2.0], "has_history": [True]},
                      {"topic_weights": [0.9375 * 5 + 0.0625 * 2]}),   # 1 - 0.5^4 a month
    "topic_weight": ("whitepaper", {"stake": [4.0], "fee_revenue": [9.0], "previous": [2.0],
                                    "has_history": [True]},
                     {"topic_weight": [0.9375 * 6 + 0.0625 * 2]}),     # target sqrt(4 x 9)
    "topic_rewards": ("whitepaper", {"emission": 100.0, "topic_weights": [1.0, 3.0],
                                     "weight_sum": 4.0, "treasury": 1e9},
                      {"topic_rewards": [18.75, 56.25]}),             # 75 x (1, 3) / 4
    "target_topic_weight": ("whitepaper", {"stake": [4.0, 16.0], "fee_revenue": [9.0, 1.0]},
                            {"target_topic_weight": [6.0, 4.0]}),
    "effective_fee_revenue": ("whitepaper", {"previous": [10.0], "fees": [3.0]},
                              {"effective_fee_revenue": [3.0]}),   # monthly: a month's fees
    # --- chain-v0.6 (chain/v0.6.md §1-4, §9): d = trunc(1000.7 * 100/300) = 333, W - d -> 667;
    # one experienced worker: R0 = R + (0.75 - 8.25/3) 0.01; 0.5 sqrt(1e6 * 1200/1200) + 0.5 * 0;
    # a treasury of 5000 short of 750 * 1200 * 3/4: one slot, the heavier topic takes it all;
    # sum W 1000 + (350 - 300) + (90 - 120) - 90 (below 100: inactivated); an equal weight
    # pushes the slot's only topic out
    "reputer_reward_split": ("chain-v0.6", {"reputer_rewards": [1000.7, 50.0],
                                            "stakes": [300.0, 80.0],
                                            "delegated_stakes": [100.0, 0.0]},
                             {"reputer_rewards": [667.0, 50.0], "delegator_rewards": [333.0, 0.0]}),
    "topic_initial_regret": ("chain-v0.6", {"experienced_regrets": [0.3], "initial_regret": 0.0},
                             {"initial_regret": 0.3 - 2 * 0.01}),
    "topic_weight": ("chain-v0.6", {"stake": [1e6], "fee_revenue": [1200.0], "previous": [0.0],
                                    "has_history": [True]}, {"topic_weight": [500.0]}),
    "topic_rewards": ("chain-v0.6", {"emission": 1000.0, "topic_weights": [300.0, 100.0],
                                     "weight_sum": 400.0, "treasury": 5000.0},
                      {"topic_rewards": [5000.0, 0.0]}),
    "stored_weight_sum": ("chain-v0.6", {"weight_sum": 1000.0, "topic_weights": [350.0, 90.0],
                                         "previous": [300.0, 120.0]}, {"weight_sum": 930.0}),
    "takes_slot": ("chain-v0.6", {"candidate": 300.0, "slot": [300.0]},
                   {"scheduled": 1.0, "pushed_out": 0.0}),
}


def decoded(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return decode_array(value)
    return decode_number(value)


def test_every_function_kind_has_an_independent_case():
    assert sorted(CASES) == sorted(FUNCTIONS), (
        f"kinds without a case: {sorted(set(FUNCTIONS) - set(CASES))}; "
        f"cases of no kind: {sorted(set(CASES) - set(FUNCTIONS))}")


@pytest.mark.parametrize("kind", sorted(CASES))
def test_function_kind_meets_the_hand_derived_values(kind):
    profile, inputs, expected = CASES[kind]
    outputs = evaluate({"kind": "function", "function": kind}, inputs, load_profile(profile))
    assert set(expected) <= set(outputs), f"{kind}: no outputs {set(expected) - set(outputs)}"
    for name, value in expected.items():
        got = decoded(outputs[name])
        if isinstance(value, bool):
            assert got is value, f"{kind}.{name}"
        else:
            want = np.asarray(value, dtype=float)
            assert np.shape(got) == want.shape, f"{kind}.{name}: shape {np.shape(got)}"
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{kind}.{name}")

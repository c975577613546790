"""What the vector set holds: every case, built from fixed seeds, with its tolerances.

The cases cover every equation group (:data:`allora_ref.vector_kinds.FUNCTIONS`) with valid,
edge and invalid inputs, and the steps (:data:`allora_ref.vector_kinds.STEPS`) in scenarios -
cold start, single participants, no forecasters, sigma = 0, guard rails, chi's branches, the
listened-stake floor, partial participation, workers joining and leaving, the emission cap and
a short treasury - in every profile; the chain-v0.6 profile adds its own rules' cases (young
topics through the cold start, a latecomer, delegators, integer payments, the topic weight and
reward at an epoch end, the treasury shortfall, empty lists). :func:`make_case` records the reference's answer
(:func:`allora_ref.vector_kinds.evaluate`); :func:`cases` builds the whole set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from allora_ref.params import Params, load_profile
from allora_ref.spec.epoch import EpochInputs, TopicState, active_submissions, step
from allora_ref.spec.inference_synthesis import (
    Submissions, all_inferences, log_losses, reported_entries, row_families, squared_error,
    synthesise)
from allora_ref.spec.token_emission import (
    EmissionInputs, EmissionState, Supply, emission_step, vesting_unlocks)
from allora_ref.spec.topic_rewards import TopicsInputs, TopicsState
from allora_ref.vector_kinds import (
    FUNCTIONS, STEPS, encode_emission_inputs, encode_emission_state, encode_inputs,
    encode_state, encode_topics_inputs, encode_topics_state, evaluate, quiet)
from allora_ref.vectors import (
    GENERATOR, SPEC, VERSION, decode_params, encode, encode_params, field_name, leaf_fields)

#: The profiles every case is generated for.
SET_PROFILES = ("whitepaper", "allora-simulator", "chain-v0.6")

#: Tolerance of every output field: |actual - expected| <= atol + rtol |expected|. A correct
#: float64 implementation that orders its operations differently moves an output by a few
#: hundred ulps at most (tests/test_vectors.py perturbs every input by 1e-15 relative and checks
#: that the outputs stay well inside); the smallest documented deviation (guard rails: 1.7e-7
#: relative, DEVIATIONS.md §1) is far outside.
TOLERANCE = {"rtol": 1e-10, "atol": 1e-13}
#: Fields downstream of the listening-coefficient iteration (eq 34), whose finite-difference
#: gradient divides rounding errors by its step (1e-3).
ITERATED = {"rtol": 1e-8, "atol": 1e-11}
ITERATED_FIELDS = {
    "listening_coefficients", "scoring_listening_coefficients", "adjusted_stakes",
    "reputer_scores", "reputer_reward_fractions", "reputer_modified_fractions",
    "reputer_smoothed_fractions", "reputer_entropy", "inference_entropy", "forecasting_entropy",
    "class_rewards", "inferer_rewards", "forecaster_rewards", "reputer_rewards", "stakes",
    "inferer_modified_fractions", "forecaster_modified_fractions",
    "inferer_smoothed_fractions", "forecaster_smoothed_fractions"}


#: Token amounts that a profile with integer payments (``token_amount_rounding = "truncate"``,
#: the chain) truncates to whole uallo: an implementation whose value lies an ulp on the other
#: side of an integer pays one uallo more or less, so these fields admit one uallo.
TRUNCATED_FIELDS = {"inferer_rewards", "forecaster_rewards", "reputer_rewards",
                    "delegator_rewards", "stakes", "effective_fee_revenue", "fee_revenue"}


def tolerance(field: str, params: Params | None = None) -> dict:
    """The tolerance of a field, by its name (and the profile's token rounding)."""
    base = ITERATED if field in ITERATED_FIELDS else TOLERANCE
    if params is not None and params.token_amount_rounding == "truncate" \
            and field in TRUNCATED_FIELDS:
        return base | {"atol": 1.0}
    return base


def manifest(profile: str, kind: str, name: str, case: str, description: str) -> dict:
    """The manifest of a case: versions, profile, kind, function, sections and equations."""
    kinds = FUNCTIONS if kind == "function" else STEPS
    sections, equations = kinds[name].sections, kinds[name].equations
    return {"version": VERSION, "spec": SPEC, "generator": GENERATOR, "profile": profile,
            "kind": kind, "function": name, "case": case, "sections": list(sections),
            "equations": list(equations), "description": description}


def tolerances(expected: dict, params: Params | None = None) -> dict:
    """The tolerance of every field of an ``expected`` tree, by field name."""
    names = sorted({field_name(path) for path, _ in leaf_fields(expected)})
    return {name: encode(tolerance(name, params)) for name in names}


def make_case(profile: str, kind: str, name: str, case: str, description: str,
              params: Params | dict, inputs: dict, invalid: bool = False) -> dict:
    """A complete case: the reference's outputs (or its rejection, for ``invalid`` inputs).

    ``params`` is a profile, or already encoded parameters (which may be invalid).
    """
    manifest_ = manifest(profile, kind, name, case, description)
    parameters = encode_params(params) if isinstance(params, Params) else params
    result = {"manifest": manifest_, "parameters": parameters, "inputs": encode(inputs)}
    try:
        decoded = decode_params(result["parameters"])
        expected = evaluate(manifest_, result["inputs"], decoded)
    except ValueError as error:
        if not invalid:
            raise ValueError(f"{profile}/{kind}/{name}/{case}: {error}") from None
        return result | {"expected_error": str(error)}
    if invalid:
        raise ValueError(f"{profile}/{kind}/{name}/{case}: invalid inputs were accepted")
    return result | {"expected": expected, "tolerance": tolerances(expected, decoded)}


# --- the cases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """A case before evaluation: which function, its name, what it shows, its inputs."""

    function: str
    case: str
    description: str
    inputs: dict
    invalid: bool = False
    profiles: tuple[str, ...] = SET_PROFILES
    """The profiles the case is generated for."""
    overrides: dict | None = None
    """Fields of the profile the case replaces (its parameters say so)."""


PAPER_AND_SIMULATOR = ("whitepaper", "allora-simulator")
CHAIN = ("chain-v0.6",)


def function_specs() -> list[Spec]:
    """Every function case (the same inputs in every profile)."""
    rng = np.random.default_rng(20240814)
    nan = np.nan
    specs = [
        Spec("potential", "grid", "eq 6 on a grid around c", {"x": np.linspace(-3.0, 4.0, 15)}),
        Spec("potential", "extremes", "eq 6 far from c: no overflow, ln(1 + e^z) ~ z",
             {"x": [-1000.0, -50.0, 0.0, 0.75, 50.0, 1000.0]}),
        Spec("potential_gradient", "grid", "eq 7 on a grid around c",
             {"x": np.linspace(-3.0, 4.0, 15)}),
        Spec("potential_gradient", "extremes", "eq 7 far from c: underflows to 0, tends to p",
             {"x": [-1000.0, -50.0, 0.0, 0.75, 50.0, 1000.0]}),
        Spec("forecasted_log_losses", "losses", "eq 2 in the profile's base; null = not forecast",
             {"forecasted_losses": [[0.01, 0.2, nan], [1.5, 1e-6, 3.0]]}),
        Spec("forecasted_log_losses", "zero_loss", "eq 2: a loss of 0 has no logarithm",
             {"forecasted_losses": [[0.01, 0.0]]}, invalid=True),
        Spec("forecasted_log_losses", "negative_loss", "eq 2: a negative loss has no logarithm",
             {"forecasted_losses": [[0.01, -0.5]]}, invalid=True),
        Spec("normalised_regrets", "rows", "eq 8 per row over its members (null = not a member)",
             {"regrets": [[0.1, -0.2, 0.05, nan], [0.3, nan, -0.4, 0.2]]}),
        Spec("normalised_regrets", "sigma_zero", "eq 8 with equal regrets: sigma = 0, R / epsilon",
             {"regrets": [[0.5, 0.5, 0.5, 0.5]]}),
        Spec("normalised_regrets", "single_member", "eq 8 with one member: sigma = 0",
             {"regrets": [[nan, -0.25, nan]]}),
        Spec("regret_weights", "spread", "eqs 5, 10 normalised to sum 1 per row",
             {"regrets": rng.normal(0.0, 0.3, (3, 6))}),
        Spec("regret_weights", "guard_rail_cap",
             "eqs 5, 10: one normalised regret above c + 6.75/p (capped where guard rails apply)",
             {"regrets": [[0.05] * 24 + [0.5]]}),
        Spec("regret_weights", "guard_rail_shift",
             "eqs 5, 10: every normalised regret below c - 8.25/p (shifted where guard rails apply)",
             {"regrets": [[-0.5, -0.51, -0.505, -0.52, -0.515]]}),
        Spec("regret_weights", "guard_rail_cutoff",
             "eqs 5, 10: one regret far below the rest (weight 0 where guard rails apply)",
             {"regrets": [[-0.3] * 14 + [-0.6]]}),
        Spec("regret_weights", "sigma_zero", "eqs 5, 10 with equal regrets: equal weights",
             {"regrets": [[0.2, 0.2, 0.2]]}),
        Spec("regret_weights", "single_member", "eqs 5, 10 with one member: weight 1",
             {"regrets": [[nan, 0.4, nan]]}),
    ]
    inferences = rng.normal(0.0, 1.0, 4)
    forecasts = rng.normal(-1.0, 0.3, (3, 4))
    partial = forecasts.copy()
    partial[1, [0, 2]] = nan
    partial[2, :] = [nan, nan, nan, -0.8]
    specs += [
        Spec("forecast_implied_inferences", "weighted", "eqs 3-8: four inferers, three forecasters",
             {"inferences": inferences, "forecasted_log_losses": forecasts,
              "previous_network_log_loss": -1.1}),
        Spec("forecast_implied_inferences", "cold_start",
             "eq 3 with no previous network loss (cold start, Params.cold_start)",
             {"inferences": inferences, "forecasted_log_losses": forecasts,
              "previous_network_log_loss": nan}),
        Spec("forecast_implied_inferences", "partial",
             "eqs 3-8: an absent inferer, a forecaster forecasting two inferers, one with a "
             "single usable element",
             {"inferences": [inferences[0], inferences[1], inferences[2], nan],
              "forecasted_log_losses": partial, "previous_network_log_loss": -1.1}),
        Spec("forecast_implied_inferences", "no_usable_forecast",
             "eq 3: a forecaster whose only forecast is of an absent inferer gives null",
             {"inferences": [0.3, nan], "forecasted_log_losses": [[nan, -0.9], [-1.2, -1.0]],
              "previous_network_log_loss": -1.0}),
    ]
    n_i, n_f = 4, 2
    n_l = n_i + n_f
    regrets = rng.normal(0.0, 0.2, (2 + n_l + n_f, n_l))
    families = row_families(n_i, n_f)
    regrets = np.where(families, regrets, nan)
    newcomer = regrets.copy()
    newcomer[:, 1] = nan
    synthesis_inputs = {"inferences": rng.normal(0.5, 0.4, n_i),
                        "forecasted_log_losses": rng.normal(-1.0, 0.3, (n_f, n_i))}
    specs += [
        Spec("synthesise", "steady", "eqs 1-12: every inference of an epoch with known regrets",
             {"previous_network_log_loss": -0.9, "regrets": regrets} | synthesis_inputs),
        Spec("synthesise", "cold_start", "eqs 1-12 for the first epoch of a topic",
             {"previous_network_log_loss": nan,
              "regrets": np.full(regrets.shape, nan)} | synthesis_inputs),
        Spec("synthesise", "new_inferer",
             "eqs 1-12 with an inferer that has no regret yet (Params.initial_regret)",
             {"previous_network_log_loss": -0.9, "regrets": newcomer} | synthesis_inputs),
        Spec("synthesise", "no_forecasters", "eqs 1-12 with inferers only",
             {"previous_network_log_loss": -0.9,
              "regrets": np.where(row_families(3, 0), rng.normal(0.0, 0.2, (5, 3)), nan),
              "inferences": [0.1, 0.4, -0.2], "forecasted_log_losses": []}),
        Spec("synthesise", "single_inferer", "eqs 1-12 with one inferer and no forecasters",
             {"previous_network_log_loss": -0.9, "regrets": [[0.1], [0.1], [nan]],
              "inferences": [0.7], "forecasted_log_losses": []}),
        Spec("synthesise", "no_inferences", "eq 1: nothing to combine when no inferer submitted",
             {"previous_network_log_loss": -0.9, "regrets": regrets,
              "inferences": [nan] * n_i,
              "forecasted_log_losses": synthesis_inputs["forecasted_log_losses"]}, invalid=True),
        Spec("synthesise", "regrets_shape", "eq 15 state of the wrong shape",
             {"previous_network_log_loss": -0.9, "regrets": regrets[:, :3]} | synthesis_inputs,
             invalid=True),
        Spec("log_losses", "squared_error", "eq 13 with the squared-error loss; null stays absent",
             {"inferences": [0.3, -1.2, nan, 2.5], "truth": 0.25}),
        Spec("log_losses", "exact_inference", "eq 13: an exact inference has loss 0, no logarithm",
             {"inferences": [0.3, 0.25], "truth": 0.25}, invalid=True),
    ]
    reported = rng.normal(-1.0, 0.4, (3, 7))
    gaps = reported.copy()
    gaps[0, 2] = gaps[2, [4, 5]] = nan
    specs += [
        Spec("network_log_losses", "stake_weighted", "eq 14: three reputers, seven entries",
             {"stakes": [100.0, 250.0, 50.0], "reported_log_losses": reported}),
        Spec("network_log_losses", "missing_reports", "eq 14 over the reputers that reported",
             {"stakes": [100.0, 250.0, 50.0], "reported_log_losses": gaps}),
        Spec("network_log_losses", "negative_stake", "eq 14: stakes must be non-negative",
             {"stakes": [100.0, -1.0, 50.0], "reported_log_losses": reported}, invalid=True),
        Spec("network_log_losses", "zero_stakes", "eq 14: stakes must not all be zero",
             {"stakes": [0.0, 0.0, 0.0], "reported_log_losses": reported}, invalid=True),
        Spec("network_log_losses", "row_count", "eq 14: one row of reports per reputer",
             {"stakes": [100.0, 250.0], "reported_log_losses": reported}, invalid=True),
    ]
    size = 2 + n_l + n_f * n_i + n_l + n_f
    losses = rng.normal(-1.0, 0.3, size)
    gapped = losses.copy()
    gapped[[3, 2 + n_l + 1]] = nan
    specs += [
        Spec("updated_regrets", "steady", "eq 15 for every combination row",
             {"regrets": regrets, "network_log_losses": losses, "n_inferers": n_i,
              "n_forecasters": n_f}),
        Spec("updated_regrets", "first_losses",
             "eq 15 from no regrets (Params.initial_regret)",
             {"regrets": np.full(regrets.shape, nan), "network_log_losses": losses,
              "n_inferers": n_i, "n_forecasters": n_f}),
        Spec("updated_regrets", "missing_losses", "eq 15: a regret without a loss is carried",
             {"regrets": regrets, "network_log_losses": gapped, "n_inferers": n_i,
              "n_forecasters": n_f}),
        Spec("confidence_interval", "spread", "eqs 16-18 over six weighted inferences",
             {"inferences": rng.normal(0.0, 1.0, 6), "weights": rng.uniform(0.1, 1.0, 6)}),
        Spec("confidence_interval", "ties", "eqs 16-18 with tied inferences",
             {"inferences": [0.5, 0.5, -0.2, 0.5, 1.0], "weights": [1.0, 0.5, 0.25, 1.0, 0.125]}),
        Spec("confidence_interval", "ends",
             "eq 18 outside [C_1, C_N]: most weight on the extremes (Params.ci_ends)",
             {"inferences": [-1.0, 0.0, 1.0], "weights": [10.0, 0.01, 10.0]}),
        Spec("confidence_interval", "single_inference", "eqs 16-18 with one inference",
             {"inferences": [0.42], "weights": [1.0]}),
        Spec("confidence_interval", "negative_weight", "eqs 16-18: weights must be non-negative",
             {"inferences": [0.1, 0.2], "weights": [1.0, -0.5]}, invalid=True),
        Spec("confidence_interval", "zero_weights", "eqs 16-18: weights must not all be 0",
             {"inferences": [0.1, 0.2], "weights": [0.0, 0.0]}, invalid=True),
        Spec("confidence_interval", "length_mismatch", "eqs 16-18: one weight per inference",
             {"inferences": [0.1, 0.2, 0.3], "weights": [1.0, 1.0]}, invalid=True),
    ]
    rows = rng.normal(-1.0, 0.3, 2 + n_l + n_f)
    exist = np.ones(rows.size, bool)
    unreported = rows.copy()
    unreported[2 + 1] = nan
    sole = exist.copy()
    sole[[2 + n_i, 2 + n_l]] = False
    specs += [
        Spec("worker_scores", "scores", "eqs 21-25: four inferers, two forecasters",
             {"row_log_losses": rows, "row_exists": exist, "n_inferers": n_i,
              "n_forecasters": n_f, "active_forecasters": n_f}),
        Spec("worker_scores", "single_forecaster",
             "eqs 22-25 with one active forecaster (Params.lone_forecaster_scores_zero)",
             {"row_log_losses": rows[: 2 + n_i + 1 + 1], "row_exists": exist[: 2 + n_i + 2],
              "n_inferers": n_i, "n_forecasters": 1, "active_forecasters": 1}),
        Spec("worker_scores", "unreported_one_out",
             "eq 21: a one-out inference whose loss nobody reported gives no score (null)",
             {"row_log_losses": unreported, "row_exists": exist, "n_inferers": n_i,
              "n_forecasters": n_f, "active_forecasters": n_f}),
        Spec("worker_scores", "sole_member",
             "eqs 23-24: a one-out or one-in term without an inference (the worker was its only "
             "member) is 0",
             {"row_log_losses": rows, "row_exists": sole, "n_inferers": n_i,
              "n_forecasters": n_f, "active_forecasters": n_f}),
    ]
    history = rng.normal(0.0, 0.1, (10, 5))
    for who, equation in (("inferer", 26), ("forecaster", 27)):
        name = f"{who}_reward_fractions"
        scores = rng.normal(0.0, 0.1, 5)
        specs += [
            Spec(name, "steady", f"eqs {equation}, 28 with a full score history",
                 {"scores": scores, "score_history": history}),
            Spec(name, "short_history",
                 f"eqs {equation}, 28 in the second epoch (one earlier row of scores)",
                 {"scores": scores, "score_history": np.vstack(
                     [history[:1], np.full((9, 5), nan)])}),
            Spec(name, "absent_worker", f"eqs {equation}, 28: a worker without a score (null)",
                 {"scores": [scores[0], nan, scores[2], scores[3], scores[4]],
                  "score_history": np.where(np.arange(5) == 1, nan, history)}),
            Spec(name, "equal_scores",
                 f"eqs {equation}, 28: equal scores, sigma = 0 (Params.equal_split_below_epsilon)",
                 {"scores": [0.02] * 4, "score_history": np.full((10, 4), 0.02)}),
        ]
    honest = rng.normal(-2.0, 0.02, (3, 8))
    outlier = honest.mean(axis=0) + 0.5
    reports = np.vstack([honest, outlier])
    holes = reports.copy()
    holes[1, 3] = holes[3, [0, 6]] = nan
    floor_honest = rng.normal(-2.0, 0.02, (2, 12))
    floor_reports = np.vstack([floor_honest, floor_honest.mean(axis=0) + 0.3
                               + rng.normal(0.0, 0.5, (2, 12))])
    specs += [
        Spec("consensus", "honest_majority", "eqs 29-33: three close reputers and one outlier",
             {"listening_coefficients": [1.0, 1.0, 1.0, 1.0],
              "stakes": [100.0, 120.0, 80.0, 150.0], "reported_log_losses": reports}),
        Spec("consensus", "missing_entries",
             "eqs 31-32 with unreported entries (Params.missing_loss_fill)",
             {"listening_coefficients": [1.0, 0.8, 1.0, 0.5],
              "stakes": [100.0, 120.0, 80.0, 150.0], "reported_log_losses": holes}),
        Spec("consensus", "saturated_stake", "eq 29: a large listened stake is capped at 1",
             {"listening_coefficients": [1.0, 1.0, 1.0, 1.0],
              "stakes": [10.0, 10.0, 10.0, 500.0], "reported_log_losses": reports}),
        Spec("consensus", "nobody_listened", "eq 29: the listened stake must be positive",
             {"listening_coefficients": [0.0, 0.0, 0.0, 0.0],
              "stakes": [100.0, 120.0, 80.0, 150.0], "reported_log_losses": reports},
             invalid=True),
        Spec("listening_coefficients", "honest_majority", "eq 34 from full listening",
             {"listening_coefficients": [1.0, 1.0, 1.0, 1.0],
              "stakes": [100.0, 120.0, 80.0, 150.0], "reported_log_losses": reports}),
        Spec("listening_coefficients", "listened_stake_floor",
             "eq 34: the step is cut so that the listened stake stays at the floor",
             {"listening_coefficients": [1.0, 1.0, 0.2, 0.2], "stakes": [22.5, 22.5, 27.5, 27.5],
              "reported_log_losses": floor_reports}),
        Spec("listening_coefficients", "missing_entries", "eq 34 with unreported entries",
             {"listening_coefficients": [1.0, 0.8, 1.0, 0.5],
              "stakes": [100.0, 120.0, 80.0, 150.0], "reported_log_losses": holes}),
        Spec("reputer_reward_fractions", "fractions", "eq 35 (Params.reputer_reward_p)",
             {"stakes": [100.0, 120.0, 80.0, 150.0], "reputer_scores": [45.0, 52.0, 38.0, 12.0]}),
        Spec("reputer_reward_fractions", "absent_reputer", "eq 35: a reputer without a score",
             {"stakes": [100.0, 120.0, 80.0], "reputer_scores": [45.0, nan, 38.0]}),
        Spec("reputer_reward_fractions", "zero_stakes", "eq 35: the total must be positive",
             {"stakes": [0.0, 0.0], "reputer_scores": [45.0, 52.0]}, invalid=True,
             profiles=PAPER_AND_SIMULATOR),
        Spec("reputer_reward_fractions", "all_zero_terms",
             "eq 35 as deployed: every (S T)^p = 0 gives every fraction 0 (v0.6 §8)",
             {"stakes": [0.0, 0.0, 0.0], "reputer_scores": [45.0, 52.0, nan]}, profiles=CHAIN),
        Spec("reputer_reward_split", "delegators",
             "eqs 36, 46 as deployed: d = trunc(W D / S) to the delegators, trunc(W - d) "
             "re-staked (v0.6 §9)",
             {"reputer_rewards": [1000.7, 50.0, 0.4, 0.0],
              "stakes": [300.0, 80.0, 10.0, 0.0], "delegated_stakes": [100.0, 0.0, 5.0, 0.0]},
             profiles=CHAIN),
        Spec("topic_initial_regret", "experienced",
             "eq 15 as deployed: R0 = Q_0.25 + (c - 8.25/p)(sigma + eps) of the experienced "
             "workers' new regrets (v0.6 §4.2)",
             {"experienced_regrets": [0.6, -0.2, -0.4, 0.0], "initial_regret": 0.0},
             profiles=CHAIN),
        Spec("topic_initial_regret", "single", "eq 15 as deployed: one experienced worker, "
             "sigma = 0", {"experienced_regrets": [0.3], "initial_regret": -1.0},
             profiles=CHAIN),
        Spec("topic_initial_regret", "none_experienced",
             "eq 15 as deployed: no experienced worker leaves R0 unchanged (empty list)",
             {"experienced_regrets": [], "initial_regret": -1.5}, profiles=CHAIN),
        Spec("updated_stakes", "rewarded", "eq 36: stakes grow by their rewards; null earns 0",
             {"stakes": [100.0, 120.0, 80.0], "reward_fractions": [0.5, nan, 0.5],
              "reputer_reward": 12.5}),
        Spec("smoothed_fractions", "steady", "eq 39 from earlier smoothed fractions",
             {"reward_fractions": [0.2, 0.5, 0.3], "previous_smoothed_fractions": [0.3, 0.4, 0.3]}),
        Spec("smoothed_fractions", "newcomer_and_absent",
             "eq 39: a first appearance (Params.smoothing_start) and an absent participant",
             {"reward_fractions": [0.6, nan, 0.4],
              "previous_smoothed_fractions": [nan, 0.25, 0.3]}),
        Spec("modified_fractions", "present", "eq 38 over the present participants",
             {"smoothed_fractions": [0.25, nan, 0.5, 0.125]}),
        Spec("modified_fractions", "zero_sum", "eq 38: the smoothed fractions must sum to > 0",
             {"smoothed_fractions": [0.0, 0.0]}, invalid=True),
        Spec("effective_number", "spread", "eq 40 over the present participants",
             {"modified_fractions": [0.5, 0.25, nan, 0.25]}),
        Spec("class_entropy", "spread", "eqs 37, 40 (Params.effective_number_from)",
             {"modified_fractions": [0.5, 0.3, 0.2], "smoothed_fractions": [0.45, 0.35, 0.25]}),
        Spec("class_entropy", "single_participant",
             "eq 37 with one participant (Params.lone_participant_entropy)",
             {"modified_fractions": [nan, 1.0], "smoothed_fractions": [nan, 0.4]}),
        Spec("forecasting_score_ratio", "positive_max", "eqs 42-43 with max_j T_ij > 0",
             {"naive_log_loss": -1.0, "network_log_loss": -1.2,
              "inferer_scores": [0.05, 0.3, -0.1], "previous_score_ratio": 0.4}),
        Spec("forecasting_score_ratio", "negative_max",
             "eq 43 with every inferer score negative (Params.score_ratio_rule)",
             {"naive_log_loss": -1.0, "network_log_loss": -1.2,
              "inferer_scores": [-0.05, -0.3], "previous_score_ratio": 0.4}),
        Spec("forecasting_score_ratio", "zero_max", "eq 43 with max_j T_ij = 0 and T_i != 0",
             {"naive_log_loss": -1.0, "network_log_loss": -1.2,
              "inferer_scores": [0.0, -0.3], "previous_score_ratio": 0.4}),
        Spec("forecasting_score_ratio", "both_zero", "eq 43 with max_j T_ij = 0 and T_i = 0",
             {"naive_log_loss": -1.0, "network_log_loss": -1.0,
              "inferer_scores": [0.0, -0.3], "previous_score_ratio": 0.4}),
    ]
    specs += [Spec("forecasting_utility", case, f"eq 44 with tau = {tau}", {"score_ratio": tau})
              for case, tau in (("below_zero", -0.5), ("zero", 0.0), ("between", 0.3),
                                ("one", 1.0), ("above_one", 1.7))]
    specs += [
        Spec("normalisation_factor", "typical", "eq 45",
             {"inference_entropy": 1.2, "forecasting_entropy": 0.7, "forecasting_utility": 0.3}),
        Spec("normalisation_factor", "zero_entropies", "eq 45 when F = G = 0",
             {"inference_entropy": 0.0, "forecasting_entropy": 0.0, "forecasting_utility": 0.3}),
        Spec("class_rewards", "typical", "eq 41 with gamma (eq 45)",
             {"entropies": [1.2, 0.7, 1.4], "forecasting_utility": 0.3, "topic_reward": 100.0,
              "present": [True, True, True]}),
        Spec("class_rewards", "no_forecasting_entropy", "eq 41 with G = 0",
             {"entropies": [1.2, 0.0, 1.4], "forecasting_utility": 0.1, "topic_reward": 100.0,
              "present": [True, False, True]}),
        Spec("class_rewards", "zero_entropies",
             "eq 41 when every entropy is 0: equal shares of the present classes",
             {"entropies": [0.0, 0.0, 0.0], "forecasting_utility": 0.1, "topic_reward": 100.0,
              "present": [True, False, True]}),
        Spec("participant_rewards", "rewards", "eq 46: fraction times class reward; null earns 0",
             {"reward_fractions": [0.5, 0.3, nan, 0.2], "class_reward": 40.0}),
    ]
    return specs + tokenomics_specs()


def tokenomics_specs() -> list[Spec]:
    """The function cases of §5 (token amounts in tokens, rates per month)."""
    nan = np.nan
    return [
        Spec("total_emission", "monthly", "eq 47: e_i N_staked / N_epochs (null = unknown)",
             {"e": [0.01, 0.0123, 0.0, nan], "staked": [3e8, 2.5e8, 3e8, 3e8]}),
        Spec("total_emission", "negative_stake", "eq 47: token amounts are non-negative",
             {"e": [0.01], "staked": [-1.0]}, invalid=True),
        Spec("target_emission", "supplies", "eq 48 over a few supplies",
             {"treasury": [359.5e6, 300e6, 10e6], "circulating": [155e6, 400e6, 900e6],
              "staked": [46.5e6, 240e6, 600e6]}),
        Spec("target_emission", "no_stake", "eq 48 is per staked token: N_staked must be > 0",
             {"treasury": [359.5e6], "circulating": [155e6], "staked": [0.0]}, invalid=True),
        Spec("stakers_fraction", "measured", "eq 49: f_v + (1 - f_v) W/E",
             {"reputer_fraction": [0.0, 1 / 3, 0.6, 1.0]}),
        Spec("stakers_fraction", "above_one", "eq 49: the reputers' share is at most 1",
             {"reputer_fraction": [1.2]}, invalid=True),
        Spec("percentage_yield", "yields", "eqs 49-50: monthly yield and the APY it compounds to",
             {"stakers_fraction": [0.5, 0.6, 0.25], "e": [0.018977585869166092, 0.01, 0.0]}),
        Spec("maximum_emission", "cap", "eq 50: xi_max / f_stakers (Params.xi_max)",
             {"stakers_fraction": [0.5, 0.6, 0.25, 1.0]}),
        Spec("maximum_emission", "no_stakers", "eq 50: f_stakers must be > 0",
             {"stakers_fraction": [0.0]}, invalid=True),
        Spec("capped_target_emission", "both_sides", "eq 51: the smaller of target and cap",
             {"target": [0.05, 0.01, 0.019, nan], "maximum": [0.019, 0.019, 0.019, 0.019]}),
        Spec("smoothed_emission", "months",
             "eqs 52-53: the EMA at the profile's cadence; a first month starts it "
             "(Params.ema_start)",
             {"capped": [0.019, 0.0123, 0.0123], "previous": [0.0123, 0.019, nan],
              "has_history": [True, True, False]}),
        Spec("recalibrated_alpha", "cadences",
             "eq 53: a monthly alpha at other step lengths (one step, weekly, hourly, alpha = 1)",
             {"alpha": [0.1, 0.1, 0.1, 0.5, 1.0], "steps_per_period": [1.0, 4.345, 720.0, 0.25,
                                                                         30.0]}),
        Spec("validator_emission", "stakes", "eq 54: f_v E_i S_v / sum S_v",
             {"total": 4.5e6, "validator_stakes": [1e6, 3e6, 0.0, 6e6]}),
        Spec("validator_emission", "no_stake", "eq 54: the validator stakes must sum to > 0",
             {"total": 4.5e6, "validator_stakes": [0.0, 0.0]}, invalid=True),
        Spec("topic_emission", "own_sum", "eq 55 over these topics' weights",
             {"total": 4.5e6, "topic_weights": [3.0, 1.0, 0.5], "weight_sum": nan}),
        Spec("topic_emission", "active_sum", "eq 55 for some of the active topics",
             {"total": 4.5e6, "topic_weights": [3.0, 1.0], "weight_sum": 8.0}),
        Spec("topic_emission", "zero_weights", "eq 55: the topic weights must sum to > 0",
             {"total": 4.5e6, "topic_weights": [0.0, 0.0], "weight_sum": nan}, invalid=True),
        Spec("topic_weights", "weekly_alpha",
             "eqs 53, 56: alpha_t per week recalibrated to the step; a new topic starts at its "
             "target",
             {"target": [1200.0, 800.0, 50.0], "previous": [1000.0, 900.0, nan],
              "has_history": [True, True, False]}),
        Spec("target_topic_weight", "geometric_mean", "eq 57: S^mu C^nu",
             {"stake": [1e6, 4e4, 0.0], "fee_revenue": [2.5e3, 1e5, 7e3]}),
        Spec("effective_fee_revenue", "decay", "eq 57: C - C / N_epochs,w + F",
             {"previous": [1e4, 0.0, 5e3], "fees": [2e3, 1e3, 0.0]}),
        Spec("effective_fee_revenue", "negative_fees", "eq 57: fees are non-negative",
             {"previous": [1e4], "fees": [-1.0]}, invalid=True),
        Spec("effective_fee_revenue", "drains",
             "eq 57 as deployed: the integer revenue drains in finitely many epochs (v0.6 §2)",
             {"previous": [75000.0, 165.0, 3.0, 1.0, 0.0], "fees": [0.0] * 5}, profiles=CHAIN),
        Spec("topic_weight", "first_epochs",
             "eqs 56-57 as deployed: (C / L)^nu, alpha_t per topic epoch, C = 0 gives weight 0 "
             "(v0.6 §1)",
             {"stake": [1e6, 1e6, 1e6, 0.0], "fee_revenue": [75000.0, 74547.0, 0.0, 1200.0],
              "previous": [nan, 7905.694150420949, 500.0, 80.0],
              "has_history": [False, True, True, True]}, profiles=CHAIN),
        Spec("topic_rewards", "block_emission",
             "eq 55 as deployed: R_blk L_t w_t / sum W, R_blk = E_blk - trunc(f_v E_blk); a "
             "weight below MinTopicWeight is inactive (v0.6 §3; a block of 3 slots)",
             {"emission": 1001.0, "topic_weights": [600.0, 200.0, 99.0], "weight_sum": 1000.0,
              "treasury": 1e15}, profiles=CHAIN,
             overrides={"max_active_topics_per_block": 3}),
        Spec("topic_rewards", "treasury_shortfall",
             "eq 55 as deployed: payments above the treasury split it by w_t L_t (v0.6 §3.2; "
             "a block of 2 slots)",
             {"emission": 1000.0, "topic_weights": [300.0, 100.0], "weight_sum": 400.0,
              "treasury": 5000.0}, profiles=CHAIN,
             overrides={"max_active_topics_per_block": 2}),
        Spec("topic_rewards", "one_slot",
             "eq 55 as deployed: of the topics ending in one block only the heaviest is paid "
             "(MaxActiveTopicsPerBlock = 1; v0.6 §0, §3.2)",
             {"emission": 1000.0, "topic_weights": [300.0, 400.0, 150.0], "weight_sum": 1000.0,
              "treasury": 1e15}, profiles=CHAIN),
        Spec("stored_weight_sum", "epoch_ends",
             "eq 55 as deployed: sum W += w_t - w_prev at each epoch end; a topic below "
             "MinTopicWeight leaves it; a new topic has no stored weight (v0.6 §1, §3.1)",
             {"weight_sum": 1000.0, "topic_weights": [350.0, 90.0, 500.0],
              "previous": [300.0, 120.0, nan]}, profiles=CHAIN),
        Spec("takes_slot", "full_slot_lighter", "eq 55 as deployed: a topic strictly lighter "
             "than a full slot's lightest is not scheduled (v0.6 §3.1)",
             {"candidate": 200.0, "slot": [300.0]}, profiles=CHAIN),
        Spec("takes_slot", "full_slot_equal", "eq 55 as deployed: an equal weight pushes the "
             "slot's lightest out (v0.6 §3.1)", {"candidate": 300.0, "slot": [300.0]},
             profiles=CHAIN),
        Spec("topic_rewards", "single_topic_shortfall",
             "eq 55 as deployed: a single topic takes the whole treasury (v0.6 §3.2)",
             {"emission": 1000.0, "topic_weights": [300.0], "weight_sum": 400.0,
              "treasury": 5000.0}, profiles=CHAIN),
    ]


# --- epoch scenarios ------------------------------------------------------------------------

@dataclass(frozen=True)
class Topic:
    """A simulated topic: sizes, skill and a participation pattern."""

    n_inferers: int
    n_forecasters: int
    stakes: tuple[float, ...]
    seed: int
    inference_noise: float = 0.3
    report_noise: tuple[float, ...] | float = 0.01
    """The standard deviation of each reputer's report errors (one value: all reputers)."""
    report_bias: tuple[float, ...] | float = 0.0
    """Each reputer's offset from the exact log-losses (one value: all reputers)."""
    identical: bool = False
    """Every inferer submits the same inference and every forecaster the same forecasts."""
    absent_inferers: Callable[[int], tuple[int, ...]] = lambda epoch: ()
    absent_forecasters: Callable[[int], tuple[int, ...]] = lambda epoch: ()
    silent_reputers: Callable[[int], tuple[int, ...]] = lambda epoch: ()
    reward: float = 100.0
    """The topic reward of every epoch (uallo where the profile pays integers)."""
    delegated: tuple[float, ...] | None = None
    """The part of each reputer's stake delegated to it (None: no delegation)."""


def simulated_inputs(topic: Topic, state: TopicState, epoch: int, rng: np.random.Generator,
                     params: Params) -> EpochInputs:
    """One epoch of the topic: noisy inferences and forecasts, and reputers reporting the
    squared-error log-losses (eq 13, in the profile's layout) of every inference of eq 12 with a
    little noise."""
    truth = rng.normal()
    n_i, n_f = topic.n_inferers, topic.n_forecasters
    if topic.identical:
        inferences = np.full(n_i, round(truth, 1) + 0.5)
        forecasts = np.full((n_f, n_i), -1.0)
    else:
        inferences = truth + rng.normal(0.0, topic.inference_noise, n_i)
        forecasts = rng.normal(-1.0, 0.3, (n_f, n_i))
    inferences[list(topic.absent_inferers(epoch))] = np.nan
    forecasts[list(topic.absent_forecasters(epoch))] = np.nan
    submitted = Submissions(inferences, forecasts)
    active = submitted if state.active_sets is None else \
        active_submissions(state, submitted, params)[0]
    inferred = synthesise(state.synthesis, active, params)
    exact = log_losses(all_inferences(inferred.combined, inferred.forecast_implied,
                                      inferred.one_out_forecast_implied, active.inferences),
                       truth, squared_error, params.log_base)[reported_entries(n_i, n_f, params)]
    noise = 0.0 if topic.identical else np.asarray(topic.report_noise)
    shape = (len(topic.stakes), exact.size)
    reports = exact + np.asarray(topic.report_bias)[..., None] + rng.normal(
        0.0, np.broadcast_to(np.asarray(noise)[..., None], shape), shape)
    reports[list(topic.silent_reputers(epoch))] = np.nan
    return EpochInputs(submitted, reports, topic.reward)


def simulate(topic: Topic, params: Params, epochs: int) -> tuple[TopicState, list[EpochInputs]]:
    """The topic's initial state and the inputs of its first ``epochs`` epochs."""
    rng = np.random.default_rng(topic.seed)
    state = initial = TopicState.initial(topic.n_inferers, topic.n_forecasters,
                                         topic.stakes, params, topic.delegated)
    inputs = []
    for epoch in range(epochs):
        inputs.append(simulated_inputs(topic, state, epoch, rng, params))
        _, state = step(state, inputs[-1], params)
    return initial, inputs


def warmed_up(topic: Topic, params: Params, warmup: int,
              adjust: Callable[[TopicState], TopicState] | None = None
              ) -> tuple[TopicState, EpochInputs]:
    """The state after ``warmup`` epochs (then ``adjust``ed) and the next epoch's inputs."""
    initial, inputs = simulate(topic, params, warmup)
    state = initial
    for epoch_inputs in inputs:
        _, state = step(state, epoch_inputs, params)
    if adjust is not None:
        state = adjust(state)
    rng = np.random.default_rng(topic.seed + 1000)
    return state, simulated_inputs(topic, state, warmup, rng, params)


def replaced(state: TopicState, **fields) -> TopicState:
    """``state`` with some fields replaced (``regrets`` and ``previous_network_log_loss`` reach
    into the synthesis state)."""
    synthesis = state.synthesis
    if "regrets" in fields:
        synthesis = dataclasses.replace(synthesis, regrets=fields.pop("regrets"))
    return dataclasses.replace(state, synthesis=synthesis, **fields)


FIVE_THREE = dict(n_inferers=5, n_forecasters=3, stakes=(120.0, 80.0, 200.0, 100.0))


def tight_negative_regrets(state: TopicState) -> TopicState:
    """Every known regret near -0.5 with a tiny spread: the normalised regrets fall far below
    c - 8.25/p, where the deployed guard rails shift them up."""
    regrets = state.synthesis.regrets
    spread = -0.5 + 0.001 * np.sin(np.arange(regrets.size)).reshape(regrets.shape)
    return replaced(state, regrets=np.where(np.isnan(regrets), np.nan, spread))


def epoch_scenarios() -> list[tuple[str, str, Topic, int,
                                   Callable[[TopicState], TopicState] | None]]:
    """(case, description, topic, warm-up epochs, state adjustment or None) of every epoch case."""
    return [
        ("cold_start", "the first epoch of a new topic: no loss, regrets, scores or rewards",
         Topic(**FIVE_THREE, seed=1), 0, None),
        ("second_epoch", "the second epoch: regrets and one row of scores from the first",
         Topic(**FIVE_THREE, seed=2), 1, None),
        ("steady_state", "after 12 epochs: a full score window and smoothed fractions",
         Topic(**FIVE_THREE, seed=3), 12, None),
        ("single_inferer", "one inferer, no forecasters, one reputer",
         Topic(1, 0, (50.0,), seed=4), 2, None),
        ("single_forecaster", "three inferers and one forecaster (eqs 22-25 for a lone forecaster)",
         Topic(3, 1, (60.0, 40.0), seed=5), 2, None),
        ("no_forecasters", "four inferers and no forecasters (G_i = 0)",
         Topic(4, 0, (60.0, 40.0, 70.0), seed=6), 3, None),
        ("sigma_zero", "identical inferences, forecasts and reports: every sigma is 0",
         Topic(3, 2, (60.0, 40.0), seed=7, identical=True), 2, None),
        ("guard_rail_shift", "regrets far below c - 8.25/p in normalised units (guard rails)",
         Topic(**FIVE_THREE, seed=8), 4, tight_negative_regrets),
        ("utility_above_one", "tau_{i-1} = 1.4: chi at its maximum (eq 44)",
         Topic(**FIVE_THREE, seed=9), 3, lambda state: replaced(state, score_ratio=1.4)),
        ("utility_below_zero", "tau_{i-1} = -0.8: chi at its minimum (eq 44)",
         Topic(**FIVE_THREE, seed=10), 3, lambda state: replaced(state, score_ratio=-0.8)),
        ("listened_stake_floor", "two dissenting reputers with most of the stake, barely "
         "listened to: the listening step stops at the listened-stake floor (eq 34)",
         Topic(4, 2, (22.5, 22.5, 27.5, 27.5), seed=11, report_noise=(0.02, 0.02, 0.5, 0.5),
               report_bias=(0.0, 0.0, 0.3, 0.3)), 3,
         lambda state: replaced(state, stakes=np.array([22.5, 22.5, 27.5, 27.5]),
                                listening=np.array([1.0, 1.0, 0.2, 0.2]))),
        ("partial_participation", "an absent inferer, an absent forecaster and a silent reputer",
         Topic(**FIVE_THREE, seed=12, absent_inferers=lambda epoch: (2,),
               absent_forecasters=lambda epoch: (1,), silent_reputers=lambda epoch: (3,)), 3,
         None),
        ("new_inferer", "an inferer submitting for the first time (no regret, no score yet)",
         Topic(**FIVE_THREE, seed=13, absent_inferers=lambda epoch: (4,) if epoch < 3 else ()),
         3, None),
    ]


#: A topic paid a million uallo an epoch, so that the chain's integer payments reach every
#: worker and the cold start ends when chain/v0.6.md §4.3 says.
YOUNG = dict(n_inferers=3, n_forecasters=2, stakes=(3e5, 2e5, 1e5), reward=1e6)


def chain_epoch_scenarios() -> list[tuple[str, str, Topic, int, None]]:
    """The epoch cases of the chain-v0.6 profile only."""
    return [
        ("first_epoch_after_cold_start", "the 13th epoch of a young topic: R0 was set by the "
         "12th (every worker paid since the 2nd; v0.6 §4.3)", Topic(**YOUNG, seed=41), 12, None),
        ("delegated_stakes", "reputers with delegators: d = trunc(W D / S) leaves the topic, "
         "trunc(W - d) is re-staked (v0.6 §9)",
         Topic(**YOUNG, seed=42, delegated=(1e5, 0.0, 5e4)), 3, None),
        ("small_reward", "a topic reward of 7 uallo: most payments truncate to 0 and are "
         "not made (v0.6 §10)", Topic(**YOUNG | {"reward": 7.0}, seed=43), 2, None),
        ("active_set_overflow", "8 forecasters and 8 reputers for sets of 6: forecasters with "
         "higher score EMAs push the lowest out, the others get the topic quantile score; a "
         "reputer below the minimum stake is left out (v0.6 §6-7)",
         Topic(**OVERFLOW, seed=46), 3,
         with_forecaster_emas((-0.01,) * 6 + (0.5, 1.0))),
    ]


#: More forecasters and reputers than the chain's active sets hold (6 each), one reputer below
#: RequiredMinimumStake, and forecasters 6 and 7 starting with score EMAs above the others'.
OVERFLOW = dict(n_inferers=4, n_forecasters=8,
                stakes=(3e5, 2e5, 1e5, 5e3, 4e5, 1.5e5, 2.5e5, 3.5e5), reward=1e6)


def with_forecaster_emas(emas: tuple[float, ...]) -> Callable[[TopicState], TopicState]:
    """A state adjustment that sets the forecasters' score EMAs (chain/v0.6.md §6)."""
    def adjust(state: TopicState) -> TopicState:
        sets = state.active_sets
        return dataclasses.replace(state, active_sets=dataclasses.replace(
            sets, score_emas=(sets.score_emas[0], np.array(emas), sets.score_emas[2])))
    return adjust


def chain_trace_scenarios() -> list[tuple[str, str, Topic, int]]:
    """The trace cases of the chain-v0.6 profile only."""
    return [
        ("young_topic", "a new topic's first 14 epochs: no payout in the first, the cold start "
         "(means of inferers) until R0 is set at the 12th, regret weights after (v0.6 §4)",
         Topic(**YOUNG, seed=44), 14),
        ("active_set_overflow", "a young topic with 8 forecasters and 8 reputers for sets of "
         "6: who is admitted, epoch by epoch, from the score EMAs, topic quantile scores and "
         "the lowest-EMA records (v0.6 §6-7)", Topic(**OVERFLOW, seed=47), 6),
        ("latecomer", "an inferer joining after the cold start reads R0 as its regret and "
         "starts its EMA from it (v0.6 §4.1)",
         Topic(4, 2, (3e5, 2e5, 1e5), reward=1e6, seed=45,
               absent_inferers=lambda epoch: (3,) if epoch < 13 else ()), 15),
    ]


def trace_scenarios() -> list[tuple[str, str, Topic, int]]:
    """(case, description, topic, epochs) of every trace case."""
    return [
        ("first_epochs", "the first six epochs of a new topic",
         Topic(4, 2, (80.0, 120.0, 100.0), seed=21), 6),
        ("join_and_leave", "inferer 3 joins in epoch 3, forecaster 1 leaves from epoch 5, "
         "reputer 2 is silent from epoch 6",
         Topic(4, 2, (80.0, 120.0, 100.0), seed=22,
               absent_inferers=lambda epoch: (3,) if epoch < 3 else (),
               absent_forecasters=lambda epoch: (1,) if epoch >= 5 else (),
               silent_reputers=lambda epoch: (2,) if epoch >= 6 else ()), 8),
        ("long_run", "twelve epochs: the score window (10) fills and slides",
         Topic(3, 2, (50.0, 150.0, 100.0), seed=23), 12),
    ]


def invalid_epochs(params: Params) -> list[tuple[str, str, dict, dict | None]]:
    """(case, description, inputs, parameters or None) of the epoch inputs to reject."""
    state, inputs = warmed_up(Topic(3, 2, (60.0, 40.0), seed=31), params, 1)
    good = {"state": encode_state(state), "epoch": encode_inputs(inputs)}

    def changed(part: str, **fields) -> dict:
        return good | {part: good[part] | encode(fields)}
    reported = inputs.reported_log_losses
    bad_parameters = encode_params(params) | {"epsilon": encode(0.0)}
    return [
        ("negative_topic_reward", "eq 41: the topic reward must be non-negative",
         changed("epoch", topic_reward=-1.0), None),
        ("loss_vector_width", "eq 13: each reputer reports the whole loss vector",
         changed("epoch", reported_log_losses=reported[:, :-1]), None),
        ("no_inferences", "eq 1: no inferer submitted",
         changed("epoch", inferences=np.full(3, np.nan)), None),
        ("negative_stake", "eq 14: stakes must be non-negative",
         changed("state", stakes=np.array([60.0, -40.0])), None),
        ("invalid_parameters", "eq 8: epsilon must be > 0", good, bad_parameters),
    ]


#: The supply at launch of the emission cases: the research simulator's allocation (treasury
#: 35.95%, 15.5% circulating, 48.55% vesting), 30% of the circulating supply staked.
LAUNCH = Supply(359.5e6, 155e6, 46.5e6, 485.5e6)


def emission_months(months: int, fees: float = 1e6) -> list[EmissionInputs]:
    """Monthly flows from launch: the vesting unlocks after a 12-month cliff over 36 months,
    75% of each unlock staked at once, fees, and reputers taking 40% of the topic rewards
    (f_stakers = 0.55 where it is measured)."""
    unlocks = vesting_unlocks([LAUNCH.locked], np.arange(1, months + 1), 12, 36)[:, 0]
    return [EmissionInputs(unlock, 0.75 * unlock, fees, 0.4) for unlock in unlocks]


def emission_scenarios(params: Params) -> list[tuple[str, str, dict, EmissionInputs, bool]]:
    """(case, description, encoded state, inputs, invalid) of every emission-step case."""
    launch = EmissionState.genesis(LAUNCH, params)
    months = emission_months(14)
    state = launch
    for inputs in months[:12]:
        _, state = emission_step(state, inputs, params)
    short = dataclasses.replace(state.supply, treasury=1e3, locked=state.supply.locked + (
        state.supply.treasury - 1e3))
    crowded = dataclasses.replace(LAUNCH, staked=150e6)
    return [
        ("launch", "the first month: no e_{i-1} yet (Params.ema_start)",
         encode_emission_state(launch), months[0], False),
        ("first_unlock", "month 13: the first vesting unlock, 75% of it staked at once",
         encode_emission_state(state), months[12], False),
        ("capped", "little stake, a high target: the cap e^_max binds (eq 51)",
         encode_emission_state(dataclasses.replace(
             launch, supply=dataclasses.replace(LAUNCH, staked=5e6))), months[0], False),
        ("uncapped", "much stake, a low target: eq 51 keeps the target",
         encode_emission_state(dataclasses.replace(launch, supply=crowded)), months[0], False),
        ("treasury_short", "the treasury cannot pay eq 47's emission: it pays what it has",
         encode_emission_state(dataclasses.replace(state, supply=short)), months[12], False),
        ("unlock_exceeds_locked", "eq 48: no more can unlock than is locked",
         encode_emission_state(launch), EmissionInputs(500e6, 0.0, 0.0, 1 / 3), True),
        ("staked_exceeds_circulating", "eq 48: the staked supply is part of the circulating",
         encode_emission_state(launch) | {"staked": 2 * LAUNCH.circulating},
         EmissionInputs(0.0, 0.0, 0.0, 1 / 3), True),
        ("no_stake", "eq 48: the target is per staked token", encode_emission_state(
            dataclasses.replace(launch, supply=dataclasses.replace(LAUNCH, staked=0.0))),
         months[0], True),
    ]


def topic_blocks(blocks: int, fees: dict | None = None, stakes: dict | None = None,
                 emission: dict | None = None, n: int = 2) -> list[TopicsInputs]:
    """Blocks 1..``blocks`` of ``n`` topics: fees {block: per topic} (none in the other
    blocks), stakes {block: per topic} (10000 uallo each until changed; a change holds), the
    block emission {block: E} (1000)."""
    current, inputs = np.full(n, 1e4), []
    for block in range(1, blocks + 1):
        current = np.asarray((stakes or {}).get(block, current), float)
        paid = (fees or {}).get(block)
        inputs.append(TopicsInputs(current, (emission or {}).get(block, 1000.0),
                                   None if paid is None else np.asarray(paid, float)))
    return inputs


def topics_scenarios(params: Params) -> list[tuple[str, str, Params, TopicsState,
                                                   list[TopicsInputs]]]:
    """(case, description, parameters, initial state, blocks) of the traces of the network's
    topics: the chain's with epochs of 12 blocks (MinEpochLength), the paper's steps."""
    if params.topic_reward_accrual == "per-step":
        return [("paper_steps", "eq 55 every step over the step's weights: three topics, "
                 "one paid no fee until the third step (eqs 55-57)", params,
                 TopicsState.initial([0.0, 0.0, 0.0]), topic_blocks(
                     4, fees={1: [1e3, 4e3, 0.0], 2: [2e3, 1e3, 0.0], 3: [0.0, 0.0, 5e2]},
                     stakes={1: [4e4, 9e4, 1e4], 3: [4e4, 9e4, 3e4]},
                     emission={1: 1e6, 2: 2e6, 3: 2e6, 4: 1.5e6}, n=3))]
    short = dataclasses.replace(params, epoch_length=12.0)
    return [
        ("reactivation_double_count", "two topics, one slot a block: A activates at block 1; "
         "B activates at 13 and takes the slot of 25, which A, lighter, loses: A stays counted "
         "in sum W with no epoch end; a fee at 26 activates A again and counts its weight "
         "twice (v0.6 §3.1-3.2)", short, TopicsState.initial([1200.0, 4800.0]),
         topic_blocks(38, fees={1: [1.0, 0.0], 13: [0.0, 1.0], 26: [1.0, 0.0]})),
        ("slot_push_out", "B, heavier, is rescheduled into the slot A took first: A is "
         "inactivated; later A's stake falls and a fee cannot activate it (v0.6 §3.1)", short,
         TopicsState.initial([1200.0, 4800.0]),
         topic_blocks(26, fees={1: [0.0, 1.0], 13: [1.0, 0.0], 20: [1.0, 0.0]},
                      stakes={19: [1.0, 1e4]})),
        ("treasury_shortfall", "the epoch end's block emission times L_t exceeds the "
         "treasury: the topic takes all of it; a block without emission pays at the last "
         "rate (v0.6 §3.2)", short, TopicsState.initial([1200.0]),
         topic_blocks(26, fees={1: [1.0]}, n=1,
                      emission={h: 100.0 for h in range(1, 13)} | {13: 1e4, 25: 0.0})),
        ("inactivation", "the stake falls below what MinTopicWeight needs: inactivated at "
         "its epoch end, unpaid, its weight out of sum W; a heavier fee activates it again "
         "(v0.6 §3.1)", short, TopicsState.initial([1200.0]),
         topic_blocks(42, fees={1: [1.0], 20: [1.0], 30: [1e6]}, n=1,
                      stakes={13: [1.0], 30: [100.0]})),
    ]


def stake_unit(params: Params) -> float:
    """The stakes of the scenarios of every profile are a few hundred units; a profile with a
    minimum reputer stake (the chain's 10000 uallo) counts them in that many units instead."""
    return params.required_minimum_stake or 1.0


def stakes_for(topic: Topic, params: Params) -> Topic:
    """``topic`` with its stakes (and delegated stakes) in the profile's stake unit."""
    unit = stake_unit(params)
    return dataclasses.replace(topic, stakes=tuple(unit * s for s in topic.stakes),
                               delegated=None if topic.delegated is None else
                               tuple(unit * d for d in topic.delegated))


def stakes_adjusted(adjust: Callable[[TopicState], TopicState] | None, params: Params
                    ) -> Callable[[TopicState], TopicState] | None:
    """``adjust`` with the stakes it sets in the profile's stake unit."""
    if adjust is None or stake_unit(params) == 1.0:
        return adjust

    def adjusted(state: TopicState) -> TopicState:
        after = adjust(state)
        if after.stakes is state.stakes:
            return after
        return dataclasses.replace(after, stakes=stake_unit(params) * after.stakes)
    return adjusted


def cases(profiles: tuple[str, ...] = SET_PROFILES) -> list[dict]:
    """Every case of the set, profile by profile, in a fixed order."""
    with quiet():
        return list(_cases(profiles))


def _cases(profiles: tuple[str, ...]) -> Iterator[dict]:
    for profile in profiles:
        params = load_profile(profile)
        chain = profile in CHAIN
        for spec in function_specs():
            if profile in spec.profiles:
                yield make_case(profile, "function", spec.function, spec.case,
                                spec.description,
                                dataclasses.replace(params, **spec.overrides or {}),
                                spec.inputs, spec.invalid)
        for case, description, topic, warmup, adjust in [
                (*scenario[:2], stakes_for(scenario[2], params), *scenario[3:4],
                 stakes_adjusted(scenario[4], params)) for scenario in epoch_scenarios()] + (
                chain_epoch_scenarios() if chain else []):
            state, inputs = warmed_up(topic, params, warmup, adjust)
            yield make_case(profile, "epoch", "step", case, description, params,
                            {"state": encode_state(state), "epoch": encode_inputs(inputs)})
        for case, description, inputs, parameters in invalid_epochs(params):
            yield make_case(profile, "epoch", "step", case, description, parameters or params,
                            inputs, invalid=True)
        for case, description, topic, epochs in [
                (case, description, stakes_for(topic, params), epochs)
                for case, description, topic, epochs in trace_scenarios()] + (
                chain_trace_scenarios() if chain else []):
            initial, inputs = simulate(topic, params, epochs)
            yield make_case(profile, "trace", "step", case, description, params,
                            {"state": encode_state(initial),
                             "epochs": [encode_inputs(x) for x in inputs]})
        for case, description, state, inputs, invalid in emission_scenarios(params):
            yield make_case(profile, "epoch", "emission_step", case, description, params,
                            {"state": state, "epoch": encode_emission_inputs(inputs)}, invalid)
        for case, description, parameters, state, inputs in topics_scenarios(params):
            yield make_case(profile, "trace", "topics_step", case, description, parameters,
                            {"state": encode_topics_state(state),
                             "epochs": [encode_topics_inputs(x) for x in inputs]})
        yield make_case(profile, "trace", "emission_step", "two_years",
                        "24 months from launch: the cliff, the unlocks and the smoothing",
                        params, {"state": encode_emission_state(
                            EmissionState.genesis(LAUNCH, params)),
                            "epochs": [encode_emission_inputs(x) for x in emission_months(24)]})

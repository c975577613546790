"""The kinds of vector, and the reference's answer to any case.

* ``function`` - one equation group, e.g. ``forecast_implied_inferences`` (eqs 3-8); the
  registry :data:`FUNCTIONS` maps each name to the spec functions it calls;
* ``epoch`` - one full step: previous state and inputs -> every output and the next state;
  the steps (:data:`STEPS`) are a topic's epoch (§3-4, :func:`allora_ref.spec.epoch.step`),
  a step of the token emission (§5.1, :func:`allora_ref.spec.token_emission.emission_step`)
  and a block of the network's topics (§5.2, :func:`allora_ref.spec.topic_rewards.topics_step`);
* ``trace`` - several consecutive steps from one state.

``vectors-format.md`` documents every kind's inputs and outputs. :func:`evaluate` is the
reference's answer to a case: what the generator records as expected, and what the example
adapter returns. A new equation group is one more :func:`function`, a new step one more
:data:`STEPS` entry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from allora_ref.params import Params
from allora_ref.spec.confidence_intervals import confidence_interval
from allora_ref.spec.epoch import Epoch, EpochInputs, TopicState, step, worker_fractions
from allora_ref.spec.inference_synthesis import (
    Submissions, SynthesisState, forecast_implied_inferences, forecasted_log_losses,
    log_losses, network_log_losses, normalised_regrets, potential, potential_gradient,
    regret_table_losses, regret_weights, row_families, squared_error, synthesise,
    topic_initial_regret, updated_regrets)
from allora_ref.spec.participant_rewards import (
    ActiveSets, consensus_at, listening_coefficients, reputer_reward_fractions, updated_stakes,
    worker_scores)
from allora_ref.spec.task_rewards import (
    class_entropy, class_rewards, effective_number, forecasting_score_ratio,
    forecasting_task_score, forecasting_utility, modified_fractions, normalisation_factor,
    participant_rewards, reputer_reward_split, smoothed_fractions)
from allora_ref.spec.token_emission import (
    Emission, EmissionInputs, EmissionState, Supply, annual_percentage_yield,
    capped_target_emission, emission_step, exponential_moving_average, maximum_emission,
    monthly_percentage_yield, recalibrated_alpha, stakers_fraction, target_emission,
    total_emission)
from allora_ref.spec.topic_rewards import (
    TopicsBlock, TopicsInputs, TopicsState, effective_fee_revenue, stored_weight_sum, takes_slot,
    target_topic_weight, topic_emission, topic_rewards, topic_weight, topic_weights, topics_step,
    validator_emission)
from allora_ref.vectors import decode_array, decode_number, encode


# --- reading inputs -------------------------------------------------------------------------

def array(inputs: dict, name: str, ndim: int) -> np.ndarray:
    """The input ``name`` as an array of ``ndim`` dimensions (ValueError naming it)."""
    if name not in inputs:
        raise ValueError(f"input {name} is missing")
    try:
        return decode_array(inputs[name], ndim)
    except ValueError as error:
        raise ValueError(f"input {name}: {error}") from None


def number(inputs: dict, name: str) -> float:
    """The input ``name`` as a float (null = NaN)."""
    if name not in inputs:
        raise ValueError(f"input {name} is missing")
    try:
        return decode_number(inputs[name])
    except ValueError as error:
        raise ValueError(f"input {name}: {error}") from None


def count(inputs: dict, name: str) -> int:
    """The input ``name`` as a non-negative integer."""
    value = inputs.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"input {name} must be a non-negative integer, got {value!r}")
    return value


# --- function kind --------------------------------------------------------------------------

@dataclass(frozen=True)
class Function:
    """One equation group as a function of named inputs to named outputs."""

    name: str
    sections: tuple[str, ...]
    equations: tuple[int, ...]
    run: Callable[[dict, Params], dict]


FUNCTIONS: dict[str, Function] = {}


def function(name: str, sections: tuple[str, ...], equations: tuple[int, ...]):
    """Register ``run(inputs, params) -> outputs`` as the function vector kind ``name``."""
    def register(run):
        FUNCTIONS[name] = Function(name, sections, equations, run)
        return run
    return register


def members_only(values: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``values`` where ``members``, NaN (absent) elsewhere."""
    return np.where(members, values, np.nan)


@function("potential", ("3.1",), (6,))
def _potential(inputs, params):
    return {"potential": potential(array(inputs, "x", 1), params.p, params.c)}


@function("potential_gradient", ("3.1",), (7,))
def _potential_gradient(inputs, params):
    return {"potential_gradient": potential_gradient(array(inputs, "x", 1), params.p, params.c)}


@function("forecasted_log_losses", ("3.1",), (2,))
def _forecasted_log_losses(inputs, params):
    return {"forecasted_log_losses": forecasted_log_losses(array(inputs, "forecasted_losses", 2),
                                                           params.log_base)}


@function("normalised_regrets", ("3.1",), (8, 11))
def _normalised_regrets(inputs, params):
    regrets = array(inputs, "regrets", 2)
    members = ~np.isnan(regrets)
    return {"normalised_regrets": members_only(
        normalised_regrets(np.where(members, regrets, 0.0), members, params), members)}


@function("regret_weights", ("3.1",), (5, 7, 8, 10, 11))
def _regret_weights(inputs, params):
    regrets = array(inputs, "regrets", 2)
    members = ~np.isnan(regrets)
    weights = regret_weights(np.where(members, regrets, 0.0), members, params)
    total = weights.sum(axis=1, keepdims=True)
    return {"weights": members_only(weights / np.where(total > 0, total, 1.0), members)}


def submissions(inputs: dict) -> Submissions:
    """Eqs 1-2: the inferences and forecasted log-losses of the inputs."""
    inferences = array(inputs, "inferences", 1)
    forecasts = array(inputs, "forecasted_log_losses", 2)
    if forecasts.size == 0:
        forecasts = forecasts.reshape(0, inferences.size)
    return Submissions(inferences, forecasts)


@function("forecast_implied_inferences", ("3.1",), (3, 4, 5, 6, 7, 8))
def _forecast_implied_inferences(inputs, params):
    submitted = submissions(inputs)
    return {"forecast_implied_inferences": forecast_implied_inferences(
        submitted.inferences, submitted.forecasted_log_losses,
        number(inputs, "previous_network_log_loss"), params)}


def synthesis_outputs(inferred) -> dict:
    """Eqs 3-12: every inference of the epoch."""
    return {"forecasted_regrets": inferred.forecasted_regrets,
            "forecast_implied_inferences": inferred.forecast_implied,
            "one_out_forecast_implied_inferences": inferred.one_out_forecast_implied,
            "network_inference": inferred.network, "naive_inference": inferred.naive,
            "one_out_inferences": inferred.one_out, "one_in_inferences": inferred.one_in}


@function("synthesise", ("3.1",), tuple(range(1, 13)))
def _synthesise(inputs, params):
    state = SynthesisState(number(inputs, "previous_network_log_loss"),
                           array(inputs, "regrets", 2))
    return synthesis_outputs(synthesise(state, submissions(inputs), params))


@function("log_losses", ("3.1",), (13,))
def _log_losses(inputs, params):
    return {"log_losses": log_losses(array(inputs, "inferences", 1), number(inputs, "truth"),
                                     squared_error, params.log_base)}


@function("network_log_losses", ("3.1",), (14,))
def _network_log_losses(inputs, params):
    return {"network_log_losses": network_log_losses(array(inputs, "stakes", 1),
                                                     array(inputs, "reported_log_losses", 2))}


@function("updated_regrets", ("3.1",), (15,))
def _updated_regrets(inputs, params):
    n_i, n_f = count(inputs, "n_inferers"), count(inputs, "n_forecasters")
    losses = array(inputs, "network_log_losses", 1)
    row_losses, worker_losses = regret_table_losses(losses, n_i, n_f)
    return {"regrets": updated_regrets(array(inputs, "regrets", 2), row_losses, worker_losses,
                                       row_families(n_i, n_f), params)}


@function("confidence_interval", ("3.2",), (16, 17, 18))
def _confidence_interval(inputs, params):
    return {"confidence_interval": confidence_interval(array(inputs, "inferences", 1),
                                                       array(inputs, "weights", 1), params)}


@function("worker_scores", ("4.1",), (21, 22, 23, 24, 25))
def _worker_scores(inputs, params):
    inferers, forecasters = worker_scores(
        array(inputs, "row_log_losses", 1), array(inputs, "row_exists", 1),
        count(inputs, "n_inferers"), count(inputs, "n_forecasters"),
        count(inputs, "active_forecasters"), params)
    return {"inferer_scores": inferers, "forecaster_scores": forecasters}


@function("inferer_reward_fractions", ("4.1",), (26, 28))
def _inferer_reward_fractions(inputs, params):
    return {"reward_fractions": worker_fractions(
        array(inputs, "scores", 1), array(inputs, "score_history", 2),
        params.reward_p_inference, params)}


@function("forecaster_reward_fractions", ("4.1",), (27, 28))
def _forecaster_reward_fractions(inputs, params):
    return {"reward_fractions": worker_fractions(
        array(inputs, "scores", 1), array(inputs, "score_history", 2),
        params.reward_p_forecast, params)}


@function("consensus", ("4.1",), (29, 30, 31, 32, 33))
def _consensus(inputs, params):
    outcome = consensus_at(array(inputs, "listening_coefficients", 1), array(inputs, "stakes", 1),
                           array(inputs, "reported_log_losses", 2), params)
    return {"adjusted_stakes": outcome.adjusted_stakes,
            "consensus_log_losses": outcome.consensus, "reputer_scores": outcome.scores,
            "total_score": float(outcome.total)}


@function("listening_coefficients", ("4.1",), (29, 31, 32, 33, 34))
def _listening_coefficients(inputs, params):
    final, scored = listening_coefficients(
        array(inputs, "listening_coefficients", 1), array(inputs, "stakes", 1),
        array(inputs, "reported_log_losses", 2), params)
    return {"listening_coefficients": final, "scoring_listening_coefficients": scored}


@function("reputer_reward_fractions", ("4.1",), (35,))
def _reputer_reward_fractions(inputs, params):
    return {"reward_fractions": reputer_reward_fractions(
        array(inputs, "stakes", 1), array(inputs, "reputer_scores", 1), params)}


@function("updated_stakes", ("4.1",), (36,))
def _updated_stakes(inputs, params):
    return {"stakes": updated_stakes(array(inputs, "stakes", 1),
                                     array(inputs, "reward_fractions", 1),
                                     number(inputs, "reputer_reward"))}


@function("reputer_reward_split", ("4.1", "4.2"), (36, 46))
def _reputer_reward_split(inputs, params):
    restaked, delegators = reputer_reward_split(
        array(inputs, "reputer_rewards", 1), array(inputs, "stakes", 1),
        array(inputs, "delegated_stakes", 1), params)
    return {"reputer_rewards": restaked, "delegator_rewards": delegators}


@function("topic_initial_regret", ("3.1",), (15,))
def _topic_initial_regret(inputs, params):
    return {"initial_regret": topic_initial_regret(
        array(inputs, "experienced_regrets", 1), number(inputs, "initial_regret"), params)}


@function("smoothed_fractions", ("4.2",), (39,))
def _smoothed_fractions(inputs, params):
    return {"smoothed_fractions": smoothed_fractions(
        array(inputs, "reward_fractions", 1), array(inputs, "previous_smoothed_fractions", 1),
        params)}


@function("modified_fractions", ("4.2",), (38,))
def _modified_fractions(inputs, params):
    smoothed = array(inputs, "smoothed_fractions", 1)
    return {"modified_fractions": modified_fractions(smoothed, ~np.isnan(smoothed))}


@function("effective_number", ("4.2",), (40,))
def _effective_number(inputs, params):
    return {"effective_number": effective_number(array(inputs, "modified_fractions", 1))}


@function("class_entropy", ("4.2",), (37, 40))
def _class_entropy(inputs, params):
    return {"entropy": class_entropy(array(inputs, "modified_fractions", 1),
                                     array(inputs, "smoothed_fractions", 1), params)}


@function("forecasting_score_ratio", ("4.2",), (42, 43))
def _forecasting_score_ratio(inputs, params):
    task_score = forecasting_task_score(number(inputs, "naive_log_loss"),
                                        number(inputs, "network_log_loss"))
    ratio, pinned = forecasting_score_ratio(task_score, array(inputs, "inferer_scores", 1),
                                            number(inputs, "previous_score_ratio"), params)
    return {"forecasting_task_score": task_score, "score_ratio": ratio, "utility_pinned": pinned}


@function("forecasting_utility", ("4.2",), (44,))
def _forecasting_utility(inputs, params):
    return {"forecasting_utility": forecasting_utility(number(inputs, "score_ratio"), params)}


@function("normalisation_factor", ("4.2",), (45,))
def _normalisation_factor(inputs, params):
    return {"gamma": normalisation_factor(number(inputs, "inference_entropy"),
                                          number(inputs, "forecasting_entropy"),
                                          number(inputs, "forecasting_utility"))}


@function("class_rewards", ("4.2",), (41, 45))
def _class_rewards(inputs, params):
    entropies = array(inputs, "entropies", 1)
    present = array(inputs, "present", 1)
    if entropies.shape != (3,) or present.shape != (3,) or present.dtype != bool:
        raise ValueError("inputs entropies and present (eq 41) must hold 3 numbers and 3 flags")
    return {"class_rewards": class_rewards(tuple(entropies), number(inputs, "forecasting_utility"),
                                           number(inputs, "topic_reward"), tuple(present))}


@function("participant_rewards", ("4.2",), (46,))
def _participant_rewards(inputs, params):
    return {"rewards": participant_rewards(array(inputs, "reward_fractions", 1),
                                           number(inputs, "class_reward"))}


@function("total_emission", ("5.1",), (47,))
def _total_emission(inputs, params):
    return {"total_emission": total_emission(array(inputs, "e", 1), array(inputs, "staked", 1),
                                             params.epochs_per_month)}


@function("target_emission", ("5.1",), (48,))
def _target_emission(inputs, params):
    return {"target_emission": target_emission(
        array(inputs, "treasury", 1), array(inputs, "circulating", 1), array(inputs, "staked", 1),
        params.total_supply, params.f_e)}


@function("stakers_fraction", ("5.1",), (49,))
def _stakers_fraction(inputs, params):
    return {"stakers_fraction": stakers_fraction(params.f_v, array(inputs, "reputer_fraction", 1))}


@function("percentage_yield", ("5.1",), (49, 50))
def _percentage_yield(inputs, params):
    monthly = monthly_percentage_yield(array(inputs, "stakers_fraction", 1),
                                       array(inputs, "e", 1))
    return {"monthly_percentage_yield": monthly,
            "annual_percentage_yield": annual_percentage_yield(monthly)}


@function("maximum_emission", ("5.1",), (50,))
def _maximum_emission(inputs, params):
    return {"maximum_emission": maximum_emission(params.xi_max,
                                                 array(inputs, "stakers_fraction", 1))}


@function("capped_target_emission", ("5.1",), (51,))
def _capped_target_emission(inputs, params):
    return {"capped_target_emission": capped_target_emission(array(inputs, "target", 1),
                                                             array(inputs, "maximum", 1))}


@function("smoothed_emission", ("5.1",), (52, 53))
def _smoothed_emission(inputs, params):
    alpha = recalibrated_alpha(params.alpha_e, params.epochs_per_month)
    return {"e": exponential_moving_average(
        array(inputs, "capped", 1), array(inputs, "previous", 1), alpha,
        array(inputs, "has_history", 1), params.ema_start)}


@function("recalibrated_alpha", ("5.1",), (53,))
def _recalibrated_alpha(inputs, params):
    return {"alpha": recalibrated_alpha(array(inputs, "alpha", 1),
                                        array(inputs, "steps_per_period", 1))}


@function("validator_emission", ("5.2",), (54,))
def _validator_emission(inputs, params):
    return {"validator_emission": validator_emission(
        number(inputs, "total"), array(inputs, "validator_stakes", 1), params.f_v)}


@function("topic_emission", ("5.2",), (55,))
def _topic_emission(inputs, params):
    weight_sum = number(inputs, "weight_sum")
    return {"topic_emission": topic_emission(
        number(inputs, "total"), array(inputs, "topic_weights", 1), params.f_v,
        None if np.isnan(weight_sum) else weight_sum)}


@function("topic_weights", ("5.2",), (53, 56))
def _topic_weights(inputs, params):
    return {"topic_weights": topic_weights(
        array(inputs, "target", 1), array(inputs, "previous", 1),
        array(inputs, "has_history", 1), params)}


@function("target_topic_weight", ("5.2",), (57,))
def _target_topic_weight(inputs, params):
    return {"target_topic_weight": target_topic_weight(
        array(inputs, "stake", 1), array(inputs, "fee_revenue", 1), params.mu, params.nu)}


@function("topic_weight", ("5.2",), (56, 57))
def _topic_weight(inputs, params):
    return {"topic_weight": topic_weight(
        array(inputs, "stake", 1), array(inputs, "fee_revenue", 1), array(inputs, "previous", 1),
        array(inputs, "has_history", 1), params)}


@function("topic_rewards", ("5.2",), (55,))
def _topic_rewards(inputs, params):
    return {"topic_rewards": topic_rewards(
        number(inputs, "emission"), array(inputs, "topic_weights", 1),
        number(inputs, "weight_sum"), number(inputs, "treasury"), params)}


@function("stored_weight_sum", ("5.2",), (55,))
def _stored_weight_sum(inputs, params):
    return {"weight_sum": stored_weight_sum(
        number(inputs, "weight_sum"), array(inputs, "topic_weights", 1),
        array(inputs, "previous", 1), params)}


@function("takes_slot", ("5.2",), (55,))
def _takes_slot(inputs, params):
    scheduled, pushed_out = takes_slot(number(inputs, "candidate"), array(inputs, "slot", 1),
                                       params)
    return {"scheduled": float(scheduled),
            "pushed_out": np.nan if pushed_out is None else float(pushed_out)}


@function("effective_fee_revenue", ("5.2",), (57,))
def _effective_fee_revenue(inputs, params):
    return {"effective_fee_revenue": effective_fee_revenue(
        array(inputs, "previous", 1), array(inputs, "fees", 1), params)}


# --- epoch and trace kinds ------------------------------------------------------------------

def encode_state(state: TopicState) -> dict:
    """The state a topic carries between epochs, by field; the chain's topic initial regret,
    inclusion counts, delegated stakes and active sets only where the topic has them."""
    inferers, forecasters, reputers = state.smoothed
    synthesis = state.synthesis
    chain = {"initial_regret": synthesis.initial_regret} if synthesis.initial_regret else {}
    if synthesis.inclusions is not None:
        chain["inclusions"] = synthesis.inclusions.astype(float)
    if state.delegated is not None:
        chain["delegated_stakes"] = state.delegated
    if state.active_sets is not None:
        sets = state.active_sets
        chain |= {f"{who}_score_emas": emas for who, emas in zip(
            ("inferer", "forecaster", "reputer"), sets.score_emas)} | {
            "quantile_scores": sets.quantile_scores, "lowest_ema_records": sets.lowest}
    return {"previous_network_log_loss": synthesis.previous_network_log_loss,
            "regrets": synthesis.regrets, "stakes": state.stakes,
            "listening_coefficients": state.listening,
            "inferer_score_history": state.inferer_score_history,
            "forecaster_score_history": state.forecaster_score_history,
            "inferer_smoothed_fractions": inferers, "forecaster_smoothed_fractions": forecasters,
            "reputer_smoothed_fractions": reputers, "score_ratio": state.score_ratio} | chain


def decode_state(fields: dict) -> TopicState:
    """:func:`encode_state` read back (the sizes come from the arrays)."""
    if not isinstance(fields, dict):
        raise ValueError("input state must be an object")
    def optional(name: str) -> np.ndarray | None:
        return array(fields, name, 1) if name in fields else None
    return TopicState(
        SynthesisState(number(fields, "previous_network_log_loss"), array(fields, "regrets", 2),
                       number(fields, "initial_regret") if "initial_regret" in fields else 0.0,
                       optional("inclusions")),
        array(fields, "stakes", 1), array(fields, "listening_coefficients", 1),
        array(fields, "inferer_score_history", 2), array(fields, "forecaster_score_history", 2),
        tuple(array(fields, f"{who}_smoothed_fractions", 1)
              for who in ("inferer", "forecaster", "reputer")),
        number(fields, "score_ratio"), optional("delegated_stakes"),
        ActiveSets(tuple(array(fields, f"{who}_score_emas", 1)
                         for who in ("inferer", "forecaster", "reputer")),
                   array(fields, "quantile_scores", 1), array(fields, "lowest_ema_records", 2))
        if "quantile_scores" in fields else None)


def encode_inputs(inputs: EpochInputs) -> dict:
    """What arrives in one epoch, by field."""
    return {"inferences": inputs.submissions.inferences,
            "forecasted_log_losses": inputs.submissions.forecasted_log_losses,
            "reported_log_losses": inputs.reported_log_losses,
            "topic_reward": float(inputs.topic_reward)}


def decode_inputs(fields: dict) -> EpochInputs:
    """:func:`encode_inputs` read back."""
    if not isinstance(fields, dict):
        raise ValueError("epoch inputs must be an object")
    return EpochInputs(submissions(fields), array(fields, "reported_log_losses", 2),
                       number(fields, "topic_reward"))


def encode_epoch(epoch: Epoch) -> dict:
    """Every output of one epoch, in the paper's order."""
    modified = epoch.modified_fractions
    return synthesis_outputs(epoch.inferences) | {
        "confidence_interval": epoch.confidence_interval,
        "network_log_losses": epoch.losses,
        "inferer_scores": epoch.inferer_scores, "forecaster_scores": epoch.forecaster_scores,
        "inferer_reward_fractions": epoch.inferer_fractions,
        "forecaster_reward_fractions": epoch.forecaster_fractions,
        "listening_coefficients": epoch.listening, "adjusted_stakes": epoch.adjusted_stakes,
        "reputer_scores": epoch.reputer_scores,
        "reputer_reward_fractions": epoch.reputer_fractions,
        "inferer_modified_fractions": modified[0], "forecaster_modified_fractions": modified[1],
        "reputer_modified_fractions": modified[2],
        "inference_entropy": epoch.entropies[0], "forecasting_entropy": epoch.entropies[1],
        "reputer_entropy": epoch.entropies[2],
        "forecasting_task_score": epoch.forecasting_task_score,
        "score_ratio": epoch.score_ratio, "forecasting_utility": epoch.forecasting_utility,
        "class_rewards": epoch.class_rewards, "inferer_rewards": epoch.inferer_rewards,
        "forecaster_rewards": epoch.forecaster_rewards,
        "reputer_rewards": epoch.reputer_rewards} | (
        {} if epoch.delegator_rewards is None else {"delegator_rewards": epoch.delegator_rewards})


def encode_emission_state(state: EmissionState) -> dict:
    """What the emission carries from step to step, by field."""
    supply = state.supply
    return {"treasury": supply.treasury, "circulating": supply.circulating,
            "staked": supply.staked, "locked": supply.locked, "e": state.e,
            "started": state.started, "stakers_fraction": state.stakers_fraction}


def decode_emission_state(fields: dict) -> EmissionState:
    """:func:`encode_emission_state` read back."""
    if not isinstance(fields, dict):
        raise ValueError("input state must be an object")
    if not isinstance(fields.get("started"), bool):
        raise ValueError("input started must be a flag")
    supply = Supply(*(number(fields, name)
                      for name in ("treasury", "circulating", "staked", "locked")))
    return EmissionState(supply, number(fields, "e"), fields["started"],
                         number(fields, "stakers_fraction"))


def encode_emission_inputs(inputs: EmissionInputs) -> dict:
    """The exogenous flows of one emission step, by field."""
    return {"unlock": inputs.unlock, "unlock_staked": inputs.unlock_staked, "fees": inputs.fees,
            "reputer_fraction": inputs.reputer_fraction}


def decode_emission_inputs(fields: dict) -> EmissionInputs:
    """:func:`encode_emission_inputs` read back."""
    if not isinstance(fields, dict):
        raise ValueError("step inputs must be an object")
    return EmissionInputs(*(number(fields, name) for name in
                            ("unlock", "unlock_staked", "fees", "reputer_fraction")))


def encode_emission(emission: Emission) -> dict:
    """Every output of one emission step (eqs 47-52)."""
    return {name: getattr(emission, name) for name in
            ("circulating", "staked", "target", "stakers_fraction", "maximum", "capped", "e",
             "total", "paid", "mpy", "apy")}


def encode_topics_state(state: TopicsState) -> dict:
    """What the network's topics carry from block to block, by field."""
    return {"block": state.block, "weights": state.weights, "fee_revenue": state.fee_revenue,
            "active": state.active, "epoch_ends": state.epoch_ends,
            "slot_weights": state.slot_weights, "weight_sum": state.weight_sum,
            "treasury": state.treasury, "emission": state.emission}


def decode_topics_state(fields: dict) -> TopicsState:
    """:func:`encode_topics_state` read back."""
    if not isinstance(fields, dict):
        raise ValueError("input state must be an object")
    active = array(fields, "active", 1)
    if active.dtype != bool:
        raise ValueError("input active must be a list of flags")
    return TopicsState(count(fields, "block"), array(fields, "weights", 1),
                       array(fields, "fee_revenue", 1), active,
                       array(fields, "epoch_ends", 1), array(fields, "slot_weights", 1),
                       number(fields, "weight_sum"), number(fields, "treasury"),
                       number(fields, "emission"))


def encode_topics_inputs(inputs: TopicsInputs) -> dict:
    """What happens to the topics in one block, by field (absent: the default)."""
    optional = {name: getattr(inputs, name) for name in ("fees", "touched", "reward_nonces")
                if getattr(inputs, name) is not None}
    return {"stakes": inputs.stakes, "emission": inputs.emission} | optional | (
        {"returned": inputs.returned} if inputs.returned else {})


def decode_topics_inputs(fields: dict) -> TopicsInputs:
    """:func:`encode_topics_inputs` read back."""
    if not isinstance(fields, dict):
        raise ValueError("block inputs must be an object")
    def optional(name: str) -> np.ndarray | None:
        return array(fields, name, 1) if name in fields else None
    return TopicsInputs(array(fields, "stakes", 1), number(fields, "emission"),
                        optional("fees"), optional("touched"), optional("reward_nonces"),
                        number(fields, "returned") if "returned" in fields else 0.0)


def encode_topics_block(block: TopicsBlock) -> dict:
    """Every output of one block of the network's topics (eqs 55-57)."""
    return {"weights": block.weights, "rewards": block.rewards,
            "weight_sum": block.weight_sum, "treasury": block.treasury,
            "active": block.active, "epoch_ends": block.epoch_ends}


@dataclass(frozen=True)
class Step:
    """A step function as the epoch and trace kinds: how its state, inputs and outputs read
    and write as fields."""

    name: str
    sections: tuple[str, ...]
    equations: tuple[int, ...]
    advance: Callable
    """(state, inputs, params) -> (outputs, next state)."""
    decode_state: Callable[[dict], object]
    decode_inputs: Callable[[dict], object]
    encode_outputs: Callable[[object], dict]
    encode_state: Callable[[object], dict]

    def epoch(self, inputs: dict, params: Params) -> dict:
        """The epoch kind: ``{state, epoch}`` -> ``{outputs, state}``."""
        outputs, after = self.advance(self.decode_state(inputs.get("state")),
                                      self.decode_inputs(inputs.get("epoch")), params)
        return {"outputs": self.encode_outputs(outputs), "state": self.encode_state(after)}

    def trace(self, inputs: dict, params: Params) -> dict:
        """The trace kind: ``{state, epochs: [...]}`` -> ``{epochs: [{outputs}], state}``."""
        state = self.decode_state(inputs.get("state"))
        if not isinstance(inputs.get("epochs"), list) or not inputs["epochs"]:
            raise ValueError("input epochs must be a non-empty list")
        epochs = []
        for fields in inputs["epochs"]:
            outputs, state = self.advance(state, self.decode_inputs(fields), params)
            epochs.append({"outputs": self.encode_outputs(outputs)})
        return {"epochs": epochs, "state": self.encode_state(state)}


#: The step functions of the epoch and trace kinds, by name.
STEPS = {step_.name: step_ for step_ in (
    Step("step", ("3.1", "3.2", "4.1", "4.2"), tuple(range(1, 19)) + tuple(range(21, 47)),
         step, decode_state, decode_inputs, encode_epoch, encode_state),
    Step("emission_step", ("5.1",), tuple(range(47, 54)), emission_step,
         decode_emission_state, decode_emission_inputs, encode_emission,
         encode_emission_state),
    Step("topics_step", ("5.2",), (55, 56, 57), topics_step, decode_topics_state,
         decode_topics_inputs, encode_topics_block, encode_topics_state))}


def evaluate(manifest: dict, inputs: dict, params: Params) -> dict:
    """The reference's outputs for a case (JSON values); ValueError if the inputs are invalid."""
    kind, name = manifest.get("kind"), manifest.get("function")
    if kind == "function" and name in FUNCTIONS:
        run = FUNCTIONS[name].run
    elif kind in ("epoch", "trace") and name in STEPS:
        run = STEPS[name].trace if kind == "trace" else STEPS[name].epoch
    else:
        raise ValueError(f"unknown {kind} {name!r}")
    with quiet():
        return encode(run(inputs, params))


@contextmanager
def quiet():
    """No floating-point warnings: absent values (NaN) are part of the data, never an error."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield

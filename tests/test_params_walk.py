"""Every ``Params`` field changes the output of the equation it belongs to.

A hard-coded constant in the spec passes every test that runs at the preset's value; this walk
changes one field at a time and requires the output of the field's equation to change. Each field
registers here with a probe (the equation's output as a function of the parameters, on inputs
chosen so that the field bites) and the profile it is probed from - or with the reason why no
output can show it. A field of ``Params`` that is in neither table fails the walk.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest
from shared import one_inferer_epoch, silencing_case

from allora_ref.params import Params, check_ranges, load_profile
from allora_ref.spec import inference_synthesis as synthesis
from allora_ref.spec import participant_rewards as rewards
from allora_ref.spec import task_rewards as tasks
from allora_ref.spec import token_emission as emission
from allora_ref.spec import topic_rewards as topics
from allora_ref.spec.confidence_intervals import confidence_interval
from allora_ref.spec import epoch as epoch_module
from allora_ref.spec.epoch import EpochInputs, TopicState, step

RNG = np.random.default_rng(11)


# --- probes: the output of one equation, on inputs where the fields in question bite -----------

def regret_weights(params):
    """Eqs 5-8, 10 with the guard rails: rows whose normalised regrets all exceed the cap, lie
    below the shift point, contain one far below the cut-off, a generic row, and one above the
    cap among zeros."""
    rows = np.zeros((5, 41))
    members = np.zeros((5, 41), bool)
    rows[0, :3], members[0, :3] = 100 + 0.001 * np.arange(3), True        # above the cap
    rows[1, :3], members[1, :3] = -100 - 0.001 * np.arange(3), True       # shifted up
    rows[2, 40], members[2] = -1.0, True                                  # one cut off
    rows[3, :5], members[3, :5] = RNG_ROW, True
    rows[4, 40], members[4] = 1.0, True                                   # one capped
    return synthesis.regret_weights(rows, members, params)


RNG_ROW = RNG.normal(0, 0.2, 5)


def initial_and_updated_regrets(params):
    """Eq 15 with workers that have no regret yet."""
    previous = np.array([[0.2, -0.1, np.nan, 0.4, np.nan]])
    return synthesis.updated_regrets(previous, np.array([-2.0]),
                                     np.array([[-2.1, -1.9, -2.2, -1.95, -2.05]]),
                                     np.ones((1, 5), bool), params)


def cold_start_inferences(params):
    """Eqs 3, 9 before the first loss report: forecast-implied inferences and combined rows."""
    forecast_implied = synthesis.forecast_implied_inferences(
        np.array([0.0, 1.0, 5.0]), np.full((1, 3), -2.0), np.nan, params)
    combined, _ = synthesis.combined_inferences(
        np.array([[0.0, 1.0, 5.0, 4.0]]), np.full((1, 4), np.nan), np.ones((1, 4), bool), 3,
        True, params)
    return np.concatenate([forecast_implied, combined])


def forecasted_log_losses(params):
    """Eq 2 (the field is passed as the logarithm's base)."""
    return synthesis.forecasted_log_losses(np.array([[0.5, 2.0]]), params.log_base)


def interval(params):
    """Eqs 16-18 at the profile's percentiles, with percentiles outside [C_1, C_N]."""
    return confidence_interval(np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0]), params)


def scores(params):
    """Eqs 21-25: a lone forecaster and the one-in share of three."""
    losses = np.array([-2.0, -1.8, -1.9, -2.1, -1.95, -1.85])   # net, naive, one-out x3, one-in
    _, lone = rewards.worker_scores(losses, np.ones(6, bool), 2, 1, 1, params)
    return np.append(lone, rewards.one_in_fraction(3, params))


def mapped_scores(params):
    """Eq 28: a window wider than ten samples, and scores spread less than epsilon."""
    history = np.array([[0.3, -0.2, 0.1], [0.5, 0.0, -0.4], [0.2, 0.2, 0.25], [0.9, -0.9, 0.0]])
    window = rewards.score_window(history, params)
    spread = rewards.mapped_scores(np.array([0.001, 0.002]), np.array([0.001, 0.002]), 3.0, 0.75,
                                   params)
    return np.concatenate([rewards.mapped_scores(history[0], window, 3.0, 0.75, params), spread])


def consensus(params):
    """Eqs 29-33 and 35 on the silencing case with one missing report, a consensus near 0 and
    the loss-vector layout of eq 30."""
    reported, stakes = silencing_case()
    reported = reported.copy()
    reported[0, 0] = np.nan
    outcome = rewards.consensus_at(np.full(6, 0.8), stakes, reported, params)
    tiny = rewards.consensus_scores(np.array([[1e-9, 0.0], [0.0, 1e-9]]), np.array([0.0, 0.0]),
                                    params)
    fractions = rewards.reputer_reward_fractions(stakes, outcome.scores, params)
    entries = rewards.consensus_entries(2, 2, params)
    return np.concatenate([outcome.scores, tiny, fractions, entries])


def listening(params):
    """Eq 34: the gradient, and the ascent from a listened stake of 0.73 that it lowers."""
    reported, stakes = silencing_case()
    gradient = rewards.listening_gradient(np.array([1.0, 1, 1, 0.6, 0.6, 0.6]), stakes, reported,
                                          params)
    start = np.array([1.0, 1, 1, 0.6, 0.6, 0.6])                    # listened stake 0.73
    final, scored = rewards.listening_coefficients(start, stakes, reported, params)
    return np.concatenate([gradient, final, scored])


def smoothing(params):
    """Eqs 37-40: smoothed fractions (one newcomer), entropies (one of them a lone class)."""
    current = np.array([0.5, 0.3, 0.2])
    smoothed = tasks.smoothed_fractions(current, np.array([0.3, 0.6, np.nan]), params)
    f = tasks.modified_fractions(smoothed, np.ones(3, bool))
    lone = tasks.modified_entropy(np.array([1.0]), 1.0, params)
    return np.concatenate([smoothed, [tasks.class_entropy(f, smoothed, params), lone]])


def utility(params):
    """Eqs 43-44: tau with the best inferer score negative and zero, chi over tau."""
    ratio_negative, _ = tasks.forecasting_score_ratio(0.1, np.array([-0.2, -0.3]), 0.4, params)
    ratio_zero, _ = tasks.forecasting_score_ratio(0.1, np.array([0.0, -0.3]), 0.4, params)
    return [ratio_negative, ratio_zero] + [tasks.forecasting_utility(t, params)
                                           for t in (-1.0, 0.5, 2.0)]


def epochs(params):
    """§3-4 through ``step``: two epochs of two inferers and two forecasters, and one epoch of a
    lone inferer with two forecasters."""
    subs = synthesis.Submissions([0.3, -0.1], [[-2.1, -1.9], [-1.8, -2.2]])
    state = TopicState.initial(2, 2, [1.0, 2.0], params)
    out = []
    for seed in (1, 2):
        reports = (-2.0 + np.random.default_rng(seed).normal(
            0, 0.05, (2, synthesis.loss_vector_size(2, 2))))[:, synthesis.reported_entries(
                2, 2, params)]
        epoch, state = step(state, EpochInputs(subs, reports, 100.0), params)
        out += [epoch.inferer_fractions, epoch.forecaster_fractions, epoch.class_rewards]
    out += list(state.smoothed)
    return np.concatenate(out + [one_inferer_epoch(params).class_rewards])


def emissions(params):
    """Eqs 47-53 over three steps: an unlock, fees, the measured stakers' fraction, a capped and
    an uncapped month."""
    supply = emission.Supply(359.5e6, 155e6, 47e6, 485.5e6)
    state = emission.EmissionState.genesis(supply, params)
    out = []
    for unlock, fees in ((0.0, 1e6), (50e6, 2e6), (10e6, 0.0)):
        step_out, state = emission.emission_step(
            state, emission.EmissionInputs(unlock, 0.5 * unlock, fees, 0.2), params)
        out += [step_out.target, step_out.maximum, step_out.e, step_out.total,
                step_out.stakers_fraction, state.supply.treasury]
        state = dataclasses.replace(state, supply=dataclasses.replace(
            state.supply, staked=0.3 * state.supply.circulating))
    return out


def topic_weighting(params):
    """Eqs 56-57: topic weights of an old topic, target weights, effective fee revenue."""
    weights = topics.topic_weights([2.0, 5.0], [4.0, 1.0], [True, True], params)
    target = topics.target_topic_weight([4.0, 16.0], [9.0, 1.0], params.mu, params.nu)
    revenue = topics.effective_fee_revenue([10.0], [3.0],
                                           dataclasses.replace(params, epochs_per_month=30.0)
                                           if params.epochs_per_month == 1.0 else params)
    return np.concatenate([weights, target, revenue])


def chain_topics(params):
    """Eqs 55-57 at the chain's cadence: a topic weight with and without fees, the decayed fee
    revenue, the topics' rewards paid from a full and from a short treasury, and in a block
    that pays both."""
    weight = topics.topic_weight([4.0, 16.0], [9.5e6, 0.0], [4.0, 1.0], [True, True], params)
    revenue = topics.effective_fee_revenue([1e6 + 0.5], [3.0], params)
    paid = topics.topic_rewards(1e3 + 0.5, [120.0, 300.0], None, 1e9, params)
    short = topics.topic_rewards(1e3 + 0.5, [120.0, 300.0], None, 10.0, params)
    both = topics.topic_rewards(1e3 + 0.5, [120.0, 300.0], None, 1e9,
                                dataclasses.replace(params, max_active_topics_per_block=2))
    return np.concatenate([weight, revenue, paid, short, both])


def topics_reactivated(params):
    """Eq 55's Sigma W over blocks (chain/v0.6.md §3.2): a topic loses its slot, then a fee
    activates it again."""
    params = dataclasses.replace(params, epoch_length=12.0)
    state, sums = topics.TopicsState.initial([1200.0, 4800.0]), []
    for block in range(1, 27):
        fees = {1: [1.0, 0.0], 13: [0.0, 1.0], 26: [1.0, 0.0]}.get(block, [0.0, 0.0])
        record, state = topics.topics_step(state, topics.TopicsInputs(
            np.array([1e4, 1e4]), 1000.0, np.array(fees)), params)
        sums.append(record.weight_sum)
    return np.array(sums)


def reputer_payments(params):
    """Eqs 35, 36, 46: a reputer's reward split with its delegators, and eq 35 at zero stakes."""
    restaked, delegators = tasks.reputer_reward_split(np.array([10.5, 20.25]), np.array([4.0, 8.0]),
                                                      np.array([1.0, 2.0]), params)
    try:
        zero = rewards.reputer_reward_fractions(np.zeros(2), np.ones(2), params)
    except ValueError:
        zero = np.array([-1.0, -1.0])                   # "undefined": the paper's 0/0
    return np.concatenate([restaked, delegators if delegators is not None else [-1.0], zero])


def unscored_epoch(params):
    """Eqs 41, 46 in an epoch none of whose one-out losses was reported: no inferer score."""
    subs = synthesis.Submissions([0.3, -0.1], [[-2.1, -1.9], [-1.8, -2.2]])
    vector = -2.0 + np.random.default_rng(5).normal(0, 0.05, synthesis.loss_vector_size(2, 2))
    vector[2 + 4 + 4: 2 + 4 + 4 + 4] = np.nan                   # one-out rows (DEVIATIONS §2)
    reports = np.tile(vector, (2, 1))[:, synthesis.reported_entries(2, 2, params)]
    epoch, _ = step(TopicState.initial(2, 2, [1e4, 2e4], params),      # >= the chain's minimum
                    EpochInputs(subs, reports, 100.0), params)
    return epoch.class_rewards


def secondary_inferences(params):
    """Eqs 9-11: the secondary rows of an epoch with regrets, and the layout of eq 13."""
    state = synthesis.SynthesisState(-2.0, np.array([[0.0, 1.0], [0.5, -0.5], [0.2, 0.3],
                                                     [0.4, 0.1]]))
    inferred = synthesis.synthesise(state, synthesis.Submissions([1.0, 3.0], np.empty((0, 2))),
                                    params)
    return np.concatenate([inferred.combined, synthesis.reported_entries(2, 2, params)])


def ranges(params):
    """The profile's declared ranges (presets/ranges.toml): a value outside them is rejected."""
    try:
        check_ranges(dataclasses.replace(params, p=5.0))         # PNorm: [2.5, 4.5]
        return [1.0]
    except ValueError:
        return [0.0]


def active_sets(params):
    """Chain v0.6 §5-7: the score window of 12 scores in one epoch, admissions into full active
    sets (40 inferers, 8 forecasters, 8 reputers), the EMAs and topic quantiles after scoring, a
    forecast of 14 inferers, and reputers around the minimum stake."""
    rng = np.random.default_rng(17)
    window = rewards.score_window(np.arange(12.0)[None, :], params)
    sizes = (40, 8, 8)
    sets = rewards.ActiveSets(tuple(rng.normal(0, 1, n) for n in sizes), np.array([0.3] * 3),
                              np.full((3, 2), np.nan))
    members, after = rewards.admissions(sets, {task: np.ones(n, bool)
                                               for task, n in enumerate(sizes)}, params)
    scored = rewards.scored_active_sets(after, tuple(rng.normal(0, 1, n) for n in sizes), params)
    kept = rewards.kept_forecast_elements(np.ones((1, 14)), rng.normal(0, 1, 14), params)
    reports, _ = epoch_module.active_reports(sets, np.array([12e3, 9e3, 2e4] + [3e4] * 5),
                                             np.ones((8, 3)), params)
    return np.concatenate([window, *members.values(), *after.score_emas, *scored.score_emas,
                           scored.quantile_scores, kept.ravel(), reports.ravel()])


#: field -> (probe, profile it is probed from, changed value; None: the default change).
PROBES = {
    "p": (regret_weights, "allora-simulator", None),
    "c": (regret_weights, "allora-simulator", None),
    "epsilon": (regret_weights, "allora-simulator", None),
    "alpha_regret": (initial_and_updated_regrets, "allora-simulator", None),
    "log_base": (forecasted_log_losses, "whitepaper", None),
    "sigma_ddof": (regret_weights, "allora-simulator", 0),
    "regret_guard_rails": (regret_weights, "allora-simulator", None),
    "regret_cap": (regret_weights, "allora-simulator", None),
    "regret_shift": (regret_weights, "allora-simulator", None),
    "regret_cutoff": (regret_weights, "allora-simulator", None),
    "cold_start": (cold_start_inferences, "whitepaper", None),
    "initial_regret": (initial_and_updated_regrets, "whitepaper", None),
    "initial_regret_quantile": (initial_and_updated_regrets, "allora-simulator", None),
    "initial_regret_offset": (initial_and_updated_regrets, "allora-simulator", None),
    "ci_percentiles": (interval, "whitepaper", (1.0, 50.0)),
    "ci_ends": (interval, "whitepaper", None),
    "one_in_share": (scores, "whitepaper", None),
    "lone_forecaster_scores_zero": (scores, "whitepaper", None),
    "reward_p_inference": (epochs, "whitepaper", None),
    "reward_p_forecast": (epochs, "whitepaper", None),
    "reward_c": (epochs, "whitepaper", None),
    "score_window": (mapped_scores, "allora-simulator", None),
    "score_window_unit": (mapped_scores, "allora-simulator", None),
    "equal_split_below_epsilon": (mapped_scores, "allora-simulator", None),
    "consensus_with_one_out_forecast_implied": (consensus, "whitepaper", None),
    "missing_loss_fill": (consensus, "whitepaper", None),
    "consensus_norm_floor": (consensus, "whitepaper", None),
    "reputer_epsilon": (consensus, "whitepaper", None),
    "listening_gradient": (listening, "whitepaper", None),
    "listening_step": (listening, "allora-simulator", None),
    "listening_learning_rate": (listening, "whitepaper", None),
    "listening_max_iterations": (listening, "whitepaper", 3),
    "listening_gradient_threshold": (listening, "whitepaper", 0.5),
    "listened_stake_floor": (listening, "whitepaper", 0.8),
    "listening_scores_from": (listening, "whitepaper", None),
    "reputer_reward_p": (consensus, "whitepaper", None),
    "alpha_task": (smoothing, "whitepaper", None),
    "beta_entropy": (smoothing, "whitepaper", None),
    "smoothing_start": (smoothing, "whitepaper", None),
    "smoothed_state": (epochs, "whitepaper", None),
    "effective_number_from": (smoothing, "allora-simulator", None),
    "lone_participant_entropy": (smoothing, "allora-simulator", None),
    "forecasting_needs_two_inferers": (epochs, "whitepaper", None),
    "score_ratio_rule": (utility, "whitepaper", None),
    "chi_min": (utility, "whitepaper", None),
    "chi_max": (utility, "whitepaper", None),
    "total_supply": (emissions, "whitepaper", None),
    "f_e": (emissions, "whitepaper", None),
    "xi_max": (emissions, "whitepaper", None),
    "f_stakers_rule": (emissions, "whitepaper", None),
    "f_stakers": (emissions, "allora-simulator", None),
    "unlock_timing": (emissions, "whitepaper", None),
    "alpha_e": (emissions, "whitepaper", None),
    "epochs_per_month": (emissions, "whitepaper", None),
    "ema_start": (emissions, "whitepaper", None),
    "fees_to_treasury": (emissions, "whitepaper", None),
    "f_v": (emissions, "whitepaper", None),
    "alpha_t": (topic_weighting, "whitepaper", None),
    "weeks_per_month": (topic_weighting, "whitepaper", None),
    "mu": (topic_weighting, "whitepaper", None),
    "nu": (topic_weighting, "whitepaper", None),
    "secondary_weights": (secondary_inferences, "whitepaper", None),
    "loss_vector_layout": (secondary_inferences, "whitepaper", None),
    "reputer_fraction_zero_total": (reputer_payments, "chain-v0.6", None),
    "delegator_reward_split": (reputer_payments, "chain-v0.6", None),
    "token_amount_rounding": (reputer_payments, "chain-v0.6", None),
    "distribution_needs_inferer_scores": (unscored_epoch, "chain-v0.6", None),
    "topic_weight_cadence": (chain_topics, "chain-v0.6", None),
    "topic_weight_fee_per_block": (chain_topics, "chain-v0.6", None),
    "topic_weight_zero_fee_is_zero": (chain_topics, "chain-v0.6", None),
    "fee_revenue_integer": (chain_topics, "chain-v0.6", None),
    "blocks_per_month": (chain_topics, "chain-v0.6", None),
    "epoch_length": (chain_topics, "chain-v0.6", None),
    "topic_reward_accrual": (chain_topics, "chain-v0.6", None),
    "treasury_shortfall_rule": (chain_topics, "chain-v0.6", None),
    "min_topic_weight": (chain_topics, "chain-v0.6", None),
    "max_active_topics_per_block": (chain_topics, "chain-v0.6", None),
    "double_count_reactivation": (topics_reactivated, "chain-v0.6", None),
    "emission_decimals": (emissions, "chain-v0.6", 2),
    "validation": (ranges, "chain-v0.6", None),
    "score_samples_per_block_cap": (active_sets, "chain-v0.6", None),
    "max_top_inferers": (active_sets, "chain-v0.6", None),
    "max_top_forecasters": (active_sets, "chain-v0.6", None),
    "max_top_reputers": (active_sets, "chain-v0.6", None),
    "merit_sortition_alpha": (active_sets, "chain-v0.6", None),
    "active_inferer_quantile": (active_sets, "chain-v0.6", None),
    "active_forecaster_quantile": (active_sets, "chain-v0.6", None),
    "active_reputer_quantile": (active_sets, "chain-v0.6", None),
    "max_elements_per_forecast": (active_sets, "chain-v0.6", None),
    "required_minimum_stake": (active_sets, "chain-v0.6", None),
}

#: field -> why no output of the spec can show a change of it.
NO_PROBE: dict[str, str] = {}


def changed(params: Params, name: str):
    """The default change of a field: another allowed value, the negation, +1, or x 1.5."""
    value = getattr(params, name)
    hint = typing.get_type_hints(Params)[name]
    if typing.get_origin(hint) is typing.Literal:
        return next(v for v in typing.get_args(hint) if v != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return 1.5 * value if value else 0.5


def same(a, b) -> bool:
    return np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True)


def test_every_field_has_a_probe_or_a_reason():
    """New fields register here: a probe in PROBES, or the reason in NO_PROBE."""
    fields = {f.name for f in dataclasses.fields(Params)}
    unregistered = sorted(fields - PROBES.keys() - NO_PROBE.keys())
    stale = sorted((PROBES.keys() | NO_PROBE.keys()) - fields)
    both = sorted(PROBES.keys() & NO_PROBE.keys())
    assert not unregistered, f"Params fields with neither a probe nor a reason: {unregistered}"
    assert not stale, f"registered names that are not Params fields: {stale}"
    assert not both, f"fields with both a probe and a reason: {both}"


@pytest.mark.parametrize("name", sorted(PROBES))
def test_changing_the_field_changes_its_equation(name):
    probe, profile, value = PROBES[name]
    base = load_profile(profile)
    value = changed(base, name) if value is None else value
    assert value != getattr(base, name)
    before = probe(base)
    after = probe(dataclasses.replace(base, **{name: value}))
    assert not same(before, after), (
        f"{name}: {getattr(base, name)!r} -> {value!r} left {probe.__name__} unchanged")
    assert same(before, probe(base)), f"{probe.__name__} is not deterministic"

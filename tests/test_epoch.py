"""One epoch through ``step`` (§3 + §4): edge cases the golden data never reaches, each asserting
the documented decision, and properties over generated epochs.

The reputers' reports are either built by hand (then eq 14 makes the network losses equal to
them, and every score is a hand-computable difference) or the squared-error losses of eq 13 plus
noise. Expected values come from the paper's formulas, never from the code under test.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import examples, silencing_case

from allora_ref.params import load_profile
from allora_ref.spec import inference_synthesis as synthesis
from allora_ref.spec.epoch import EpochInputs, TopicState, step

WHITEPAPER = load_profile("whitepaper")
SIMULATOR = load_profile("allora-simulator")
PROFILES = [WHITEPAPER, SIMULATOR]
IDS = ["whitepaper", "simulator"]
LONE = 0.173286795139986            # DEVIATIONS §3: EntropyForSingleParticipant
E = 100.0                           # the topic reward of every epoch


def phi(x: float, p: float = 3.0, c: float = 0.75) -> float:
    """Eq 6, from its definition."""
    return math.log1p(math.exp(p * (x - c)))


# --- building epochs --------------------------------------------------------------------------

def loss_vector(n_i: int, n_f: int, network=-2.0, naive=None, one_out=(), one_in=(),
                fill=-2.0) -> np.ndarray:
    """A loss vector in eq 12 order: network, naive, inferers, forecast-implied, one-out
    forecast-implied (per forecaster, per inferer), one-out (inferers, then forecasters),
    one-in."""
    n_l = n_i + n_f
    vector = np.full(synthesis.loss_vector_size(n_i, n_f), fill)
    vector[0] = network
    vector[1] = network if naive is None else naive
    start = 2 + n_l + n_f * n_i
    vector[start: start + len(one_out)] = one_out
    vector[start + n_l: start + n_l + len(one_in)] = one_in
    return vector


def submissions(n_i: int, n_f: int, seed: int = 0) -> synthesis.Submissions:
    rng = np.random.default_rng(seed)
    return synthesis.Submissions(rng.normal(size=n_i), rng.normal(-2, 0.3, size=(n_f, n_i)))


def run(params, reports, stakes, n_i: int, n_f: int, state=None, subs=None):
    """One step on hand-made reports (loss vectors, reduced to the profile's eq 13 layout)."""
    reports = np.atleast_2d(np.asarray(reports, dtype=float))
    reports = reports[:, synthesis.reported_entries(n_i, n_f, params)]
    if state is None:
        state = TopicState.initial(n_i, n_f, stakes, params)
    subs = subs if subs is not None else submissions(n_i, n_f)
    return step(state, EpochInputs(subs, reports, E), params)


def measured_reports(state, subs, truth, params, stakes_count, rng, noise=0.02):
    """Every reputer's log10 squared error of every inference that exists (NaN otherwise)."""
    inferred = synthesis.synthesise(state.synthesis, subs, params)
    vector = synthesis.all_inferences(inferred.combined, inferred.forecast_implied,
                                      inferred.one_out_forecast_implied, subs.inferences)
    exact = synthesis.log_losses(vector, truth, synthesis.squared_error, params.log_base)
    exact = exact[synthesis.reported_entries(subs.n_inferers, subs.n_forecasters, params)]
    return exact[None, :] + rng.normal(0, noise, size=(stakes_count, exact.size))


def simulate(params, n_i, n_f, stakes, epochs, seed=0, present=None):
    """A run of ``epochs`` epochs; ``present(e)`` says which inferers submit in epoch e."""
    rng = np.random.default_rng(seed)
    state = TopicState.initial(n_i, n_f, stakes, params)
    history = []
    for e in range(epochs):
        truth = rng.normal()
        inferences = truth + rng.normal(0, 0.3, n_i)
        if present is not None:
            inferences = np.where(present(e), inferences, np.nan)
        subs = synthesis.Submissions(inferences, rng.normal(-1.5, 0.3, size=(n_f, n_i)))
        reports = measured_reports(state, subs, truth, params, len(stakes), rng)
        epoch, next_state = step(state, EpochInputs(subs, reports, E), params)
        history.append((state, epoch, next_state))
        state = next_state
    return history


def paid(epoch) -> float:
    return float(epoch.inferer_rewards.sum() + epoch.forecaster_rewards.sum()
                 + epoch.reputer_rewards.sum())


# --- a single participant in a class ---------------------------------------------------------

@pytest.mark.eq(21, 26, 37)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_single_inferer(params):
    """Its one-out inference does not exist: T_ij = 0 (deployed, DEVIATIONS §2), it takes the
    whole inference share (u = 1), and its class entropy is the lone-participant value (0 in
    the paper)."""
    reports = np.tile(loss_vector(1, 0, one_out=[np.nan]), (2, 1))
    epoch, _ = run(params, reports, [1.0, 1.0], 1, 0)
    assert epoch.inferer_scores.tolist() == [0.0]
    assert epoch.inferer_fractions.tolist() == [1.0]
    assert epoch.entropies[0] == params.lone_participant_entropy
    assert epoch.inferer_rewards[0] == epoch.class_rewards[0]
    assert paid(epoch) == pytest.approx(E, rel=1e-12)


@pytest.mark.eq(32, 37, 41)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_single_inferer_reputers_are_still_scored_and_paid(params):
    """With identical reports the reputers are at the consensus: T_im = 1/epsilon_r, w ~ S.
    Paper: F = 0 (one inferer), G = 0, so W = E; deployed: W = E H/(0.1733 + H)."""
    reports = np.tile(loss_vector(1, 0, one_out=[np.nan]), (2, 1))
    epoch, next_state = run(params, reports, [1.0, 3.0], 1, 0)
    np.testing.assert_allclose(epoch.reputer_scores, [100.0, 100.0], rtol=1e-12)
    np.testing.assert_allclose(epoch.reputer_fractions, [0.25, 0.75], rtol=1e-12)
    assert np.isfinite(next_state.listening).all()
    h = epoch.entropies[2]
    assert h > 0
    expected = E if params.lone_participant_entropy == 0 else E * h / (LONE + h)
    assert epoch.class_rewards[2] == pytest.approx(expected, rel=1e-12)


# N_i = 3, N_f = 1: net, naive, 3 inferers, 1 forecast-implied, 3 one-out forecast-implied,
# one-out of inferers 0-2 and of the forecaster, one-in of the forecaster (14 entries)
def three_and_one(naive=-1.8, one_out=(-1.9, -2.05, -2.0, -1.9), one_in=(-1.95,)):
    return loss_vector(3, 1, naive=naive, one_out=one_out, one_in=one_in)


@pytest.mark.eq(22, 25, 27, 37)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_single_forecaster(params):
    """Paper: T = (1 - 1/2) T^- + 1/2 T^+ = 0.5 * 0.1 + 0.5 * 0.15; deployed: 0. Either way it
    takes the whole forecasting share; with entropy 0 (paper) that share is V_i = 0."""
    epoch, _ = run(params, np.tile(three_and_one(), (2, 1)), [1.0, 1.0], 3, 1)
    np.testing.assert_allclose(epoch.inferer_scores, [0.1, -0.05, 0.0], atol=1e-15)
    expected = 0.0 if params.lone_forecaster_scores_zero else 0.125
    assert epoch.forecaster_scores[0] == pytest.approx(expected, abs=1e-15)
    assert epoch.forecaster_fractions.tolist() == [1.0]
    assert epoch.entropies[1] == params.lone_participant_entropy
    if params.lone_participant_entropy == 0:
        assert epoch.class_rewards[1] == 0.0 and epoch.forecaster_rewards[0] == 0.0
    else:
        assert epoch.forecaster_rewards[0] == epoch.class_rewards[1] > 0
    assert paid(epoch) == pytest.approx(E, rel=1e-12)


# N_i = 3, N_f = 0: net, naive, 3 inferers, 3 one-out (8 entries)
def three_inferers(one_out=(-1.9, -2.05, -2.0), network=-2.0):
    vector = loss_vector(3, 0, network=network, one_out=one_out)
    vector[2:5] = [-2.1, -1.9, -2.0]
    return vector


@pytest.mark.eq(29, 31, 32, 34, 35, 36, 37)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_single_reputer(params):
    """A lone reputer is the consensus: S_hat = 1, T = 1/epsilon_r, w = 1, a stays 1; its class
    entropy is the lone value, so it is paid nothing in the paper."""
    epoch, next_state = run(params, three_inferers(), [5.0], 3, 0)
    assert epoch.adjusted_stakes.tolist() == [1.0]
    assert epoch.reputer_scores[0] == pytest.approx(100.0, rel=1e-12)
    assert epoch.listening.tolist() == [1.0] and next_state.listening.tolist() == [1.0]
    assert epoch.reputer_fractions.tolist() == [1.0]
    assert epoch.entropies[2] == params.lone_participant_entropy
    assert epoch.reputer_rewards[0] == epoch.class_rewards[2]
    assert next_state.stakes[0] == 5.0 + epoch.class_rewards[2]
    if params.lone_participant_entropy == 0:
        assert epoch.class_rewards[2] == 0.0


# --- no forecasting task ---------------------------------------------------------------------

@pytest.mark.eq(27, 37, 41, 42)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_no_forecasters(params):
    """N_f = 0: no forecaster scores or fractions, G_i = 0 and V_i = 0; U_i + W_i = E."""
    epoch, _ = run(params, np.tile(three_inferers(), (2, 1)), [1.0, 1.0], 3, 0)
    assert epoch.forecaster_scores.shape == epoch.forecaster_fractions.shape == (0,)
    assert epoch.forecaster_rewards.shape == (0,)
    assert epoch.entropies[1] == 0.0 and epoch.class_rewards[1] == 0.0
    assert epoch.forecasting_task_score == 0.0                # naive = network
    assert epoch.class_rewards[0] + epoch.class_rewards[2] == pytest.approx(E, rel=1e-12)
    assert paid(epoch) == pytest.approx(E, rel=1e-12)


# --- all scores equal --------------------------------------------------------------------------

@pytest.mark.eq(21, 26, 28)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_all_scores_equal(params):
    """sigma = 0: both readings pay equally (deployed: M = 1; paper: M = phi(T/epsilon), the
    same for everyone)."""
    reports = np.tile(three_inferers(one_out=(-1.9, -1.9, -1.9)), (2, 1))
    epoch, _ = run(params, reports, [1.0, 1.0], 3, 0)
    np.testing.assert_allclose(epoch.inferer_scores, [0.1] * 3, rtol=1e-12)
    np.testing.assert_allclose(epoch.inferer_fractions, [1 / 3] * 3, rtol=1e-12)


@pytest.mark.eq(21, 26, 28)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_scores_spread_below_epsilon(params):
    """0 < sigma < epsilon: deployed, an equal split; the paper keeps differentiating."""
    reports = np.tile(three_inferers(one_out=(-1.999, -1.998, -1.997)), (2, 1))
    epoch, _ = run(params, reports, [1.0, 1.0], 3, 0)
    scores = [0.001, 0.002, 0.003]
    np.testing.assert_allclose(epoch.inferer_scores, scores, rtol=1e-9)
    if params.equal_split_below_epsilon:
        expected = [1 / 3] * 3
    else:
        mapped = [phi(t / (statistics.pstdev(scores) + 0.01)) for t in scores]
        expected = [m / sum(mapped) for m in mapped]
    np.testing.assert_allclose(epoch.inferer_fractions, expected, rtol=1e-9)


# --- eq 43 edges and chi -----------------------------------------------------------------------

@pytest.mark.eq(42, 43, 44)
@pytest.mark.parametrize("params, tau", [(WHITEPAPER, 0.1 * (0.1 + 0.1) / 0.1),
                                         (SIMULATOR, 0.1 * 0.1 / 0.1)], ids=IDS)
def test_best_inferer_score_negative(params, tau):
    """max_j T_ij = -0.1 < 0, T_i = 0.1: the paper divides (T_i - max) by |max|; the chain
    takes max(0, max) = 0 and divides T_i by |T_i|."""
    reports = np.tile(three_and_one(naive=-1.9, one_out=(-2.2, -2.1, -2.3, -1.9)), (2, 1))
    epoch, next_state = run(params, reports, [1.0, 1.0], 3, 1)
    np.testing.assert_allclose(epoch.inferer_scores, [-0.2, -0.1, -0.3], rtol=1e-12)
    assert epoch.forecasting_task_score == pytest.approx(0.1, rel=1e-12)
    assert epoch.score_ratio == pytest.approx(tau, rel=1e-12)
    assert epoch.forecasting_utility == pytest.approx(0.1 + 0.4 * tau, rel=1e-12)
    assert next_state.score_ratio == epoch.score_ratio


@pytest.mark.eq(43, 44)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_best_inferer_score_exactly_zero(params):
    """max_j T_ij = 0 (every one-out loss equals the network loss). With T_i = 0 the paper keeps
    tau (0.7: chi = 0.38); the chain pins chi = 0.5 and resets tau to 0. With T_i = 0.1 the
    paper still keeps tau; the chain divides by |T_i|: tau = 0.1 + 0.9 * 0.7."""
    state = dataclasses.replace(TopicState.initial(3, 1, [1.0, 1.0], params), score_ratio=0.7)
    flat = (-2.0, -2.0, -2.0, -1.9)
    for naive, chain_tau, chain_chi in ((-2.0, 0.0, 0.5), (-1.9, 0.73, 0.1 + 0.4 * 0.73)):
        reports = np.tile(three_and_one(naive=naive, one_out=flat), (2, 1))
        epoch, next_state = run(params, reports, None, 3, 1, state=state)
        assert epoch.inferer_scores.tolist() == [0.0, 0.0, 0.0]
        if params.score_ratio_rule == "paper":
            assert epoch.score_ratio == 0.7 and next_state.score_ratio == 0.7
            assert epoch.forecasting_utility == pytest.approx(0.38, rel=1e-14)
        else:
            assert epoch.score_ratio == pytest.approx(chain_tau, rel=1e-12)
            assert next_state.score_ratio == epoch.score_ratio
            assert epoch.forecasting_utility == pytest.approx(chain_chi, rel=1e-12)


@pytest.mark.eq(41, 43, 44, 45)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
@pytest.mark.parametrize("naive, tau", [(-1.9, 0.1 * 0.1 / 0.4), (-2.2, 0.1 * -0.2 / 0.4)])
def test_chi_below_one_half(params, naive, tau):
    """max_j T_ij = 0.4: tau = 0.1 T_i / 0.4 from tau_0 = 0, chi = 0.1 + 0.4 tau (at least
    0.1), and the workers' split follows V/U = chi G / ((1 - chi) F)."""
    reports = np.tile(three_and_one(naive=naive, one_out=(-1.6, -1.8, -2.1, -1.9)), (2, 1))
    epoch, _ = run(params, reports, [1.0, 1.0], 3, 1)
    chi = max(0.1, 0.1 + 0.4 * tau)
    assert epoch.score_ratio == pytest.approx(tau, rel=1e-12)
    assert epoch.forecasting_utility == pytest.approx(chi, rel=1e-12) and chi < 0.5
    f, g, h = epoch.entropies
    u, v, w = epoch.class_rewards
    assert v * (1 - chi) * f == pytest.approx(u * chi * g, rel=1e-12)
    assert u + v == pytest.approx(E * (f + g) / (f + g + h), rel=1e-12)


# --- reputers ----------------------------------------------------------------------------------

@pytest.mark.eq(34)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_listened_stake_floor_reached(params):
    """The ascent silences the majority holders until exactly half the stake is listened to;
    the coefficients carried to the next epoch keep that."""
    reports, stakes = silencing_case()
    state = dataclasses.replace(TopicState.initial(2, 0, stakes, params),
                                listening=np.array([1.0, 1, 1, 0.35, 0.35, 0.35]))
    epoch, next_state = run(params, reports, None, 2, 0, state=state)
    for coefficients in (epoch.listening, next_state.listening):
        assert (coefficients * stakes).sum() / stakes.sum() == pytest.approx(0.5, abs=1e-12)
        assert ((coefficients >= 0) & (coefficients <= 1)).all()
    assert np.all(next_state.listening[3:] < 0.35)


@pytest.mark.eq(29, 35, 36)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_reputer_with_zero_stake(params):
    """A zero stake: no weight in the network losses (eq 14) nor the consensus (S_hat = 0);
    it is scored but paid nothing (w = 0) and its stake stays 0. It still counts in N_r, so the
    other two saturate: S_hat = min(3 * 2/5, 1) = min(3 * 3/5, 1) = 1."""
    rng = np.random.default_rng(4)
    reports = three_inferers()[None, :] + rng.normal(0, 0.05, size=(3, 8))
    epoch, next_state = run(params, reports, [0.0, 2.0, 3.0], 3, 0)
    np.testing.assert_allclose(epoch.losses, (2 * reports[1] + 3 * reports[2]) / 5, rtol=1e-14)
    assert epoch.adjusted_stakes.tolist() == [0.0, 1.0, 1.0]
    assert np.isfinite(epoch.reputer_scores).all()
    assert epoch.reputer_fractions[0] == 0.0 and epoch.reputer_rewards[0] == 0.0
    assert next_state.stakes[0] == 0.0
    assert epoch.reputer_fractions[1:].sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.eq(31, 32)
@pytest.mark.parametrize("params, fill", [(WHITEPAPER, -1.6), (SIMULATOR, -1.8)], ids=IDS)
def test_reputer_omitting_losses(params, fill):
    """Reputer 3 omits inferer 1's loss (entry 3) and one one-out loss (entry 5). The consensus
    and network losses of those entries use the others; its score uses the farthest reported
    value (paper reading) or the lowest (deployed). Equal stakes: every S_hat = 4 * 1/4 = 1 at
    the starting coefficients, which one iteration scored at its start reports."""
    params = dataclasses.replace(params, listening_max_iterations=1,
                                 listening_scores_from="last-iteration-start")
    base = three_inferers()
    reports = np.vstack([base, base + 0.1, base - 0.05, base + 0.02])
    reports[:3, 3] = [-1.8, -1.6, -1.75]                       # consensus -1.71667
    reports[3, [3, 5]] = np.nan
    epoch, _ = run(params, reports, [1.0, 1.0, 1.0, 1.0], 3, 0)
    consensus = np.nanmean(reports, axis=0)
    np.testing.assert_allclose(epoch.losses, consensus, rtol=1e-14)
    assert epoch.adjusted_stakes.tolist() == [1.0] * 4
    filled = reports.copy()
    filled[3, 3] = fill
    entry5 = reports[:3, 5]
    filled[3, 5] = (entry5[np.argmax(np.abs(entry5 - consensus[5]))]
                    if params.missing_loss_fill == "farthest" else entry5.min())
    norm = np.linalg.norm(consensus)
    expected = [1 / (np.linalg.norm(x - consensus) / norm + 0.01) for x in filled]
    np.testing.assert_allclose(epoch.reputer_scores, expected, rtol=1e-12)


@pytest.mark.eq(31, 32, 35)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_absent_worker_leaves_reputers_scored(params):
    history = simulate(params, 3, 1, np.array([1.0, 2.0, 3.0]), 2,
                       present=lambda e: np.array([True, e == 0, True]))
    _, epoch, next_state = history[1]                          # inferer 1 absent in epoch 1
    assert np.isfinite(epoch.reputer_scores).all()
    assert epoch.reputer_fractions.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.isfinite(next_state.listening).all()
    assert epoch.class_rewards[2] > 0


# --- a worker joining and leaving --------------------------------------------------------------

@pytest.mark.eq(21, 26, 28, 38, 39, 46)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_worker_joining_and_leaving(params):
    """Inferer 2 joins in epoch 2, leaves in epoch 4 and returns in epoch 5. Absent, it has no
    score (NaN in the history, skipped by the window of eq 28), no fraction and no reward; its
    first smoothed fraction starts from zero (paper) or from u (deployed)."""
    pattern = [False, False, True, True, False, True]
    history = simulate(params, 3, 0, np.array([1.0, 2.0]), 6,
                       present=lambda e: np.array([True, True, pattern[e]]))
    alpha = params.alpha_task
    for e, (before, epoch, after) in enumerate(history):
        assert np.isnan(epoch.inferer_scores[2]) != pattern[e]
        assert np.isnan(after.inferer_score_history[0, 2]) != pattern[e]
        np.testing.assert_array_equal(after.inferer_score_history[1:],
                                      before.inferer_score_history[:-1])
        if not pattern[e]:
            assert np.isnan(epoch.inferer_fractions[2]) and epoch.inferer_rewards[2] == 0.0
            assert np.isnan(epoch.modified_fractions[0][2])
            u = epoch.inferer_fractions[:2]
            assert u.sum() == pytest.approx(1.0, rel=1e-12)
        assert paid(epoch) == pytest.approx(E, rel=1e-12)
    # the scores stay in the history for the window of eq 28
    last = history[-1][2].inferer_score_history
    np.testing.assert_array_equal(last[[0, 2, 3], 2], [history[5][1].inferer_scores[2],
                                                       history[3][1].inferer_scores[2],
                                                       history[2][1].inferer_scores[2]])
    # joining (epoch 2): u~ = alpha u (paper, from zero) or u (deployed)
    before, epoch, after = history[2]
    u = epoch.inferer_fractions
    tilde_new = alpha * u[2] if params.smoothing_start == "zero" else u[2]
    tilde_old = alpha * u[:2] + (1 - alpha) * before.smoothed[0][:2]
    tilde = np.append(tilde_old, tilde_new)
    stored = tilde if params.smoothed_state == "raw" else tilde / tilde.sum()
    np.testing.assert_allclose(after.smoothed[0], stored, rtol=1e-12)
    np.testing.assert_allclose(epoch.modified_fractions[0], tilde / tilde.sum(), rtol=1e-12)


@pytest.mark.eq(38, 39)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_absent_worker_smoothed_fraction_is_carried_and_used_again(params):
    """Documented decision (notebook 04_2, eq 39): a participant absent this epoch keeps its
    smoothed fraction; when it returns, eq 39 continues from that value."""
    pattern = [False, False, True, True, False, True]
    history = simulate(params, 3, 0, np.array([1.0, 2.0]), 6,
                       present=lambda e: np.array([True, True, pattern[e]]))
    alpha = params.alpha_task
    before, epoch, after = history[4]                          # absent: carried over
    assert np.isfinite(before.smoothed[0][2])
    assert after.smoothed[0][2] == before.smoothed[0][2]
    before, epoch, after = history[5]                          # back: eq 39 from that value
    assert before.smoothed[0][2] == history[4][0].smoothed[0][2]
    tilde = alpha * epoch.inferer_fractions + (1 - alpha) * before.smoothed[0]
    stored = tilde if params.smoothed_state == "raw" else tilde / tilde.sum()
    np.testing.assert_allclose(after.smoothed[0], stored, rtol=1e-12)
    np.testing.assert_allclose(epoch.modified_fractions[0], tilde / tilde.sum(), rtol=1e-12)


# --- the run as a whole ------------------------------------------------------------------------

def epoch_arrays(epoch) -> list:
    fields = dataclasses.asdict(epoch)
    flat = []
    for value in fields.values():
        if isinstance(value, dict):
            flat += [np.asarray(v) for v in value.values()]
        elif isinstance(value, (tuple, list)):
            flat += [np.asarray(v) for v in value]
        else:
            flat.append(np.asarray(value))
    return flat


def state_arrays(state) -> list:
    return [np.asarray(state.synthesis.previous_network_log_loss), state.synthesis.regrets,
            state.stakes, state.listening, state.inferer_score_history,
            state.forecaster_score_history, *state.smoothed, np.asarray(state.score_ratio)]


@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_step_is_deterministic_and_pure(params):
    first = simulate(params, 4, 2, np.array([1.0, 2.0, 3.0]), 3, seed=11)
    second = simulate(params, 4, 2, np.array([1.0, 2.0, 3.0]), 3, seed=11)
    for (s1, e1, n1), (s2, e2, n2) in zip(first, second):
        for a, b in zip(epoch_arrays(e1) + state_arrays(n1), epoch_arrays(e2) + state_arrays(n2)):
            np.testing.assert_array_equal(a, b)             # bit for bit, NaN where NaN
    # the step does not modify the state it is given, and repeats itself on it
    state = first[1][0]
    kept = [a.copy() for a in state_arrays(state)]
    width = synthesis.reported_entries(4, 2, params).sum()
    inputs = EpochInputs(submissions(4, 2, seed=3),
                         np.random.default_rng(3).normal(-2, 0.1, (3, width)), E)
    once, after_once = step(state, inputs, params)
    twice, after_twice = step(state, inputs, params)
    for a, b in zip(kept, state_arrays(state)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(epoch_arrays(once) + state_arrays(after_once),
                    epoch_arrays(twice) + state_arrays(after_twice)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.eq(35, 36, 41, 46)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_stakes_follow_eq36_over_a_run(params):
    """S_{i+1,m} = S_im + w_im W_i every epoch; the listening coefficients and tau carry over."""
    history = simulate(params, 3, 2, np.array([1.0, 2.0, 3.0]), 6, seed=5)
    for before, epoch, after in history:
        np.testing.assert_allclose(after.stakes,
                                   before.stakes + epoch.reputer_fractions * epoch.class_rewards[2],
                                   rtol=1e-14)
        assert after.stakes.sum() == pytest.approx(before.stakes.sum() + epoch.class_rewards[2],
                                                   rel=1e-14)
        np.testing.assert_array_equal(after.listening, epoch.listening)
        assert after.score_ratio == epoch.score_ratio
        assert paid(epoch) == pytest.approx(E, rel=1e-12)
    assert history[-1][2].stakes.sum() == pytest.approx(
        6.0 + sum(epoch.class_rewards[2] for _, epoch, _ in history), rel=1e-13)


# --- properties over generated epochs ----------------------------------------------------------

@st.composite
def generated_runs(draw):
    n_i, n_f, n_r = draw(st.integers(1, 5)), draw(st.integers(0, 3)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    params = draw(st.sampled_from(PROFILES))
    absent_inferers = draw(st.lists(st.booleans(), min_size=n_i, max_size=n_i))
    absent_inferers[draw(st.integers(0, n_i - 1))] = False       # someone infers
    absent_forecasters = draw(st.lists(st.booleans(), min_size=n_f, max_size=n_f))
    omit = draw(st.floats(0, 0.3))
    zero_stake = draw(st.booleans()) and n_r > 1
    return n_i, n_f, n_r, seed, params, np.array(absent_inferers), \
        np.array(absent_forecasters, bool), omit, zero_stake


@pytest.mark.eq(26, 27, 35, 41, 46)
@examples(30)
@given(generated_runs())
def test_rewards_of_an_epoch_sum_to_the_topic_reward(case):
    """Both profiles, N_i 1-5, N_f 0-3, N_r 1-4, absent inferers and forecasters, reputers that
    omit losses or hold no stake: each class's fractions are non-negative and sum to 1 over its
    present participants, and the per-participant rewards of every epoch sum to E."""
    n_i, n_f, n_r, seed, params, absent_i, absent_f, omit, zero_stake = case
    rng = np.random.default_rng(seed)
    stakes = rng.uniform(0.5, 5, n_r)
    if zero_stake:
        stakes[-1] = 0.0
    state = TopicState.initial(n_i, n_f, stakes, params)
    for _ in range(2):
        truth = rng.normal()
        inferences = np.where(absent_i, np.nan, truth + rng.normal(0, 0.3, n_i))
        forecasts = rng.normal(-1.5, 0.3, size=(n_f, n_i))
        forecasts[absent_f] = np.nan
        subs = synthesis.Submissions(inferences, forecasts)
        reports = measured_reports(state, subs, truth, params, n_r, rng)
        reports[1:][rng.random(reports[1:].shape) < omit] = np.nan   # reputer 0 reports all
        epoch, state = step(state, EpochInputs(subs, reports, E), params)
        assert paid(epoch) == pytest.approx(E, rel=1e-12)
        rewards = np.concatenate([epoch.inferer_rewards, epoch.forecaster_rewards,
                                  epoch.reputer_rewards])
        assert (rewards >= 0).all()
        for fractions in (epoch.inferer_fractions, epoch.forecaster_fractions,
                          epoch.reputer_fractions):
            present = fractions[~np.isnan(fractions)]
            assert (present >= 0).all()
            if present.size:
                assert present.sum() == pytest.approx(1.0, rel=1e-12)
        assert epoch.inferer_fractions[~absent_i].size == (~absent_i).sum()
        assert np.isnan(epoch.inferer_fractions[absent_i]).all()


@pytest.mark.eq(41, 42, 43)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_unreported_naive_loss_keeps_tau_and_pays_everyone(params):
    """Without the naive loss eq 42 is undefined: tau keeps its previous value (not NaN) and the
    topic reward is still paid out in full."""
    submissions = synthesis.Submissions(np.array([0.1, 0.2, 0.4]), np.array([[-1.0, -1.2, -0.9]]))
    reports = np.random.default_rng(3).normal(-2, 0.1, (2, synthesis.reported_entries(3, 1, params).sum()))
    reports[:, 1] = np.nan
    state = dataclasses.replace(TopicState.initial(3, 1, [1.0, 2.0], params), score_ratio=0.7)
    epoch, after = step(state, EpochInputs(submissions, reports, 10.0), params)
    assert np.isnan(epoch.forecasting_task_score) and after.score_ratio == 0.7
    assert epoch.forecasting_utility == pytest.approx(0.1 + 0.4 * 0.7)
    paid = epoch.inferer_rewards.sum() + epoch.forecaster_rewards.sum() + epoch.reputer_rewards.sum()
    assert paid == pytest.approx(10.0, rel=1e-12)


@pytest.mark.eq(21, 41)
@pytest.mark.parametrize("params", PROFILES, ids=IDS)
def test_all_reputers_silent_pays_nothing(params):
    """No loss reported: no worker or reputer can be scored; nothing is paid, nothing is NaN in
    the next state's listening coefficients or tau."""
    submissions = synthesis.Submissions(np.array([0.1, 0.2]), np.array([[-1.0, -1.2]]))
    reports = np.full((2, synthesis.reported_entries(2, 1, params).sum()), np.nan)
    epoch, after = step(TopicState.initial(2, 1, [1.0, 2.0], params),
                        EpochInputs(submissions, reports, 10.0), params)
    assert np.isnan(epoch.inferer_scores).all() and np.isnan(epoch.forecaster_scores).all()
    np.testing.assert_array_equal(epoch.class_rewards, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(after.listening, [1.0, 1.0])
    assert after.score_ratio == 0.0 and np.array_equal(after.stakes, [1.0, 2.0])


@pytest.mark.eq(12, 13, 14, 15, 21, 22, 23, 24, 25)
def test_the_papers_21_entry_report_through_the_step():
    """Eq 13 as written, 5 inferers and 3 forecasters: 1 + 5 + 3 + 1 + 8 + 3 = 21 losses per
    reputer. The step takes them (whitepaper profile), scores every worker from them (eqs
    21-25) and leaves the one-out forecast-implied losses, which eq 13 does not list, absent."""
    network, naive = -2.0, -1.5
    inferers = [-1.0, -1.2, -1.4, -1.6, -1.8]
    forecast_implied = [-1.9, -1.7, -2.1]
    one_out = [-1.9, -1.95, -2.05, -2.0, -1.8, -1.99, -2.02, -1.97]
    one_in = [-1.6, -1.4, -1.7]
    report = [network, naive] + inferers + forecast_implied + one_out + one_in
    assert len(report) == 21
    subs = synthesis.Submissions(np.array([0.1, 0.3, -0.2, 0.0, 0.2]),
                                 np.random.default_rng(5).normal(-1.5, 0.3, (3, 5)))
    state = TopicState.initial(5, 3, [1.0, 2.0, 3.0], WHITEPAPER)
    epoch, after = step(state, EpochInputs(subs, np.tile(report, (3, 1)), E), WHITEPAPER)

    np.testing.assert_allclose(epoch.inferer_scores, [0.1, 0.05, -0.05, 0.0, 0.2], atol=1e-15)
    one_out_scores = np.array([0.01, -0.02, 0.03])             # eq 23: L^-_ki - L_i
    one_in_scores = np.array([0.1, -0.1, 0.2])                 # eq 24: L^-_i - L^+_ki
    np.testing.assert_allclose(epoch.forecaster_scores,        # eqs 22, 25: f+ = 1/2^3
                               7 / 8 * one_out_scores + 1 / 8 * one_in_scores, atol=1e-15)
    assert np.isnan(epoch.losses[10:25]).all()                 # the 15 entries eq 13 lacks
    np.testing.assert_allclose(np.delete(epoch.losses, np.s_[10:25]), report, atol=1e-15)
    # eq 15 from R_0 = 0: the network row's regrets are alpha (log L_i - log L_il)
    np.testing.assert_allclose(after.synthesis.regrets[0],
                               0.1 * (network - np.array(inferers + forecast_implied)),
                               atol=1e-15)
    assert np.isnan(after.synthesis.regrets[2:7, 5:]).all()   # one-out rows: never needed
    assert paid(epoch) == pytest.approx(E, rel=1e-12)

    with pytest.raises(ValueError, match=r"eq 13.*21 columns"):
        step(state, EpochInputs(subs, np.zeros((3, 36)), E), WHITEPAPER)
    with pytest.raises(ValueError, match=r"eq 13.*36 columns"):
        step(TopicState.initial(5, 3, [1.0, 2.0, 3.0], SIMULATOR),
             EpochInputs(subs, np.tile(report, (3, 1)), E), SIMULATOR)

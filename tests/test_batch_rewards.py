"""§4.1 (eqs 21-36) over a batch of topics: each topic's slice of a batched call equals the
call on that topic alone, exactly (the batch contract: a run's numbers do not depend on the
runs it is batched with).

Every property draws S random topics - absent workers and reputers as NaN, cold (no history,
first listening) and warm states - for every profile in ``allora_ref/presets/``, stacks them,
calls once, and compares each slice with the unbatched call by ``np.array_equal(equal_nan=True)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import assert_each_topic, examples

from allora_ref.attacks import attack_reports, attack_shifts
from allora_ref.params import load_profile
from allora_ref.spec import participant_rewards as spec

PROFILES = {name: load_profile(name) for name in
            ("whitepaper", "allora-simulator", "chain-v0.6", "chain-defaults")}
FAST = examples(25)
SEEDS = st.integers(0, 2**32 - 1)
TOPICS = st.integers(1, 6)




def absent(rng: np.random.Generator, values: np.ndarray, rate: float) -> np.ndarray:
    """``values`` with a random ``rate`` of its entries absent (NaN)."""
    return np.where(rng.random(values.shape) < rate, np.nan, values)


# --- eqs 21-25: worker scores ------------------------------------------------------------------

@pytest.mark.eq(21, 22, 23, 24, 25)
@pytest.mark.parametrize("name", PROFILES)
@FAST
@given(seed=SEEDS, topics=TOPICS)
def test_worker_scores_batched_equal_single(name, seed, topics):
    params, rng = PROFILES[name], np.random.default_rng(seed)
    n_i, n_f = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    rows = 2 + 2 * (n_i + n_f) - n_i
    losses = absent(rng, rng.normal(-2.0, 0.3, (topics, rows)), rng.choice([0.0, 0.2]))
    exists = rng.random((topics, rows)) < 0.9
    active = rng.integers(0, n_f + 1, topics)
    batched = spec.worker_scores(losses, exists, n_i, n_f, active, params)
    assert batched[0].shape == (topics, n_i) and batched[1].shape == (topics, n_f)
    assert_each_topic(batched, [spec.worker_scores(losses[b], exists[b], n_i, n_f,
                                                     int(active[b]), params)
                                  for b in range(topics)])
    assert_each_topic(spec.one_in_fraction(active, params),
                        [spec.one_in_fraction(int(a), params) for a in active])


# --- eqs 26-28: the score window, mapped scores, reward fractions -------------------------------

def score_histories(rng: np.random.Generator, topics: int, depth: int, n: int) -> np.ndarray:
    """Histories (topics, depth, n), newest epoch first: a cold topic has none, a warm one some
    epochs of scores with absent workers."""
    history = absent(rng, rng.normal(0.0, rng.choice([1e-6, 0.05, 1.0]), (topics, depth, n)),
                     0.2)
    known = rng.integers(0, depth + 1, topics)                  # epochs with scores, per topic
    return np.where(np.arange(depth)[None, :, None] < known[:, None, None], history, np.nan)


@pytest.mark.eq(26, 27, 28)
@pytest.mark.parametrize("name", PROFILES)
@FAST
@given(seed=SEEDS, topics=TOPICS)
def test_worker_fractions_batched_equal_single(name, seed, topics):
    params, rng = PROFILES[name], np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    history = score_histories(rng, topics, params.score_window + 1, n)
    history[:, 0] = absent(rng, rng.normal(0.0, 1.0, (topics, n)), 0.2)   # the current epoch
    history[rng.random(topics) < 0.2, 0] = np.nan                 # nobody scored this epoch
    scores = history[:, 0]
    window = spec.score_window(history, params)
    assert_each_topic(window, [spec.score_window(history[b], params) for b in range(topics)])
    mapped = spec.mapped_scores(scores, window, params.reward_p_inference, params.reward_c,
                                params)
    assert_each_topic(mapped, [spec.mapped_scores(scores[b], window[b],
                                                    params.reward_p_inference,
                                                    params.reward_c, params)
                                 for b in range(topics)])
    fractions = spec.reward_fractions(mapped)
    assert_each_topic(fractions, [spec.reward_fractions(mapped[b]) for b in range(topics)])
    paid = ~np.isnan(scores).all(axis=1)
    np.testing.assert_allclose(np.nansum(fractions, axis=1)[paid], 1.0, rtol=1e-14)
    assert np.isnan(fractions[~paid]).all()


@pytest.mark.eq(26, 27, 35)
def test_reward_fractions_bad_topic_raises():
    """A topic whose mapped scores sum to zero fails the whole batch, naming the equations."""
    mapped = np.array([[0.5, 0.5], [0.0, 0.0], [np.nan, np.nan]])
    with pytest.raises(ValueError, match="eqs 26, 27, 35"):
        spec.reward_fractions(mapped)
    np.testing.assert_array_equal(spec.reward_fractions(mapped[[0, 2]]),
                                  [[0.5, 0.5], [np.nan, np.nan]])


# --- eqs 29-36: reputers -----------------------------------------------------------------------

def reputer_topics(rng: np.random.Generator, topics: int, n_r: int, entries: int):
    """``topics`` topics' listening coefficients (cold: all 1; warm: some lower), stakes and
    reports (N_r, entries): some reputers report nothing, some leave gaps, some entries nobody
    reports, some topics nobody reports in."""
    warm = rng.random(topics) < 0.6
    previous = np.where(warm[:, None], rng.uniform(0.3, 1.0, (topics, n_r)), 1.0)
    stakes = rng.uniform(0.5, 50.0, (topics, n_r)) * rng.choice([1e-3, 1.0, 1e3], (topics, 1))
    truth = rng.normal(-2.0, 0.4, (topics, 1, entries))
    reported = truth + rng.normal(0.0, rng.choice([0.01, 0.2]), (topics, n_r, entries))
    reported = absent(rng, reported, rng.choice([0.0, 0.1]))              # gaps
    reported[rng.random((topics, n_r)) < 0.2] = np.nan                      # did not report
    reported[:, :, rng.random(entries) < 0.1] = np.nan                     # nobody reported
    reported[:, 0, 0] = truth[:, 0, 0]                                      # someone reports
    reported[rng.random(topics) < 0.15] = np.nan                  # ... but in a topic, nobody
    return previous, stakes, reported


@pytest.mark.eq(29, 30, 31, 32, 33, 35, 36)
@pytest.mark.parametrize("name", PROFILES)
@FAST
@given(seed=SEEDS, topics=TOPICS)
def test_consensus_batched_equal_single(name, seed, topics):
    params, rng = PROFILES[name], np.random.default_rng(seed)
    n_r, entries = int(rng.integers(1, 11)), int(rng.integers(1, 40))
    previous, stakes, reported = reputer_topics(rng, topics, n_r, entries)
    reporting = ~np.isnan(reported).all(axis=-1)
    adjusted = spec.adjusted_stakes(previous, stakes, reporting)
    assert_each_topic(adjusted, [spec.adjusted_stakes(previous[b], stakes[b], reporting[b])
                                   for b in range(topics)])
    assert np.isnan(adjusted[~reporting]).all() and not np.isnan(adjusted[reporting]).any()
    batched = spec.consensus_at(previous, stakes, reported, params)
    singles = [spec.consensus_at(previous[b], stakes[b], reported[b], params)
               for b in range(topics)]
    for field in ("adjusted_stakes", "consensus", "scores", "total", "filled", "distances",
                  "norm"):
        assert_each_topic(getattr(batched, field), [getattr(s, field) for s in singles])
    assert np.isnan(batched.scores[~reporting]).all()
    nobody = np.isnan(reported).all(axis=1)
    assert (np.isnan(batched.consensus) == nobody).all()   # an entry nobody reported is absent
    fractions = spec.reputer_reward_fractions(stakes, batched.scores, params)
    assert_each_topic(fractions, [spec.reputer_reward_fractions(stakes[b], singles[b].scores,
                                                                  params)
                                    for b in range(topics)])
    reward = rng.uniform(0.0, 10.0, topics)
    assert_each_topic(spec.updated_stakes(stakes, fractions, reward),
                        [spec.updated_stakes(stakes[b], fractions[b], reward[b])
                         for b in range(topics)])


@pytest.mark.eq(34)
@pytest.mark.parametrize("gradient", ["analytic", "finite-difference"])
@pytest.mark.parametrize("name", PROFILES)
@FAST
@given(seed=SEEDS, topics=TOPICS)
def test_listening_batched_equal_single(name, gradient, seed, topics):
    params = dataclasses.replace(PROFILES[name], listening_gradient=gradient)
    rng = np.random.default_rng(seed)
    n_r, entries = int(rng.integers(1, 11)), int(rng.integers(1, 40))
    previous, stakes, reported = reputer_topics(rng, topics, n_r, entries)
    reporting = ~np.isnan(reported).all(axis=-1)
    assert_each_topic(spec.listening_gradient(previous, stakes, reported, params),
                        [spec.listening_gradient(previous[b], stakes[b], reported[b], params)
                         for b in range(topics)])
    try:
        singles = [spec.listening_coefficients(previous[b], stakes[b], reported[b], params)
                   for b in range(topics)]
    except ValueError:            # e.g. an entry whose only reporters are no longer listened to
        with pytest.raises(ValueError):
            spec.listening_coefficients(previous, stakes, reported, params)
        return
    final, scored = spec.listening_coefficients(previous, stakes, reported, params)
    assert_each_topic((final, scored), singles)
    # a reputer that did not report keeps its coefficient
    np.testing.assert_array_equal(final[~reporting], previous[~reporting])
    np.testing.assert_array_equal(scored[~reporting], previous[~reporting])


@pytest.mark.eq(34)
def test_listening_topics_stop_on_their_own():
    """A topic whose reputers agree stops after one iteration while another keeps ascending:
    batched together, each does exactly the iterations it does alone."""
    params = PROFILES["whitepaper"]
    agree = np.tile([-2.0, -1.5, -2.5], (4, 1))
    disagree = agree + np.array([[0.0], [0.0], [0.0], [0.8]])
    stakes = np.array([1.0, 1.0, 1.0, 1.0])
    previous = np.ones(4)
    final, scored = spec.listening_coefficients(np.stack([previous, previous]),
                                                np.stack([stakes, stakes]),
                                                np.stack([agree, disagree]), params)
    np.testing.assert_array_equal(final[0], previous)       # zero gradient: stops at once
    assert final[1, 3] < 0.9                                 # the outlier is listened to less
    alone = spec.listening_coefficients(previous, stakes, disagree, params)
    assert np.array_equal(final[1], alone[0]) and np.array_equal(scored[1], alone[1])


@pytest.mark.eq(29)
def test_adjusted_stakes_bad_topic_raises():
    """A topic whose reporters have no listened stake fails the batch naming eq 29; a topic
    where nobody reported does not."""
    coefficients = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    reporting = np.array([[True, True], [True, True], [False, False]])
    with pytest.raises(ValueError, match="eq 29"):
        spec.adjusted_stakes(coefficients, np.ones((3, 2)), reporting)
    adjusted = spec.adjusted_stakes(coefficients[[0, 2]], np.ones((2, 2)), reporting[[0, 2]])
    np.testing.assert_array_equal(adjusted, [[1.0, 1.0], [np.nan, np.nan]])


@pytest.mark.eq(29, 31, 34)
@pytest.mark.parametrize("name", ["whitepaper", "allora-simulator"])
def test_attack_shifts_batched_equal_single(name):
    """The §4.1 attacks over stake shares x attacks in one batch equal each attack alone."""
    params, rng = PROFILES[name], np.random.default_rng(4)
    reports = np.stack([attack_reports(rng, offset=offset, attacked=2)
                        for offset in (-0.3, 1.0)])[:, None]
    shares = np.array([0.1, 0.35, 0.7])
    batched = attack_shifts(shares, reports, params, 4, slice(0, 2))
    assert batched[2].shape == (2, 3, 4)
    for i in range(2):
        for j, share in enumerate(shares):
            single = attack_shifts(float(share), reports[i, 0], params, 4, slice(0, 2))
            assert all(np.array_equal(whole[i, j], part) for whole, part in zip(batched, single))

"""A batch of topics through ``step`` (notebook 04_3) and the §3.3 experiment (notebook 03_3):
every topic of a batch comes out exactly as it does alone - the same bits, whatever it is batched
with - so a simulation may batch its runs without changing a number.

The expected values are the single-topic results of the same functions; what is asserted is that
batching is invisible (``np.array_equal`` with NaN equal to NaN), over generated epochs with
absent inferers, forecasters and reputers, cold and warm topics side by side, and every profile.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import assert_each_topic, examples

from allora_ref.experiment import Settings, observations, simulate, simulate_batch
from allora_ref.params import load_profile
from allora_ref.spec import inference_synthesis as synthesis
from allora_ref.spec.epoch import EpochInputs, TopicState, step

BATCHABLE = ["whitepaper", "allora-simulator", "chain-defaults"]




def topic_epochs(draw, n_i: int, n_f: int, n_r: int, epochs: int, params):
    """One topic's inputs for ``epochs`` epochs: inferences, forecasts and reports, some absent."""
    entries = synthesis.reported_entries(n_i, n_f, params).sum()
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    inputs = []
    for _ in range(epochs):
        inferences = rng.normal(size=n_i)
        inferences[rng.random(n_i) < 0.2] = np.nan
        if np.isnan(inferences).all():
            inferences[rng.integers(n_i)] = 0.5
        forecasts = rng.normal(-2.0, 0.4, size=(n_f, n_i))
        forecasts[rng.random(n_f) < 0.2] = np.nan                  # a forecaster absent
        reports = rng.normal(-2.0, 0.3, size=(n_r, entries))
        reports[rng.random(n_r) < 0.2] = np.nan                    # a reputer absent
        reports[rng.random((n_r, entries)) < 0.05] = np.nan        # an entry not reported
        reward = float(rng.uniform(0.0, 10.0))
        inputs.append(EpochInputs(synthesis.Submissions(inferences, forecasts), reports, reward))
    return inputs


@examples(25)
@given(st.data())
@pytest.mark.parametrize("profile", BATCHABLE)
def test_a_batched_step_gives_every_topic_its_own_epoch(profile, data):
    params = load_profile(profile)
    n_i, n_f, n_r = (data.draw(st.integers(1, 4)), data.draw(st.integers(0, 3)),
                     data.draw(st.integers(1, 4)))
    n_topics, epochs = data.draw(st.integers(1, 4)), 3
    topics = [topic_epochs(data.draw, n_i, n_f, n_r, epochs, params) for _ in range(n_topics)]
    stakes = [np.random.default_rng(k).uniform(0.5, 5.0, n_r) for k in range(n_topics)]
    singles = [TopicState.initial(n_i, n_f, s, params) for s in stakes]
    batched = TopicState.initial(n_i, n_f, np.stack(stakes), params)
    for epoch in range(epochs):
        inputs = [t[epoch] for t in topics]
        together = EpochInputs(
            synthesis.Submissions(np.stack([x.submissions.inferences for x in inputs]),
                                  np.stack([x.submissions.forecasted_log_losses for x in inputs])),
            np.stack([x.reported_log_losses for x in inputs]),
            np.array([x.topic_reward for x in inputs]))
        try:
            results = [step(state, x, params) for state, x in zip(singles, inputs)]
        except ValueError:                      # a topic's epoch cannot be computed: no batch
            with pytest.raises(ValueError):     # with it can
                step(batched, together, params)
            return
        record, batched = step(batched, together, params)
        assert_each_topic(record, [r[0] for r in results], path="epoch")
        assert_each_topic(batched, [r[1] for r in results], path="state")
        singles = [r[1] for r in results]


@pytest.mark.parametrize("profile", BATCHABLE)
def test_a_batch_of_runs_is_every_run_alone(profile):
    """Runs of different seeds, stakes, forecasters and sybil copies, batched by their sizes."""
    params = load_profile(profile)
    base = Settings(epochs=12)
    runs = [dataclasses.replace(base, seed=3), dataclasses.replace(base, seed=4, initial_stake=1.0),
            dataclasses.replace(base, seed=5, context_sensitivity=0.2),
            dataclasses.replace(base, seed=6, sybil_copies=2),
            dataclasses.replace(base, seed=7, forecast_error_log_mean=0.3, outperformance=0.5)]
    for together, alone in zip(simulate_batch(runs, params), runs):
        single = simulate(alone, params)
        for field in dataclasses.fields(single):
            value = getattr(single, field.name)
            if isinstance(value, np.ndarray):
                assert np.array_equal(getattr(together, field.name), value, equal_nan=True), \
                    field.name


def test_a_batch_of_observations_is_every_observation_alone():
    params = load_profile("whitepaper")
    runs = [Settings(seed=s, epochs=4) for s in (0, 9)]
    for together, *alone in zip(observations(runs, params),
                                *(observations(r, params) for r in runs)):
        assert_each_topic(together.epoch, [o.epoch for o in alone], path="epoch")
        assert_each_topic(together.state, [o.state for o in alone], path="state")
        assert np.array_equal(together.truth, [o.truth for o in alone])


def test_runs_of_different_sizes_are_not_one_batch():
    with pytest.raises(ValueError, match="same epochs, workers, reputers and sybil copies"):
        next(observations([Settings(epochs=3), Settings(epochs=4)], load_profile("whitepaper")))
    with pytest.raises(ValueError, match="at least one run"):
        next(observations([], load_profile("whitepaper")))


def test_one_run_observes_plain_numbers():
    first = next(observations(Settings(epochs=2), load_profile("whitepaper")))
    assert isinstance(first.topic_reward, float) and isinstance(first.truth, float)
    assert isinstance(first.outperformer, int)


def test_a_profile_with_bounded_active_sets_starts_its_topics_one_by_one():
    params = load_profile("chain-v0.6")
    with pytest.raises(ValueError, match="one topic at a time"):
        TopicState.initial(3, 3, np.full((2, 5), 1e5), params)
    runs = [Settings(seed=s, epochs=4, initial_stake=1e5, mean_emission=1e6) for s in (0, 1)]
    for together, alone in zip(simulate_batch(runs, params), runs):
        assert np.array_equal(together.inferer_rewards, simulate(alone, params).inferer_rewards)

"""Batches of topics through §3.1-3.2 (eqs 1-18): a batched call equals, topic by topic and
exactly (np.array_equal, NaN = NaN), the same call on each topic alone.

Each property builds S random single-topic inputs (absent workers, reports and stakes; new
topics, warm ones, topics in and out of the chain's cold start; every profile), stacks them
along leading batch axes, calls once and compares every slice with the unbatched call.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared import assert_each_topic, examples

from allora_ref.params import PROFILES, load_profile
from allora_ref.spec import inference_synthesis as spec
from allora_ref.spec.confidence_intervals import confidence_interval

BATCH_SHAPES = [(1,), (2,), (5,), (2, 3)]
KINDS = ("new", "warm", "experienced")


def topic(rng, n_i, n_f, n_r, kind):
    """One topic's state, submissions, stakes and full loss-vector reports (eqs 1-15)."""
    n_l = n_i + n_f
    own = rng.normal(size=n_i)
    own[rng.random(n_i) < 0.3] = np.nan
    own[rng.integers(n_i)] = rng.normal()                          # someone submitted
    forecasts = rng.normal(-1.0, 0.5, (n_f, n_i))
    forecasts[rng.random((n_f, n_i)) < 0.2] = np.nan
    families = spec.row_families(n_i, n_f)
    if kind == "new":
        previous, regrets, r0 = np.nan, np.full(families.shape, np.nan), 0.0
    else:
        previous = rng.normal(-1.0, 0.3)
        scale = rng.choice([0.01, 0.3, 3.0])
        regrets = np.where(families, rng.normal(0.0, scale, families.shape), np.nan)
        regrets[rng.random(families.shape) < 0.2] = np.nan
        r0 = 0.0 if kind == "warm" else rng.normal(0.0, 0.2)
    inclusions = rng.integers(0, 20, n_l).astype(float)
    stakes = rng.uniform(0.0, 5.0, n_r) * (rng.random(n_r) < 0.8)
    stakes[rng.integers(n_r)] += 1.0                               # not all zero
    reports = rng.normal(-1.0, 0.3, (n_r, spec.loss_vector_size(n_i, n_f)))
    reports[rng.random(reports.shape) < 0.1] = np.nan
    return (spec.SynthesisState(previous, regrets, r0, inclusions),
            spec.Submissions(own, forecasts), stakes, reports)


def stacked(topics, shape):
    """The topics' states, submissions, stakes and reports stacked along the batch ``shape``."""
    states, subs, stakes, reports = zip(*topics)

    def stack(values):
        values = np.asarray(values, dtype=float)
        return values.reshape(shape + values.shape[1:])

    paid = states[0].inclusions is not None
    state = spec.SynthesisState(stack([s.previous_network_log_loss for s in states]),
                                stack([s.regrets for s in states]),
                                stack([s.initial_regret for s in states]),
                                stack([s.inclusions for s in states]) if paid else None)
    submissions = spec.Submissions(stack([s.inferences for s in subs]),
                                   stack([s.forecasted_log_losses for s in subs]))
    return state, submissions, stack(stakes), stack(reports)




@st.composite
def batches(draw):
    shape = draw(st.sampled_from(BATCH_SHAPES))
    n_i, n_f, n_r = draw(st.integers(1, 5)), draw(st.integers(0, 4)), draw(st.integers(1, 10))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(int(np.prod(shape)))]
    params = load_profile(draw(st.sampled_from(PROFILES)))
    topics = [topic(rng, n_i, n_f, n_r, kind) for kind in kinds]
    if draw(st.booleans()):                        # no worker was ever paid (chain-v0.6 §10)
        topics = [(dataclasses.replace(state, inclusions=None), *rest)
                  for state, *rest in topics]
    return shape, topics, params


# --- notebook 03_1: synthesise and settle (eqs 1-15) ----------------------------------------

@examples(60)
@given(batches())
def test_a_batch_of_topics_is_each_topic_alone(case):
    shape, topics, params = case
    state, submissions, stakes, reports = stacked(topics, shape)
    inferred = spec.synthesise(state, submissions, params)
    losses, after = spec.settle(state, inferred, stakes, reports, params)
    singles = [spec.synthesise(s, sub, params) for s, sub, _, _ in topics]
    assert np.isfinite(inferred.network).all()     # every topic has a network inference
    assert_each_topic(inferred, singles, shape)
    for name in ("network", "naive", "one_out", "one_in"):
        assert_each_topic(getattr(inferred, name), [getattr(s, name) for s in singles], shape)
    settled = [spec.settle(s, single, stake, report, params)
               for (s, _, stake, report), single in zip(topics, singles)]
    assert_each_topic(losses, [loss for loss, _ in settled], shape)
    assert_each_topic(after, [next_state for _, next_state in settled], shape)


@pytest.mark.parametrize("profile", PROFILES)
def test_large_topics_take_the_one_out_kernel_one_topic_at_a_time(profile):
    params = load_profile(profile)
    rng = np.random.default_rng(5)
    n_i, n_f = 11, 9                          # N_i^2 N_f above ONE_OUT_PLAIN_ELEMENTS
    assert n_i * n_i * n_f > spec.ONE_OUT_PLAIN_ELEMENTS
    topics = [topic(rng, n_i, n_f, 3, kind) for kind in KINDS]
    state, submissions, _, _ = stacked(topics, (3,))
    inferred = spec.synthesise(state, submissions, params)
    assert_each_topic(inferred, [spec.synthesise(s, sub, params) for s, sub, _, _ in topics],
                        (3,))


def test_a_batch_of_new_topics():
    state = spec.SynthesisState.initial(3, 2, batch=(4,))
    single = spec.SynthesisState.initial(3, 2)
    assert state.regrets.shape == (4,) + single.regrets.shape
    assert state.previous_network_log_loss.shape == (4,)
    assert np.isnan(state.previous_network_log_loss).all()
    assert np.array_equal(state.initial_regret, np.zeros(4))
    assert np.isnan(single.previous_network_log_loss) and single.initial_regret == 0.0


@examples(30)
@given(batches())
def test_the_experiments_loss_functions_take_a_batch(case):
    shape, topics, params = case
    state, submissions, _, reports = stacked(topics, shape)
    inferred = spec.synthesise(state, submissions, params)
    truth = 5.0 + np.arange(np.prod(shape)).reshape(shape)       # no inference is exact
    vectors = spec.all_inferences(inferred.combined, inferred.forecast_implied,
                                  inferred.one_out_forecast_implied, submissions.inferences)
    losses = spec.log_losses(vectors, truth, spec.squared_error, params.log_base)
    n_i, n_f = submissions.n_inferers, submissions.n_forecasters
    width = int(spec.reported_entries(n_i, n_f, params).sum())
    loss_vectors = spec.loss_vectors(reports[..., :width], n_i, n_f, params)
    for index, (s, sub, _, report) in zip(np.ndindex(shape), topics):
        single = spec.synthesise(s, sub, params)
        vector = spec.all_inferences(single.combined, single.forecast_implied,
                                     single.one_out_forecast_implied, sub.inferences)
        assert np.array_equal(vectors[index], vector, equal_nan=True)
        assert np.array_equal(losses[index], spec.log_losses(vector, float(truth[index]),
                                                             spec.squared_error,
                                                             params.log_base), equal_nan=True)
        assert np.array_equal(loss_vectors[index],
                              spec.loss_vectors(report[:, :width], n_i, n_f, params),
                              equal_nan=True)


def test_bad_input_names_the_topic():
    rng = np.random.default_rng(3)
    params = load_profile("allora-simulator")
    topics = [topic(rng, 3, 2, 3, "warm") for _ in range(3)]
    state, submissions, stakes, reports = stacked(topics, (3,))
    silent = spec.Submissions(np.where(np.arange(3)[:, None] == 1, np.nan,
                                       submissions.inferences), submissions.forecasted_log_losses)
    with pytest.raises(ValueError, match=r"inferences I_ij \(eq 1\): no inferer submitted in "
                                         r"topic 1 of the batch"):
        spec.synthesise(state, silent, params)
    inferred = spec.synthesise(state, submissions, params)
    unstaked = np.where(np.arange(3)[:, None] == 2, 0.0, stakes)
    with pytest.raises(ValueError, match=r"reputer stakes S_im \(eq 14\) must not all be zero "
                                         r"in topic 2 of the batch"):
        spec.settle(state, inferred, unstaked, reports, params)
    with pytest.raises(ValueError, match=r"eq 14\) must be non-negative"):
        spec.settle(state, inferred, -stakes, reports, params)
    with pytest.raises(ValueError, match=r"eq 13\) must have 20 columns"):
        spec.settle(state, inferred, stakes, reports[..., 1:], params)
    with pytest.raises(ValueError, match=r"eq 13\) must have 20 columns"):
        spec.settle(state, inferred, stakes, reports[:2], params)
    with pytest.raises(ValueError, match=r"regrets R_\{i-1,l\} \(eq 15\) must have shape"):
        spec.synthesise(dataclasses.replace(state, regrets=state.regrets[:2]), submissions, params)
    with pytest.raises(ValueError, match=r"previous network log-loss \(eq 4\) must have one "
                                         r"value per topic"):
        spec.synthesise(dataclasses.replace(state, previous_network_log_loss=np.zeros(2)),
                        submissions, params)
    with pytest.raises(ValueError, match=r"log L_ijk \(eq 2\) must have shape"):
        spec.Submissions(submissions.inferences, submissions.forecasted_log_losses[:2])


# --- notebook 03_2: confidence intervals (eqs 16-18) ----------------------------------------

@st.composite
def weighted_batches(draw):
    shape = draw(st.sampled_from(BATCH_SHAPES))
    n = draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ties = draw(st.booleans())                    # equal inferences keep their workers' order
    values = rng.integers(-3, 4, shape + (n,)).astype(float) if ties else \
        rng.normal(size=shape + (n,))
    weights = rng.exponential(size=shape + (n,)) * (rng.random(shape + (n,)) > 0.25)
    members = rng.random(shape + (n,)) < 0.7
    first = rng.integers(n, size=shape)[..., None] == np.arange(n)
    members |= first                               # at least one member, with a weight
    weights = np.where(first, weights + 0.5, weights)
    weights[~members & (rng.random(shape + (n,)) < 0.5)] = np.nan   # non-members' are not read
    params = dataclasses.replace(load_profile(draw(st.sampled_from(PROFILES))),
                                 ci_ends=draw(st.sampled_from(["clamp", "extrapolate"])))
    return shape, values, weights, members, params


@examples(60)
@given(weighted_batches())
def test_a_batch_of_intervals_is_each_topic_over_its_members(case):
    shape, values, weights, members, params = case
    intervals = confidence_interval(values, weights, params, members)
    assert intervals.shape == shape + (len(params.ci_percentiles),)
    for index in np.ndindex(shape):
        kept = members[index]
        alone = confidence_interval(values[index][kept], weights[index][kept], params)
        assert np.array_equal(intervals[index], alone), index


def test_an_interval_without_members_is_an_error():
    params = load_profile("whitepaper")
    members = np.array([[True, False], [False, False]])
    with pytest.raises(ValueError, match=r"eqs 16-18.*in topic 1 of the batch"):
        confidence_interval(np.zeros((2, 2)), np.ones((2, 2)), params, members)
    with pytest.raises(ValueError, match=r"weights w_il \(eqs 16-18\).*in topic 0 of the batch"):
        confidence_interval(np.zeros((2, 2)), np.array([[-1.0, 1.0], [1.0, 1.0]]), params)

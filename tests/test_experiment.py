"""The §3.3 experiment (eqs 19-20): mock participants, the run through the epoch step, and the
figures, reproducible byte for byte."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from allora_ref.experiment import (
    Settings, context_sensitivity, draw_participants, emission_series, experience_factor,
    figure2, figure3, mock_forecasts, observations, reputer_reports, simulate, trailing_mean)
from allora_ref.figures import save_figure
from allora_ref.params import load_profile
from allora_ref.spec.inference_synthesis import synthesise

WHITEPAPER = load_profile("whitepaper")
SMALL = Settings(seed=3, epochs=40)


@pytest.fixture(scope="module")
def small_run():
    return simulate(SMALL, WHITEPAPER)


@pytest.mark.eq(19)
def test_eq19_experience_factor_decays_from_one_to_a_half():
    i = np.arange(0, 400)
    f = experience_factor(i)
    np.testing.assert_allclose(f, 0.5 * (1 + np.exp(-0.03 * i)), rtol=1e-15)
    assert f[0] == 1.0 and np.all(np.diff(f) < 0) and 0.5 < f[-1] < 0.5 + 1e-5
    assert experience_factor(math.log(2) / 0.03) == pytest.approx(0.75, rel=1e-15)
    with pytest.raises(ValueError, match=r"f_xp,i \(eq 19\)"):
        experience_factor(-1)


@pytest.mark.eq(20)
def test_eq20_context_sensitivity_is_a_logistic_of_the_draw():
    x = np.linspace(0, 1, 101)
    f = context_sensitivity(x, 10.0, 0.5)
    np.testing.assert_allclose(f, 1 / (1 + np.exp(-10 * (x - 0.5))), rtol=1e-14)
    np.testing.assert_allclose(f + f[::-1], 1.0, rtol=1e-14)       # symmetric about b
    assert f[50] == 0.5 and f.min() == pytest.approx(1 / (1 + math.exp(5)))
    with pytest.raises(ValueError, match=r"f_context \(eq 20\)"):
        context_sensitivity([0.5, 1.2], 10.0, 0.5)


@pytest.mark.eq(20)
def test_eq20_values_near_zero_and_one_are_more_frequent():
    draws = draw_participants(Settings(n_workers=40_000), np.random.default_rng(0)).context
    # density 1 / (a f (1 - f)): P(f < 0.1) = P(x < 0.5 - ln 9 / 10) = 0.28
    expected = 0.5 - math.log(9) / 10
    assert np.mean(draws < 0.1) == pytest.approx(expected, abs=0.01)
    assert np.mean(draws > 0.9) == pytest.approx(expected, abs=0.01)
    assert np.mean((draws > 0.4) & (draws < 0.6)) < 0.1        # uniform x would give 20%


def test_participants_follow_the_papers_decimal_log_normals():
    settings = Settings(n_workers=20_000, n_reputers=20_000)
    p = draw_participants(settings, np.random.default_rng(1))
    for values, mean, dispersion in ((p.inference_error, -0.700, 0.176),
                                     (p.forecast_error, -0.222, 0.176),
                                     (p.reputer_error, -1.000, 0.097)):
        assert np.log10(values).mean() == pytest.approx(mean, abs=0.005)
        assert np.log10(values).std() == pytest.approx(dispersion, rel=0.03)
    alpha = np.log10(p.reputer_alpha[p.reputer_alpha < 1])
    assert np.median(alpha) == pytest.approx(-1.523, abs=0.01)
    for values, dispersion in ((p.inference_bias, 0.05), (p.forecast_bias, 0.3),
                               (p.reputer_bias, 0.05)):
        assert values.std() == pytest.approx(dispersion, rel=0.03)
    np.testing.assert_allclose(p.reputer_reading_error, np.hypot(p.reputer_bias, p.reputer_error))


def test_settings_reject_bad_values_naming_them():
    with pytest.raises(ValueError, match="epochs"):
        Settings(epochs=0)
    with pytest.raises(ValueError, match="outperformance"):
        Settings(outperformance=1.5)
    with pytest.raises(ValueError, match=r"f_context \(eq 20\)"):
        Settings(context_sensitivity=-0.1)
    with pytest.raises(ValueError, match="emission_persistence"):
        Settings(emission_persistence=1.0)


@pytest.mark.eq(20)
def test_forecasts_mix_the_context_aware_and_unaware_losses():
    settings = Settings(n_workers=2, forecast_error_log_mean=-300.0, forecast_bias_dispersion=0.0)
    actual = np.array([-2.0, -3.0])
    shift = np.array([0.0, 2 * math.log10(0.3)])        # inferer 1 outperforms
    for f in (0.0, 0.25, 1.0):
        p = dataclasses.replace(draw_participants(settings, np.random.default_rng(0)),
                                context=np.full(2, f))
        forecasts = mock_forecasts(actual, p, 1.0, shift, np.random.default_rng(0))
        expected = actual - (1 - f) * shift            # unaware: L / 0.3^2 for the outperformer
        np.testing.assert_allclose(forecasts, np.tile(expected, (2, 1)), atol=1e-12)


def test_reputers_report_an_ema_of_their_readings():
    p = draw_participants(Settings(n_reputers=2), np.random.default_rng(0))
    p = dataclasses.replace(p, reputer_alpha=np.array([1.0, 0.25]),
                            reputer_error=np.zeros(2), reputer_bias=np.array([0.1, -0.1]))
    first = reputer_reports(np.array([-2.0, np.nan]), None, p, np.random.default_rng(0))
    np.testing.assert_allclose(first, [[-1.9, np.nan], [-2.1, np.nan]])
    second = reputer_reports(np.array([-3.0, -1.0]), first, p, np.random.default_rng(0))
    np.testing.assert_allclose(second, [[-2.9, -0.9], [0.25 * -3.1 + 0.75 * -2.1, -1.1]])


def test_emission_model_is_positive_with_the_given_mean():
    settings = Settings(epochs=200_000, mean_emission=2.0)
    emission = emission_series(settings, np.random.default_rng(0))
    assert (emission > 0).all()
    assert emission.mean() == pytest.approx(2.0, rel=0.03)
    log = np.log(emission)
    assert np.corrcoef(log[1:], log[:-1])[0, 1] == pytest.approx(0.95, abs=0.01)


@pytest.mark.eq(19)
def test_experience_shrinks_the_inference_errors():
    run = simulate(Settings(seed=0, epochs=150, n_workers=5), WHITEPAPER)
    early, late = run.inferer_losses[:10].mean(), run.inferer_losses[-50:].mean()
    # f_xp falls from ~0.93 to ~0.5: squared errors by ~(0.5/0.93)^2, -0.54 dex
    assert late - early == pytest.approx(2 * math.log10(0.5 / 0.93), abs=0.25)


def test_run_goes_through_the_epoch_step(small_run):
    records = list(observations(SMALL, WHITEPAPER))
    for o in records[::7]:
        np.testing.assert_array_equal(synthesise(o.state.synthesis, o.submissions,
                                                 WHITEPAPER).combined,
                                      o.epoch.inferences.combined)
        errors = np.log10((o.submissions.inferences - o.truth) ** 2)
        np.testing.assert_allclose(o.true_log10_losses[2: 2 + SMALL.n_workers], errors)
    np.testing.assert_array_equal(small_run.true_log10_losses,
                                  [o.true_log10_losses for o in records])
    paid = (small_run.inferer_rewards.sum(1) + small_run.forecaster_rewards.sum(1)
            + small_run.reputer_rewards.sum(1))
    np.testing.assert_allclose(paid, small_run.topic_reward, rtol=1e-12)
    assert records[-1].epoch.inferences.network == pytest.approx(
        records[-1].truth, abs=0.2)


def test_same_seed_same_run_and_independent_streams(small_run):
    again = simulate(SMALL, WHITEPAPER)
    for field in dataclasses.fields(small_run):
        if isinstance(getattr(small_run, field.name), np.ndarray):
            np.testing.assert_array_equal(getattr(again, field.name),
                                          getattr(small_run, field.name))
    other = simulate(dataclasses.replace(SMALL, seed=4), WHITEPAPER)
    assert not np.array_equal(other.inferer_losses, small_run.inferer_losses)
    # a different context sensitivity changes the forecasts only: the inferences stay
    aware = simulate(dataclasses.replace(SMALL, context_sensitivity=1.0), WHITEPAPER)
    np.testing.assert_array_equal(aware.inferer_losses, small_run.inferer_losses)
    np.testing.assert_array_equal(aware.topic_reward, small_run.topic_reward)
    assert not np.array_equal(aware.forecast_implied_losses, small_run.forecast_implied_losses)


def test_trailing_mean():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    np.testing.assert_allclose(trailing_mean(values, 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(trailing_mean(values[:, None], 10)[:, 0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="window"):
        trailing_mean(values, 0)


def test_figure2_uses_the_papers_styling(small_run):
    lines = figure2(small_run).axes[0].get_lines()
    n = SMALL.n_workers
    assert len(lines) == 2 * n + 2
    assert {line.get_color() for line in lines[:n]} == {"tab:blue"}
    assert {line.get_color() for line in lines[n:2 * n]} == {"c"}
    assert (lines[-2].get_color(), lines[-2].get_linestyle()) == ("k", ":")
    assert (lines[-1].get_color(), lines[-1].get_linestyle()) == ("k", "-")


def test_figures_are_byte_identical_when_redrawn(small_run, tmp_path):
    for name, draw in (("figure2", figure2), ("figure3", figure3)):
        for attempt in ("a", "b"):
            figure = draw(simulate(SMALL, WHITEPAPER), title="test")
            save_figure(figure, tmp_path / f"{name}{attempt}")
        for fmt in ("png", "pdf"):
            first = (tmp_path / f"{name}a.{fmt}").read_bytes()
            assert first == (tmp_path / f"{name}b.{fmt}").read_bytes(), f"{name}.{fmt}"
            assert len(first) > 1000
    assert not list(tmp_path.glob(".*.tmp"))              # no temporary files left

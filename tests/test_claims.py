"""The claims ledger: each check on a small, fast configuration, asserting what it measures."""

from __future__ import annotations

import dataclasses
import math
import shutil
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest

from allora_ref import reports
from allora_ref.claims import (
    CONTEXT_VALUES, ERROR_SCALES, HOLDER_MODELS, STAKE_SHARES, Claim, accuracy_claims,
    attack_claims, attack_table, coalition_log_losses, coalitions, ensemble, figure4_claims,
    forecasting_claims, ledger, less_accurate_forecasters, network_gain, rank_correlation,
    reward_claims, shapley_claims, shapley_comparison, shapley_samples, shapley_values,
    figure4_checks, share_verdict, spread, sweep_gains, sybil_claims)
from allora_ref.experiment import Settings, observations
from allora_ref.figure4 import Figure4Scenario, figure4_measures, figure4_setups
from allora_ref.params import load_profile

ROOT = Path(__file__).resolve().parent.parent

WHITEPAPER = load_profile("whitepaper")


@pytest.fixture(scope="module")
def runs():
    return ensemble(Settings(seed=0, epochs=120), WHITEPAPER, 4)


def brute_force_shapley(values: np.ndarray) -> np.ndarray:
    """Shapley values as the mean marginal contribution over every order of the players."""
    n = int(math.log2(values.size))
    total = np.zeros(n)
    orders = list(permutations(range(n)))
    for order in orders:
        coalition = 0
        for player in order:
            total[player] += values[coalition | 1 << player] - values[coalition]
            coalition |= 1 << player
    return total / len(orders)


def test_spread_and_share_verdict():
    assert spread([1.0, 2.0, 3.0, 4.0, 5.0], 1) == "3.0 [1.6, 4.4]"
    assert share_verdict([True] * 9 + [False]) == "holds (9 of 10 seeds)"
    assert share_verdict([False] * 9 + [True]) == "does not hold (1 of 10 seeds)"
    assert share_verdict([True, False]) == "holds in 50% of the seeds (1 of 2 seeds)"
    assert share_verdict([True], "variants") == "holds (1 of 1 variants)"


def test_shapley_values_of_known_games():
    members = coalitions(4)
    worth = np.array([1.0, -2.0, 0.5, 3.0])
    additive = members @ worth
    np.testing.assert_allclose(shapley_values(additive), worth, atol=1e-15)
    glove = np.array([float(bool(m[0]) and (bool(m[1]) or bool(m[2])))
                      for m in coalitions(3)])              # one left glove, two right gloves
    np.testing.assert_allclose(shapley_values(glove), [2 / 3, 1 / 6, 1 / 6], rtol=1e-15)
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 7):
        game = rng.normal(size=2**n)
        phi = shapley_values(game)
        np.testing.assert_allclose(phi, brute_force_shapley(game), atol=1e-12)
        assert phi.sum() == pytest.approx(game[-1] - game[0], abs=1e-12)   # efficiency
    with pytest.raises(ValueError, match="2\\^n"):
        shapley_values(np.zeros(6))


def test_coalitions_recompute_the_network_inference():
    settings = Settings(seed=1, epochs=6, n_workers=4)
    o = list(observations(settings, WHITEPAPER))[-1]
    network = o.true_log10_losses[0]
    inferers = coalition_log_losses(o, WHITEPAPER, "inferers")
    forecasters = coalition_log_losses(o, WHITEPAPER, "forecasters")
    assert np.isnan(inferers[0]) and np.isfinite(inferers[1:]).all()
    assert inferers[-1] == pytest.approx(network, rel=1e-12)
    assert forecasters[-1] == pytest.approx(network, rel=1e-12)
    # a single inferer: the network and every forecast-implied inference are its inference
    for j in range(4):
        assert inferers[1 << j] == pytest.approx(o.true_log10_losses[2 + j], rel=1e-12)
    with pytest.raises(ValueError, match="players"):
        coalition_log_losses(o, WHITEPAPER, "reputers")


def test_rank_correlation():
    assert rank_correlation(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 35.0])) == 1.0
    assert rank_correlation(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == -1.0


def test_shapley_comparison_measures_the_approximation():
    samples = shapley_samples(Settings(seed=0, epochs=25, n_workers=3), WHITEPAPER)
    assert samples.shape == (24, 2, 2)
    assert np.isfinite(samples).all()
    # with three workers the forecasters' one-out/one-in scores rank like Shapley values...
    assert np.median(samples[:, 1, 0]) >= 0.8
    # ... but are not the values themselves
    assert np.median(samples[:, :, 1]) > 0.1
    o = next(o for o in observations(Settings(seed=0, epochs=3), WHITEPAPER) if o.index == 2)
    assert shapley_comparison(o, WHITEPAPER).shape == (2, 2)
    claims = shapley_claims({3: samples})
    assert [c.title for c in claims] == [
        "The inferers' scores (eq 21) approximate Shapley values",
        "The forecasters' scores (eqs 22-25) approximate Shapley values"]
    assert "| 3 |" in claims[1].details


def test_accuracy_claims_on_a_small_ensemble(runs):
    claims = accuracy_claims(runs)
    assert len(claims) == 4
    gains = np.array([network_gain(r) for r in runs])
    assert (gains > 0.5).all()                          # forecasting improves every seed
    assert claims[1].verdict == "holds (4 of 4 seeds)"  # forecast-implied beat the naive network
    assert "a factor" in claims[3].measured
    # the naive network is close to the best inferer, and better than the worst
    assert all(r.naive_loss.mean() - r.inferer_losses.mean(0).min() < 0.2 for r in runs)
    assert all(r.naive_loss.mean() < r.inferer_losses.mean(0).max() for r in runs)


def test_forecasting_sweeps_on_a_small_configuration():
    settings = Settings(seed=0, epochs=60)
    error = sweep_gains([less_accurate_forecasters(settings, s) for s in ERROR_SCALES],
                        WHITEPAPER, 2)
    context = sweep_gains([dataclasses.replace(settings, context_sensitivity=f)
                           for f in CONTEXT_VALUES], WHITEPAPER, 2)
    assert error.shape == (len(ERROR_SCALES), 2) and context.shape == (len(CONTEXT_VALUES), 2)
    assert (np.diff(error.mean(axis=1)) < 0).all()      # less accurate forecasters help less
    assert context[-1].mean() > context[0].mean()       # context awareness helps more
    assert (context[0] > 0).all()                       # even without it, forecasting helps
    accuracy, awareness = forecasting_claims(error, context, settings)
    assert accuracy.details.count("\n") == len(ERROR_SCALES) + 1
    assert awareness.verdict.startswith("holds, trivially")
    assert less_accurate_forecasters(settings, 10.0).forecast_error_log_mean == pytest.approx(
        settings.forecast_error_log_mean + 1)


def test_reward_claims_on_a_small_ensemble(runs):
    best, reputers, inference, entropy = reward_claims(runs)
    assert best.details.count("\n") == 4
    shares = np.array([r.class_rewards.sum(0) / r.topic_reward.sum() for r in runs])
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-12)
    # five reputers against three workers: their entropy, so their share, is the largest
    assert (shares[:, 2] > shares[:, :2].max(axis=1)).all()
    assert reputers.verdict == "does not hold (0 of 4 seeds)"
    assert entropy.verdict == "does not hold (0 of 4 seeds)"
    assert inference.verdict.split()[0] == "holds"


def test_attack_claims():
    table = attack_table(WHITEPAPER, range(2), 8)
    assert table.shape == (2, len(STAKE_SHARES), 10)
    shares = np.array(STAKE_SHARES)
    np.testing.assert_allclose(table[:, :, 0], np.tile(shares, (2, 1)), rtol=1e-2)
    np.testing.assert_allclose(table[:, :, 1], np.tile(1 / (1 + 5 * (1 - shares)), (2, 1)),
                               rtol=1e-2)
    majority, minority = attack_claims(table)
    assert majority.verdict.startswith("does not hold (0 of 2 seeds)")
    assert minority.verdict.startswith("holds (2 of 2 seeds), within 3 epochs")


def test_sybil_claims():
    (claim,) = sybil_claims(WHITEPAPER)
    assert claim.verdict.startswith("holds only for")
    assert "equal, N = 20 with k in {2, 3, 7}" in claim.verdict
    assert "one dominant" not in claim.verdict
    (exact,) = sybil_claims(dataclasses.replace(WHITEPAPER, beta_entropy=0.0), tolerance=10.0)
    assert exact.verdict == "holds"


def test_ledger_is_markdown_and_reproducible(runs):
    claims = accuracy_claims(runs) + sybil_claims(WHITEPAPER)
    text = ledger(claims, "configuration")
    assert text == ledger(accuracy_claims(runs) + sybil_claims(WHITEPAPER), "configuration")
    assert text.startswith("# Claims ledger\n") and text.endswith("\n")
    assert text.count("\n## ") == len(claims)
    for n, claim in enumerate(claims, start=1):
        assert f"| {n} | {claim.title} | {claim.source} | {claim.verdict} |" in text
        assert f"> {claim.quote}" in text
    assert isinstance(claims[0], Claim)


def test_figure4_claims():
    scenario = Figure4Scenario()
    measures = figure4_measures(figure4_setups(WHITEPAPER, scenario), scenario)
    assert all(figure4_checks(measures).values())       # the §5.1 notebook's own set-up
    assert measures["unlock_drop"] < -0.2 and measures["decline_without_fees"] > 0.2
    claims = figure4_claims(WHITEPAPER)
    assert [c.source for c in claims] == ["§5.1, Figure 4"] * 3
    assert claims[0].details.count("\n") == len(HOLDER_MODELS) + 1
    assert "| 45% | 75% | -25.0% |" in claims[0].details
    # a holder model that stakes little of the unlock hardly sees a drop at all
    assert "| 35% | 65% | -8.5% |" in claims[0].details
    assert claims[0].verdict == "holds in 78% of the variants (7 of 9 variants)"


def test_reports_are_byte_identical_when_rerun(tmp_path):
    """`make reports` twice gives the same files: the experiment and the claims ledger (small
    parameters) run twice through the reports runner, every output compared byte for byte."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("03_3_numerical_experiment.py", "99_claims_ledger.py"):
        shutil.copy(ROOT / "notebooks" / name, notebooks / name)
    small = {"epochs": "12", "n_seeds": "2", "sweep_seeds": "1", "sweep_epochs": "8",
             "shapley_sizes": "[3]", "shapley_seeds": "1", "shapley_epochs": "4",
             "attack_seeds": "1", "attack_epochs": "2", "seed": "5"}
    arguments = [item for name, value in small.items() for item in ("-p", name, value)]
    outputs = {}
    for attempt in ("first", "second"):
        out = tmp_path / "reports"
        assert reports.main([*arguments, "--notebooks", str(notebooks), "--out", str(out)]) == 0
        outputs[attempt] = {path.relative_to(out).as_posix(): path.read_bytes()
                            for path in sorted(out.rglob("*")) if path.is_file()
                            and "mathjax" not in path.relative_to(out).parts}
        shutil.rmtree(out)
    assert {name for name in outputs["first"] if "/" not in name} == {
        "03_3_numerical_experiment.ipynb", "99_claims_ledger.ipynb", "claims.md",
        "figure2.png", "figure2.pdf", "figure3.png", "figure3.pdf"}
    assert {"site/index.html", "site/claims.html", "site/eq/57.html",
            "site/notebooks/03_3_numerical_experiment.html",
            "site/notebooks/99_claims_ledger.html"} <= set(outputs["first"])
    for name, content in outputs["first"].items():
        assert content == outputs["second"][name], f"{name} differs between two runs"
    assert b"seeds 5-6" in outputs["first"]["claims.md"]

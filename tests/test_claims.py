"""The claims ledger: each check on a small, fast configuration, asserting what it measures."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
from itertools import permutations
from pathlib import Path

import numpy as np
import pytest

from allora_ref import reports
from allora_ref.attacks import attack_reports
from allora_ref.claims import (
    CABAL_WEEKS, CHECKABLE_CLAIMS, CONTEXT_VALUES, DEFECTOR_FEES, ERROR_SCALES, HOLDER_MODELS,
    MINORITY_SHARES, MISREPORTS, SCORE_SCALES, STAKE_SHARES, STEADY_STATE, SYBIL_COPIES,
    SYBIL_IDENTITIES, accuracy_claims, attack_table, Claim, coalition_log_losses, coalitions,
    coverage, differentiation_claims, ensemble, epochs_beating_every_participant,
    epochs_to_silence, fee_claims, figure4_checks, figure4_claims, forecaster_score_terms,
    forecasting_claims, ledger, less_accurate_forecasters, majority_claim, network_gain, outcome,
    parallel_map, rank_correlation, reward_claims, scale_changes, scale_claim, shapley_claims,
    shapley_comparison, shapley_samples, shapley_values, share_verdict, spread, sweep_gains,
    sybil_claims, sybil_entropy_ratios, targeted_claim, targeted_table, topic_shares, truncated,
    with_dependence)
from allora_ref.experiment import Settings, observations, simulate
from allora_ref.figure4 import Figure4Scenario, figure4_measures, figure4_setups, unlock_jump
from allora_ref.params import load_profile
from allora_ref.sybil import split_fractions, sybil_premise

ROOT = Path(__file__).resolve().parent.parent

WHITEPAPER = load_profile("whitepaper")


@pytest.fixture(scope="module")
def runs():
    return ensemble(Settings(seed=0, epochs=120), WHITEPAPER, 4)


def counts(text: str, unit: str = "seeds") -> list[tuple[int, int]]:
    """Every "(k of n <unit>)" that a verdict states."""
    return [(int(k), int(n)) for k, n in re.findall(rf"\((\d+) of (\d+) {unit}\)", text)]


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


def test_shapley_games_under_the_chain_are_measured_where_defined():
    """chain-v0.6: before the topic's first network loss (reputers below the minimum stake
    never give one) no coalition but the whole has a network inference; in the cold start
    (R0 = 0, until the 12th epoch with alpha_regret = 0.1) the forecasters are worth nothing,
    every Shapley value 0: those comparisons are NaN and the claims count only the others."""
    chain = load_profile("chain-v0.6")
    units = Settings(seed=0, epochs=14, n_workers=3, mean_emission=1e6, initial_stake=1e5)
    samples = shapley_samples([units], chain)
    assert samples.shape == (13, 2, 2)
    assert np.isfinite(samples[:, 0]).all()                  # inferers: from the first loss
    cold = [o.state.synthesis.initial_regret == 0.0 for o in observations(units, chain)][1:]
    assert cold == [True] * 11 + [False] * 2                 # R0 set at the 12th epoch
    assert np.isnan(samples[:11, 1]).all() and np.isfinite(samples[11:, 1]).all()
    after = next(o for o in observations(units, chain) if o.index == 12)
    game = -coalition_log_losses(after, chain, "forecasters")   # efficiency, out of the cold
    assert math.isclose(shapley_values(game).sum(), game[-1] - game[0], rel_tol=1e-9)
    assert np.ptp(game) > 0
    claims = shapley_claims({3: samples})
    assert claims[1].details.splitlines()[-1].endswith("| 2 |")    # two epochs measured
    assert claims[0].details.splitlines()[-1].endswith("| 13 |")
    # stakes below the chain's minimum: no network loss, no coalition game, nothing measured
    never = shapley_samples([dataclasses.replace(units, initial_stake=100.0, epochs=4)], chain)
    assert np.isnan(never).all()
    assert all(c.verdict.startswith("not measured") for c in shapley_claims({3: never}))


def test_rank_correlation():
    assert rank_correlation(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 35.0])) == 1.0
    assert rank_correlation(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == -1.0


def test_shapley_comparison_measures_the_approximation():
    samples = shapley_samples([Settings(seed=0, epochs=25, n_workers=3)], WHITEPAPER)
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
    assert len(claims) == 5
    gains = np.array([network_gain(r) for r in runs])
    assert (gains > 0.5).all()                          # forecasting improves every seed
    # the forecast-implied inferences beat the naive network in every seed, by a margin that no
    # rounding decides (eq 12 columns: 1 naive, 5-7 forecast-implied), and the verdict counts them
    implied_gap = [r.true_log10_losses[:, 5:8].mean() - r.true_log10_losses[:, 1].mean()
                   for r in runs]
    assert max(implied_gap) < -0.3
    assert counts(claims[1].verdict) == [(4, 4)] and claims[1].verdict.startswith("holds (")
    assert "a factor" in claims[4].measured and "whole run" in claims[4].depends_on
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
    assert counts(accuracy.details) == [(int((g > 0).sum()), 2) for g in error]
    assert awareness.verdict.startswith("holds, trivially")      # f_context = 0 gains (above)
    assert less_accurate_forecasters(settings, 10.0).forecast_error_log_mean == pytest.approx(
        settings.forecast_error_log_mean + 1)


def test_reward_claims_on_a_small_ensemble(runs):
    best, reputers, inference, entropy = reward_claims(runs)
    assert best.details.count("\n") == 4
    shares = np.array([r.class_rewards.sum(0) / r.topic_reward.sum() for r in runs])
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-12)
    # five reputers against three workers: their entropy, so their share, is the largest
    assert (shares[:, 2] > shares[:, :2].max(axis=1)).all()
    # W_i / E_i = H / (F + G + H) every epoch (eqs 41, 45), so the reputers' share is the
    # emission-weighted mean of H's part of the entropies
    for r, share in zip(runs, shares[:, 2]):
        part = r.entropies[:, 2] / r.entropies.sum(axis=1)
        assert share == pytest.approx(np.sum(r.topic_reward * part) / r.topic_reward.sum(),
                                      rel=1e-12)
    # five reputers with near-equal stakes keep H above ln 3, the most that three workers' F or G
    # can reach (eq 37: at most ln N): the reputers' entropy is never the lowest
    final = np.array([r.entropies[-1] for r in runs])
    assert (final[:, 2] > np.log(3)).all() and (final[:, :2] <= np.log(3) + 1e-12).all()
    assert counts(reputers.verdict) == counts(entropy.verdict) == [(0, 4)]
    assert counts(inference.verdict) == [(int((shares[:, 0] > shares[:, 1]).sum()), 4)]


def test_majority_claim():
    table = attack_table(WHITEPAPER, range(2), 8)
    assert table.shape == (2, len(STAKE_SHARES), 10)
    shares = np.array(STAKE_SHARES)
    # the attacker reports the honest mean + 1: with raw stakes the consensus moves by its share;
    # with adjusted stakes min(1, 5 S_m / sum S) (eq 29) it weighs 1 against 5 (1 - phi) for the
    # four honest reputers together, exactly
    np.testing.assert_allclose(table[:, :, 0], np.tile(shares, (2, 1)), rtol=1e-12)
    np.testing.assert_allclose(table[:, :, 1], np.tile(1 / (1 + 5 * (1 - shares)), (2, 1)),
                               rtol=1e-12)
    majority = majority_claim(table)
    # a 90% attacker still pulls 1 / 1.5 = 0.67 (0.9 with raw stakes), not the 0.2 of a reputer
    # of average stake: the cap fails in every seed
    assert counts(majority.verdict) == [(0, 2)] and "0.67 (raw stake 0.90)" in majority.verdict
    # an attacker with half of the stake or less is silenced by listening within 3 epochs ...
    assert (np.abs(table[:, shares <= 0.5, 2 + 2]) < 0.05).all()
    # ... one with 90% is listened to instead: the consensus is its report
    assert (table[:, -1, -1] > 0.9).all()


def equal_split_ratio(n: int, k: int, beta: float) -> float:
    """Eqs 37, 40 by hand: n equal participants, one split into k copies; the modified entropy
    after over before: (ln n + ln(k) / n) / ln n times (N_eff / N)^beta, with N = n - 1 + k and
    N_eff = n^2 k / ((n - 1) k + 1)."""
    n_eff = n**2 * k / ((n - 1) * k + 1)
    return (1 + math.log(k) / (n * math.log(n))) * (n_eff / (n - 1 + k)) ** beta


def test_sybil_claims():
    (claim,) = sybil_claims(WHITEPAPER)
    beta = WHITEPAPER.beta_entropy
    for n in (5, 20):
        row = next(r for r in claim.details.splitlines() if r.startswith(f"| equal, N = {n} |"))
        measured = [float(x) for x in row.strip("| ").split(" | ")[1:]]
        expected = [equal_split_ratio(n, k, beta) for k in SYBIL_COPIES]
        np.testing.assert_allclose(measured, expected, atol=5e-4)
        within = [k for k, r in zip(SYBIL_COPIES, expected) if abs(r - 1) <= 0.05]
        assert f"equal, N = {n} with k in {{{', '.join(map(str, within))}}}" in claim.verdict
    assert "equal, N = 20 with k in {2, 3, 7}" in claim.verdict     # 1.006, 1.003, 0.978
    # one dominant participant (0.8) split in two: the Shannon entropy grows by 70% (0.78 to
    # 1.33), far beyond what (N_eff / N)^beta can take back
    dominant = split_fractions([0.8, 0.05, 0.05, 0.05, 0.05], 2)
    shannon = lambda f: -np.sum(f * np.log(f))
    assert shannon(dominant) / shannon(np.array([0.8, 0.05, 0.05, 0.05, 0.05])) > 1.5
    assert "one dominant" not in claim.verdict
    # without the number-ratio term (beta = 0) eq 37 is Shannon's entropy: the ratio by hand
    # grows with k: 1 + ln k / (20 ln 20) is within 5% of 1 up to k = 15 (1.045; 1.057 at 31)
    (shannon_only,) = sybil_claims(dataclasses.replace(WHITEPAPER, beta_entropy=0.0))
    kept = [k for k in SYBIL_COPIES if equal_split_ratio(20, k, 0.0) <= 1.05]
    assert kept == [2, 3, 7, 15] and "equal, N = 20 with k in {2, 3, 7, 15}" in shannon_only.verdict
    assert "equal, N = 5 with" not in shannon_only.verdict           # ln 2 / (5 ln 5) > 5%


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
    # the unlock stands out from its neighbours without smoothing, not with it
    assert measures["jump_without_smoothing"] > 10 > 3 > measures["jump_with_smoothing"]
    assert 0.55 < measures["staked_share"] < 0.65       # the paper's "approximately 60%"
    claims = figure4_claims(WHITEPAPER)
    assert [c.source for c in claims] == ["§5.1, Figure 4"] * 3
    assert claims[0].details.count("\n") == len(HOLDER_MODELS) + 1
    rows = [row.strip("| ").split(" | ") for row in claims[0].details.splitlines()[2:]]
    percent = lambda cell: float(cell.split("%")[0]) / 100
    models = [(percent(row[0]), percent(row[1])) for row in rows]
    assert models == [pytest.approx(m) for m in HOLDER_MODELS]
    # the staked share mixes the two groups: it lies between their staked fractions
    assert all(h < percent(row[2]) < v for (h, v), row in zip(models, rows))
    # at a given holders' fraction, the more of the unlock is staked, the deeper the APY drop
    for h in {h for h, _ in models}:
        drops = [percent(row[3]) for (hh, _), row in zip(models, rows) if hh == h]
        assert drops == sorted(drops, reverse=True) and drops[-1] < drops[0]
    # the variants near 60% staked: the unlock stands out (> 10) without smoothing, not with it
    near = [row for row in rows if row[2].endswith("(near 60%)")]
    assert all(float(row[4]) > 10 and float(row[5]) <= 3 for row in near)
    assert counts(claims[1].verdict, "variants") == [(len(near), len(near))]
    assert all(c.depends_on.startswith(("the holder model", "the holder")) for c in claims)


def test_unlock_jump_by_hand():
    apy = 0.2 * 0.99 ** np.arange(24)                  # -1% a month ...
    apy[11:] *= 0.8                                    # ... and -20% into month 12
    change_at_unlock = 1 - 0.8 * 0.99
    assert unlock_jump(apy, 12) == pytest.approx(change_at_unlock / 0.01, rel=1e-12)
    assert unlock_jump(0.2 * 0.99 ** np.arange(24), 12) == pytest.approx(1.0, rel=1e-12)


def test_reports_are_byte_identical_when_rerun(tmp_path, monkeypatch):
    """`make reports` twice gives the same files: the experiment and the claims ledger (small
    parameters) run twice through the reports runner, side by side and one after the other,
    every output compared byte for byte."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("03_3_numerical_experiment.py", "99_claims_ledger.py"):
        shutil.copy(ROOT / "notebooks" / name, notebooks / name)
    small = {"epochs": "12", "n_seeds": "2", "sweep_seeds": "1", "sweep_epochs": "8",
             "shapley_sizes": "[3]", "shapley_seeds": "1", "shapley_epochs": "4",
             "attack_seeds": "1", "attack_epochs": "2", "targeted_epochs": "2",
             "dependence_seeds": "1", "sybil_seeds": "1", "sybil_epochs": "6", "seed": "5"}
    arguments = [item for name, value in small.items() for item in ("-p", name, value)]
    monkeypatch.delenv("ALLORA_REF_NOTEBOOK_SIZE", raising=False)   # the sizes above
    outputs = {}
    for attempt, jobs in (("first", "2"), ("second", "1")):
        out = tmp_path / "reports"
        assert reports.main([*arguments, "--jobs", jobs, "--notebooks", str(notebooks),
                             "--out", str(out)]) == 0
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
    # nothing on stderr: a warning would leak into the report, and its order among the printed
    # lines would depend on when each stream is flushed
    for name in ("03_3_numerical_experiment.ipynb", "99_claims_ledger.ipynb"):
        assert b'"name": "stderr"' not in outputs["first"][name], name
    assert b"seeds 5-6" in outputs["first"]["claims.md"]


WHITEPAPER_TEXT = Path(os.environ.get("ALLORA_WHITEPAPER_DIR")
                       or ROOT.parent / "shared" / "whitepaper")


def test_every_checkable_claim_is_quoted_from_the_paper():
    texts = sorted(WHITEPAPER_TEXT.glob("*.txt")) if WHITEPAPER_TEXT.is_dir() else []
    if not texts:
        pytest.skip("whitepaper text not found (../shared/whitepaper or $ALLORA_WHITEPAPER_DIR)")
    paper = " ".join(path.read_text(encoding="utf-8") for path in texts)
    missing = [sentence for _, sentence in CHECKABLE_CLAIMS if sentence not in paper]
    assert missing == []
    assert len({title for title, _ in CHECKABLE_CLAIMS}) == len(CHECKABLE_CLAIMS)


def test_ledger_header_counts_the_checkable_claims():
    claims = [Claim(title, "§", sentence, "check", "measured", "holds")
              for title, sentence in CHECKABLE_CLAIMS]
    assert coverage(claims) == (len(CHECKABLE_CLAIMS), [])
    assert f"makes {len(CHECKABLE_CLAIMS)} checkable claims" in ledger(claims, "c")
    assert "every one is an entry below." in ledger(claims, "c")
    text = ledger(claims[1:], "c")
    assert f"1 are missing: {CHECKABLE_CLAIMS[0][0]}." in text
    assert "- **Depends on:** nothing measured changes it" in text


def test_runs_in_worker_processes_are_the_runs_in_order():
    settings = Settings(seed=3, epochs=5)
    serial = ensemble(settings, WHITEPAPER, 3)
    parallel = ensemble(settings, WHITEPAPER, 3, processes=2)
    assert [r.settings.seed for r in parallel] == [3, 4, 5]
    for a, b in zip(serial, parallel):
        assert a.true_log10_losses.tobytes() == b.true_log10_losses.tobytes()
        assert a.reputer_rewards.tobytes() == b.reputer_rewards.tobytes()
    assert parallel_map(abs, [-2, 3, -1], processes=2) == [2, 3, 1]


def test_steady_state_gain_and_beating_every_participant_by_hand(runs):
    run = runs[0]
    start = run.settings.epochs - run.settings.epochs // 3          # 120 epochs: the last 40
    by_hand = np.mean(run.true_log10_losses[start:, 1]) - np.mean(run.true_log10_losses[start:, 0])
    assert network_gain(run, STEADY_STATE) == pytest.approx(by_hand, rel=1e-12)
    epochs_won = sum(row[0] < min(row[2:8]) for row in run.true_log10_losses)  # 3 + 3 workers
    assert epochs_beating_every_participant(run) == epochs_won / run.settings.epochs


def test_forecaster_score_terms_read_the_loss_vector(runs):
    """Eqs 23-24 by hand from the eq 12 layout with three workers: network, naive, 3 inferences,
    3 forecast-implied, 9 one-out forecast-implied, 6 one-out rows, 3 one-in rows."""
    run = runs[1]
    one_out, one_in = forecaster_score_terms(run)
    losses = run.true_log10_losses
    np.testing.assert_allclose(one_out, losses[:, 20:23] - losses[:, :1], rtol=1e-15)
    np.testing.assert_allclose(one_in, losses[:, 1:2] - losses[:, 23:26], rtol=1e-15)
    (claim,) = differentiation_claims(runs)
    named = []
    for r in runs:
        v, best = r.true_log10_losses, np.argmin(r.true_log10_losses[:, 5:8], axis=1)
        named.append([np.mean(np.argmax(v[:, 20:23] - v[:, :1], axis=1) == best),
                      np.mean(np.argmax(v[:, 1:2] - v[:, 23:26], axis=1) == best)])
    named = np.array(named)
    assert (named > 1 / 3).all()                # both name the best forecaster above chance
    assert counts(claim.verdict) == [(int((named[:, 1] > named[:, 0]).sum()), len(runs))]
    assert f"one-in {np.median(named[:, 1]):.2f}" in claim.measured


def test_targeted_misreport_pulls_by_the_attackers_stake():
    reports = attack_reports(np.random.default_rng(0), offset=-0.3, attacked=1)
    honest = reports[:4].mean(axis=0)
    np.testing.assert_allclose(reports[4, 1:], honest[1:], rtol=1e-15)
    assert reports[4, 0] == pytest.approx(honest[0] - 0.3, rel=1e-15)
    table = targeted_table(WHITEPAPER, range(2), 12)
    assert table.shape == (2, len(MISREPORTS), len(MINORITY_SHARES), 14)
    assert targeted_table(WHITEPAPER, range(2), 12, processes=2).tobytes() == table.tobytes()
    # with raw stakes the consensus is the stake-weighted mean: a pull of phi * misreport
    expected = -np.outer(MISREPORTS, MINORITY_SHARES)
    np.testing.assert_allclose(table[:, :, :, 0], np.broadcast_to(expected, table.shape[:3]),
                               rtol=1e-12)
    # with adjusted stakes (eq 29) the attacker weighs min(1, 5 phi) against min(1, 5 (1 - phi) / 4)
    # for each of the four honest reputers, and reports their mean less the misreport
    phi = np.array(MINORITY_SHARES)
    weight = np.minimum(1, 5 * phi)
    pull = -np.outer(MISREPORTS, weight / (weight + 4 * np.minimum(1, 5 * (1 - phi) / 4)))
    np.testing.assert_allclose(table[:, :, :, 1], np.broadcast_to(pull, table.shape[:3]),
                               rtol=1e-12)
    needed = epochs_to_silence(table)
    assert np.isfinite(needed[:, -1]).all()             # 1 dex stands out: silenced ...
    assert not np.isfinite(needed[:, 0]).any()          # ... 0.1 dex does not, within 12 epochs
    claim = targeted_claim(table, attack_table(WHITEPAPER, range(2), 4))
    kept = [f"{dex:g} dex" for d, dex in enumerate(MISREPORTS) if np.isfinite(needed[:, d]).all()]
    assert f"holds only for large misreports ({', '.join(kept)})" in claim.verdict


def test_epochs_to_silence_by_hand():
    table = np.array([[0.2, 0.1, 0.05, 0.02, 0.009], [0.2, 0.1, 0.1, 0.1, 0.1]])
    np.testing.assert_array_equal(epochs_to_silence(table), [3, np.inf])


def test_sybil_under_the_premise_by_hand():
    f = np.full(5, 0.2)
    split = split_fractions(f, 2)
    np.testing.assert_allclose(np.sort(split), [0.1, 0.1, 0.2, 0.2, 0.2, 0.2])
    entropy = lambda x: -np.sum(x * np.log(x))
    beta = WHITEPAPER.beta_entropy
    by_hand = entropy(split) * (5 / 6) ** beta / entropy(f)
    assert sybil_premise(f, 2, WHITEPAPER) == pytest.approx(by_hand, rel=1e-12)


def test_a_sybil_inferer_runs_through_the_step():
    run = simulate(Settings(seed=0, epochs=10, sybil_copies=2), WHITEPAPER)
    assert run.inferer_losses.shape == (10, 5) and run.inferer_rewards.shape == (10, 5)
    np.testing.assert_array_equal(run.inferer_losses[:, 3:], run.inferer_losses[:, :1].repeat(2, 1))
    plain = simulate(Settings(seed=0, epochs=10), WHITEPAPER)
    np.testing.assert_array_equal(run.inferer_losses[:, :3], plain.inferer_losses)
    ratios = sybil_entropy_ratios([plain], [[plain], [run]])
    assert ratios.shape == (2, 1) and ratios[0, 0] == 1.0 and ratios[1, 0] != 1.0
    (claim,) = sybil_claims(WHITEPAPER, step_ratios=np.ones((len(SYBIL_IDENTITIES), 3)))
    assert "N_eff held constant" in claim.depends_on and "1.00 [1.00, 1.00]" in claim.depends_on
    with pytest.raises(ValueError, match="sybil_copies"):
        Settings(sybil_copies=-1)


def test_topic_shares_by_hand():
    fees = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    shares = topic_shares(fees, np.ones(2), WHITEPAPER)      # alpha_t = 0.5 a week
    np.testing.assert_allclose(shares[:, 0], [0.5, 0.5 / 1.5, 0.25 / 1.25], rtol=1e-12)
    # a cabal of W weeks, then one fee e: (e^1/2 / 2 + 2^-(W+1)) / (e^1/2 / 2 + 5 2^-(W+1))
    weeks, fee = 16, 1e-6
    fees = np.zeros((10 + weeks + 1, 5))
    fees[:10], fees[-1, 0] = 1.0, fee
    rest = 0.5 ** (weeks + 1)
    assert topic_shares(fees, np.ones(5), WHITEPAPER)[-1, 0] == pytest.approx(
        (fee**0.5 / 2 + rest) / (fee**0.5 / 2 + 5 * rest), rel=1e-12)
    quitting, cabal = fee_claims(WHITEPAPER)
    # the topic that stops paying: its weight halves each week against 1 for the four others
    assert quitting.measured.endswith(", ".join(f"{0.5**w / (0.5**w + 4):.4f}"
                                                for w in (1, 4, 8, 16)))
    assert 0.5**16 / (0.5**16 + 4) < 0.01 and quitting.verdict == "holds"
    for weeks in CABAL_WEEKS:
        rest = 0.5 ** (weeks + 1)
        for fee in DEFECTOR_FEES:
            share = (fee**0.5 / 2 + rest) / (fee**0.5 / 2 + 5 * rest)
            assert f"| {weeks} | {fee:g} | {share:.3f} |" in cabal.details
    assert cabal.details.count("\n") == 1 + len(CABAL_WEEKS) * len(DEFECTOR_FEES)
    # a millionth of the fee takes more than 90% only after 16 weeks (0.943; 0.239 after 8)
    assert "holds only once the cabal has lasted 16 weeks" in cabal.verdict


def test_with_dependence_flags_only_unstated_choices():
    base = [Claim("a", "§", "q", "c", "m", "holds (9 of 9 seeds)"),
            Claim("b", "§", "q", "c", "m", "does not hold (0 of 9 seeds)", depends_on="own")]
    variants = {"stake 1": [dataclasses.replace(base[0], verdict="holds in 50% of the seeds")],
                "fewer seeds": [base[0], dataclasses.replace(base[1], verdict="holds")]}
    a, b = with_dependence(base, variants, {"stake 1"})
    assert a.verdict == ("holds (9 of 9 seeds); it changes with stake 1: the paper does not "
                         "determine this verdict")
    assert "stake 1: holds in 50% of the seeds - the verdict changes (m)" in a.depends_on
    assert b.verdict == base[1].verdict                 # a change by the number of seeds only
    assert b.depends_on == "own; fewer seeds: holds - the verdict changes (m)"
    assert [outcome(v) for v in ("holds", "holds (1 of 1 seeds)", "holds only for x",
                                 "does not hold")] == ["holds", "holds", "partly", "does not hold"]


def test_truncated_run_is_the_shorter_run():
    short, long = (simulate(Settings(seed=4, epochs=e), WHITEPAPER) for e in (6, 10))
    cut = truncated(long, 6)
    assert cut.settings == short.settings
    for field in dataclasses.fields(short):
        a, b = getattr(short, field.name), getattr(cut, field.name)
        if isinstance(a, np.ndarray):
            assert a.tobytes() == b.tobytes(), field.name
    with pytest.raises(ValueError, match="cannot be cut"):
        truncated(long, 11)


def test_reward_fractions_are_scale_free_without_epsilon():
    exact = scale_changes(dataclasses.replace(WHITEPAPER, epsilon=1e-12), range(2))
    assert exact.shape == (2, len(SCORE_SCALES)) and exact.max() < 1e-6
    changes = scale_changes(WHITEPAPER, range(2))
    assert (changes[:, 0] > 0.1).all()                  # scores of 1e-4 drown in epsilon
    # scores of spread ~10 and more dwarf epsilon = 0.01 (eq 28): within the claim's 0.01
    assert (changes[:, np.array(SCORE_SCALES) >= 10] < 0.01).all()
    smallest = min(k for k, c in zip(SCORE_SCALES, changes.T) if (c <= 0.01).all())
    assert smallest >= 0.1                              # 1e-4 to 1e-2 are within 100x epsilon
    claim = scale_claim(changes, WHITEPAPER)
    assert f"holds only for scores on a scale of at least {smallest:g} " in claim.verdict


def test_pieces_of_one_stream_are_joined():
    pieces = [{"output_type": "stream", "name": "stdout", "text": "a\n"},
              {"output_type": "stream", "name": "stdout", "text": "b\n"},
              {"output_type": "stream", "name": "stderr", "text": "c\n"},
              {"output_type": "display_data", "data": {}},
              {"output_type": "stream", "name": "stdout", "text": "d\n"}]
    assert reports.joined_streams(pieces) == [
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"}, pieces[2], pieces[3],
        pieces[4]]

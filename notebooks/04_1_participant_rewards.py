# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: allora-ref (Python 3.11)
#     language: python
#     name: allora-ref
# ---

# %% [markdown]
# # §4.1 Reward distribution among individual participants (eqs 21-36)
#
# Workers are paid for their unique contribution to the network's accuracy; reputers for their
# stake and their proximity to the consensus of all reputers. This notebook specifies the scores
# and reward fractions of each participant. Cells tagged `export` are
# `allora_ref.spec.participant_rewards`.
#
# Scores are differences of losses that are already logarithms (in the profile's base), so
# "$\log \mathcal{L}$" below is a number the reputers reported, averaged by eq 14.
#
# Every function also takes a batch of topics: its arrays may carry the same leading axes, and
# each topic's numbers are exactly those it has alone. An absent participant is NaN and is
# masked, never selected out: a reputer that did not report counts in no sum and keeps its
# listening coefficient, and an entry nobody reported is absent from the consensus.

# %% tags=["export"]
#| default_exp spec.participant_rewards
"""§4.1 scores and reward fractions, eqs 21-36: workers' scores and reward fractions, reputers'
adjusted stakes, consensus, listening coefficients, reward fractions and stakes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allora_ref.checks import float64_guarded
from allora_ref.params import Params
from allora_ref.spec.inference_synthesis import (
    loss_vector_size, masked_std, one_out_forecast_implied_entries, potential)

# %%
import dataclasses

import sympy as sp

from allora_ref.params import load_profile

whitepaper = load_profile("whitepaper")
simulator = load_profile("allora-simulator")

# %% [markdown]
# ## Eq 21: inferer scores
#
# An approximate Shapley value: how much worse the network would be without inferer $j$,
# $$T_{ij} = \log \mathcal{L}^-_{ji} - \log \mathcal{L}_i, \qquad (21)$$
# where the one-out loss includes the recomputed forecast-implied inferences (§3.1 item 2).
# Positive when removing $j$ would increase the network loss.
#
# ## Eqs 22-24: forecaster scores
#
# Forecasting is redundant by design, so removing one forecaster barely changes the network; a
# forecaster is scored by a mix of its one-out score and a one-in score, the gain from adding its
# forecast-implied inference alone to the naive network:
# $$T_{ik} = (1 - f^+) T^-_{ik} + f^+ T^+_{ik}, \qquad (22)$$
# $$T^-_{ik} = \log \mathcal{L}^-_{ki} - \log \mathcal{L}_i, \qquad (23) \qquad
#   T^+_{ik} = \log \mathcal{L}^-_i - \log \mathcal{L}^+_{ki}. \qquad (24)$$
#
# A worker that did not take part has no score (NaN), and neither has one whose one-out or
# one-in loss no reputer reported. A worker whose one-out inference does not exist (it was the
# only member) scores 0, as deployed; the paper's formula is undefined there. With a single forecaster the deployed
# system computes neither its one-out nor its one-in inference and scores it 0
# (`lone_forecaster_scores_zero`); the paper's rule still applies to it.

# %% tags=["export"]
def one_out_scores(network_log_loss: float, one_out_log_losses: np.ndarray) -> np.ndarray:
    """Eqs 21, 23: T_ij = log L^-_ji - log L_i (inferers), T^-_ik = log L^-_ki - log L_i
    (forecasters): the one-out score of each worker."""
    return one_out_log_losses - network_log_loss


def one_in_scores(naive_log_loss: float, one_in_log_losses: np.ndarray) -> np.ndarray:
    """Eq 24: T^+_ik = log L^-_i - log L^+_ki for every forecaster."""
    return naive_log_loss - one_in_log_losses


def forecaster_scores(one_out: np.ndarray, one_in: np.ndarray, f_plus: float) -> np.ndarray:
    """Eq 22: T_ik = (1 - f+) T^-_ik + f+ T^+_ik."""
    return (1.0 - f_plus) * one_out + f_plus * one_in


# %% [markdown]
# ## Eq 25: the weight of the one-in score
#
# "$f^+$ represents the fraction of permutations in a binomial experiment in which a worker
# appears solo":
# $$f^+ = \frac{1}{2^{N_f}}. \qquad (25)$$
# Two readings. Among all $2^{N_f}$ subsets of the forecasters, exactly one is $\{k\}$ alone:
# $1/2^{N_f}$, the formula as printed. Among the $2^{N_f - 1}$ subsets that *contain* $k$, one is
# $\{k\}$: $1/2^{N_f - 1}$, which is what the deployed system uses (`one_in_share`:
# `all-subsets` / `subsets-containing`).
#
# **Proof for every $N_f$.** In the binomial experiment each of the $N_f$ forecasters takes part
# or not, with probability 1/2 each: $2^{N_f}$ equally likely outcomes, $\binom{N_f}{r}$ of them
# with $r$ participants. Those containing $k$ with $r$ participants number $\binom{N_f-1}{r-1}$;
# $k$ is solo only at $r = 1$, in $\binom{N_f-1}{0} = 1$ outcome. Summing the binomial
# coefficients symbolically in $N_f$:
# $$\frac{\#\{k \text{ solo}\}}{\#\{\text{outcomes}\}} = \frac{1}{\sum_{r=0}^{N_f}\binom{N_f}{r}}
#   = \frac{1}{2^{N_f}}, \qquad
#   \frac{\#\{k \text{ solo}\}}{\#\{k \text{ takes part}\}} = \frac{1}{\sum_{r=1}^{N_f}\binom{N_f-1}{r-1}}
#   = \frac{1}{2^{N_f-1}}.$$
# The first is the probability that $k$ takes part and nobody else does, $\frac12 \cdot
# (\frac12)^{N_f - 1}$. The second is the **Banzhaf weight**: the Banzhaf (1965) value of $k$
# averages its marginal contribution over the $2^{N_f-1}$ coalitions of the *other*
# forecasters with weight $1/2^{N_f-1}$ each, and the one-in score (eq 24) is its marginal
# contribution to the empty coalition (the naive network), the one-out score (eq 23) to the
# full one. **The paper's sentence** - "the fraction of permutations in a binomial experiment
# in which a worker appears solo" - counts solo outcomes among *all* outcomes of the
# experiment: it defines $1/2^{N_f}$, eq 25 as printed (`all-subsets`, the `whitepaper`
# profile); the deployed $1/2^{N_f-1}$ conditions on the worker taking part.

# %%
# proof: eq 25
from itertools import combinations

N_f = sp.symbols("N_f", integer=True, positive=True)
r = sp.symbols("r", integer=True, nonnegative=True)
outcomes = sp.summation(sp.binomial(N_f, r), (r, 0, N_f))
taking_part = sp.summation(sp.binomial(N_f - 1, r - 1), (r, 1, N_f))
solo = sp.binomial(N_f - 1, 1 - 1)
assert solo == 1 and sp.simplify(outcomes - 2**N_f) == 0
assert sp.simplify(taking_part - 2**(N_f - 1)) == 0
half = sp.Rational(1, 2)
assert sp.simplify(half * half**(N_f - 1) - solo / outcomes) == 0      # P(k in, others out)
f_plus_paper, f_plus_banzhaf = solo / outcomes, solo / taking_part
assert sp.simplify(f_plus_banzhaf - 2 * f_plus_paper) == 0
# the enumeration agrees with the binomial sums for small N_f
for n_f in range(1, 8):
    subsets = [set(s) for size in range(n_f + 1) for s in combinations(range(n_f), size)]
    assert sp.Rational(sum(s == {0} for s in subsets), len(subsets)) == f_plus_paper.subs(N_f, n_f)
    assert sp.Rational(sum(s == {0} for s in subsets), sum(0 in s for s in subsets)) == \
        f_plus_banzhaf.subs(N_f, n_f)
f_plus_paper, f_plus_banzhaf

# %% tags=["export"]
def one_in_fraction(n_forecasters, params: Params) -> np.ndarray:
    """Eq 25: f+ = 1 / 2^N_f (all subsets) or 1 / 2^(N_f - 1) (subsets containing the worker);
    ``n_forecasters`` an int or one count per topic."""
    n = np.asarray(n_forecasters)
    exponent = n if params.one_in_share == "all-subsets" else n - 1
    return 1.0 / 2.0 ** np.maximum(exponent, 0)


@float64_guarded
def worker_scores(row_log_losses: np.ndarray, row_exists: np.ndarray, n_inferers: int,
                  n_forecasters: int, active_forecasters, params: Params
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Eqs 21-25 from the combination rows' losses (network, naive, one-out, one-in), shape
    (..., rows); leading batch axes allowed (``active_forecasters`` an int or one per topic).

    Returns (T_ij, T_ik). A one-out or one-in term whose inference does not exist (``row_exists``
    False: the worker was its only member) is 0; one whose loss nobody reported is NaN. Absent
    workers are the caller's to mark (NaN).
    """
    n_workers = n_inferers + n_forecasters
    network, naive = row_log_losses[..., :1], row_log_losses[..., 1:2]
    terms = np.where(row_exists, row_log_losses, np.nan)
    one_out = np.where(row_exists[..., 2: 2 + n_workers],
                       one_out_scores(network, terms[..., 2: 2 + n_workers]), 0.0)
    one_in = np.where(row_exists[..., 2 + n_workers:],
                      one_in_scores(naive, terms[..., 2 + n_workers:]), 0.0)
    f_plus = one_in_fraction(active_forecasters, params)[..., None]
    forecasters = forecaster_scores(one_out[..., n_inferers:], one_in, f_plus)
    lone = (np.asarray(active_forecasters) == 1)[..., None] & params.lone_forecaster_scores_zero
    return one_out[..., :n_inferers], np.where(lone & ~np.isnan(forecasters), 0.0, forecasters)



# %% [markdown]
# The code computes the proven forms, exactly (powers of two are exact in floating point), for
# both readings and every $N_f$ up to 60:

# %%
for profile_name, form in (("whitepaper", f_plus_paper), ("allora-simulator", f_plus_banzhaf)):
    for n_f in range(1, 61):
        assert sp.Rational(one_in_fraction(n_f, load_profile(profile_name))) == form.subs(N_f, n_f)

# %% [markdown]
# ## Eqs 26-28: worker reward fractions and the mapping function
#
# $$u_{ij} = \frac{M(T_{ij})}{\sum_j M(T_{ij})}, \qquad (26) \qquad
#   v_{ik} = \frac{M(T_{ik})}{\sum_k M(T_{ik})}, \qquad (27) \qquad
#   M(T) = \phi_{p,c}\!\left[\frac{T}{\sigma(T) + \epsilon}\right], \qquad (28)$$
# with the potential of eq 6 and $\sigma(T)$ the standard deviation of the scores "over the
# $\Delta N$ most recent time steps" ($\Delta N = 10$). The paper's requirements on $M$, checked
# symbolically below: it rewards positive scores, gives negative scores a small non-zero reward,
# is invariant to the scale of the scores (the standard deviation scales with them), and its
# spread grows with $p$.
#
# The window (`score_window`, `score_window_unit`): the paper counts epochs; the deployed system
# counts the last 10 score *samples*, newest epoch first and workers in index order, including
# the current epoch. With 5 inferers that is two epochs; with 3 forecasters three epochs and one
# sample of a fourth. The chain stores at most 10 scores per epoch (block), the last ones inserted in
# address order (`score_samples_per_block_cap`): with 12 inferers its window is the current
# epoch's inferers 2-11 only. When $\sigma < \epsilon$ the deployed system pays everyone equally
# (`equal_split_below_epsilon`); the paper's $M$ is defined there too.

# %%
# proof: eq 28
T, sigma_T, lam = sp.symbols("T sigma lambda", positive=True)
c_sym, eps_sym = sp.symbols("c epsilon", positive=True)
p_sym = sp.symbols("p", positive=True)
M = sp.log(1 + sp.exp(p_sym * (T / (sigma_T + eps_sym) - c_sym)))
# scale invariance: scores and their spread scaled together by lambda, with epsilon -> 0
assert sp.simplify(M.subs({T: lam * T, sigma_T: lam * sigma_T, eps_sym: 0}) - M.subs(eps_sym, 0)) == 0
# negative scores: small but non-zero reward (M > 0 everywhere, M -> 0 only as T -> -oo)
Tn = sp.symbols("T_n", negative=True)
assert sp.log(1 + sp.exp(p_sym * (Tn / sigma_T - c_sym))).is_positive
# spread grows with p: the ratio of the rewards of two scores x > y increases with p
x1, x2 = 1.5, -0.5
ratios = [float(potential(x1, pv, 0.75) / potential(x2, pv, 0.75)) for pv in (1, 2, 3, 4, 5)]
assert all(a < b for a, b in zip(ratios, ratios[1:]))
print("M(1.5)/M(-0.5) for p = 1..5:", [f"{r:.3g}" for r in ratios])
np.testing.assert_allclose(ratios, [np.log1p(np.exp(0.75 * p)) / np.log1p(np.exp(-1.25 * p))
                                    for p in range(1, 6)], rtol=1e-12)     # eq 6 by definition

# %% tags=["export"]
def score_window(history: np.ndarray, params: Params) -> np.ndarray:
    """Eq 28: the scores over which sigma(T) is taken, from ``history`` (..., epochs, workers),
    newest epoch first (NaN = no score); leading batch axes allowed.

    Returns the history's scores flattened (newest epoch first, workers in index order), shape
    (..., K), NaN where a score is not in the window. "epochs": every score of the last
    ``score_window`` epochs; "samples": the first ``score_window`` scores in that order. With
    ``score_samples_per_block_cap`` an epoch keeps only its last that many scores in index
    order (chain/v0.6.md §6).
    """
    cap = params.score_samples_per_block_cap
    if cap:
        later = np.cumsum(~np.isnan(history[..., ::-1]), axis=-1)[..., ::-1]  # it and after
        history = np.where(later <= cap, history, np.nan)
    if params.score_window_unit == "epochs":
        history = history[..., : params.score_window, :]
    samples = history.reshape(history.shape[:-2] + (-1,))
    if params.score_window_unit == "samples":
        counted = np.cumsum(~np.isnan(samples), axis=-1)
        samples = np.where(counted <= params.score_window, samples, np.nan)
    return samples


def mapped_scores(scores: np.ndarray, window: np.ndarray, p: float, c: float, params: Params
                  ) -> np.ndarray:
    """Eq 28: M(T) = phi_{p,c}(T / (sigma(T) + epsilon)), sigma over the window's scores (NaN:
    not in it); NaN scores stay NaN. Leading batch axes allowed: scores (..., N), window (..., K).
    """
    sigma = masked_std(window, ~np.isnan(window), params.sigma_ddof)[..., None]
    present = ~np.isnan(scores)
    equal = params.equal_split_below_epsilon & (sigma < params.epsilon)
    mapped = potential(np.where(present & ~equal, scores, 0.0) / (sigma + params.epsilon), p, c)
    return np.where(present, np.where(equal, 1.0, mapped), np.nan)


def reward_fractions(mapped: np.ndarray) -> np.ndarray:
    """Eqs 26, 27 (and 35 for reputers): x / sum x over the participants (NaN = absent), over
    the last axis (leading batch axes allowed)."""
    present = ~np.isnan(mapped)
    anyone = present.any(axis=-1, keepdims=True)
    total = np.where(present, mapped, 0.0).sum(axis=-1, keepdims=True)
    if (anyone & ~(total > 0)).any():
        raise ValueError("reward fractions (eqs 26, 27, 35) need a positive total")
    return np.where(present, mapped / np.where(anyone, total, 1.0), np.nan)


# %% [markdown]
# ## Eq 29: adjusted stake
#
# The consensus among reputers is weighted by an adjusted stake that saturates:
# $$\hat S_{im} = \min\!\left(\frac{N_r a_{im} S_{im}}{\sum_m a_{im} S_{im}}, 1\right), \qquad (29)$$
# with $a_{im} \in [0, 1]$ the listening coefficients (eq 34). As a function of the listened share
# $f = a S / \sum a S$ it is $\min(N_r f, 1)$: linear below the average share $1/N_r$ and 1 above,
# so a reputer with most of the stake weighs no more than any reputer with at least the average
# stake. How far such a reputer can still move the consensus is measured after eq 34.

# %%
f_share, N_sym = sp.symbols("f N_r", positive=True)     # f = a S / sum a S, the listened share
S_hat = sp.Min(N_sym * f_share, 1)
# linear in the share below the average share 1/N_r, with slope N_r, from 0 at f = 0 ...
assert S_hat.subs({N_sym: 5, f_share: sp.Rational(1, 10)}) == sp.Rational(1, 2)
assert sp.diff(N_sym * f_share, f_share) == N_sym and (N_sym * f_share).subs(f_share, 0) == 0
# ... reaching 1 exactly at the average share, and flat (saturated) above it
assert S_hat.subs(f_share, 1 / N_sym) == 1
assert all(S_hat.subs({N_sym: 5, f_share: sp.Rational(k, 10)}) == 1 for k in range(2, 11))
# %% tags=["export"]
def adjusted_stakes(coefficients: np.ndarray, stakes: np.ndarray,
                    reporting: np.ndarray | None = None) -> np.ndarray:
    """Eq 29: S_hat = min(N_r a S / sum a S, 1) over the reputers that reported (``reporting``,
    default all; N_r counts them, NaN for the others); over the last axis, leading batch axes
    allowed."""
    listened = coefficients * stakes
    n_reputers = listened.shape[-1]
    if reporting is not None:
        listened = np.where(reporting, listened, 0.0)
        n_reputers = reporting.sum(axis=-1, keepdims=True)
    total = listened.sum(axis=-1, keepdims=True)
    if not ((total > 0) | (n_reputers == 0)).all():
        raise ValueError("the listened stake sum_m a_im S_im (eq 29) must be positive")
    adjusted = np.minimum(n_reputers * listened / np.where(total > 0, total, 1.0), 1.0)
    return adjusted if reporting is None else np.where(reporting, adjusted, np.nan)


# %%
stakes_5 = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
listened_share = stakes_5 / stakes_5.sum()
np.testing.assert_allclose(adjusted_stakes(np.ones(5), stakes_5),
                           [float(S_hat.subs({N_sym: 5, f_share: v})) for v in listened_share],
                           rtol=1e-15)

# %% [markdown]
# **Saturation and continuity, for every $N_r$.** Write a share above the average as
# $f = (1 + d)/N_r$, $d \ge 0$, and one below it as $f = 1/(N_r(1 + e))$, $e > 0$: then
# $\hat S = 1$ above (saturated) and $\hat S = N_r f = 1/(1 + e) < 1$ below, and both one-sided
# limits at the kink $f = 1/N_r$ are 1, so $\hat S$ is continuous there. The code is checked
# against the exact values on both sides of the kink and on it, with integer stakes and
# listening coefficients of the form $k/8$, whose shares are exact rationals.

# %%
# proof: eq 29
d_above = sp.symbols("d", nonnegative=True)
e_below = sp.symbols("e", positive=True)
assert S_hat.subs(f_share, (1 + d_above) / N_sym) == 1                       # saturated
assert sp.simplify(S_hat.subs(f_share, 1 / (N_sym * (1 + e_below))) - 1 / (1 + e_below)) == 0
assert sp.limit(S_hat, f_share, 1 / N_sym, "-") == sp.limit(S_hat, f_share, 1 / N_sym, "+") == 1
exact_rng = np.random.default_rng(29)
for n_r in (2, 3, 5, 8):
    for _ in range(20):
        stake_ints = exact_rng.integers(1, 50, n_r)
        eighths = exact_rng.integers(0, 9, n_r)
        eighths[0] = max(eighths[0], 1)
        listened_int = [sp.Rational(int(a), 8) * int(st) for a, st in zip(eighths, stake_ints)]
        exact = [sp.Min(n_r * x / sum(listened_int), 1) for x in listened_int]
        code = adjusted_stakes(eighths / 8.0, stake_ints.astype(float))
        np.testing.assert_allclose(code, [float(v) for v in exact], rtol=4e-16, atol=0)
assert adjusted_stakes(np.ones(3), np.array([1.0, 2.0, 3.0]))[1] == 1.0   # on the kink exactly

# %% [markdown]
# ## Eqs 30-32: the loss vector, consensus and consensus scores
#
# Each reputer's losses are collected in one vector (eq 30; the printed equation lists
# $\mathcal{L}^+_{im}$ where eq 13 has the one-out losses $\mathcal{L}^-_{lim}$ - an erratum):
# $$\mathbf{L}_{im} = \{\mathcal{L}_{im}, \mathcal{L}_{ijm}, \mathcal{L}_{ikm}, \mathcal{L}^-_{im},
#   \mathcal{L}^-_{lim}, \mathcal{L}^+_{kim}\}, \qquad (30)$$
# averaged with the adjusted stakes into the consensus loss vector,
# $$\log \mathbf{L}_i = \frac{\sum_m \hat S_{im} \log \mathbf{L}_{im}}{\sum_m \hat S_{im}}, \qquad (31)$$
# entry by entry over the reputers that reported it, and each reputer scored by
# its relative distance to it,
# $$T_{im} = \left[\frac{\|\log(\mathbf{L}_{im}/\mathbf{L}_i)\|}{\|\log \mathbf{L}_i\|} + \epsilon_r\right]^{-1}. \qquad (32)$$
# The deployed system also puts the losses of the one-out recomputed forecast-implied inferences
# into the vector (`consensus_with_one_out_forecast_implied`: 36 entries for 5 inferers and 3
# forecasters instead of 21). A loss a reputer did not report is, for its score, replaced by the
# reported value farthest from the consensus (`missing_loss_fill`: `farthest`; the deployed
# system takes the lowest reported value). A zero consensus norm is replaced by
# `consensus_norm_floor`. `Reports` holds the reports with the masks of who reported what,
# made once and reused at every step of the listening ascent below.

# %% tags=["export"]
def consensus_entries(n_inferers: int, n_forecasters: int, params: Params) -> np.ndarray:
    """Eq 30: which loss-vector entries (eq 12 order) make up the consensus vector."""
    entries = np.ones(loss_vector_size(n_inferers, n_forecasters), bool)
    if not params.consensus_with_one_out_forecast_implied:
        entries[one_out_forecast_implied_entries(n_inferers, n_forecasters)] = False
    return entries


@dataclass(frozen=True)
class Reports:
    """The reputers' loss vectors (eq 30) with the masks that every evaluation of eqs 29-33 at
    new listening coefficients reuses; leading batch axes allowed."""

    values: np.ndarray
    """log L_im, (..., N_r, entries); NaN = not reported."""
    present: np.ndarray
    """Which values were reported, (..., N_r, entries)."""
    reporting: np.ndarray
    """The reputers that reported, (..., N_r); the others are absent."""
    entries: np.ndarray
    """The entries someone reported, (..., entries); the others are absent."""
    present_by_entry: np.ndarray
    """``present`` entry by entry (eq 31 sums over the reputers), (..., entries, N_r)."""
    by_entry: np.ndarray
    """The values entry by entry, 0 where not reported, (..., entries, N_r)."""
    complete: bool
    """Every reputer reported every entry, in every topic: nothing is absent."""

    @classmethod
    def of(cls, reported, reporting: np.ndarray | None = None) -> "Reports":
        """``reported`` (..., N_r, entries), or Reports already, with its masks; ``reporting``
        defaults to the reputers with a report."""
        if isinstance(reported, Reports):
            return reported
        present = ~np.isnan(reported)
        if reporting is None:
            reporting = present.any(axis=-1)
        by_entry = lambda x: np.ascontiguousarray(np.swapaxes(x, -1, -2))
        return cls(reported, present, reporting, present.any(axis=-2), by_entry(present),
                   by_entry(np.where(present, reported, 0.0)),
                   bool(present.all() and reporting.all()))

    def topics(self, index) -> "Reports":
        """The reports of some topics (``index`` into the leading batch axis)."""
        return Reports(self.values[index], self.present[index], self.reporting[index],
                       self.entries[index], self.present_by_entry[index], self.by_entry[index],
                       self.complete)

    def per_vector(self) -> "Reports":
        """The reports with an axis for several coefficient vectors of each topic, before the
        reputers' axis."""
        return Reports(self.values[..., None, :, :], self.present[..., None, :, :],
                       self.reporting[..., None, :], self.entries[..., None, :],
                       self.present_by_entry[..., None, :, :], self.by_entry[..., None, :, :],
                       self.complete)


def consensus_log_losses(adjusted: np.ndarray, reported) -> np.ndarray:
    """Eq 31: log L_i = sum_m S_hat_m log L_im / sum_m S_hat_m per entry, over the reputers that
    reported it (NaN = not reported; NaN where nobody did).

    ``adjusted`` (..., N_r) and ``reported`` (..., N_r, entries) or ``Reports``: leading batch
    axes allowed, broadcast against each other (several coefficient vectors of a topic, say).
    """
    reports = Reports.of(reported)
    if reports.complete:                                # every entry reported by everyone
        total = adjusted.sum(axis=-1, keepdims=True)
        if (total > 0).all():
            return (adjusted[..., None, :] * reports.by_entry).sum(axis=-1) / total
    weights = np.where(reports.present_by_entry, adjusted[..., None, :], 0.0)
    total = weights.sum(axis=-1)
    sums = (weights * reports.by_entry).sum(axis=-1)
    return np.where(total > 0, sums / np.where(total > 0, total, 1.0), np.nan)


def filled_reports(reported, consensus: np.ndarray, params: Params,
                   reporting: np.ndarray | None = None) -> np.ndarray:
    """Eq 32 input: the gaps of the reputers that reported (``reporting``, default those with a
    report) replaced, in every entry someone reported, by the reported value farthest from the
    consensus (``farthest``) or the lowest reported value (``lowest``). ``reported`` (..., N_r,
    entries) or ``Reports``, ``consensus`` (..., entries): leading batch axes allowed."""
    reports = Reports.of(reported, reporting)
    values = reports.values
    if reports.complete:
        return values
    missing = ~reports.present
    gaps = missing & reports.reporting[..., None] & reports.entries[..., None, :]
    if params.missing_loss_fill == "lowest":
        fill = np.where(missing, np.inf, values).min(axis=-2, keepdims=True)
    else:
        distance = np.where(missing, -np.inf, np.abs(values - consensus[..., None, :]))
        fill = np.take_along_axis(values, distance.argmax(axis=-2)[..., None, :], axis=-2)
    return np.where(gaps, fill, values)


def consensus_distances(filled: np.ndarray, consensus: np.ndarray,
                        entries: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eq 32: D_m = ||log L_im - log L_i|| for every reputer and C = ||log L_i||, over the
    entries someone reported (``entries``, default all).

    ``filled`` (..., N_r, entries) without gaps in those entries; ``consensus`` (..., entries).
    Leading batch axes allowed, broadcast against each other (several consensus vectors of a
    topic, say).
    """
    offsets = filled - consensus[..., None, :]
    if entries is not None:
        offsets = np.where(entries[..., None, :], offsets, 0.0)
        consensus = np.where(entries, consensus, 0.0)
    return (np.sqrt((offsets * offsets).sum(axis=-1)),
            np.sqrt((consensus * consensus).sum(axis=-1)))


def distance_scores(distances: np.ndarray, norm: np.ndarray, params: Params) -> np.ndarray:
    """Eq 32: T_im = 1 / (D_m / C + epsilon_r), C at least ``consensus_norm_floor``."""
    return 1.0 / (distances / np.maximum(norm, params.consensus_norm_floor)[..., None]
                  + params.reputer_epsilon)


def consensus_scores(filled: np.ndarray, consensus: np.ndarray, params: Params) -> np.ndarray:
    """Eq 32: T_im = 1 / (||log L_im - log L_i|| / ||log L_i|| + epsilon_r), for reports
    ``filled`` (..., N_r, entries) without gaps and consensus vectors (..., entries)."""
    return distance_scores(*consensus_distances(filled, consensus), params)


# %% [markdown]
# ## Eqs 33-34: listening coefficients
#
# The network listens to each reputer with a coefficient $a_{im}$, chosen to maximise the
# stake-weighted total consensus score
# $$T_i = \frac{\sum_m S_{im} T_{im}}{\sum_m S_{im}} \qquad (33)$$
# by gradient ascent,
# $$a_{im} \rightarrow a_{im} + \lambda \frac{d \ln T_i}{d a_{im}}, \qquad (34)$$
# started from the previous epoch's coefficients (1 for a new reputer), until the relative gradient
# is below 0.001 or for at most $1/\lambda$ iterations. A step that would leave less than half of
# the stake listened to is interpolated so that exactly half is. Coefficients stay in $[0, 1]$.
# In a batch of topics each topic stops at its own iteration.
#
# **The gradient.** By the chain rule through eqs 29, 31 and 32 (a saturated adjusted stake has
# zero derivative):
# $$\frac{\partial \hat S_n}{\partial a_q} = N_r S_n \Big(\frac{\delta_{nq}}{\Sigma} - \frac{a_n S_q}{\Sigma^2}\Big),\quad
#   \frac{\partial c_e}{\partial \hat S_n} = \frac{x_{ne} - c_e}{\sum_m \hat S_m},\quad
#   \frac{\partial T_m}{\partial c_e} = -T_m^2\Big(\frac{c_e - x_{me}}{D_m C} - \frac{D_m c_e}{C^3}\Big),$$
# with $\Sigma = \sum_m a_m S_m$, $c$ the consensus, $D_m = \|x_m - c\|$ and $C = \|c\|$; the paper's
# method (`listening_gradient = "analytic"`) uses this. The deployed system estimates it with a
# one-sided finite difference per reputer, $g_m = (1 - T(a)/T(a + \Delta e_m))/\Delta$ with
# $\Delta = 0.001$ ($-0.001$ at $a_m = 1$), which equals $d\ln T/da_m$ only to first order; it runs
# exactly 10 iterations (`listening_max_iterations`) and reports the scores and adjusted stakes of
# the coefficients at the start of the last iteration (`listening_scores_from`). The symbolic
# check of the gradient follows the code.

# %% tags=["export"]
def total_consensus_score(stakes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Eq 33: T_i = sum_m S_m T_m / sum_m S_m over the reputers with a score (NaN: did not
    report); NaN for a topic without any. Leading batch axes allowed."""
    absent = np.isnan(scores)
    if not absent.any():                                        # everyone reported
        return (stakes * scores).sum(axis=-1) / stakes.sum(axis=-1)
    stakes = np.where(absent, 0.0, stakes)
    weighted = (stakes * np.where(absent, 0.0, scores)).sum(axis=-1)
    return weighted / np.where(absent.all(axis=-1), np.nan, stakes.sum(axis=-1))


@dataclass(frozen=True)
class Consensus:
    """Eqs 29, 31-33 at given listening coefficients (leading batch axes allowed)."""

    adjusted_stakes: np.ndarray
    consensus: np.ndarray
    scores: np.ndarray
    total: np.ndarray
    filled: np.ndarray
    """The reports with their gaps filled (eq 32), (..., N_r, entries)."""
    distances: np.ndarray
    """D_m = ||log L_im - log L_i|| (eq 32)."""
    norm: np.ndarray
    """C = ||log L_i|| (eq 32), before the floor."""


@float64_guarded
def consensus_at(coefficients: np.ndarray, stakes: np.ndarray, reported, params: Params,
                 reporting: np.ndarray | None = None) -> Consensus:
    """Eqs 29, 31-33 at coefficients (..., N_r) for reports (..., N_r, entries), NaN = not
    reported, or ``Reports``, of the reputers that reported (``reporting``, default those with
    a report; NaN adjusted stake and score for the others). Leading batch axes allowed.

    Coefficients with as many axes as the reports hold several coefficient vectors of each
    topic, (..., vectors, N_r); the gaps are then filled (eq 32) from the first one's consensus.
    """
    reports = Reports.of(reported, reporting)
    several = coefficients.ndim == reports.values.ndim
    if several:
        stakes, reports = stakes[..., None, :], reports.per_vector()
    absent = not reports.complete
    adjusted = adjusted_stakes(coefficients, stakes, reports.reporting if absent else None)
    consensus = consensus_log_losses(adjusted, reports)
    filled = filled_reports(reports, consensus[..., :1, :] if several else consensus, params)
    distances, norm = consensus_distances(filled, consensus, reports.entries if absent else None)
    if absent:
        distances = np.where(reports.reporting, distances, np.nan)
    scores = distance_scores(distances, norm, params)
    return Consensus(adjusted, consensus, scores, total_consensus_score(stakes, scores),
                     filled[..., 0, :, :] if several else filled, distances, norm)


def listening_gradient(coefficients: np.ndarray, stakes: np.ndarray, reported, params: Params,
                       reporting: np.ndarray | None = None) -> np.ndarray:
    """Eq 34: d ln T_i / d a_im, analytically (chain rule through eqs 29, 31-33) or by the
    deployed one-sided finite difference; 0 for a reputer that did not report (``reporting``,
    default those with a report). Leading batch axes allowed: coefficients, stakes (..., N_r),
    reports (..., N_r, entries) or ``Reports``."""
    reports = Reports.of(reported, reporting)
    reporting = reports.reporting
    if params.listening_gradient == "finite-difference":
        delta = np.where(coefficients == 1.0, -params.listening_step, params.listening_step)
        shifted = coefficients[..., None, :] + np.eye(coefficients.shape[-1]) * delta[..., None, :]
        total = consensus_at(np.concatenate([coefficients[..., None, :], shifted], axis=-2),
                             stakes, reports, params).total
        gradient = (1.0 - total[..., :1] / total[..., 1:]) / delta
        return gradient if reports.complete else np.where(reporting, gradient, 0.0)
    state = consensus_at(coefficients, stakes, reports, params)
    scores, distance, adjusted = state.scores, state.distances, state.adjusted_stakes
    consensus = state.consensus
    filled = np.ascontiguousarray(np.swapaxes(state.filled, -1, -2))          # entry by entry
    if not reports.complete:           # absent reputers and entries contribute exact zeros
        stakes, scores, distance, adjusted = (np.where(reporting, x, 0.0)
                                              for x in (stakes, scores, distance, adjusted))
        consensus = np.where(reports.entries, consensus, 0.0)
        filled = np.where(reporting[..., None, :] & reports.entries[..., None], filled,
                          consensus[..., None])
    # sums over the reputers that reported are positive (eq 29 checks it); 1 stands in for
    # them where nobody reported
    positive = (lambda x: x) if reports.complete else (lambda x: np.where(x > 0, x, 1.0))
    n = reporting.shape[-1] if reports.complete else reporting.sum(axis=-1, keepdims=True)
    listened = coefficients * stakes
    sigma = positive(listened.sum(axis=-1, keepdims=True))
    norm = state.norm[..., None]
    # dT/dc (eq 32 through eq 33): -sum_m (S_m / sum S) T_m^2 d(D_m / C)/dc
    pull = stakes * scores**2 / positive(stakes.sum(axis=-1, keepdims=True))
    per_reputer = pull / (np.where(distance > 0, distance, 1.0)
                          * -np.maximum(norm, params.consensus_norm_floor))
    by_consensus = (per_reputer[..., None, :] * (consensus[..., None] - filled)).sum(axis=-1)
    curved = norm >= params.consensus_norm_floor
    if curved.all():
        by_consensus += (pull * distance).sum(axis=-1, keepdims=True) / norm**3 * consensus
    else:
        by_consensus += np.where(curved, (pull * distance).sum(axis=-1, keepdims=True)
                                 / np.where(curved, norm, 1.0)**3, 0.0) * consensus
    # dT/dS_hat (eq 31): dc_e/dS_hat_n = (x_ne - c_e) / sum_m S_hat_m over the reporters of e
    offsets = reports.values - consensus[..., None, :]                        # x - c
    if reports.complete:
        weight = adjusted.sum(axis=-1, keepdims=True)
    else:
        weight = np.where(reports.present_by_entry, adjusted[..., None, :], 0.0).sum(axis=-1)
        offsets = np.where(reports.present, offsets, 0.0)
    gain = by_consensus / positive(weight)
    by_adjusted = (offsets * gain[..., None, :]).sum(axis=-1)
    # dT/da (eq 29): dS_hat_n/da_q = N_r S_n (delta_nq / Sigma - a_n S_q / Sigma^2), 0 when
    # saturated; at the kink (share exactly 1, e.g. equal stakes all listened to) the linear
    # branch is taken: the one-sided derivative for a coefficient moving down
    free = n * listened / sigma <= 1.0 + 1e-12
    moved = np.where(free, by_adjusted * n * stakes, 0.0)
    gradient = (moved / sigma - stakes * ((moved * coefficients).sum(axis=-1, keepdims=True)
                                          / sigma**2)) / state.total[..., None]
    return gradient if reports.complete else np.where(reporting, gradient, 0.0)


def listened_fraction(coefficients: np.ndarray, stakes: np.ndarray) -> np.ndarray:
    """Eq 34 constraint: the listened stake sum_m a_m S_m / sum_m S_m (leading batch axes
    allowed; 0 without stake)."""
    total = stakes.sum(axis=-1)
    return (coefficients * stakes).sum(axis=-1) / np.where(total > 0, total, 1.0)


@float64_guarded
def listening_coefficients(previous: np.ndarray, stakes: np.ndarray, reported,
                           params: Params, reporting: np.ndarray | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Eq 34: gradient ascent of ln T_i over the listening coefficients of the reputers that
    reported (``reporting``, default those with a report); the others' stay as they are.

    Leading batch axes allowed: previous, stakes (..., N_r), reports (..., N_r, entries). Each
    topic iterates until its own stop and is left unchanged after it. Returns (final
    coefficients, carried to the next epoch; coefficients the epoch's scores and adjusted
    stakes use - the final ones, or those at the start of the last iteration).
    """
    shape = reported.shape[:-1]
    topics = int(np.prod(shape[:-1]))
    flat = lambda x, *tail: np.reshape(x, (topics,) + shape[-1:] + tail) if len(shape) > 1 else x
    reports = Reports.of(flat(reported, reported.shape[-1]),
                         None if reporting is None else flat(reporting))
    coefficients = np.array(flat(previous), dtype=float)
    stakes = np.where(reports.reporting, flat(stakes), 0.0)
    scale = stakes.max(axis=-1, keepdims=True, initial=0.0)
    rescaled = (scale > 0) & ~((1e-100 < scale) & (scale < 1e100))
    if rescaled.any():              # eq 34 sees only stake ratios: keep S^2 in range
        stakes = np.where(rescaled, stakes / np.where(rescaled, scale, 1.0), stakes)
    floor, rate = params.listened_stake_floor, params.listening_learning_rate
    before = listened_fraction(coefficients, stakes)
    scored = coefficients.copy()
    running = np.flatnonzero(reports.reporting.any(axis=-1))      # the topics still ascending
    for _ in range(params.listening_max_iterations):
        if not running.size:
            break
        every = running.size == topics
        running_of = lambda x: x if every else x[running]
        current, listened, start = (running_of(x) for x in (coefficients, stakes, before))
        step = rate * listening_gradient(current, listened,
                                         reports if every else reports.topics(running), params)
        proposed = np.minimum(np.maximum(current + step, 0.0), 1.0)
        after = listened_fraction(proposed, listened)
        lowered = (after < floor) & (after < start)   # only a step that lowers it is interpolated
        if lowered.any():
            share = np.maximum(start - floor, 0.0) / np.where(lowered, start - after, 1.0)
            proposed = np.where(lowered[..., None],
                                current + share[..., None] * (proposed - current), proposed)
            after = np.where(lowered, listened_fraction(proposed, listened), after)
        if every:
            scored, coefficients, before = current, proposed, after
        else:                                  # arrays of this call's own: updated in place
            scored[running], coefficients[running], before[running] = current, proposed, after
        change = np.abs(proposed - current).max(axis=-1) / rate
        running = running[~(change < params.listening_gradient_threshold).reshape(-1)]
    final = coefficients.reshape(shape)
    return final, (final if params.listening_scores_from == "final" else scored.reshape(shape))


# %% [markdown]
# The analytic gradient against sympy, for three reputers and two loss entries. The adjusted
# stakes of eq 29 always saturate for at least one reputer (the unsaturated shares sum to $N_r$),
# so the symbolic model takes, at the test point, the branch of the minimum that is active there:

# %%
# identity: eq 34
a_s = sp.symbols("a0:3", positive=True)
stakes_3 = [sp.Rational(2), sp.Rational(3), sp.Rational(4)]
x_vals = [[sp.Rational(-21, 10), sp.Rational(-19, 10)], [sp.Rational(-2), sp.Rational(-22, 10)],
          [sp.Rational(-18, 10), sp.Rational(-2)]]
point = {a_s[0]: sp.Rational(7, 10), a_s[1]: sp.Rational(4, 10), a_s[2]: sp.Rational(3, 10)}
Sigma = sum(a * s for a, s in zip(a_s, stakes_3))
shares = [3 * a * s / Sigma for a, s in zip(a_s, stakes_3)]
S_hat = [share if share.subs(point) < 1 else sp.Integer(1) for share in shares]   # eq 29
cons = [sum(S_hat[m] * x_vals[m][e] for m in range(3)) / sum(S_hat) for e in range(2)]  # eq 31
C_norm = sp.sqrt(sum(ce**2 for ce in cons))
T_m = [1 / (sp.sqrt(sum((x_vals[m][e] - cons[e])**2 for e in range(2))) / C_norm
            + sp.Rational(1, 100)) for m in range(3)]                                # eq 32
T_total = sum(s * t for s, t in zip(stakes_3, T_m)) / sum(stakes_3)                   # eq 33
symbolic = np.array([float(sp.diff(sp.log(T_total), a).xreplace(point)) for a in a_s])
analytic = dataclasses.replace(whitepaper, listening_gradient="analytic")
deployed = dataclasses.replace(whitepaper, listening_gradient="finite-difference")
a_point, stakes_point = np.array([0.7, 0.4, 0.3]), np.array([2.0, 3.0, 4.0])
x_point = np.array(x_vals, dtype=float)
numeric = listening_gradient(a_point, stakes_point, x_point, analytic)
one_sided = listening_gradient(a_point, stakes_point, x_point, deployed)
np.testing.assert_allclose(numeric, symbolic, rtol=1e-10)
print("d ln T / d a   sympy:", symbolic)
print("               analytic:", numeric)
print("   one-sided difference:", one_sided, " (first-order agreement only)")
assert np.all(np.abs(one_sided - symbolic) < 0.05 * np.abs(symbolic).max())

# %% [markdown]
# ### The majority-stake attack
#
# Five reputers; four honest ones report losses near the truth, one attacker reports every loss
# shifted by 1 (in log units) and holds a fraction $\varphi$ of all stake. We measure how far the
# consensus moves towards the attacker with raw stakes, with adjusted stakes (eq 29), and after
# five epochs of listening (eq 34) in each profile. An attacker with an average stake
# ($\varphi = 0.2$) moves the consensus by 0.2.

# %%
from allora_ref.attacks import attack_reports, attack_shifts

# %%
attack = attack_reports(np.random.default_rng(1))
print(f"{'stake share':>11s} {'raw':>6s} {'adjusted':>9s} {'listened (paper)':>17s} {'listened (deployed)':>20s}")
attack_rows = []
for phi in (0.2, 0.35, 0.5, 0.7, 0.9):
    (raw_shift, adjusted_shift, paper), (_, _, deployed) = (
        attack_shifts(phi, attack, params, 5) for params in (whitepaper, simulator))
    attack_rows.append((phi, raw_shift, adjusted_shift, paper[-1], deployed[-1]))
    print(f"{phi:11.2f} {raw_shift:6.3f} {adjusted_shift:9.3f} {paper[-1]:17.3f} {deployed[-1]:20.3f}")
attack_rows = np.array(attack_rows)
# the adjusted stake never gives the attacker more weight than raw stake does, and caps it at 1
assert np.all(attack_rows[:, 2] <= attack_rows[:, 1] + 1e-12)
np.testing.assert_allclose(attack_rows[:, 2], 1 / (1 + 5 * (1 - attack_rows[:, 0])), rtol=1e-2)
# listening silences an attacker with up to half of the stake ...
assert np.all(attack_rows[attack_rows[:, 0] <= 0.5, 3] < 0.05)
# ... but eq 33 weights the objective by stake: a 90% attacker is listened to instead
assert attack_rows[-1, 3] > 0.5
# raw stakes: the consensus moves by the attacker's share of the offset 1
np.testing.assert_allclose(attack_rows[:, 1], attack_rows[:, 0], rtol=1e-9)
# the deployed ascent (10 finite-difference iterations) silences up to half, not 70% or 90%
assert np.all(attack_rows[attack_rows[:, 0] <= 0.5, 4] < 0.05) and np.all(attack_rows[3:, 4] > 0.3)

# %% [markdown]
# What this shows. The adjusted stake caps the attacker's weight at 1, the weight of any reputer
# with at least the average listened stake; but reputers below the average weigh less than 1, so
# the attacker's pull on the consensus, $1/(1 + N_r(1-\varphi))$ here, still grows with its stake
# (0.67 at 90% instead of 0.9 with raw stakes) - the cap reduces a majority attack, it does not
# reduce the attacker to an average reputer. The listening coefficients silence an attacker with
# up to half of the stake within a few epochs. Above that, eq 33's stake-weighted objective makes
# the gradient ascent listen to the attacker and silence the honest minority (the listened-stake
# floor of 0.5 does not prevent it, since the attacker alone holds more than half).

# %% [markdown]
# ## Eqs 35-36: reputer reward fractions and stakes
#
# $$w_{im} = \frac{(S_{im} T_{im})^p}{\sum_m (S_{im} T_{im})^p}, \qquad (35) \qquad
#   S_{i+1,m} = S_{im} + w_{im} W_i, \qquad (36)$$
# with fiducial $p = 1$ (the deployed chain's default is 3; `reputer_reward_p`) and $W_i$ the
# reputers' class reward of §4.2. Rewards compound into stake: accurate reputers gain influence.

# %% tags=["export"]
def reputer_reward_fractions(stakes: np.ndarray, scores: np.ndarray, params: Params
                             ) -> np.ndarray:
    """Eq 35: w_im = (S_im T_im)^p / sum_m (S_im T_im)^p (NaN score: did not report); all 0
    when every term is 0 and ``reputer_fraction_zero_total = "all-zero"`` (the paper's 0/0 is
    an error). Leading batch axes allowed."""
    terms = (stakes * scores) ** params.reputer_reward_p
    if params.reputer_fraction_zero_total != "all-zero":
        return reward_fractions(terms)
    absent = np.isnan(terms)
    nothing = ~(np.where(absent, 0.0, terms).sum(axis=-1, keepdims=True) > 0)
    fractions = reward_fractions(np.where(nothing & ~absent, 1.0, terms))
    return np.where(nothing & ~absent, 0.0, fractions)


def updated_stakes(stakes: np.ndarray, fractions: np.ndarray, reputer_reward) -> np.ndarray:
    """Eq 36: S_{i+1,m} = S_im + w_im W_i (W_i a number or one per topic; leading batch axes
    allowed)."""
    return stakes + np.where(np.isnan(fractions), 0.0, fractions) * np.asarray(
        reputer_reward)[..., None]


# %% [markdown]
# ## Score EMAs and bounded active sets (chain v0.6 §5-7; not in the paper)
#
# The paper pays every participant. The deployed chain bounds each task's active set
# (`max_top_inferers` = 32, `max_top_forecasters` = 6, `max_top_reputers` = 6) and admits
# submissions one at a time as they arrive (here: in index order). While the set has room, a
# submission is admitted. When it is full, the newcomer's score EMA is compared with the stored
# lowest-EMA record of the task (computed over the set, first minimum in index order, if there is
# none): strictly above, it replaces that actor; otherwise it is left out. The actor pushed out
# (or the newcomer left out) gets the task's topic quantile score in its EMA,
# $\mathrm{EMA}_{\alpha_{ms}}(Q_{task}, \cdot)$ - from the record's snapshot for the one pushed
# out. The record is recomputed after a replacement and otherwise kept, also across epochs, so it
# can be stale: a replacement then pushes out nobody and the set grows beyond its size.
#
# After scoring, each scored actor's EMA moves towards its score (eqs 21-22, 32) and the task's
# topic quantile score becomes the `active_*_quantile` quantile of the epoch's scores (0 with no
# score); a task with a single scored worker changes neither. The EMA is the chain's helper: an
# actor's first value, or a value equal to the previous one, is taken as it is. Reputers staking
# less than `required_minimum_stake` are not admitted, and a forecast keeps its elements for the
# `max_elements_per_forecast` named inferers with the highest EMAs.

# %% tags=["export"]
@dataclass(frozen=True)
class ActiveSets:
    """What the bounded active sets carry between epochs (chain/v0.6.md §6-7), per task
    (inferers, forecasters, reputers)."""

    score_emas: tuple[np.ndarray, np.ndarray, np.ndarray]
    """Each actor's score EMA; NaN = none yet (read as 0; its first EMA is its score)."""
    quantile_scores: np.ndarray
    """The topic quantile score of each task, shape (3,); 0 at first."""
    lowest: np.ndarray
    """The lowest-EMA record of each task, shape (3, 2): the actor's index and its EMA when the
    record was made (NaN index = no record; NaN EMA = it had none)."""

    @classmethod
    def initial(cls, n_inferers: int, n_forecasters: int, n_reputers: int) -> "ActiveSets":
        """A new topic: no EMA, quantile scores 0, no lowest-EMA record."""
        return cls(tuple(np.full(n, np.nan) for n in (n_inferers, n_forecasters, n_reputers)),
                   np.zeros(3), np.full((3, 2), np.nan))


def uses_active_sets(params: Params) -> bool:
    """Whether the profile bounds an active set or a forecast's elements, or asks reputers for a
    minimum stake (chain/v0.6.md §5, §7)."""
    return any((params.max_top_inferers, params.max_top_forecasters, params.max_top_reputers,
                params.max_elements_per_forecast, params.required_minimum_stake))


def score_emas(scores, previous, alpha: float) -> np.ndarray:
    """Chain/v0.6.md §6: alpha T + (1 - alpha) EMA_prev, or T where there is no EMA yet (NaN) or
    it equals T; where T is NaN the EMA is unchanged."""
    scores, previous = np.asarray(scores, dtype=float), np.asarray(previous, dtype=float)
    first = np.isnan(previous) | (scores == previous)
    updated = np.where(first, scores, alpha * scores + (1 - alpha) * previous)
    return np.where(np.isnan(scores), previous, updated)


def lowest_record(emas: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Chain/v0.6.md §7: (index, EMA) of the member with the lowest EMA (no EMA = 0), the first
    in index order; (NaN, NaN) for no member."""
    if not members.any():
        return np.full(2, np.nan)
    actor = int(np.argmin(np.where(members, np.nan_to_num(emas, nan=0.0), np.inf)))
    return np.array([actor, emas[actor]])


def admitted(submitting: np.ndarray, emas: np.ndarray, quantile: float, lowest: np.ndarray,
             size: int, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chain/v0.6.md §7: one task's active set of at most ``size`` actors (0 = no limit) from
    the submissions, admitted in index order. Returns the members, the EMAs and the lowest-EMA
    record after the admissions."""
    if not size:
        return submitting.copy(), emas, lowest
    members, emas, lowest = np.zeros(submitting.size, bool), emas.copy(), lowest.copy()
    for actor in np.flatnonzero(submitting):
        if members.sum() < size:
            members[actor] = True
            continue
        if np.isnan(lowest[0]):                      # no record yet: the set's lowest
            lowest = lowest_record(emas, members)
        low = int(lowest[0])
        if np.nan_to_num(emas[actor], nan=0.0) > np.nan_to_num(lowest[1], nan=0.0):
            emas[low] = score_emas(quantile, lowest[1], alpha)
            members[low], members[actor] = False, True       # a stale record removes nobody
            lowest = lowest_record(emas, members)
        else:
            emas[actor] = score_emas(quantile, emas[actor], alpha)
    return members, emas, lowest


def admissions(sets: ActiveSets, submitting: dict[int, np.ndarray], params: Params
               ) -> tuple[dict[int, np.ndarray], ActiveSets]:
    """Chain/v0.6.md §7 for some tasks ({task index: who submits}, 0 inferers, 1 forecasters,
    2 reputers): the members of their active sets, and the state after the admissions."""
    emas, lowest, members = list(sets.score_emas), sets.lowest.copy(), {}
    sizes = (params.max_top_inferers, params.max_top_forecasters, params.max_top_reputers)
    for task, wants in submitting.items():
        members[task], emas[task], lowest[task] = admitted(
            wants, emas[task], sets.quantile_scores[task], lowest[task], sizes[task],
            params.merit_sortition_alpha)
    return members, ActiveSets(tuple(emas), sets.quantile_scores, lowest)


def kept_forecast_elements(forecasted_log_losses: np.ndarray, inferer_emas: np.ndarray,
                           params: Params) -> np.ndarray:
    """Chain/v0.6.md §5 (eqs 2-3): each forecast keeps its elements for the
    ``max_elements_per_forecast`` named inferers with the highest score EMAs (no EMA = 0; ties:
    lower index first); the others become NaN."""
    cap = params.max_elements_per_forecast
    named = ~np.isnan(forecasted_log_losses)
    if not cap or (named.sum(axis=1) <= cap).all():
        return forecasted_log_losses
    rank = np.empty(inferer_emas.size, int)
    rank[np.argsort(-np.nan_to_num(inferer_emas, nan=0.0), kind="stable")] = np.arange(rank.size)
    ahead = (named[:, None, :] & (rank[None, None, :] < rank[None, :, None])).sum(axis=-1)
    return np.where(named & (ahead < cap), forecasted_log_losses, np.nan)


def scored_active_sets(sets: ActiveSets, scores: tuple[np.ndarray, np.ndarray, np.ndarray],
                       params: Params) -> ActiveSets:
    """Chain/v0.6.md §6: after scoring, each scored actor's EMA (``score_emas``) and each task's
    topic quantile score (the ``active_*_quantile`` quantile of its scores, linear; 0 with no
    score). A worker task with a single score changes neither."""
    quantiles = (params.active_inferer_quantile, params.active_forecaster_quantile,
                 params.active_reputer_quantile)
    emas, topic_quantiles = list(sets.score_emas), sets.quantile_scores.copy()
    for task, (current, q) in enumerate(zip(scores, quantiles)):
        present = ~np.isnan(current)
        if present.sum() == 1 and task < 2:          # a lone inferer or forecaster
            continue
        emas[task] = score_emas(current, emas[task], params.merit_sortition_alpha)
        topic_quantiles[task] = np.quantile(current[present], q) if present.any() else 0.0
    return ActiveSets(tuple(emas), topic_quantiles, sets.lowest)

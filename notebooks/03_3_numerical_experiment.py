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
# # §3.3 The numerical experiment (eqs 19-20), Figures 2 and 3
#
# The paper quantifies the inference synthesis with mock participants: three workers whose
# inferences scatter around a ground truth, who also forecast each other's losses with some
# awareness of the context, and five reputers who report noisy, smoothed losses. This notebook
# specifies that experiment, runs it through the epoch step (`allora_ref.spec.epoch.step`) and
# draws Figure 2 and, from the same run, the rewards of Figure 3 (§4.2). Cells tagged `export`
# are `allora_ref.experiment`; the mechanism itself is not here - the experiment only produces
# what the world would submit (eqs 1, 2, 13) and the topic's reward (eq 41).
#
# **What the paper leaves open, settled here** (each is a field of `Settings` with the paper's
# value as default, or stated in the code):
#
# * *Log base of "log-mean" and "log-dispersion".* Decimal: every quoted value is the $\log_{10}$
#   of a round number - $-0.700 \approx \log_{10} 0.2$, $0.176 = \log_{10} 1.5$,
#   $-0.222 = \log_{10} 0.6$, $-1.000 = \log_{10} 0.1$, $0.097 = \log_{10} 1.25$,
#   $-1.523 = \log_{10} 0.03$, $0.301 = \log_{10} 2$ (checked below). The "logarithmic" errors and
#   biases of forecasters and reputers are therefore in decimal exponents (dex) too.
# * *Workers.* The three workers do both tasks: $N_i = N_f = 3$, and every forecaster forecasts
#   every inferer, itself included.
# * *Time.* Epochs are counted from $i = 0$, so $f_{\rm xp,0} = 1$. The experiment runs 300 epochs
#   (the research simulator's golden data are epochs 300-303 of a run). The ground truth
#   of an epoch is revealed one epoch later: the reputers' losses of epoch $i$ reach the network
#   after its inference and before the next one, which is how `step` orders them (eqs 4, 13).
# * *Ground truth.* A Gaussian random walk,
#   $\mathcal{Y}_i = \mathcal{Y}_{i-1} + \mathcal{N}(0, 0.1)$ from $\mathcal{Y}_{-1} = 0$. With
#   the squared-error loss and inferences drawn around the truth, no loss depends on it; the
#   process is stated for completeness.
# * *Loss.* The "mean squared error" of one inference against one ground-truth value is its
#   squared error (`squared_error` of eq 13); its logarithm scatters by about a decade from
#   epoch to epoch even for a fixed error.
# * *Outperformance.* Each epoch one worker, drawn uniformly and independently of earlier epochs,
#   has its error and bias multiplied by 0.3.
# * *Forecasts.* The two forecasted losses (context-aware and context-unaware) get independent
#   perturbations. The context-unaware one divides the actual loss by $0.3^2$ for the
#   outperforming inferer only (the other losses have nothing to correct).
# * *Reputers.* The experience factor applies to workers only, as the paper says. Each reputer
#   perturbs the decimal log-loss of every entry of the loss vector (eq 12) independently, then
#   takes its EMA with its own $\alpha_m$ (capped at 1), starting from its first report; it
#   reports the EMA converted to the profile's log base. The reputers start with equal stakes of
#   100 (the mean reward of an epoch is 1), which grow by their rewards (eq 36).
# * *Emission (Figure 3).* The paper's "stochastic model" of the topic's reward is not given. Here
#   $E_{t,i} = \bar E\exp(z_i - \sigma_z^2/2)$ with $z_i = \rho z_{i-1} + s\,\mathcal{N}(0,1)$,
#   $\rho = 0.95$, $s = 0.1$, $z_0$ drawn from the stationary law ($\sigma_z^2 = s^2/(1-\rho^2)$),
#   so the mean reward per epoch is $\bar E = 1$.
# * *Random numbers.* One seed; independent streams (spawned from it) for the participants, the
#   world (truth, outperformer, inferences), the forecasts, the reputers and the emission, so that
#   changing one setting (say the context sensitivity) leaves the other draws unchanged.

# %% tags=["export"]
#| default_exp experiment
"""§3.3 numerical experiment, eqs 19-20: mock inferers, forecasters and reputers around the
epoch step, the records behind Figures 2 and 3, and the figures."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
from matplotlib.figure import Figure

from allora_ref.params import Params
from allora_ref.spec.epoch import Epoch, EpochInputs, TopicState, step
from allora_ref.spec.inference_synthesis import (
    Submissions, all_inferences, forecasted_log_losses, log_losses, reported_entries,
    squared_error, synthesise)
from allora_ref.spec.participant_rewards import uses_active_sets

# %% tags=["parameters"]
seed = 0
epochs = 300
profile = "whitepaper"
overrides = {}                # Params fields replaced in the profile, e.g. {"p": 2.0}
figure_dir = "../reports"     # where figure2.png and figure2.pdf are written

# %%
import dataclasses
import os

import matplotlib.pyplot as plt
import sympy as sp

from allora_ref.figures import save_figure
from allora_ref.params import load_profile, profile_with

params = profile_with(profile, overrides)

# %% [markdown]
# The decimal reading of the log-normal parameters: each is the $\log_{10}$ of a round number to
# the last digit the paper prints ($\log_{10} 0.2 = -0.699$, printed $-0.700$), while the natural
# logarithms of the same numbers are far off.

# %%
round_numbers = {-0.700: 0.2, 0.176: 1.5, -0.222: 0.6, -1.000: 0.1, 0.097: 1.25, -1.523: 0.03,
                 0.301: 2.0}
for printed, value in round_numbers.items():
    assert abs(math.log10(value) - printed) <= 0.0011
    assert abs(math.log(value) - printed) > 0.05          # not natural logarithms

# %% [markdown]
# ## Eq 19: the experience factor
#
# Each worker "gains experience over time": its error and bias, in both tasks, are multiplied by
# $$f_{{\rm xp},i} = \tfrac{1}{2}\left(1 + e^{-0.03 i}\right), \qquad (19)$$
# an exponential decay from 1 to 1/2 with an e-folding time of $1/0.03 \approx 33$ epochs.

# %%
i_sym = sp.symbols("i", nonnegative=True)
f_xp = sp.Rational(1, 2) * (1 + sp.exp(-sp.Rational(3, 100) * i_sym))
assert f_xp.subs(i_sym, 0) == 1 and sp.limit(f_xp, i_sym, sp.oo) == sp.Rational(1, 2)
decay = sp.exp(-sp.Rational(3, 100) * i_sym)
assert sp.simplify(sp.diff(f_xp, i_sym) + sp.Rational(3, 200) * decay) == 0     # decreasing
half_way = sp.solve(sp.Eq(f_xp, sp.Rational(3, 4)), i_sym)[0]          # halfway from 1 to 1/2
print(f"f_xp is halfway from 1 to 1/2 at epoch {float(half_way):.1f} = ln 2 / 0.03")
assert sp.simplify(half_way - sp.log(2) / sp.Rational(3, 100)) == 0
f_xp

# %% tags=["export"]
def experience_factor(epoch) -> np.ndarray:
    """Eq 19: f_xp,i = (1 + exp(-0.03 i)) / 2, the workers' experience factor at epoch i >= 0."""
    epoch = np.asarray(epoch, dtype=float)
    if (epoch < 0).any():
        raise ValueError("epoch i of the experience factor f_xp,i (eq 19) must be >= 0")
    return 0.5 * (1.0 + np.exp(-0.03 * epoch))


# %%
i_grid = np.arange(0, 301)
exact = sp.lambdify(i_sym, f_xp, "mpmath")
np.testing.assert_allclose(experience_factor(i_grid), [float(exact(i)) for i in i_grid], rtol=1e-15)
assert np.all(np.diff(experience_factor(i_grid)) < 0)

# %% [markdown]
# ## Eq 20: context sensitivity
#
# Each forecaster anticipates the context-dependent outperformance to a degree
# $$f_{\rm context} = \sigma[a(x - b)], \qquad (20)$$
# with $x$ uniform on $[0, 1]$, $\sigma$ the logistic function, $a = 10$, $b = 0.5$, "to increase
# the incidence of values near zero and unity". Its values lie in
# $(\sigma(-ab), \sigma(a(1-b))) = (0.0067, 0.9933)$, and its density is
# $1/(a f (1 - f))$ there: smallest at $f = 1/2$ and growing towards both ends, as claimed. We
# derive the density by the change of variables $x = b + \operatorname{logit}(f)/a$:

# %%
x_sym, f_sym = sp.symbols("x f", positive=True)
a_sym, b_sym = sp.symbols("a b", positive=True)
sigmoid = 1 / (1 + sp.exp(-a_sym * (x_sym - b_sym)))
inverse = b_sym + sp.log(f_sym / (1 - f_sym)) / a_sym
assert sp.simplify(sigmoid.subs(x_sym, inverse) - f_sym) == 0
density = sp.diff(inverse, f_sym)                       # uniform x: density of f is dx/df
assert sp.simplify(density - 1 / (a_sym * f_sym * (1 - f_sym))) == 0
assert sp.solve(sp.diff(density, f_sym), f_sym) == [sp.Rational(1, 2)]   # minimum at f = 1/2
sp.simplify(density)

# %% tags=["export"]
def context_sensitivity(x, a: float, b: float) -> np.ndarray:
    """Eq 20: f_context = sigma(a (x - b)), the logistic function, for x in [0, 1]."""
    x = np.asarray(x, dtype=float)
    if np.isnan(x).any() or (x < 0).any() or (x > 1).any():
        raise ValueError("the draw x of the context sensitivity f_context (eq 20) must lie in "
                         "[0, 1]")
    return 0.5 * (1.0 + np.tanh(0.5 * a * (x - b)))     # sigma(z) without overflow


# %%
x_grid = np.linspace(0, 1, 1001)
exact_sigmoid = sp.lambdify(x_sym, sigmoid.subs({a_sym: 10, b_sym: sp.Rational(1, 2)}), "mpmath")
np.testing.assert_allclose(context_sensitivity(x_grid, 10, 0.5),
                           [float(exact_sigmoid(x)) for x in x_grid], rtol=1e-14)
draws = context_sensitivity(np.random.default_rng(seed).uniform(0, 1, 100_000), 10, 0.5)
print(f"f_context: {np.mean(draws < 0.1):.1%} below 0.1, {np.mean(draws > 0.9):.1%} above 0.9 "
      f"(uniform x: 10% each); expected {1 - 2 * math.log(9) / 10:.1%} outside [0.1, 0.9]")
# the share below f is the x that maps to f (x uniform): b + logit(f) / a, from the inverse above
below = {f: float(inverse.subs({f_sym: f, a_sym: 10, b_sym: sp.Rational(1, 2)}))
         for f in (sp.Rational(1, 10), sp.Rational(9, 10))}
assert math.isclose(below[sp.Rational(1, 10)] + 1 - below[sp.Rational(9, 10)],
                    1 - 2 * math.log(9) / 10, rel_tol=1e-12)
binomial = 5 * math.sqrt(0.25 / draws.size)                  # 5 standard deviations at most
assert abs(np.mean(draws < 0.1) - below[sp.Rational(1, 10)]) < binomial
assert abs(np.mean(draws > 0.9) - (1 - below[sp.Rational(9, 10)])) < binomial

fig, ax = plt.subplots(figsize=(6, 2.6))
ax.hist(draws, bins=50, density=True, color="0.7")
f_line = np.linspace(0.0068, 0.9932, 400)
ax.plot(f_line, 1 / (10 * f_line * (1 - f_line)), "k", lw=1, label=r"$1/(a f (1-f))$")
ax.set(xlabel=r"$f_{\rm context}$", ylabel="density", ylim=(0, 6))
ax.legend(frameon=False)
plt.close(fig)
fig

# %% [markdown]
# ## The experiment's settings
#
# Everything that describes the mock world, with the paper's values as defaults. The mechanism's
# constants are the profile's (`Params`); these are not. `context_sensitivity = None` draws
# $f_{\rm context}$ per forecaster from eq 20; a number gives every forecaster that value (for the
# sweeps of the claims ledger). `forecast_error_log_mean` likewise lets the forecasters be made
# less accurate.

# %% tags=["export"]
@dataclass(frozen=True)
class Settings:
    """The §3.3 experiment's own parameters (the mechanism's are ``Params``); paper defaults.

    Log-means and log-dispersions are decimal (log10); "logarithmic" errors and biases of
    forecasters and reputers are in decimal exponents of the loss.
    """

    seed: int = 0
    """Seeds every random stream of the run."""
    epochs: int = 300
    """Number of epochs (not in the paper)."""
    n_workers: int = 3
    """Workers; each is an inferer and a forecaster (N_i = N_f)."""
    n_reputers: int = 5
    inference_error_log_mean: float = -0.700
    inference_error_log_dispersion: float = 0.176
    inference_bias_dispersion: float = 0.05
    outperformance: float = 0.3
    """Factor on the error and bias of the epoch's outperforming worker."""
    forecast_error_log_mean: float = -0.222
    forecast_error_log_dispersion: float = 0.176
    forecast_bias_dispersion: float = 0.3
    context_a: float = 10.0
    """a of eq 20."""
    context_b: float = 0.5
    """b of eq 20."""
    context_sensitivity: float | None = None
    """None: f_context drawn per forecaster (eq 20); a number in [0, 1]: every forecaster's."""
    reputer_error_log_mean: float = -1.000
    reputer_error_log_dispersion: float = 0.097
    reputer_bias_dispersion: float = 0.05
    reputer_alpha_log_mean: float = -1.523
    reputer_alpha_log_dispersion: float = 0.301
    initial_stake: float = 100.0
    """Every reputer's stake S_0m (not in the paper)."""
    truth_step: float = 0.1
    """Standard deviation of the ground truth's random-walk step (not in the paper)."""
    mean_emission: float = 1.0
    """Mean topic reward per epoch (Figure 3's emission model, not in the paper)."""
    emission_persistence: float = 0.95
    """rho of the AR(1) log-emission."""
    emission_volatility: float = 0.1
    """s, the AR(1) innovation of the log-emission."""
    sybil_copies: int = 0
    """Extra identities under which the first inferer also submits its inference, every
    forecaster forecasting their losses as the original's (§4.2's sybil; not in §3.3)."""

    def __post_init__(self) -> None:
        where = "§3.3"
        for name in ("epochs", "n_workers", "n_reputers"):
            if getattr(self, name) < 1:
                raise ValueError(f"experiment setting {name} ({where}) must be >= 1")
        if self.sybil_copies < 0:
            raise ValueError("experiment setting sybil_copies (§4.2 sybil) must be >= 0")
        for name in ("inference_error_log_dispersion", "inference_bias_dispersion",
                     "forecast_error_log_dispersion", "forecast_bias_dispersion",
                     "reputer_error_log_dispersion", "reputer_bias_dispersion",
                     "reputer_alpha_log_dispersion", "truth_step", "emission_volatility"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"experiment setting {name} ({where}) must be >= 0")
        if not 0 < self.outperformance <= 1:
            raise ValueError(f"experiment setting outperformance ({where}) must lie in (0, 1]")
        if self.context_sensitivity is not None and not 0 <= self.context_sensitivity <= 1:
            raise ValueError("experiment setting context_sensitivity f_context (eq 20) must lie "
                             "in [0, 1]")
        if not self.initial_stake > 0 or not self.mean_emission >= 0:
            raise ValueError(f"experiment settings initial_stake ({where}) must be > 0 and "
                             "mean_emission >= 0")
        if not 0 <= self.emission_persistence < 1:
            raise ValueError(f"experiment setting emission_persistence ({where}) must lie in "
                             "[0, 1)")


# %% [markdown]
# ## The participants
#
# Drawn once per run. Inferers: error $\sigma_j = 10^{\mathcal{N}(-0.700,\,0.176)}$ and bias
# $b_j \sim \mathcal{N}(0, 0.05)$, in units of the target. Forecasters: logarithmic error
# $\epsilon_k = 10^{\mathcal{N}(-0.222,\,0.176)}$ dex, logarithmic bias
# $\beta_k \sim \mathcal{N}(0, 0.3)$ dex, context sensitivity from eq 20. Reputers: logarithmic
# error $e_m = 10^{\mathcal{N}(-1.000,\,0.097)}$ dex, bias $\mathcal{N}(0, 0.05)$ dex, and
# $\alpha_m = \min(1, 10^{\mathcal{N}(-1.523,\,0.301)})$.

# %% tags=["export"]
@dataclass(frozen=True)
class Participants:
    """The mock participants of one run (§3.3); of a batch of runs with a leading axis over
    the runs on every array."""

    inference_error: np.ndarray
    """sigma_j, target units, shape (N,)."""
    inference_bias: np.ndarray
    """b_j, target units, shape (N,)."""
    forecast_error: np.ndarray
    """epsilon_k, dex, shape (N,)."""
    forecast_bias: np.ndarray
    """beta_k, dex, shape (N,)."""
    context: np.ndarray
    """f_context of each forecaster (eq 20), shape (N,)."""
    reputer_error: np.ndarray
    """e_m, dex, shape (N_r,)."""
    reputer_bias: np.ndarray
    """c_m, dex, shape (N_r,)."""
    reputer_alpha: np.ndarray
    """alpha_m of each reputer's EMA, in (0, 1], shape (N_r,)."""

    @classmethod
    def stacked(cls, runs: Sequence["Participants"]) -> "Participants":
        """The participants of several runs as those of one batch."""
        return cls(*(np.stack([getattr(p, f.name) for p in runs]) for f in fields(cls)))

    @property
    def reputer_reading_error(self) -> np.ndarray:
        """How far a reputer's reading of a log-loss is off, RMS sqrt(c_m^2 + e_m^2) in dex."""
        return np.hypot(self.reputer_bias, self.reputer_error)


def draw_participants(settings: Settings, rng: np.random.Generator) -> Participants:
    """§3.3 with eq 20: the participants' errors, biases, context sensitivities and EMA alphas.

    Every draw is made whatever the settings override, so the stream stays aligned.
    """
    n, r, s = settings.n_workers, settings.n_reputers, settings
    inference_error = 10.0 ** rng.normal(s.inference_error_log_mean,
                                         s.inference_error_log_dispersion, n)
    inference_bias = rng.normal(0.0, s.inference_bias_dispersion, n)
    forecast_error = 10.0 ** rng.normal(s.forecast_error_log_mean,
                                        s.forecast_error_log_dispersion, n)
    forecast_bias = rng.normal(0.0, s.forecast_bias_dispersion, n)
    context = context_sensitivity(rng.uniform(0.0, 1.0, n), s.context_a, s.context_b)
    if s.context_sensitivity is not None:
        context = np.full(n, s.context_sensitivity)
    reputer_error = 10.0 ** rng.normal(s.reputer_error_log_mean, s.reputer_error_log_dispersion, r)
    reputer_bias = rng.normal(0.0, s.reputer_bias_dispersion, r)
    reputer_alpha = np.minimum(10.0 ** rng.normal(s.reputer_alpha_log_mean,
                                                  s.reputer_alpha_log_dispersion, r), 1.0)
    return Participants(inference_error, inference_bias, forecast_error, forecast_bias, context,
                        reputer_error, reputer_bias, reputer_alpha)


# %% [markdown]
# ## One epoch of the mock world
#
# *Inferences (eq 1).* With the epoch's experience factor $f$ and the outperformer $o$,
# $I_{ij} = \mathcal{Y}_i + \mathcal{N}(f\,b_j\,\kappa_j,\ f\,\sigma_j\,\kappa_j)$, where
# $\kappa_o = 0.3$ and $\kappa_j = 1$ otherwise. Their actual losses are
# $L_{ij} = (I_{ij} - \mathcal{Y}_i)^2$ (the squared error of eq 13).
#
# *Forecasts (eq 2).* Forecaster $k$'s context-aware forecast perturbs $\log_{10} L_{ij}$ by
# $\mathcal{N}(f\beta_k, f\epsilon_k)$; its context-unaware forecast perturbs
# $\log_{10}(L_{ij}/\kappa_j^2)$ the same way, independently; the forecast is
# $f_{\rm context,k}$ times the first plus $1 - f_{\rm context,k}$ times the second, converted back
# to a loss and submitted as a logarithm in the profile's base (eq 2).
#
# *Reports (eq 13).* Reputer $m$ perturbs the decimal log-loss of every inference of eq 12 by
# $\mathcal{N}(c_m, e_m)$ and reports its EMA with $\alpha_m$, in the profile's base.

# %% tags=["export"]
def standard_normal(rng, shape) -> np.ndarray:
    """Standard normal draws of ``shape`` from a generator, or from each generator of a batch of
    runs (a list), stacked on a leading axis."""
    if isinstance(rng, np.random.Generator):
        return rng.standard_normal(shape)
    return np.stack([r.standard_normal(shape) for r in rng])


def outperformance_factors(n_workers: int, outperformer, factor) -> np.ndarray:
    """§3.3: kappa_j, the factor on each worker's error and bias (``factor`` for the
    outperformer, 1 for the others); a batch of runs gives arrays of outperformers and factors."""
    chosen = np.arange(n_workers) == np.asarray(outperformer)[..., None]
    return np.where(chosen, np.asarray(factor, dtype=float)[..., None], 1.0)


def mock_inferences(truth, participants: Participants, scale: np.ndarray, rng) -> np.ndarray:
    """§3.3 (eq 1): truth + N(scale_j b_j, scale_j sigma_j), the inferences, with
    scale_j = f_xp kappa_j (eq 19)."""
    noise = standard_normal(rng, scale.shape[-1])
    return np.asarray(truth)[..., None] + scale * (participants.inference_bias
                                                   + participants.inference_error * noise)


def mock_forecasts(actual_log10_losses: np.ndarray, participants: Participants, f_xp: float,
                   unaware_shift: np.ndarray, rng) -> np.ndarray:
    """§3.3 with eqs 19-20: forecasted decimal log-losses, shape (N_f, N_i).

    ``unaware_shift`` is log10(kappa_j^2) per inferer: the context-unaware forecast starts from
    log10(L_ij / kappa_j^2). Each of the two forecasts gets its own perturbation.
    """
    n_f, n_i = participants.forecast_error.shape[-1], actual_log10_losses.shape[-1]
    noise = standard_normal(rng, (2, n_f, n_i))
    bias = (f_xp * participants.forecast_bias)[..., None]
    error = (f_xp * participants.forecast_error)[..., None]
    aware = actual_log10_losses[..., None, :] + bias + error * noise[..., 0, :, :]
    unaware = (actual_log10_losses - unaware_shift)[..., None, :] + bias \
        + error * noise[..., 1, :, :]
    context = participants.context[..., None]
    return context * aware + (1.0 - context) * unaware


def reputer_reports(true_log10_losses: np.ndarray, previous: np.ndarray | None,
                    participants: Participants, rng) -> np.ndarray:
    """§3.3: each reputer's EMA of its perturbed decimal log-losses, shape (N_r, loss vector).

    ``previous`` is last epoch's EMA (None at the first epoch: the EMA starts at the first
    report). An absent entry (NaN) stays absent and restarts the EMA when it reappears.
    """
    n_r = participants.reputer_error.shape[-1]
    noise = standard_normal(rng, (n_r, true_log10_losses.shape[-1]))
    noisy = true_log10_losses[..., None, :] + participants.reputer_bias[..., None] \
        + participants.reputer_error[..., None] * noise
    if previous is None:
        return noisy
    alpha = participants.reputer_alpha[..., None]
    return np.where(np.isnan(previous), noisy, alpha * noisy + (1.0 - alpha) * previous)


def emission_series(settings: Settings, rng: np.random.Generator) -> np.ndarray:
    """Figure 3's emission model: E_i = mean exp(z_i - var/2), with z an AR(1) started from its
    stationary law."""
    rho, s = settings.emission_persistence, settings.emission_volatility
    variance = s**2 / (1.0 - rho**2)
    shocks = rng.standard_normal(settings.epochs)
    z = np.empty(settings.epochs)
    z[0] = math.sqrt(variance) * shocks[0]
    for i in range(1, settings.epochs):
        z[i] = rho * z[i - 1] + s * shocks[i]
    return settings.mean_emission * np.exp(z - 0.5 * variance)


# %% [markdown]
# ## The run
#
# Each epoch: the world draws the truth, the outperformer and the inferences; the forecasters
# forecast; the network synthesises every inference of eq 12 (`synthesise`), which the reputers
# evaluate against the truth; the epoch step then recomputes the synthesis from the same state
# and submissions and settles losses, scores and rewards. `observations` yields every epoch with
# the state it started from (what a measurement such as the Shapley comparison of the claims
# ledger needs); `simulate` keeps the arrays the figures and claims use.
#
# Runs of the same sizes can go through the step together, as one batch of topics (a leading
# axis over the runs on every array): `simulate_batch` gives each run exactly the numbers
# `simulate` gives it alone, in a fraction of the time, since an epoch of a few workers costs
# numpy's per-call overhead much more than arithmetic. Each run keeps its own random streams.

# %% tags=["export"]
@dataclass(frozen=True)
class Observation:
    """One epoch of the experiment."""

    index: int
    participants: Participants
    truth: float
    outperformer: int
    topic_reward: float
    """E_t,i, drawn from the emission model."""
    state: TopicState
    """The topic's state before the epoch."""
    submissions: Submissions
    true_log10_losses: np.ndarray
    """log10 of the squared error of every entry of the loss vector (eqs 12-13)."""
    epoch: Epoch


def observations(settings: Settings | Sequence[Settings], params: Params
                 ) -> Iterator[Observation]:
    """§3.3 (eqs 19-20): the experiment, epoch by epoch, through the epoch step.

    A sequence of settings (the same epochs, workers, reputers and sybil copies) runs as one batch
    of topics through ``step``: every field of an observation then has a leading axis over the
    runs, and each run's numbers are those it has alone.
    """
    batch = not isinstance(settings, Settings)
    runs = list(settings) if batch else [settings]
    if not runs:
        raise ValueError("a batch of runs of the §3.3 experiment needs at least one run")
    first = runs[0]
    sizes = lambda s: (s.epochs, s.n_workers, s.n_reputers, s.sybil_copies)
    if any(sizes(s) != sizes(first) for s in runs):
        raise ValueError("runs of the §3.3 experiment batched together must have the same "
                         "epochs, workers, reputers and sybil copies")
    join = np.stack if batch else (lambda values: values[0])
    each = (lambda values: values) if batch else (lambda values: values[0])
    streams = [[np.random.default_rng(s) for s in np.random.SeedSequence(r.seed).spawn(5)]
               for r in runs]
    world, forecasting, reporting = (each([s[k] for s in streams]) for k in (1, 2, 3))
    drawn = [draw_participants(r, s[0]) for r, s in zip(runs, streams)]
    participants = Participants.stacked(drawn) if batch else drawn[0]
    emission = join([emission_series(r, s[4]) for r, s in zip(runs, streams)])
    n, copies = first.n_workers, first.sybil_copies
    state = TopicState.initial(n + copies, n,
                               join([np.full(r.n_reputers, r.initial_stake) for r in runs]),
                               params)
    to_profile_base = 1.0 / np.log10(params.log_base)
    truth, ema = join([0.0 for _ in runs]), None
    worlds = [s[1] for s in streams]
    outperformance = join([r.outperformance for r in runs])
    for index in range(first.epochs):
        f_xp = float(experience_factor(index))
        truth = truth + join([r.truth_step * w.standard_normal() for r, w in zip(runs, worlds)])
        outperformer = join([int(w.integers(n)) for w in worlds])
        kappa = outperformance_factors(n, outperformer, outperformance)
        own = mock_inferences(truth, participants, f_xp * kappa, world)
        actual = log_losses(own, truth, squared_error, 10.0)
        forecasts = mock_forecasts(actual, participants, f_xp, 2.0 * np.log10(kappa), forecasting)
        if copies:                              # the sybil's identities, after every draw
            own = np.concatenate([own, np.repeat(own[..., :1], copies, axis=-1)], axis=-1)
            forecasts = np.concatenate([forecasts, np.repeat(forecasts[..., :1], copies,
                                                             axis=-1)], axis=-1)
        submissions = Submissions(own, forecasted_log_losses(10.0**forecasts, params.log_base))
        inferred = synthesise(state.synthesis, submissions, params)
        vector = all_inferences(inferred.combined, inferred.forecast_implied,
                                inferred.one_out_forecast_implied, submissions.inferences)
        true_losses = log_losses(vector, truth, squared_error, 10.0)
        ema = reputer_reports(true_losses, ema, participants, reporting)
        reward = emission[..., index][()]             # a number for one run
        reported = (ema * to_profile_base)[..., reported_entries(
            submissions.n_inferers, submissions.n_forecasters, params)]   # the eq 13 layout
        epoch, next_state = step(state, EpochInputs(submissions, reported, reward), params,
                                 inferred)
        yield Observation(index, participants, truth, outperformer, reward, state, submissions,
                          true_losses, epoch)
        state = next_state


@dataclass(frozen=True)
class Run:
    """What one run of the experiment leaves for Figures 2 and 3 and the claims ledger.

    Arrays run over epochs first. Losses are the true ones (squared error against the ground
    truth), in decimal logarithms, whatever the profile's base.
    """

    settings: Settings
    participants: Participants
    outperformer: np.ndarray
    true_log10_losses: np.ndarray
    """Every entry of the loss vector (eq 12 order), shape (epochs, loss vector)."""
    topic_reward: np.ndarray
    """E_t,i (eq 41), shape (epochs,)."""
    class_rewards: np.ndarray
    """U_i, V_i, W_i (eq 41), shape (epochs, 3)."""
    inferer_rewards: np.ndarray
    """U_ij (eq 46), shape (epochs, N_i)."""
    forecaster_rewards: np.ndarray
    """V_ik (eq 46), shape (epochs, N_f)."""
    reputer_rewards: np.ndarray
    """W_im (eq 46), shape (epochs, N_r)."""
    entropies: np.ndarray
    """F_i, G_i, H_i (eq 37), shape (epochs, 3)."""
    forecasting_utility: np.ndarray
    """chi (eq 44), shape (epochs,)."""

    @property
    def network_loss(self) -> np.ndarray:
        """log10 loss of the network inference I_i per epoch."""
        return self.true_log10_losses[:, 0]

    @property
    def naive_loss(self) -> np.ndarray:
        """log10 loss of the naive network inference I^-_i per epoch."""
        return self.true_log10_losses[:, 1]

    @property
    def inferer_losses(self) -> np.ndarray:
        """log10 losses of the inferences I_ij, shape (epochs, N_i) (sybil copies last)."""
        return self.true_log10_losses[:, 2: 2 + self.n_inferers]

    @property
    def forecast_implied_losses(self) -> np.ndarray:
        """log10 losses of the forecast-implied inferences I_ik, shape (epochs, N_f)."""
        n_i, n_f = self.n_inferers, self.settings.n_workers
        return self.true_log10_losses[:, 2 + n_i: 2 + n_i + n_f]

    @property
    def n_inferers(self) -> int:
        """N_i: the workers and the sybil's extra identities."""
        return self.settings.n_workers + self.settings.sybil_copies


def summarised(settings: Settings, records: Sequence[Observation], run=()) -> Run:
    """The Run of ``settings`` from the observations of its experiment; ``run`` is its index
    when they are those of a batch of runs."""
    epochs = [o.epoch for o in records]
    stacked = lambda values: np.array([np.asarray(v)[run] for v in values])
    return Run(settings, of_run(records[0].participants, run),
               stacked(o.outperformer for o in records),
               stacked(o.true_log10_losses for o in records),
               stacked(o.topic_reward for o in records),
               stacked(e.class_rewards for e in epochs), stacked(e.inferer_rewards for e in epochs),
               stacked(e.forecaster_rewards for e in epochs),
               stacked(e.reputer_rewards for e in epochs),
               stacked(np.stack(e.entropies, axis=-1) for e in epochs),
               stacked(e.forecasting_utility for e in epochs))


def simulate(settings: Settings, params: Params) -> Run:
    """§3.3 (eqs 19-20): one run of the experiment, summarised for the figures and claims."""
    return summarised(settings, list(observations(settings, params)))


def of_run(value, run):
    """The part of ``value`` - an observation of a batch of runs, or any part of one - that
    belongs to run ``run`` (its index in the batch; ``()``: every run)."""
    if isinstance(value, np.ndarray):
        return value[run]
    if isinstance(value, tuple):
        return tuple(of_run(v, run) for v in value)
    if is_dataclass(value):
        return type(value)(**{f.name: of_run(getattr(value, f.name), run) for f in fields(value)})
    return value


def observations_of_runs(runs: Sequence[Settings], params: Params
                         ) -> Iterator[tuple[Observation, ...]]:
    """The observations of several runs of the same sizes, epoch by epoch, one per run: computed
    as one batch of topics (``observations``), or run by run for a profile with bounded active
    sets, which admit one topic's actors at a time."""
    if uses_active_sets(params):
        yield from zip(*(observations(s, params) for s in runs))
        return
    for batch in observations(list(runs), params):
        yield tuple(of_run(batch, b) for b in range(len(runs)))


def simulate_batch(runs: Sequence[Settings], params: Params) -> list[Run]:
    """``simulate`` of every run, those of the same sizes as one batch of topics (the same
    numbers as one at a time, for less time); runs of a profile with bounded active sets, which
    admit one topic's actors at a time, one by one."""
    if uses_active_sets(params):
        return [simulate(s, params) for s in runs]
    groups: dict[tuple, list[int]] = {}
    for k, s in enumerate(runs):
        groups.setdefault((s.epochs, s.n_workers, s.n_reputers, s.sybil_copies), []).append(k)
    summaries = {}
    for members in groups.values():
        records = list(observations([runs[k] for k in members], params))
        summaries.update({k: summarised(runs[k], records, b) for b, k in enumerate(members)})
    return [summaries[k] for k in range(len(runs))]


# %% [markdown]
# ## A run
#
# The `parameters` cell sets the seed, the number of epochs and the profile. Every epoch pays out
# exactly its topic reward, and the network inference of every epoch is the one `synthesise`
# gave the reputers (the step recomputes it from the same state and submissions); the epoch
# records of a run's first epochs are those of any shorter run with the same seed.

# %%
# a profile that pays whole tokens (chain-v0.6: uallo, a minimum reputer stake of 10000) runs the
# experiment in its units, as the paper-vs-chain notebook does: a topic reward of 1e6 an epoch on
# average, reputers starting with 1e5
units = {} if params.token_amount_rounding == "real" else {"mean_emission": 1e6,
                                                           "initial_stake": 1e5}
settings = Settings(seed=seed, epochs=epochs, **units)
run = simulate(settings, params)
records = list(observations(dataclasses.replace(settings, epochs=min(epochs, 10)), params))
for o in records:
    again = synthesise(o.state.synthesis, o.submissions, params)
    np.testing.assert_array_equal(again.combined, o.epoch.inferences.combined)
np.testing.assert_array_equal(run.true_log10_losses[:len(records)],
                              [o.true_log10_losses for o in records])
# every epoch pays out its topic reward (the chain's first epoch pays nobody: no scores yet);
# whole tokens lose less than one unit per payment
paying = run.class_rewards.sum(axis=1) > 0
assert paying[1:].all() and (paying[0] or params.token_amount_rounding != "real")
np.testing.assert_allclose(run.class_rewards.sum(axis=1)[paying], run.topic_reward[paying],
                           rtol=1e-12)
paid = run.inferer_rewards.sum(1) + run.forecaster_rewards.sum(1) + run.reputer_rewards.sum(1)
payments = sum(r.shape[1] for r in (run.inferer_rewards, run.forecaster_rewards,
                                    run.reputer_rewards))
shortfall = run.class_rewards.sum(axis=1) - paid
if params.token_amount_rounding == "real":
    np.testing.assert_allclose(paid, run.class_rewards.sum(axis=1), rtol=1e-12)
else:
    assert ((-1e-6 <= shortfall) & (shortfall < payments)).all()
p = run.participants
print("inferers:     error", np.round(p.inference_error, 3), " bias", np.round(p.inference_bias, 3))
print("forecasters:  error", np.round(p.forecast_error, 3), " bias", np.round(p.forecast_bias, 3),
      " f_context", np.round(p.context, 3))
print("reputers:     error", np.round(p.reputer_error, 3), " bias", np.round(p.reputer_bias, 3),
      " alpha", np.round(p.reputer_alpha, 3))
# the draws lie where the paper's laws put them (log-means and dispersions of §3.3, within six
# standard deviations), f_context inside the range of eq 20, alpha_m capped at 1
for values, (mean, dispersion) in (
        (np.log10(p.inference_error), (-0.700, 0.176)), (p.inference_bias, (0.0, 0.05)),
        (np.log10(p.forecast_error), (-0.222, 0.176)), (p.forecast_bias, (0.0, 0.3)),
        (np.log10(p.reputer_error), (-1.000, 0.097)), (p.reputer_bias, (0.0, 0.05)),
        (np.log10(p.reputer_alpha), (-1.523, 0.301))):
    assert (np.abs(values - mean) < 6 * dispersion).all()
assert (p.reputer_alpha <= 1).all() and p.inference_error.size == p.forecast_error.size == 3
assert ((1 / (1 + math.exp(5)) < p.context) & (p.context < 1 / (1 + math.exp(-5)))).all()
assert p.reputer_error.size == 5                                     # N_r = 5
assert run.true_log10_losses.shape[0] == run.inferer_rewards.shape[0] == epochs

# %% [markdown]
# ## Figure 2
#
# The losses of the individual inferences (blue), the forecast-implied inferences (cyan), the
# naive network inference (dotted black) and the network inference (solid black). A single
# epoch's squared error scatters by about a decade (the logarithm of a squared Gaussian), so each
# curve is the geometric mean of the loss over the last 10 epochs (fewer at the start).

# %% tags=["export"]
def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last ``window`` entries along axis 0 (fewer at the start)."""
    if window < 1:
        raise ValueError("the averaging window of the figures must be >= 1 epoch")
    totals = np.cumsum(np.concatenate([np.zeros((1,) + values.shape[1:]), values]), axis=0)
    ends = np.arange(1, values.shape[0] + 1)
    starts = np.maximum(ends - window, 0)
    counts = (ends - starts).reshape((-1,) + (1,) * (values.ndim - 1))
    return (totals[ends] - totals[starts]) / counts


def figure2(run: Run, window: int = 10, title: str = "") -> Figure:
    """Figure 2: losses over time of the inferences, forecast-implied inferences, naive network
    and network inference (eqs 3, 9, 13), as ``window``-epoch geometric means."""
    figure = Figure(figsize=(7.0, 4.2))
    ax = figure.add_subplot()
    epoch = np.arange(run.settings.epochs)
    curve = lambda log10_losses: 10.0 ** trailing_mean(log10_losses, window)
    for j, losses in enumerate(run.inferer_losses.T):
        ax.plot(epoch, curve(losses), color="tab:blue", lw=1,
                label="inferences" if j == 0 else None)
    for k, losses in enumerate(run.forecast_implied_losses.T):
        ax.plot(epoch, curve(losses), color="c", lw=1,
                label="forecast-implied inferences" if k == 0 else None)
    ax.plot(epoch, curve(run.naive_loss), ":", color="k", lw=1.6, label="naive network inference")
    ax.plot(epoch, curve(run.network_loss), "-", color="k", lw=1.6, label="network inference")
    ax.set(yscale="log", xlim=(0, run.settings.epochs - 1), xlabel="epoch",
           ylabel=f"loss (squared error, {window}-epoch geometric mean)", title=title)
    ax.legend(frameon=False, fontsize=8)
    figure.tight_layout()
    return figure


# %%
from IPython.display import Image
label = f"Figure 2 ({profile} profile, seed {seed})"
figure_2 = figure2(run, title=label)
os.makedirs(figure_dir, exist_ok=True)
figure_2_files = save_figure(figure_2, os.path.join(figure_dir, "figure2"))
# three inferences, three forecast-implied inferences, the naive network and the network, one
# point per epoch; a curve's points are geometric means over the last 10 epochs (by hand)
axes_2 = figure_2.axes[0]
assert axes_2.get_title() == label and len(axes_2.lines) == 3 + 3 + 2
assert all(line.get_xydata().shape == (epochs, 2) for line in axes_2.lines)
network_curve = axes_2.lines[-1].get_ydata()
assert math.isclose(network_curve[0], 10 ** run.network_loss[0], rel_tol=1e-12)
assert math.isclose(network_curve[-1], 10 ** np.mean(run.network_loss[-10:]), rel_tol=1e-9)
Image(figure_2_files["png"])     # the file written, not drawn a third time

# %% [markdown]
# The time-averaged decimal log-losses of this run (all epochs). The claims ledger measures the
# paper's statements about them over many seeds.

# %%
means = {"network": run.network_loss.mean(), "naive network": run.naive_loss.mean(),
         **{f"inferer {j + 1}": v for j, v in enumerate(run.inferer_losses.mean(0))},
         **{f"forecast-implied {k + 1}": v for k, v in enumerate(run.forecast_implied_losses.mean(0))}}
for name, value in means.items():
    print(f"{name:20s} mean log10 loss {value:7.3f}")
print(f"network vs naive: {run.naive_loss.mean() - run.network_loss.mean():.2f} dex better")

# By hand, an inferer's mean: its loss is (f_xp kappa sigma_j)^2 (z + b_j / sigma_j)^2 with z
# standard normal, and (z + delta)^2 is a non-central chi^2 with one degree of freedom, a Poisson
# (delta^2 / 2) mixture of central ones with 1 + 2k, so E ln (z + delta)^2 =
# ln 2 + sum_k P(k) psi(1/2 + k). Its log10 scatters by at most ~0.97 dex (delta = 0: pi / sqrt(2)
# / ln 10), so the mean over the run lies within six standard errors of the expectation.
import mpmath

def mean_log10_noncentral(delta: float) -> float:
    half = delta**2 / 2
    return float((mpmath.log(2) + mpmath.nsum(lambda k: mpmath.exp(-half) * half**k
                  / mpmath.factorial(k) * mpmath.psi(0, 0.5 + k), [0, mpmath.inf]))
                 / mpmath.log(10))

assert math.isclose(mean_log10_noncentral(0.0), (-0.5772156649 - math.log(2)) / math.log(10),
                    rel_tol=1e-9)                    # psi(1/2) + ln 2 = -gamma - ln 2
index = np.arange(epochs)
for j in range(3):
    kappa_j = np.where(run.outperformer == j, settings.outperformance, 1.0)
    scale = 0.5 * (1 + np.exp(-0.03 * index)) * kappa_j * p.inference_error[j]     # eq 19
    expected = np.mean(2 * np.log10(scale)) + mean_log10_noncentral(
        p.inference_bias[j] / p.inference_error[j])
    assert abs(means[f"inferer {j + 1}"] - expected) < 6 * 0.97 / math.sqrt(epochs), (j, expected)
# Every epoch: a weighted mean of inferences (eqs 3-11, weights >= 0 summing to 1) has a squared
# error no larger than the worst of them (convexity), so no mean can exceed the worst's
worst = run.inferer_losses.max(axis=1) + 1e-9
# (an epoch without forecast-implied inferences, NaN, has none to bound)
assert (run.naive_loss <= worst).all() and not (run.forecast_implied_losses > worst[:, None]).any()
assert (run.network_loss <= np.fmax(worst, np.fmax.reduce(run.forecast_implied_losses, axis=1))).all()

# %% [markdown]
# ## Figure 3 (§4.2): the rewards of the same run
#
# "Figure 3 illustrates the resulting incentive structure ... using the same numerical experiment
# as considered in Figure 2 and additionally adopting a stochastic model to describe the total
# reward emission." The left column shows the rewards of the three task classes (eq 41:
# inference blue, forecasting cyan, reputers red) and their total (black, the emission model
# above), per epoch (top) and cumulative (bottom); the other columns show the rewards of the
# individual participants of each class (eq 46). Workers and reputers are numbered from 1.

# %% tags=["export"]
CLASSES = (("inference", "tab:blue"), ("forecasting", "c"), ("reputers", "tab:red"))


def figure3(run: Run, title: str = "") -> Figure:
    """Figure 3: rewards per epoch and cumulative, per task class (eq 41) and per participant
    (eq 46)."""
    figure = Figure(figsize=(13.0, 5.6))
    axes = figure.subplots(2, 4, sharex=True)
    epoch = np.arange(run.settings.epochs)
    participants = ((run.inferer_rewards, "Worker", "inference task"),
                    (run.forecaster_rewards, "Worker", "forecasting task"),
                    (run.reputer_rewards, "Reputer", "reputer task"))
    rows = ((lambda r: r, "reward per epoch"),
            (lambda r: np.cumsum(r, axis=0), "cumulative reward"))
    for row, (transform, what) in enumerate(rows):
        ax = axes[row, 0]
        for c, (name, colour) in enumerate(CLASSES):
            ax.plot(epoch, transform(run.class_rewards[:, c]), color=colour, lw=1, label=name)
        ax.plot(epoch, transform(run.topic_reward), color="k", lw=1, label="total")
        ax.set(ylabel=what)
        for column, (rewards, who, task) in enumerate(participants, start=1):
            ax = axes[row, column]
            for n in range(rewards.shape[1]):
                ax.plot(epoch, transform(rewards[:, n]), color=f"C{n}", lw=1,
                        label=f"{who} {n + 1}")
            if row == 0:
                ax.set_title(task, fontsize=10)
    axes[0, 0].set_title("task classes", fontsize=10)
    for ax in axes[0]:
        ax.legend(frameon=False, fontsize=7)
    for ax in axes[1]:
        ax.set(xlabel="epoch", xlim=(0, run.settings.epochs - 1))
    figure.suptitle(title)
    figure.tight_layout()
    return figure


# %%
figure_3 = figure3(run, title=f"Figure 3 ({profile} profile, seed {seed})")
figure_3_files = save_figure(figure_3, os.path.join(figure_dir, "figure3"))
# two rows of four panels; the black total of the cumulative panel ends at the run's emission
assert len(figure_3.axes) == 8 and figure_3.get_suptitle().endswith(f"seed {seed})")
total_line = figure_3.axes[4].lines[3]
assert total_line.get_color() == "k" and len(total_line.get_ydata()) == epochs
assert math.isclose(total_line.get_ydata()[-1], math.fsum(run.topic_reward), rel_tol=1e-12)
Image(figure_3_files["png"])

# %% [markdown]
# The cumulative rewards of this run, and the accuracy of each participant: the mean decimal
# log-loss of a worker's inference and of its forecast-implied inference, and the RMS error (dex)
# of a reputer's reading of a loss, $\sqrt{c_m^2 + e_m^2}$. (A reputer's reports are its EMA of
# those readings, so they lag the instantaneous losses by design; its reading error is what
# distinguishes an accurate reputer.)

# %%
total = run.class_rewards.sum(axis=0)
print("cumulative class rewards (inference, forecasting, reputers):", np.round(total, 2),
      f"of {run.topic_reward.sum():.2f}")
for name, rewards, accuracy in (
        ("inferers", run.inferer_rewards, run.inferer_losses.mean(0)),
        ("forecasters", run.forecaster_rewards, run.forecast_implied_losses.mean(0)),
        ("reputers", run.reputer_rewards, run.participants.reputer_reading_error)):
    print(f"{name:12s} cumulative {np.round(rewards.sum(0), 2)}  accuracy {np.round(accuracy, 3)}")
print("modified entropies at the last epoch (F, G, H):", np.round(run.entropies[-1], 3))
# The class totals add up to what was emitted, and each class's participants to its total. An
# entropy of N participants lies in [0, ln N] (eq 37, beta >= 0 and N_eff <= N), and eqs 41 and
# 45 split the reward in proportion to the entropies: every epoch W_i / E_t,i = H / (F + G + H)
# and U_i / V_i = (1 - chi) F / (chi G).
# (whole tokens: each payment loses less than one unit; the chain's first epoch pays nobody)
assert math.isclose(total.sum(), math.fsum(run.topic_reward[run.class_rewards.sum(axis=1) > 0]),
                    rel_tol=1e-12)
for c, rewards in enumerate((run.inferer_rewards, run.forecaster_rewards, run.reputer_rewards)):
    if params.token_amount_rounding == "real":
        assert math.isclose(rewards.sum(), total[c], rel_tol=1e-12)
    else:
        assert -1e-6 <= total[c] - rewards.sum() < rewards.size
np.testing.assert_allclose(run.participants.reputer_reading_error,
                           np.sqrt(p.reputer_bias**2 + p.reputer_error**2), rtol=1e-15)
assert (run.entropies >= 0).all() and (run.entropies <= np.log([3, 3, 5]) + 1e-12).all()
F, G, H = run.entropies.T
U, V, W = run.class_rewards.T
chi = run.forecasting_utility
paying = (F + G + H > 0) & (run.class_rewards.sum(axis=1) > 0)
np.testing.assert_allclose((W / run.topic_reward)[paying], (H / (F + G + H))[paying], atol=1e-12)
np.testing.assert_allclose((U * chi * G)[paying], (V * (1 - chi) * F)[paying],
                           atol=1e-12 * settings.mean_emission)

# %% [markdown]
# ## The profiles
#
# The same seed in both profiles: the network's gain over the naive network (mean decimal
# log-loss) and the shares of the cumulative reward of the three classes. The participants, the
# truth and the inferences are the same; the forecasts and reports too, since they do not depend
# on the mechanism. What differs is the mechanism's reading of the paper (`allora_ref.params`).

# %%
from allora_ref.params import profile_differences

runs = {name: run if name == profile and not overrides else simulate(settings, load_profile(name))
        for name in ("whitepaper", "allora-simulator")}
print(f"{'profile':18s} {'gain (dex)':>10s} {'inference':>10s} {'forecasting':>12s} "
      f"{'reputers':>9s}")
for name, r in runs.items():
    shares = r.class_rewards.sum(axis=0) / r.topic_reward.sum()
    print(f"{name:18s} {r.naive_loss.mean() - r.network_loss.mean():10.2f} {shares[0]:10.2f} "
          f"{shares[1]:12.2f} {shares[2]:9.2f}")
np.testing.assert_array_equal(*(r.inferer_losses for r in runs.values()))
differences = profile_differences(*(load_profile(name) for name in runs))
print(f"{len(differences)} fields differ between the profiles")
# the shares of each profile add up to 1, and the differing fields counted field by field
for r in runs.values():
    assert math.isclose((r.class_rewards.sum(axis=0) / r.topic_reward.sum()).sum(), 1.0,
                        rel_tol=1e-12)
pair = [load_profile(name) for name in runs]
assert len(differences) == sum(repr(getattr(pair[0], f.name)) != repr(getattr(pair[1], f.name))
                               for f in dataclasses.fields(Params)) > 0

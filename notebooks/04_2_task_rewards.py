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
# # §4.2 Reward division between network tasks (eqs 37-46)
#
# A topic's reward of the epoch, $E_{t,i}$, is split between the inference, forecasting and
# reputer tasks in proportion to how decentralised each is (a modified entropy of its reward
# fractions), with the workers' share tilted towards forecasting by its measured utility. Cells
# tagged `export` are `allora_ref.spec.task_rewards`.

# %% tags=["export"]
#| default_exp spec.task_rewards
"""§4.2 reward division between tasks, eqs 37-46: smoothed fractions, modified entropy,
effective numbers, forecasting utility and the class and participant rewards."""

from __future__ import annotations

import numpy as np

from allora_ref.params import Params

# %% tags=["parameters"]
max_copies = 64  # the sybil experiment splits a participant into 2..max_copies copies

# %%
import dataclasses

import matplotlib.pyplot as plt
import sympy as sp

from allora_ref.params import load_profile

whitepaper = load_profile("whitepaper")
simulator = load_profile("allora-simulator")

# %% [markdown]
# ## Eq 37: modified entropy
#
# $$F_i = -\sum_j f_{ij}\ln f_{ij}\Big(\frac{N_{i,\rm eff}}{N_i}\Big)^\beta, \quad
#   G_i = -\sum_k f_{ik}\ln f_{ik}\Big(\frac{N_{f,\rm eff}}{N_f}\Big)^\beta, \quad
#   H_i = -\sum_m f_{im}\ln f_{im}\Big(\frac{N_{r,\rm eff}}{N_r}\Big)^\beta, \qquad (37)$$
# over the modified fractions $f$ of eq 38 with the effective numbers of eq 40 (both below);
# natural logarithms, $\beta = 0.25$ (`beta_entropy`), $0 \ln 0 = 0$. A class with one participant
# has entropy 0 in the paper; the deployed system uses the constant 0.173286795139986
# (`lone_participant_entropy`), so that a lone participant still earns a class reward. A class
# with no participant has entropy 0.

# %% tags=["export"]
def modified_entropy(fractions: np.ndarray, n_effective, params: Params) -> np.ndarray:
    """Eq 37: -sum f ln f (N_eff / N)^beta over the present participants of the last axis
    (leading batch axes allowed)."""
    present = ~np.isnan(fractions)
    count = present.sum(axis=-1)
    positive = np.where(present & (fractions > 0), fractions, 1.0)       # 1 ln 1 = 0
    shannon = -np.sum(positive * np.log(positive), axis=-1)
    ratio = np.asarray(n_effective) / np.maximum(count, 1)
    return np.where(count > 1, shannon * ratio ** params.beta_entropy,
                    np.where(count == 1, params.lone_participant_entropy, 0.0))[()]


def class_entropy(fractions: np.ndarray, smoothed: np.ndarray, params: Params) -> np.ndarray:
    """Eqs 37-40 for one class: the modified entropy of its (already normalised) fractions."""
    source = fractions if params.effective_number_from == "normalised" else np.where(
        np.isnan(fractions), np.nan, smoothed)
    return modified_entropy(fractions, effective_number(source), params)


# %% [markdown]
# ## Eq 38: modified reward fractions
#
# $$f_{ij} = \frac{\tilde u_{ij}}{\sum_j \tilde u_{ij}}, \quad f_{ik} = \frac{\tilde v_{ik}}{\sum_k \tilde v_{ik}},
#   \quad f_{im} = \frac{\tilde w_{im}}{\sum_m \tilde w_{im}}, \qquad (38)$$
# over the participants present this epoch.

# %% tags=["export"]
def modified_fractions(smoothed: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Eq 38: f = u~ / sum u~ over the present participants of the last axis (NaN for the
    absent; leading batch axes allowed)."""
    total = np.where(present, smoothed, 0.0).sum(axis=-1, keepdims=True)
    if (present.any(axis=-1, keepdims=True) & ~(total > 0)).any():
        raise ValueError("smoothed reward fractions (eq 38) must have a positive sum")
    return np.where(present, smoothed / np.where(total > 0, total, 1.0), np.nan)


# %% [markdown]
# ## Eq 39: smoothed reward fractions
#
# The entropy looks at recent history, through an EMA of each class's reward fractions
# (fiducial $\alpha = 0.1$, `alpha_task`):
# $$\tilde u_{ij} = \alpha u_{ij} + (1-\alpha)\tilde u_{i-1,j}, \quad
#   \tilde v_{ik} = \alpha v_{ik} + (1-\alpha)\tilde v_{i-1,k}, \quad
#   \tilde w_{im} = \alpha w_{im} + (1-\alpha)\tilde w_{i-1,m}. \qquad (39)$$
# Not in the paper: a participant's first value (`smoothing_start`: `zero` - it earned nothing
# before - or `current`, deployed: $\tilde u = u$), and what is carried to the next epoch
# (`smoothed_state`: the raw $\tilde u$, or - deployed - the normalised $f$ of eq 38; identical
# while the set of participants is fixed). A participant absent this epoch keeps its value and
# takes no part in eqs 37-40.

# %% tags=["export"]
def smoothed_fractions(current: np.ndarray, previous: np.ndarray, params: Params) -> np.ndarray:
    """Eq 39: u~ = alpha u + (1 - alpha) u~_{i-1} (NaN current = absent: carried over)."""
    start = current if params.smoothing_start == "current" else np.zeros_like(current)
    previous = np.where(np.isnan(previous), start, previous)
    alpha = params.alpha_task
    return np.where(np.isnan(current), previous, alpha * current + (1 - alpha) * previous)


# %% [markdown]
# ## Eq 40: effective number of participants
#
# $$N_{\rm eff} = \frac{1}{\sum f^2}, \qquad (40)$$
# $N$ for equal fractions, near 1 when one participant takes almost everything. The deployed
# system computes it from the smoothed fractions before normalisation
# (`effective_number_from`); identical while they sum to 1.

# %%
n = sp.symbols("n", positive=True, integer=True)
assert sp.simplify(1 / (n * (1 / n)**2) - n) == 0         # equal fractions: N_eff = N

# %% tags=["export"]
def effective_number(fractions: np.ndarray) -> np.ndarray:
    """Eq 40: N_eff = 1 / sum f^2 over the present participants of the last axis (0 without
    any; leading batch axes allowed)."""
    present = ~np.isnan(fractions)
    some = present.any(axis=-1)
    total = (np.where(present, fractions, 0.0) ** 2).sum(axis=-1)
    return np.where(some, 1.0 / np.where(some, total, 1.0), 0.0)[()]


# %% [markdown]
# **Proof: $1 \le N_{\rm eff} \le N$, with $N$ exactly for equal fractions, so the number-ratio
# term of eq 37 lies in $(0, 1]$ and equal fractions have the largest modified entropy, $\ln N$.**
# For fractions summing to 1, $\sum_j (f_j - 1/N)^2 = \sum_j f_j^2 - 1/N \ge 0$, so
# $\sum f^2 \ge 1/N$ (equality only for equal fractions); and $\sum f^2 \le (\sum f)^2 = 1$.
# With equal fractions eq 37 is $-N \frac1N \ln\frac1N \cdot 1^\beta = \ln N$, the largest
# Shannon entropy, now multiplied by the largest number ratio. The code is compared with these
# exact values.

# %%
# proof: eqs 37, 40
j_index = sp.symbols("j", integer=True)
f_j = sp.IndexedBase("f")
sum_f, sum_f2 = sp.symbols("Sigma_f Sigma_f2")
spread_sum = sp.Sum(sp.expand((f_j[j_index] - 1 / n) ** 2), (j_index, 1, n)).expand().doit()


def collected(term):
    """A sum over j of a multiple of f_j or f_j^2, written with Sigma_f / Sigma_f2."""
    for power_, symbol in ((1, sum_f), (2, sum_f2)):
        factor = sp.simplify(term.function / f_j[j_index] ** power_)
        if not factor.has(f_j):
            return factor * symbol
    return term


spread_sum = spread_sum.replace(lambda t: isinstance(t, sp.Sum), collected)
assert sp.simplify(spread_sum.subs(sum_f, 1) - (sum_f2 - 1 / n)) == 0   # >= 0: N_eff <= N
beta_sym = sp.symbols("beta", positive=True)
equal_entropy = -n * (1 / n) * sp.log(1 / n) * (1 / (n * (1 / n) ** 2) / n) ** beta_sym
assert sp.simplify(equal_entropy - sp.log(n)) == 0
for size in (2, 3, 7):
    equal = np.full(size, 1.0 / size)
    assert abs(effective_number(equal) - size) <= 1e-12 * size
    assert abs(modified_entropy(equal, effective_number(equal), whitepaper) - np.log(size)) <= 1e-14
    uneven = np.arange(1.0, size + 1) / np.arange(1.0, size + 1).sum()
    assert 1.0 <= effective_number(uneven) < size
    assert modified_entropy(uneven, effective_number(uneven), whitepaper) < np.log(size)


# %% [markdown]
# ### The sybil claim
#
# "Any sybil attack would necessarily dilute the individual rewards of the sybil, which would
# increase the number of participants while keeping their effective number approximately
# constant ... $\beta = 0.25$ achieves this nearly exactly." We measure it: one participant of a
# class splits into $k$ copies that share its reward fraction equally; the table gives the
# entropy after the split relative to before, for several reward distributions, without the
# number-ratio term ($\beta = 0$) and with $\beta = 0.25$, and the $\beta$ that would keep the
# entropy exactly constant.

# %%
from allora_ref.sybil import SYBIL_DISTRIBUTIONS, sybil_split

# %%
copies = np.unique(np.geomspace(2, max_copies, 6).astype(int))
no_ratio_term = dataclasses.replace(whitepaper, beta_entropy=0.0)
rows = []
for name, f in SYBIL_DISTRIBUTIONS.items():
    for k in copies:
        ratio_0, _ = sybil_split(f, k, no_ratio_term)
        ratio_25, beta = sybil_split(f, k, whitepaper)
        rows.append((name, k, ratio_0, ratio_25, beta))
print(f"{'distribution':22s} {'k':>3s} {'beta=0':>8s} {'beta=0.25':>10s} {'beta for 1.0':>13s}")
for name, k, r0, r25, b in rows:
    print(f"{name:22s} {k:3d} {r0:8.3f} {r25:10.3f} {b:13.3f}")
ratios = {name: np.array([[r[2], r[3]] for r in rows if r[0] == name])
          for name in SYBIL_DISTRIBUTIONS}
# equal shares: the number-ratio term damps the sybil gain at every k, and more at larger k
assert np.all(ratios["equal, N = 5"][:, 1] < ratios["equal, N = 5"][:, 0])
# one dominant participant splitting: the split *equalises* the distribution, N_eff / N rises,
# and the number-ratio term amplifies the gain instead of damping it
assert np.all(ratios["one dominant, N = 5"][:, 1] > ratios["one dominant, N = 5"][:, 0])
# the numbers of the text below, and the break-even beta of equal shares split in two, by hand:
# ln(ln 5 / (ln 5 + 0.2 ln 2)) / ln((50/9) / 6)
table = {(name, k): (r0, r25, b) for name, k, r0, r25, b in rows}
assert abs(table["equal, N = 20", 2][1] - 1.006) < 5e-4
assert abs(table["equal, N = 5", 2][2] - 1.0736) < 1e-4
betas = [b for *_, b in rows]
assert min(betas) < -1 and max(betas) > 1      # no single beta keeps the entropy constant

fig, ax = plt.subplots(figsize=(6, 3.2))
for name in SYBIL_DISTRIBUTIONS:
    sel = [r for r in rows if r[0] == name]
    ax.plot([r[1] for r in sel], [r[3] for r in sel], marker="o", label=name)
ax.axhline(1.0, color="k", lw=0.8)
ax.set(xscale="log", xlabel="copies k of the largest participant",
       ylabel=r"entropy after / before ($\beta$ = 0.25)")
ax.legend(fontsize=8)
plt.close(fig)
fig

# %% [markdown]
# The measurement qualifies the claim. For equal shares, $\beta = 0.25$ keeps the entropy within
# a few percent for small $k$ (1.006 for $k = 2$ with $N = 20$) but over-corrects for large $k$.
# When the participant that splits holds most of the rewards, the split equalises the
# distribution, the number ratio $N_{\rm eff}/N$ *rises*, and the term amplifies the sybil gain.
# No single $\beta$ keeps the entropy constant: the last column, the $\beta$ that would, ranges
# from negative values (below -1) to above 1 across distributions and $k$ (about 1.07 for equal
# shares split in two), and diverges where a split leaves $N_{\rm eff}/N$ almost unchanged.

# %% [markdown]
# ## Eq 41: class rewards
#
# $$U_i = \frac{(1-\chi)\gamma F_i E_{t,i}}{F_i + G_i + H_i}, \quad
#   V_i = \frac{\chi\gamma G_i E_{t,i}}{F_i + G_i + H_i}, \quad
#   W_i = \frac{H_i E_{t,i}}{F_i + G_i + H_i}, \qquad (41)$$
# with the forecasting utility $\chi$ of eq 44 and the normalisation $\gamma$ of eq 45 (below).
# The deployed system sets $G_i = 0$ when there are no forecasters or at most one inferer
# (`forecasting_needs_two_inferers`). If all three entropies are 0 (possible in the paper when
# every class has one participant), eq 41 is 0/0; this reference then splits $E_{t,i}$ equally
# between the classes that have participants.

# %% tags=["export"]
def class_rewards(entropies: tuple, chi, topic_reward, present: tuple) -> np.ndarray:
    """Eq 41 (with 45): (U_i, V_i, W_i), last axis, from the entropies (F, G, H), chi and
    E_{t,i} (each a number or an array over the batch); when F + G + H = 0, E_{t,i} split equally
    between the classes ``present``."""
    f, g, h = (np.asarray(x, dtype=float) for x in entropies)
    reward = np.asarray(topic_reward, dtype=float)[..., None]
    total = f + g + h
    share = np.stack(np.broadcast_arrays(*present), axis=-1).astype(float)
    count = share.sum(axis=-1, keepdims=True)
    equal = reward * share / np.where(count > 0, count, 1.0)
    gamma = normalisation_factor(f, g, chi)
    split = reward / np.where(total == 0, 1.0, total)[..., None] * np.stack(
        np.broadcast_arrays((1 - chi) * gamma * f, chi * gamma * g, h), axis=-1)
    return np.where((total == 0)[..., None], equal, split)


# %% [markdown]
# ## Eqs 42-44: the utility of the forecasting task
#
# The forecasting task's score is how much worse the network would be without it,
# $$T_i = \log \mathcal{L}^-_i - \log \mathcal{L}_i, \qquad (42)$$
# compared with the best inferer's score through an EMA ($\alpha = 0.1$, $\tau_0 = 0$),
# $$\tau_i = \alpha\frac{T_i - \min(0, \max_j T_{ij})}{|\max_j T_{ij}|} + (1-\alpha)\tau_{i-1}, \qquad (43)$$
# and mapped to the utility
# $$\chi = \begin{cases} 0.1 & \tau_i < 0 \\ 0.4\tau_i + 0.1 & 0 \le \tau_i < 1 \\ 0.5 & \tau_i \ge 1.\end{cases} \qquad (44)$$
#
# Eq 43 divides by $|\max_j T_{ij}|$, which can be 0 (`score_ratio_rule`). `paper`: the ratio is
# undefined then and $\tau$ keeps its previous value. `chain` (deployed): the maximum is taken
# as $\max(0, \max_j T_{ij})$; if it is 0 the denominator is $|T_i|$; if $T_i$ is 0 too, $\chi = 0.5$
# and $\tau$ is reset to 0.

# %% tags=["export"]
def forecasting_task_score(naive_log_loss, network_log_loss) -> np.ndarray:
    """Eq 42: T_i = log L^-_i - log L_i."""
    return np.subtract(naive_log_loss, network_log_loss)[()]


def forecasting_score_ratio(task_score, inferer_scores: np.ndarray, previous, params: Params
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Eq 43: tau_i, and whether the deployed rule pins chi to 0.5 (both scores zero); the
    inferers are the last axis of ``inferer_scores`` (leading batch axes allowed)."""
    task_score, previous = np.asarray(task_score, dtype=float), np.asarray(previous, dtype=float)
    scored = ~np.isnan(inferer_scores)
    best = np.where(scored.any(axis=-1),
                    np.max(np.where(scored, inferer_scores, -np.inf), axis=-1), 0.0)
    alpha = params.alpha_task
    if params.score_ratio_rule == "chain":
        best = np.maximum(best, 0.0)
        pinned = (best == 0.0) & (task_score == 0.0)
        denominator = np.where(best != 0.0, best, np.abs(task_score))
        tau = alpha * task_score / np.where(pinned, 1.0, denominator) + (1 - alpha) * previous
        return np.where(pinned, 0.0, tau)[()], pinned[()]
    undefined = best == 0.0
    tau = alpha * (task_score - np.minimum(0.0, best)) / np.where(undefined, 1.0, np.abs(best)) \
        + (1 - alpha) * previous
    return np.where(undefined, previous, tau)[()], np.zeros(tau.shape, bool)[()]


def forecasting_utility(tau, params: Params) -> np.ndarray:
    """Eq 44: chi = 0.1 below tau = 0, 0.4 tau + 0.1 up to tau = 1, then 0.5."""
    low, high = params.chi_min, params.chi_max
    return np.clip(low + (high - low) * np.asarray(tau, dtype=float), low, high)[()]


# %% [markdown]
# $\chi$ is continuous and within $[0.1, 0.5]$ - checked symbolically at the two joints and
# on its range:

# %%
# proof: eq 44
tau = sp.symbols("tau", real=True)
chi_expr = sp.Piecewise((sp.Rational(1, 10), tau < 0), (sp.Rational(2, 5) * tau + sp.Rational(1, 10), tau < 1),
                        (sp.Rational(1, 2), True))
assert sp.limit(chi_expr, tau, 0, "-") == sp.limit(chi_expr, tau, 0, "+") == sp.Rational(1, 10)
assert sp.limit(chi_expr, tau, 1, "-") == sp.limit(chi_expr, tau, 1, "+") == sp.Rational(1, 2)
grid = np.linspace(-3, 4, 701)
numeric_chi = np.array([forecasting_utility(t, whitepaper) for t in grid])
np.testing.assert_allclose(numeric_chi, [float(chi_expr.subs(tau, t)) for t in grid], rtol=1e-15)
assert numeric_chi.min() == 0.1 and numeric_chi.max() == 0.5

# %% [markdown]
# ## Eq 45: the normalisation $\gamma$
#
# $$\gamma = \frac{F_i + G_i}{(1-\chi)F_i + \chi G_i}, \qquad (45)$$
# chosen so that tilting the workers' rewards by $\chi$ does not change their total. Substituting
# it into eq 41 (above) gives $U_i + V_i = E_{t,i}(F_i + G_i)/(F_i + G_i + H_i)$ for every $\chi$:

# %%
F, G, H, E, chi = sp.symbols("F G H E chi", positive=True)
gamma = (F + G) / ((1 - chi) * F + chi * G)
U = (1 - chi) * gamma * F * E / (F + G + H)
V = chi * gamma * G * E / (F + G + H)
assert sp.simplify(U + V - E * (F + G) / (F + G + H)) == 0
sp.simplify(U + V)

# %% tags=["export"]
def normalisation_factor(inference_entropy, forecasting_entropy, chi) -> np.ndarray:
    """Eq 45: gamma = (F + G) / ((1 - chi) F + chi G) (1 when F = G = 0)."""
    denominator = (1 - chi) * np.asarray(inference_entropy, dtype=float) \
        + chi * np.asarray(forecasting_entropy, dtype=float)
    return np.where(denominator == 0, 1.0, (inference_entropy + forecasting_entropy)
                    / np.where(denominator == 0, 1.0, denominator))[()]


# %% [markdown]
# With $W_i$ of eq 41 the three classes share out the topic reward exactly, $U_i + V_i + W_i =
# E_{t,i}$, for every $\chi$ and positive entropies. The code (eqs 41 and 45 together) is
# checked against the symbolic $U_i, V_i, W_i$ at rational points, where double precision
# leaves only rounding:

# %%
# proof: eqs 41, 45
W = H * E / (F + G + H)
assert sp.simplify(U + V + W - E) == 0
for point in [(1, 2, 3, 10, sp.Rational(1, 10)), (sp.Rational(1, 3), 5, sp.Rational(1, 7), 1, sp.Rational(1, 2)),
              (2, sp.Rational(1, 4), 1, 100, sp.Rational(37, 100))]:
    values = dict(zip((F, G, H, E, chi), point))
    exact = [float(term.subs(values)) for term in (U, V, W)]
    code = class_rewards(tuple(float(v) for v in point[:3]), float(point[4]), float(point[3]),
                         (True, True, True))
    np.testing.assert_allclose(code, exact, rtol=1e-14)
    assert abs(code.sum() - float(point[3])) <= 1e-14 * float(point[3])


# %% [markdown]
# ## Eq 46: per-participant rewards
#
# $$U_{ij} = u_{ij} U_i, \quad V_{ik} = v_{ik} V_i, \quad W_{im} = w_{im} W_i, \qquad (46)$$
# (the printed equation writes $v_{ij}$ and $w_{ij}$, an erratum). The rewards of a topic sum to
# $E_{t,i}$.
#
# **The chain at v0.6** (`chain/v0.6.md` §9-10, profile `chain-v0.6`) pays integers: every
# payment is truncated to whole uallo, a payment of 0 is none, and what truncation removes stays
# in the treasury (`token_amount_rounding`). A reputer's reward is split with its delegators pro
# rata to the delegated stake, $d_m = \operatorname{trunc}(W_m D_m / S_m)$; only the reputer's
# part $\operatorname{trunc}(W_m - d_m)$ is re-staked by eq 36, the delegators' part leaves the
# topic (`delegator_reward_split`).

# %% tags=["export"]
def participant_rewards(fractions: np.ndarray, class_reward) -> np.ndarray:
    """Eq 46: the reward of each participant of a class (last axis), fraction x class reward
    (absent: 0; leading batch axes allowed)."""
    return np.where(np.isnan(fractions), 0.0, fractions) * np.asarray(class_reward)[..., None]


def paid_amounts(rewards: np.ndarray, params: Params) -> np.ndarray:
    """Eq 46 as paid: each amount truncated to an integer (uallo) with
    ``token_amount_rounding = "truncate"`` (chain/v0.6.md §10), as it is otherwise."""
    return np.trunc(rewards) if params.token_amount_rounding == "truncate" else rewards


def reputer_reward_split(rewards: np.ndarray, stakes: np.ndarray, delegated, params: Params
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """Eqs 36, 46: (the part of W_im that reputer m re-stakes, the part paid to its delegators).

    ``pro-rata-not-restaked`` (chain/v0.6.md §9): d_m = W_m D_m / S_m and the reputer keeps
    W_m - d_m, each paid as ``paid_amounts``; ``none``: all of W_m is the reputer's and the
    delegators' part is None. ``delegated`` is D_m (None: no delegation); ``stakes`` is S_m,
    own plus delegated stake.
    """
    if params.delegator_reward_split == "none" or delegated is None:
        return paid_amounts(rewards, params), None
    share = np.divide(delegated, stakes, out=np.zeros(rewards.shape), where=stakes > 0)
    to_delegators = paid_amounts(rewards * share, params)
    return paid_amounts(rewards - to_delegators, params), to_delegators

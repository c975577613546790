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
# # §3.2 Confidence intervals on the network inference (eqs 16-18)
#
# The network reports, with its inference, weighted quantiles of the inferences it combined:
# percentiles $P \in \{2.28, 15.87, 84.13, 97.72\}\%$ mimic the $\pm 1\sigma$ and $\pm 2\sigma$
# limits of a Gaussian (the deployed system adds the median; `ci_percentiles`). Each inference
# $I_{il}$ counts with its network weight $w_{il}$ of eq 10, so that inferences with low weight do
# not widen the interval. The interval describes the workers' disagreement, not the network's
# historical accuracy. Cells tagged `export` are `allora_ref.spec.confidence_intervals`.

# %% tags=["export"]
#| default_exp spec.confidence_intervals
"""§3.2 confidence intervals, eqs 16-18: weighted quantiles of the combined inferences."""

from __future__ import annotations

import numpy as np

from allora_ref.checks import in_topic
from allora_ref.params import Params

# %% tags=["parameters"]
n_random_checks = 200  # random weighted samples compared with an independent implementation

# %%
import dataclasses

import sympy as sp

from allora_ref.params import load_profile

whitepaper = load_profile("whitepaper")

# %% [markdown]
# ## Eq 16: cumulative weights
#
# The inferences are sorted, $I_{il} \le I_{i,l+1}$, and the weights summed in that order:
# $$c_{il} = \sum_{l'=1}^{l} w_{il'}. \qquad (16)$$
#
# ## Eq 17: the weighted CDF
#
# $$C_{il} = \frac{c_{il} - 0.5\,w_{il}}{\max_l c_{il}}, \qquad (17)$$
# placing each inference at the middle of its own weight. With equal weights this is
# $C_l = (l - \tfrac12)/N$, the Hazen plotting position:

# %%
# identity: eq 17
N, l = sp.symbols("N l", positive=True, integer=True)
w = sp.symbols("w", positive=True)
C_equal = (l * w - w / 2) / (N * w)               # eq 16 gives c_l = l w, max c = N w
assert sp.simplify(C_equal - (l - sp.Rational(1, 2)) / N) == 0
C_equal

# %% tags=["export"]
def cumulative_weights(weights: np.ndarray) -> np.ndarray:
    """Eq 16: c_l = sum_{l' <= l} w_l' of weights already in the order of their inferences."""
    return np.cumsum(weights, axis=-1)


def weighted_cdf(weights: np.ndarray) -> np.ndarray:
    """Eq 17: C_l = (c_l - w_l / 2) / max_l c_l, for weights in the order of their inferences."""
    cumulative = cumulative_weights(weights)
    return (cumulative - 0.5 * weights) / cumulative[..., -1:]


# %% [markdown]
# ## Eq 18: interpolating a quantile
#
# With $\ell$ the largest index where $C_{i\ell} \le q$,
# $$I^q_i = I_{i\ell} + \frac{q - C_{i\ell}}{C_{i,\ell+1} - C_{i\ell}}\,(I_{i,\ell+1} - I_{i\ell}). \qquad (18)$$
# The paper leaves $q < C_{i1}$ and $q > C_{iN}$ undefined (there is no such $\ell$, or no
# $\ell + 1$). `ci_ends = "clamp"` returns the smallest or largest inference there (deployed, and
# the `whitepaper` choice: the interval stays within the inferences); `"extrapolate"` extends the
# first or last segment. Because $\ell$ is the *largest* such index, $C_{i,\ell+1} > q \ge C_{i\ell}$
# and the denominator is positive even when zero weights repeat a CDF value. A single inference
# is its own every quantile. Equal inferences keep the order of their workers (inferers first,
# then forecasters; a stable sort): eq 17 depends on the order of tied values, so the order is
# fixed rather than left to the sort algorithm.
#
# A batch of topics (leading batch axes, one topic per index) is computed at once, each topic
# over its own *members* (the inferences its network combined; their number differs between
# topics). Non-members sort after every member and carry weight 0, which leaves the members'
# cumulative weights unchanged (adding 0 is exact), and $\ell$ is sought among the members only,
# so each topic's quantiles are exactly those of the same call on its members alone.

# %% tags=["export"]
def weighted_quantiles(values, weights, quantiles, ends: str, members=None) -> np.ndarray:
    """Eqs 16-18: the weighted quantiles I^q of ``values`` (last axis) for each q in
    ``quantiles``, shape (..., Q), over the ``members`` of the last axis (default: all);
    leading batch axes allowed, each topic with its own members."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    members = np.ones(values.shape, bool) if members is None else np.asarray(members, bool)
    matching = values.ndim > 0 and values.shape == weights.shape == members.shape
    count = members.sum(axis=-1) if matching else np.zeros(())
    empty = count == 0
    if not matching or empty.any():
        raise ValueError("confidence intervals (eqs 16-18) need matching 1-D inferences and "
                         f"weights with at least one inference{in_topic(empty)}")
    weights = np.where(members, weights, 0.0)
    bad = (weights < 0).any(axis=-1) | (weights.sum(axis=-1) <= 0) \
        | ~np.isfinite(weights).all(axis=-1)
    if bad.any():
        raise ValueError("weights w_il (eqs 16-18) must be finite, non-negative, not all 0"
                         f"{in_topic(bad)}")
    q = np.asarray(quantiles, float)
    order = np.argsort(np.where(members, values, np.inf), axis=-1, kind="stable")
    sorted_values, sorted_weights = np.take_along_axis(np.stack([values, weights]), order[None],
                                                       axis=-1)      # members first
    cdf = weighted_cdf(sorted_weights)
    position = np.arange(values.shape[-1])
    last = (count - 1)[..., None]                                      # the last member
    below = (cdf[..., None, :] <= q[:, None]) & (position <= last[..., None])
    largest = np.where(below, position, -1).max(axis=-1)    # largest l with C_l <= q, or -1
    lower = np.minimum(np.maximum(largest, 0), np.maximum(last - 1, 0))   # the end segments
    upper = np.minimum(lower + 1, last)                     # extrapolate; one member: lower = upper
    (c_low, i_low), (c_high, i_high), (c_last, i_last) = np.split(np.take_along_axis(
        np.stack([cdf, sorted_values]), np.concatenate([lower, upper, last], axis=-1)[None],
        axis=-1), [q.size, 2 * q.size], axis=-1)             # C and I at l, l + 1, the last
    gap = c_high - c_low                                    # > 0 for q inside [C_1, C_N)
    fraction = np.divide(q - c_low, gap, out=np.zeros(gap.shape), where=gap > 0)
    result = i_low + fraction * (i_high - i_low)
    if ends == "clamp":
        result = np.where(largest < 0, sorted_values[..., :1],
                          np.where(q >= c_last, i_last, result))
    return result


def confidence_interval(values, weights, params: Params, members=None) -> np.ndarray:
    """Eqs 16-18 at the profile's percentiles P (q = P / 100), shape (..., P), over the
    ``members`` of the last axis (default: all); leading batch axes allowed."""
    return weighted_quantiles(values, weights, np.asarray(params.ci_percentiles) / 100.0,
                              params.ci_ends, members)


# %% [markdown]
# ## Checks
#
# * With clamped ends, eqs 16-18 are exactly linear interpolation of the points $(C_l, I_l)$, which
#   `numpy.interp` computes independently.
# * Equal weights on an odd number of inferences give the sample median at $q = 0.5$.
# * Quantiles are non-decreasing in $q$ and lie within the inferences.

# %%
rng = np.random.default_rng(20240814)
for _ in range(n_random_checks):
    n = int(rng.integers(1, 12))
    vals, wts = rng.normal(size=n), rng.exponential(size=n) * (rng.random(n) > 0.2)
    if wts.sum() == 0:
        continue
    qs = np.linspace(0.0, 1.0, 41)
    ours = weighted_quantiles(vals, wts, qs, "clamp")
    order = np.argsort(vals, kind="stable")
    cdf = (np.cumsum(wts[order]) - 0.5 * wts[order]) / wts.sum()
    np.testing.assert_allclose(ours, np.interp(qs, cdf, vals[order]), rtol=1e-12, atol=1e-12)
    assert np.all(np.diff(ours) >= -1e-12) and ours.min() >= vals.min() and ours.max() <= vals.max()
odd = rng.normal(size=7)
assert weighted_quantiles(odd, np.ones(7), [0.5], "clamp")[0] == np.median(odd)

# %% [markdown]
# **Proof: monotone in $q$ and bounded by the smallest and largest inference.** By eq 17 the
# CDF steps are $C_{l+1} - C_l = (w_l + w_{l+1}) / (2 \max_l c_l) \ge 0$, with $C_1 \ge 0$ and
# $C_N \le 1$. On a segment, with $t = (q - C_\ell)/(C_{\ell+1} - C_\ell) \in [0, 1]$, eq 18 is
# the convex combination $(1 - t) I_\ell + t I_{\ell+1}$: it lies between two neighbouring
# sorted inferences, so within $[\min_l I_l, \max_l I_l]$, and its slope
# $(I_{\ell+1} - I_\ell)/(C_{\ell+1} - C_\ell)$ is non-negative. At $t = 1$ a segment ends at
# $I_{\ell+1}$, where the next one starts: the pieces join continuously, so $I^q$ is
# non-decreasing over all of $[C_1, C_N]$; the clamped ends are the constants $I_1$ and $I_N$,
# which the curve reaches at $C_1$ and $C_N$. The code is compared with eq 18 evaluated exactly
# (rationals) on integer inferences and weights.

# %%
# proof: eq 18
c_before, w_a, w_b, total = sp.symbols("c w_a w_b T", nonnegative=True)
C_a = (c_before + w_a - w_a / 2) / total                 # eq 17 at l and l + 1
C_b = (c_before + w_a + w_b - w_b / 2) / total
assert sp.simplify(C_b - C_a - (w_a + w_b) / (2 * total)) == 0
I_lo, C_lo, q_sym = sp.symbols("I_ell C_ell q", real=True)
dI, dC = sp.symbols("Delta_I Delta_C", positive=True)     # sorted inferences, a CDF step
I_q = I_lo + (q_sym - C_lo) / dC * dI                     # eq 18 with I_{l+1} = I_l + Delta_I
t = (q_sym - C_lo) / dC
assert sp.simplify(I_q - ((1 - t) * I_lo + t * (I_lo + dI))) == 0        # convex combination
assert sp.diff(I_q, q_sym).is_nonnegative                                  # monotone in q
assert I_q.subs(q_sym, C_lo) == I_lo and sp.simplify(I_q.subs(q_sym, C_lo + dC) - I_lo - dI) == 0


def exact_quantile(values, weights, q):
    """Eqs 16-18 in rationals, clamped ends: the reference for the code."""
    pairs = sorted(zip(values, weights), key=lambda pair: pair[0])
    total_w = sum(sp.Integer(w) for _, w in pairs)
    cdf, running = [], sp.Integer(0)
    for _, w in pairs:
        running += w
        cdf.append((running - sp.Rational(w, 2)) / total_w)
    xs = [sp.Integer(v) for v, _ in pairs]
    if q <= cdf[0] or len(xs) == 1:
        return xs[0]
    if q >= cdf[-1]:
        return xs[-1]
    ell = max(i for i in range(len(cdf)) if cdf[i] <= q)
    return I_q.subs({I_lo: xs[ell], C_lo: cdf[ell], q_sym: q, dC: cdf[ell + 1] - cdf[ell],
                     dI: xs[ell + 1] - xs[ell]}) if xs[ell + 1] > xs[ell] else xs[ell]


qs_exact = [sp.Rational(k, 40) for k in range(41)]
for _ in range(20):
    n = int(rng.integers(2, 8))
    vals_int = rng.integers(-20, 20, n)
    wts_int = rng.integers(1, 9, n)
    exact = [exact_quantile(vals_int.tolist(), wts_int.tolist(), q) for q in qs_exact]
    code = weighted_quantiles(vals_int.astype(float), wts_int.astype(float),
                              [float(q) for q in qs_exact], "clamp")
    np.testing.assert_allclose(code, [float(v) for v in exact], rtol=1e-13, atol=1e-13)
    assert all(a <= b for a, b in zip(exact, exact[1:]))
    assert min(exact) >= min(vals_int) and max(exact) <= max(vals_int)

# %% [markdown]
# The two readings of the undefined ends differ only outside $[C_1, C_N]$ - for $N$ equally
# weighted inferences, below $q = 1/(2N)$, so the 2.28% percentile is affected when fewer than
# about 22 inferences are combined:

# %%
five = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
clamped = confidence_interval(five, np.ones(5), whitepaper)
extrapolated = confidence_interval(five, np.ones(5), dataclasses.replace(whitepaper, ci_ends="extrapolate"))
print("P       clamp   extrapolate")
for P, a, b in zip(whitepaper.ci_percentiles, clamped, extrapolated):
    print(f"{P:6.2f} {a:7.3f} {b:9.3f}")
assert clamped[0] == -2.0 and extrapolated[0] < -2.0 and clamped[1] == extrapolated[1]
# C_l = (l - 1/2) / 5 = 0.1, 0.3, ..., 0.9: every segment rises 5 per unit of q
inner = [-2 + 5 * (0.1587 - 0.1), 2 - 5 * (0.9 - 0.8413)]
np.testing.assert_allclose(clamped, [-2.0, *inner, 2.0], atol=1e-12)
np.testing.assert_allclose(extrapolated, [-2 - 5 * (0.1 - 0.0228), *inner, 2 + 5 * (0.9772 - 0.9)],
                           atol=1e-12)

# %% [markdown]
# A batch of three topics whose networks combined six, three and one inferences: each topic's
# interval, computed in one call, is exactly that of its members alone; a single inference is
# its own every quantile.

# %%
values_batch = rng.normal(size=(3, 6))
weights_batch = rng.exponential(size=(3, 6))
members_batch = np.array([[1, 1, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0], [0, 0, 0, 1, 0, 0]], bool)
intervals = confidence_interval(values_batch, weights_batch, whitepaper, members_batch)
for topic, kept in enumerate(members_batch):
    assert np.array_equal(intervals[topic], confidence_interval(
        values_batch[topic][kept], weights_batch[topic][kept], whitepaper))
assert (intervals[2] == values_batch[2, 3]).all()
intervals

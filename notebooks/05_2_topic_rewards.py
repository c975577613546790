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
# # §5.2-5.3 Rewards to topics and validators (eqs 54-57), pay-what-you-want fees
#
# This notebook is the specification of §5.2 of the Allora whitepaper v2024.8.14: how the
# emission $\mathcal{E}_i$ of a step (eq 47) is divided between the network validators and the
# topics, and how topics earn their share through reputer stake and fee revenue. §5.3 has no
# equation but a claim - topics compete for emission through fees, so a cabal paying zero fees is
# unstable - which is modelled and checked here. The notebook ends with the research simulator's
# monthly tokenomics table replayed with both profiles. Cells tagged `export` are
# `allora_ref.spec.topic_rewards`.
#
# Vocabulary: "topic weight" is $w_{t,i}$ of eq 56 - not the inference weights of eqs 5 and 10,
# nor the reputer reward fractions of eq 35, which the paper also writes $w$.

# %% tags=["export"]
#| default_exp spec.topic_rewards
"""§5.2 reward distribution, eqs 54-57: validator and topic emission, topic weights (EMA of
the target weight), target topic weights and the effective fee revenue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allora_ref.checks import float64_guarded
from allora_ref.params import Params
from allora_ref.spec.token_emission import amount, exponential_moving_average, recalibrated_alpha

# %% tags=["parameters"]
n_topics = 10           # topics competing for emission in the §5.3 model
golden_dir = ""         # the golden data folder; "" = ../../shared/golden/allora-simulator

# %%
import dataclasses

import sympy as sp

from allora_ref.params import load_profile, section_fields

whitepaper = load_profile("whitepaper")
simulator = load_profile("allora-simulator")

# %% [markdown]
# ## Eqs 54-55: validators and topics
#
# A fraction $f_v = 0.25$ of the emission goes to the network validators, pro rata to their stake,
# $$E_{v,i} = f_v \mathcal{E}_i \frac{S_{v,i}}{\sum_v S_{v,i}}, \qquad (54)$$
# and the rest to the topics, pro rata to their topic weights,
# $$E_{t,i} = (1 - f_v)\mathcal{E}_i \frac{w_{t,i}}{\sum_t w_{t,i}}, \qquad (55)$$
# where $E_{t,i}$ is what §4 divides among the topic's participants. Summed, validators receive
# $f_v\mathcal{E}_i$ and topics $(1 - f_v)\mathcal{E}_i$: the whole emission is paid out.
# The sums run over all validators and all active topics; when only some are at hand (a table
# that exports a few topics), eq 55 takes the sum of all weights as an input.

# %%
# identity: eqs 54-55
E_i, f_v = sp.symbols("E_i f_v", positive=True)
S = sp.symbols("S1:4", positive=True)
w = sp.symbols("w1:5", positive=True)
validators = [f_v * E_i * s / sum(S) for s in S]
topics = [(1 - f_v) * E_i * x / sum(w) for x in w]
assert sp.simplify(sum(validators) - f_v * E_i) == 0
assert sp.simplify(sum(validators) + sum(topics) - E_i) == 0
# doubling every stake (or every weight) changes nothing: only proportions count
doubled = validators[0].subs({s: 2 * s for s in S}, simultaneous=True)
assert sp.simplify(doubled - validators[0]) == 0

# %% tags=["export"]
def emission_split(total, f_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Eqs 54-55 summed: (f_v E_i to the validators, (1 - f_v) E_i to the topics)."""
    total = amount(total, "emission E_i", "eqs 54-55")
    return f_v * total, (1.0 - f_v) * total


@float64_guarded
def validator_emission(total, validator_stakes, f_v: float) -> np.ndarray:
    """Eq 54: E_v,i = f_v E_i S_v,i / sum_v S_v,i over all network validators v."""
    stakes = amount(validator_stakes, "validator stakes S_v,i", "eq 54")
    if stakes.ndim != 1 or not stakes.max(initial=0.0) > 0:
        raise ValueError("validator stakes S_v,i (eq 54) must be a vector with a positive sum")
    with np.errstate(over="ignore"):
        stake_sum = stakes.sum()
    if np.isinf(stake_sum):                  # beyond float64: the same shares, scaled first
        stakes = stakes / stakes.max()
        stake_sum = stakes.sum()
    return emission_split(total, f_v)[0] * (stakes / stake_sum)


@float64_guarded
def topic_emission(total, topic_weights, f_v: float, weight_sum=None) -> np.ndarray:
    """Eq 55: E_t,i = (1 - f_v) E_i w_t,i / sum_t w_t,i.

    ``weight_sum`` is the sum over all active topics when ``topic_weights`` holds only some of
    them (default: their own sum).
    """
    weights = amount(topic_weights, "topic weights w_t,i", "eq 55")
    weight_sum = weights.sum() if weight_sum is None else amount(
        weight_sum, "sum of topic weights", "eq 55")
    if not np.all(weight_sum > 0):
        raise ValueError("sum of topic weights (eq 55) must be > 0")
    return emission_split(total, f_v)[1] * (weights / weight_sum)


# %% [markdown]
# ## Eq 56: topic weights
#
# The topic weights follow their targets through an exponential moving average,
# $$w_{t,i} = \alpha_t \hat w_{t,i} + (1 - \alpha_t) w_{t,i-1}, \qquad (56)$$
# with $\alpha_t = 0.5$ per week; eq 53 converts it to the step length, so a monthly step uses
# $1 - 0.5^{4} = 0.9375$ (`weeks_per_month = 4`, the paper's own example; the chain's 4.345 weeks
# would give 0.9508 - and the chain applies 0.5 at every topic epoch, whatever its length). A new
# topic has no previous weight: it starts at its target weight (`ema_start`, as deployed). The
# EMA is the one of eq 52.

# %% tags=["export"]
def topic_weight_alpha(params: Params) -> float:
    """Eqs 53, 56: alpha_t (per week) recalibrated to steps of a month / N_epochs; as it is
    with ``topic_weight_cadence = "topic-epoch"`` (one EMA step per topic epoch)."""
    if params.topic_weight_cadence == "topic-epoch":
        return params.alpha_t
    return float(recalibrated_alpha(params.alpha_t, topic_epochs_per_week(params)))


def topic_epochs_per_week(params: Params) -> float:
    """Eqs 53, 57: N_epochs,w - steps a week (N_epochs / weeks per month), or topic epochs a
    week, (blocks_per_month / weeks_per_month) / epoch_length, with the "topic-epoch" cadence."""
    if params.topic_weight_cadence == "topic-epoch":
        return params.blocks_per_month / params.weeks_per_month / params.epoch_length
    return params.epochs_per_month / params.weeks_per_month


def topic_weights(target, previous, has_history, params: Params) -> np.ndarray:
    """Eq 56: w_t,i = alpha_t w^_t,i + (1 - alpha_t) w_t,i-1, with alpha_t of eq 53.

    ``has_history`` is False for a new topic (no w_t,i-1; see Params.ema_start).
    """
    target = amount(target, "target topic weights w^_t,i", "eq 56")
    previous = amount(previous, "previous topic weights w_t,i-1", "eq 56")
    return exponential_moving_average(target, previous, topic_weight_alpha(params), has_history,
                                      params.ema_start)


# %%
assert topic_weight_alpha(simulator) == 0.9375 == topic_weight_alpha(whitepaper)
chain_weeks = dataclasses.replace(simulator, weeks_per_month=4.345)
print(f"monthly alpha_t: paper {topic_weight_alpha(simulator)}, "
      f"4.345 weeks a month {topic_weight_alpha(chain_weeks):.4f}")
assert abs(topic_weight_alpha(chain_weeks) - (1 - 0.5**4.345)) < 1e-12

# %% [markdown]
# ## Eq 57: the target topic weight
#
# $$\hat w_{t,i} = S_{t,i}^\mu C_{t,i}^\nu, \qquad (57)$$
# a power law of the total reputer stake $S_{t,i}$ in the topic and its effective fee revenue
# $C_{t,i}$, with $\mu = \nu = 1/2$: the geometric mean. Stake brings security, fees show that
# consumers value the topic; a topic needs both.
#
# **Effective fee revenue.** $C_{t,i}$ accumulates the fees paid to the topic and "decays each
# epoch by subtracting $\Delta C_{t,i} = N_{\text{epochs,w}}^{-1} C_{t,i}$", with
# $N_{\text{epochs,w}}$ epochs a week. The paper does not say whether the epoch's fees are added
# before or after the decay. Decay-then-add, $C_i = (1 - 1/N_w) C_{i-1} + F_i$, makes a steady fee
# stream $F$ per epoch give $C = N_w F$, exactly a week's fees - which is how §5.3 describes
# $C_{t,i}$ ("the accumulation of all fees paid ... over the preceding week"), so the spec reads
# it that way. With steps of a week or longer ($N_w \le 1$) the decay removes all older revenue and
# $C_{t,i}$ is the step's fees: the research simulator's monthly rows use the month's revenue.
# (The chain also divides $C$ by the topic's epoch length in blocks before eq 57.)

# %%
# proof: eq 57
S_t, C_t, mu, nu = sp.symbols("S_t C_t mu nu", positive=True)
w_hat = S_t**mu * C_t**nu
half_half = {mu: sp.Rational(1, 2), nu: sp.Rational(1, 2)}
assert sp.simplify(w_hat.subs(half_half) - sp.sqrt(S_t * C_t)) == 0
# elasticities: d ln w^/d ln S = mu, d ln w^/d ln C = nu (a 1% fee rise lifts the target by nu %)
assert sp.simplify(C_t * sp.diff(sp.log(w_hat), C_t)) == nu
assert sp.simplify(S_t * sp.diff(sp.log(w_hat), S_t)) == mu
# steady state of the decay-then-add fee revenue: C = (1 - 1/N_w) C + F  =>  C = N_w F
C, F, N_w = sp.symbols("C F N_w", positive=True)
assert sp.solve(sp.Eq(C, (1 - 1 / N_w) * C + F), C) == [N_w * F]
w_hat

# %% tags=["export"]
def target_topic_weight(stake, fee_revenue, mu: float, nu: float) -> np.ndarray:
    """Eq 57: w^_t,i = S_t,i^mu C_t,i^nu (mu = nu = 1/2: the geometric mean)."""
    stake = amount(stake, "topic reputer stake S_t,i", "eq 57")
    fee_revenue = amount(fee_revenue, "effective fee revenue C_t,i", "eq 57")
    return stake**mu * fee_revenue**nu


def effective_fee_revenue(previous, fees, params: Params) -> np.ndarray:
    """Eq 57: C_t,i = max(0, C_t,i-1 - Delta C) + F_t,i, with Delta C = C_t,i-1 / N_epochs,w.

    N_epochs,w is ``topic_epochs_per_week``; at steps of a week or longer Delta C is all of
    C_t,i-1, so C_t,i is the step's fees. With ``fee_revenue_integer`` the decayed revenue is
    truncated to an integer (chain/v0.6.md §2).
    """
    previous = amount(previous, "effective fee revenue C_t,i-1", "eq 57")
    fees = amount(fees, "fees F_t,i", "eq 57")
    decayed = np.maximum(previous - previous / topic_epochs_per_week(params), 0.0)
    return (np.trunc(decayed) if params.fee_revenue_integer else decayed) + fees


# %%
hourly = dataclasses.replace(whitepaper, epochs_per_month=24 * 30.0, weeks_per_month=30 / 7)
revenue, hours = 0.0, 24 * 7 * 8                 # eight weeks of 1 token of fees an hour
for _ in range(hours):
    revenue = effective_fee_revenue(revenue, 1.0, hourly)
n_w = 24 * 7                                      # epochs per week: C tends to one week's fees
np.testing.assert_allclose(revenue, n_w * (1 - (1 - 1 / n_w) ** hours), rtol=1e-12)
assert abs(revenue / n_w - 1) < 1e-3
assert effective_fee_revenue(5.0, 2.0, whitepaper) == 2.0       # monthly steps: the month's fees

# %% [markdown]
# ### How a topic's reward share responds to its fees
#
# With the weights at their targets, topic $t$'s share of the topics' emission is
# $s_t = \hat w_t / \sum_{t'} \hat w_{t'}$, and its elasticity to the topic's own fee revenue is
# $$\frac{\partial \ln s_t}{\partial \ln C_t} = \nu (1 - s_t):$$
# a small topic that doubles its fees raises its share by $2^{\nu} - 1 = 41\%$. Within one
# step, the EMA of eq 56 passes on only $\alpha_t \hat w_t / w_t$ of the change (at most
# $\alpha_t = 0.9375$ at monthly steps); the rest follows over the next weeks.

# %%
W_other, a_t = sp.symbols("W_other alpha_t", positive=True)
share = w_hat / (w_hat + W_other)
elasticity = sp.simplify(C_t * sp.diff(share, C_t) / share)
assert sp.simplify(elasticity - nu * (1 - share)) == 0
w_prev = sp.symbols("w_prev", positive=True)
w_new = a_t * w_hat + (1 - a_t) * w_prev
short_run = sp.simplify(C_t * sp.diff(w_new, C_t) / w_new)
assert sp.simplify(short_run.subs(w_prev, w_hat) - a_t * nu) == 0   # from the steady state
elasticity

# %% [markdown]
# ## §5.3 Pay-what-you-want fees: is a zero-fee cabal stable?
#
# Consumers choose what to pay for inferences. The paper argues that emission does not remove
# the incentive to pay: topics compete for the emission through eq 57, so if every topic paid
# nothing (a cabal), "any fee payment to a topic [would] instantly boost that topic's weight
# greatly relative to all other topics", at negligible cost.
#
# **Model.** $K$ topics with equal stake share the topics' emission $R = (1 - f_v)\mathcal{E}$ in
# proportion to their target weights (eqs 55, 57, weights at their targets). Topic $t$'s side -
# the consumers who benefit from its participants being paid, or the participants themselves -
# pays fees $x_t$ and gains $R\, s_t(x) - x_t$ per step. This is a Tullock contest with exponent
# $\nu$.
#
# **Findings.**
# 1. *The cabal is unstable.* With everyone else at zero, any fee $x > 0$ gives the payer the
#    whole $R$ (eq 55 with all other weights 0), and near the cabal (others pay $c$ each) the
#    fee that buys half the emission is $(K - 1)^{1/\nu} c \to 0$.
# 2. *Fees settle where the marginal share is worth its cost.* The symmetric equilibrium
#    ($\nu \le 1$) pays $x^* = \nu R (K - 1)/K^2$ per topic, in total $\nu R (1 - 1/K)$: about
#    half the topics' emission for $\nu = 1/2$. We derive it and check numerically that no topic
#    gains by deviating.
# 3. *Where the argument needs care.* At exact zero fees eq 55 is $0/0$: the paper leaves it
#    undefined (the chain inactivates topics of zero weight). The argument assumes that whoever
#    pays captures the topic's gain; consumers who do not share in the topic's rewards still face
#    the usual free-rider problem, and the emission only sharpens the competition *between*
#    topics. And a topic's weight is an EMA of a decaying revenue, so a single payment buys
#    about a week of weight, not a permanent share.

# %%
x, c, R, m = sp.symbols("x c R m", positive=True)          # m = K - 1 other topics
others = m * c**nu
payoff = R * x**nu / (x**nu + others) - x
first_order = sp.diff(payoff, x).subs(x, c)
x_star = sp.solve(sp.Eq(first_order, 0), c)
assert len(x_star) == 1 and sp.simplify(x_star[0] - nu * R * m / (m + 1) ** 2) == 0
half = sp.solve(sp.Eq(x**nu, others), x)[0]                  # the fee that buys half of R
assert sp.simplify(sp.powdenest(half, force=True) - m ** (1 / nu) * c) == 0
x_star[0]

# %%
nu_value, reward = whitepaper.nu, 1.0


def gain(own_fee, others_fee):
    """Topic 0's gain R s_0 - x_0 (eqs 55, 57) when the other topics pay others_fee each."""
    own = target_topic_weight(1.0, own_fee, whitepaper.mu, nu_value)
    rest = (n_topics - 1) * target_topic_weight(1.0, others_fee, whitepaper.mu, nu_value)
    return topic_emission(reward, own, 0.0, weight_sum=own + rest) - own_fee


# 1. from the cabal, a fee of a billionth of R takes all of it
assert gain(1e-9, 0.0) > 0.999 * reward
for c_others in (1e-3, 1e-6, 1e-9):
    buy_half = (n_topics - 1) ** (1 / nu_value) * c_others
    np.testing.assert_allclose(gain(buy_half, c_others) + buy_half, 0.5 * reward)
# 2. the symmetric equilibrium: no deviation on a fine grid does better
equilibrium = nu_value * reward * (n_topics - 1) / n_topics**2
deviations = gain(equilibrium * np.geomspace(1e-4, 1e2, 20001), equilibrium)
assert deviations.max() <= gain(equilibrium, equilibrium) + 1e-12
print(f"{n_topics} topics: equilibrium fee {equilibrium:.4f} R per topic, "
      f"{n_topics * equilibrium:.3f} R in total; each keeps {gain(equilibrium, equilibrium):.4f} R")
assert abs(gain(equilibrium, equilibrium) - (reward / n_topics - equilibrium)) < 1e-12 * reward
# best responses, starting next to the cabal, climb to the equilibrium
candidates = np.geomspace(1e-12, 1.0, 20001)
fee, path = 1e-9, []
for _ in range(40):
    fee = candidates[np.argmax(gain(candidates, fee))]
    path.append(fee)
print("best responses:", ", ".join(f"{f:.3g}" for f in path[:6]), "...")
np.testing.assert_allclose(fee, equilibrium, rtol=2e-3)

# %% [markdown]
# ## Profiles on the golden data
#
# The research simulator's monthly table (months 0-24) replayed through the spec
# (`allora-ref replay tokenomics`) with each profile, and with each field on which they differ -
# or which settles an ambiguity - set alone to its alternative in the `allora-simulator` profile.
# "empty" counts the output cells the table cannot determine under that choice: the treasury
# when fees return to it (the table exports 3 of the topics' fees), the measured
# $f_{\text{stakers}}$ after the first month (the table does not export reputer rewards). The
# validator rewards of months after the first are always empty: the simulator's eq 54
# denominator is not exported (COLUMNS.md).

# %%
import os

from allora_ref.golden import golden_tokenomics_path
from allora_ref.tokenomics_table import profile_measurement

golden = golden_tokenomics_path(golden_dir or None)
if golden is None:
    assert os.environ.get("CI") != "true", "golden data not found: CI must measure the profiles"
    print("golden data not found: set ALLORA_GOLDEN_DIR or golden_dir to measure the profiles")
else:
    variants = {"allora-simulator": simulator, "whitepaper": whitepaper}
    for field in section_fields("5"):
        if getattr(whitepaper, field) != getattr(simulator, field):
            value = getattr(whitepaper, field)
            variants[f"simulator with {field} = {value}"] = dataclasses.replace(
                simulator, **{field: value})
    for field, value in {"unlock_timing": "after-emission", "ema_start": "zero",
                         "weeks_per_month": 4.345}.items():     # both profiles agree on these
        variants[f"simulator with {field} = {value}"] = dataclasses.replace(
            simulator, **{field: value})
    print(f"{'profile':48s} {'max rel. error':>14s} {'empty':>6s}  worst column")
    measured = {}
    for name, variant in variants.items():
        worst_rel, worst_column, empty = profile_measurement(golden, variant)
        print(f"{name:48s} {worst_rel:14.3e} {empty:6d}  {worst_column}")
        if name == "allora-simulator":
            assert worst_rel < 1e-12
        measured[name] = worst_rel
    assert 1e-3 < measured["simulator with xi_max = 0.0095"] < 1.5e-3     # 12.02% vs 12% APY
    assert 1e-2 < measured["simulator with weeks_per_month = 4.345"] < 2e-2
    assert measured["simulator with unlock_timing = after-emission"] > 0.5
    assert measured["simulator with ema_start = zero"] > 0.5
    # the research simulator's months agree with the measured stakers' fraction (its reputers
    # take a third) and return no fees: neither field changes them
    assert measured["simulator with f_stakers_rule = measured"] < 1e-12
    assert measured["simulator with fees_to_treasury = True"] < 1e-12

# %% [markdown]
# ## The chain at v0.6: a topic's weight and reward at its epoch end (eqs 55-57)
#
# The deployed chain (`chain/v0.6.md` §1-3, profile `chain-v0.6`) computes eqs 55-57 per topic
# epoch of $L_t$ blocks (`epoch_length`), not per step of the emission:
#
# * **eq 57** uses the fee revenue *per block of the epoch*, $\hat w_t = S_t^\mu (C_t/L_t)^\nu$
#   (`topic_weight_fee_per_block`); a topic with $C_t = 0$ gets weight 0 without an EMA step,
#   and that 0 is the next epoch's previous weight (`topic_weight_zero_fee_is_zero`);
# * **eq 56** applies $\alpha_t = 0.5$ at every epoch end of the topic, whatever its length
#   (`topic_weight_cadence = "topic-epoch"`);
# * **the fee decay** runs once per topic epoch with $N_{\text{epochs,w}} =
#   (\text{BlocksPerMonth}/4.345)/L_t$ topic epochs a week, and truncates the decayed revenue to
#   an integer number of uallo (`fee_revenue_integer`): a small revenue drains in finitely many
#   epochs, where a geometric decay never reaches 0;
# * **eq 55** pays a topic, at its epoch end, the block's reward emission $R_{\text{blk}} =
#   E_{\text{blk}} - \operatorname{trunc}(f_v E_{\text{blk}})$ times its epoch length, pro rata to
#   its weight among the stored weights $\Sigma W$ of the active topics
#   (`topic_reward_accrual`); a topic whose weight is below `min_topic_weight` (100) is
#   inactivated and paid nothing; and when the payments exceed the rewards treasury $T_R$, the
#   treasury is split pro rata to $w_t L_t$ (a single topic takes all of it,
#   `treasury_shortfall_rule`).
# * **several topics**: only `max_active_topics_per_block` (1) of the topics whose epochs end in
#   the same block are paid in it, the heaviest; $\Sigma W$ is state, the stored weights of the
#   active topics, moved by $w_t - w_{t,\text{prev}}$ at each epoch end and left by an
#   inactivated topic (`stored_weight_sum`); a topic scheduled into a full block slot takes it
#   unless it is strictly lighter than the slot's lightest topic, which it pushes out
#   (`takes_slot`).

# %% tags=["export"]
def topic_weight(stake, fee_revenue, previous, has_history, params: Params) -> np.ndarray:
    """Eqs 56-57 at a topic's step: the target S^mu C^nu (C per block of the topic's epoch
    with ``topic_weight_fee_per_block``), then the EMA; weight 0 where C = 0 with
    ``topic_weight_zero_fee_is_zero``."""
    revenue = amount(fee_revenue, "effective fee revenue C_t,i", "eq 57")
    per_step = revenue / params.epoch_length if params.topic_weight_fee_per_block else revenue
    weight = topic_weights(target_topic_weight(stake, per_step, params.mu, params.nu),
                           previous, has_history, params)
    return np.where(revenue == 0, 0.0, weight) if params.topic_weight_zero_fee_is_zero \
        else weight


def topic_rewards(emission, weights, weight_sum, treasury, params: Params) -> np.ndarray:
    """Eq 55 for the topics whose step (or epoch end) this is.

    "per-step": (1 - f_v) E_i w_t / sum w with E_i the step's emission. "per-block-times-
    epoch-length": R_blk L_t w_t / sum W with E_i the block's emission and R_blk = E_i -
    trunc(f_v E_i) (real f_v E_i without token truncation). Topics below ``min_topic_weight``
    get 0, and so do all but the ``max_active_topics_per_block`` heaviest of the others; with
    the "weight-times-epoch-length" shortfall rule the payments never exceed
    ``treasury``, which is then split pro rata to w_t L_t.
    """
    weights = amount(weights, "topic weights w_t,i", "eq 55")
    active = np.where(weights >= params.min_topic_weight, weights, 0.0)
    if params.max_active_topics_per_block:        # the heaviest, ties by index
        active[np.argsort(-active, kind="stable")[params.max_active_topics_per_block:]] = 0.0
    if params.topic_reward_accrual == "per-step":
        rewards = topic_emission(emission, active, params.f_v, weight_sum)
    else:
        rewards = topic_emission(reward_emission(emission, params), active, 0.0, weight_sum) \
            * params.epoch_length
    if params.treasury_shortfall_rule == "weight-times-epoch-length":
        treasury = float(amount(treasury, "rewards treasury T_R", "eq 55"))
        if rewards.sum() > treasury:
            rewards = treasury * active / active.sum()   # w_t L_t with one epoch length
    return rewards


def reward_emission(emission, params: Params) -> np.ndarray:
    """Eqs 54-55: the topics' part of an emission, E - f_v E; with token truncation
    (chain/v0.6.md §11) the validators' cut is trunc(f_v E) and R_blk = E - trunc(f_v E)."""
    emission = amount(emission, "block emission E_blk", "eq 55")
    validators = params.f_v * emission
    if params.token_amount_rounding == "truncate":
        validators = np.trunc(validators)
    return emission - validators


def stored_weight_sum(weight_sum: float, weights, previous, params: Params) -> float:
    """Eq 55, its denominator as deployed (chain/v0.6.md §1, §3.1): the sum Sigma W of the
    stored weights of the active topics after the epoch ends of topics with new weights
    ``weights`` and stored weights ``previous`` (NaN = none): each adds w_t - w_prev, and one
    whose weight falls below ``min_topic_weight`` is inactivated and leaves the sum."""
    weights = amount(weights, "topic weights w_t,i", "eq 55")
    previous = np.nan_to_num(np.asarray(previous, dtype=float), nan=0.0)
    total = weight_sum + (weights - previous).sum()
    return float(total - weights[weights < params.min_topic_weight].sum())


def takes_slot(candidate: float, slot, params: Params) -> tuple[bool, int | None]:
    """Eq 55 as deployed (chain/v0.6.md §3.1): whether a topic of weight ``candidate`` is
    scheduled to end its epoch in a block whose slot holds topics of weights ``slot``, and which
    of them (index) it pushes out, to be inactivated: with room it just joins; a full slot
    (``max_active_topics_per_block``) takes it unless its weight is strictly below the lowest,
    the first lowest leaving."""
    slot = amount(slot, "topic weights w_t,i", "eq 55")
    if not params.max_active_topics_per_block or slot.size < params.max_active_topics_per_block:
        return True, None
    lowest = int(np.argmin(slot))
    return (False, None) if candidate < slot[lowest] else (True, lowest)


# %% [markdown]
# A topic's first epochs on the chain, by hand: $C = 75000$ uallo (the creation fee), a stake
# of $10^6$ uallo and $L_t = 1200$ blocks give $\hat w = \sqrt{10^6 \cdot 75000/1200} = 7905.69$;
# its first weight is that target. A week holds $864000/4.345/1200 = 165.71$ topic epochs, so the
# revenue decays to $\operatorname{trunc}(75000 - 75000/165.71) = 74547$ uallo.

# %%
chain = load_profile("chain-v0.6")
first = topic_weight(1e6, 75000.0, np.nan, False, chain)
np.testing.assert_allclose(first, np.sqrt(1e6 * 75000 / 1200), rtol=1e-15)
week = 864000 / 4.345 / 1200
assert effective_fee_revenue(75000.0, 0.0, chain) == np.trunc(75000 - 75000 / week) == 74547
second = topic_weight(1e6, 74547.0, first, True, chain)
np.testing.assert_allclose(second, 0.5 * np.sqrt(1e6 * 74547 / 1200) + 0.5 * first, rtol=1e-15)
assert topic_weight(1e6, 0.0, second, True, chain) == 0.0    # no fees: no weight, no EMA
# a small revenue drains in finitely many epochs, 3 -> 2 -> 1 -> 0 (a geometric decay never does)
assert effective_fee_revenue(3.0, 0.0, chain) == 2.0 and effective_fee_revenue(1.0, 0.0, chain) == 0.0
# one block emission of 1000 uallo: R_blk = 1000 - trunc(250) = 750, times L_t = 1200, by
# weight - two topics paid in one block where the block has two slots
two_slots = dataclasses.replace(chain, max_active_topics_per_block=2)
np.testing.assert_allclose(topic_rewards(1000.0, [300.0, 100.0], 500.0, 1e12, two_slots),
                           [750 * 1200 * 300 / 500, 750 * 1200 * 100 / 500], rtol=1e-15)
# shortfall: a treasury of 1000 uallo is split pro rata to w_t L_t
np.testing.assert_allclose(topic_rewards(1000.0, [300.0, 100.0], 500.0, 1000.0, two_slots),
                           [750.0, 250.0], rtol=1e-15)
# below MinTopicWeight: inactive, paid nothing
assert topic_rewards(1000.0, [99.0, 100.0], 199.0, 1e12, two_slots)[0] == 0.0
# two topics end in one block: MaxActiveTopicsPerBlock = 1 pays only the heavier
np.testing.assert_allclose(topic_rewards(1000.0, [300.0, 400.0], 700.0, 1e12, chain),
                           [0.0, 750 * 1200 * 400 / 700], rtol=1e-15)
# Sigma W: a topic going 300 -> 350 and a topic going 120 -> 90 (inactivated) out of 1000
assert stored_weight_sum(1000.0, [350.0, 90.0], [300.0, 120.0], chain) == 1000 + 50 - 120 - 0
# a full slot keeps a heavier topic and lets an equal one push the lowest out
assert takes_slot(200.0, [300.0], chain) == (False, None)
assert takes_slot(300.0, [300.0], chain) == (True, 0)

# %% [markdown]
# ## Topics over time: the network's topics block by block (eqs 55-57, chain/v0.6.md §0-3)
#
# The functions above are one topic's epoch end. `topics_step` advances every topic of the
# network by one block (one step of the paper), with what the chain keeps between blocks in a
# `TopicsState`: each topic's stored weight $w_{t,\text{prev}}$, its fee revenue $C_t$, whether
# it is active (counted in $\Sigma W$) and its next epoch end, the lowest-weight record of each
# block's slot list, $\Sigma W$ itself, the rewards treasury $T_R$. In block $h$:
#
# 1. *mint*: the treasury receives the topics' part of the block emission, $R_{\text{blk}} =
#    E_{\text{blk}} - \operatorname{trunc}(f_v E_{\text{blk}})$, and what the topics'
#    distributions returned (a block without emission mints nothing but pays at the rate of the
#    last non-zero one, §3.2); where the rewards are minted as they are paid
#    (`treasury_shortfall_rule = "minted"`, the paper) the treasury only keeps what is returned;
# 2. *transactions*: fees join $C_t$; a topic that is paid a fee or gains stake and has no epoch
#    end scheduled is **activated** if its evaluated weight (eqs 56-57 with its stake, revenue
#    and stored weight, nothing stored) is at least `min_topic_weight`: its stored weight is
#    added to $\Sigma W$ and its first epoch end is scheduled at $h + L_t$;
# 3. *epoch ends*: each topic scheduled at $h$ gets its weight $w_t$ (eqs 56-57, from $C_t$
#    before the drip), stored, $\Sigma W \mathrel{+}= w_t - w_{t,\text{prev}}$; its revenue
#    drips (eq 57); below `min_topic_weight` it is **inactivated** ($\Sigma W \mathrel{-}= w_t$,
#    the stored weight kept), otherwise it is rescheduled at $h + L_t$;
# 4. *rewards*: eq 55 as deployed (`topic_rewards`) for the topics of this block with
#    $\Sigma W$ as the denominator; those with a reward nonce in the block are paid $E_t$ from the
#    treasury, the rest stays there.
#
# **Scheduling** at block $T$ goes through the slot list of $T$ (`takes_slot`): a full slot
# takes the topic unless its evaluated weight is strictly below the slot's lowest-weight record;
# the record's topic is then inactivated; the record is recomputed from the slot's topics'
# evaluated weights. **The chain's inconsistency** (§3.2): a topic that loses the competition
# when it is rescheduled stays active and counted in $\Sigma W$ with no epoch end; being
# unscheduled it can be activated again, and that activation adds its stored weight to
# $\Sigma W$ a second time (`double_count_reactivation`; off, activation only schedules a topic
# already counted).
#
# **The paper's reading** comes out of the same function with `topic_reward_accrual =
# "per-step"`: every active topic ends an epoch at every step, a topic activated in a step is
# paid in it, there are no slots (`max_active_topics_per_block = 0`) and no minimum weight, so
# $\Sigma W$ is the sum of the step's simultaneous weights $\sum_t w_{t,i}$ of eq 55, and the
# rewards are minted as they are paid (never short).

# %% tags=["export"]
@dataclass(frozen=True)
class TopicsState:
    """What the network's topics remember between blocks (chain/v0.6.md §0-3; eqs 55-57)."""

    block: int
    """The last block processed (0 before the first)."""
    weights: np.ndarray
    """w_t,prev, each topic's stored topic weight (eq 56); NaN = none stored yet."""
    fee_revenue: np.ndarray
    """C_t (eq 57), after the last drip and the fees paid since."""
    active: np.ndarray
    """Whether each topic is in the active-topic set, its stored weight counted in weight_sum."""
    epoch_ends: np.ndarray
    """Each topic's next epoch-end block; -1 = none scheduled."""
    slot_weights: np.ndarray
    """Each scheduled topic's evaluated weight in its slot's lowest-weight record; NaN = none."""
    weight_sum: float
    """Sigma W, the running sum of the stored weights of the active topics (eq 55)."""
    treasury: float
    """T_R, the rewards treasury the topics are paid from (eq 55)."""
    emission: float
    """The last non-zero block emission E_blk, whose rate a block without emission pays
    (chain/v0.6.md §3.2); 0 before the first."""

    def __post_init__(self) -> None:
        n = np.shape(self.weights)
        if np.ndim(self.weights) != 1 or any(np.shape(getattr(self, name)) != n for name in
                                             ("fee_revenue", "active", "epoch_ends",
                                              "slot_weights")):
            raise ValueError("topic weights, fee revenues, active flags, epoch ends and slot "
                             "weights (eqs 55-57) must be one per topic")
        ends = np.asarray(self.epoch_ends, float)
        if not (np.all(ends == np.trunc(ends)) and np.all(ends >= -1)):
            raise ValueError("epoch ends (eq 55) must be blocks, or -1 for none")
        object.__setattr__(self, "epoch_ends", ends.astype(int))

    @classmethod
    def initial(cls, fee_revenue, treasury: float = 0.0) -> "TopicsState":
        """New topics with fee revenues C_t (the chain: CreateTopicFee), none active."""
        revenue = amount(fee_revenue, "effective fee revenue C_t,i", "eq 57")
        if revenue.ndim != 1:
            raise ValueError("effective fee revenue C_t,i (eq 57) must be one per topic")
        n = revenue.size
        return cls(0, np.full(n, np.nan), revenue.copy(), np.zeros(n, bool), np.full(n, -1),
                   np.full(n, np.nan), 0.0, float(amount(treasury, "rewards treasury T_R",
                                                         "eq 55")), 0.0)


@dataclass(frozen=True)
class TopicsInputs:
    """What happens to the topics in one block."""

    stakes: np.ndarray
    """S_t, each topic's reputer stake in the block (eq 57)."""
    emission: float
    """E_blk, the block's emission (eq 55; E_i of a step under "per-step")."""
    fees: np.ndarray | None = None
    """Fees paid to each topic in the block (eq 57); None = none."""
    touched: np.ndarray | None = None
    """Topics paid a fee or given stake in the block, which try to activate; None = fees > 0."""
    reward_nonces: np.ndarray | None = None
    """Topics whose reward nonce is set in the block (chain/v0.6.md §0): only they are paid at
    their epoch end, the others' E_t stays in the treasury; None = every topic."""
    returned: float = 0.0
    """What the topics' distributions left undistributed (truncation, zero fractions), back to
    the treasury."""


@dataclass(frozen=True)
class TopicsBlock:
    """One block of the network's topics (eqs 55-57)."""

    weights: np.ndarray
    """w_t of the topics whose epoch ends in the block (eqs 56-57); NaN for the others."""
    rewards: np.ndarray
    """E_t paid to each topic in the block (eq 55); 0 for the others."""
    weight_sum: float
    """Sigma W, the denominator of the block's rewards (eq 55)."""
    treasury: float
    """T_R after the block's payments."""
    active: np.ndarray
    """The active-topic set after the block."""
    epoch_ends: np.ndarray
    """Each topic's next epoch end after the block; -1 = none."""


def epoch_blocks(params: Params) -> int:
    """Eq 55: blocks from one epoch end of a topic to its next, L_t, or 1 under "per-step"
    (every step is every active topic's epoch end)."""
    return 1 if params.topic_reward_accrual == "per-step" else int(params.epoch_length)


def evaluated_weight(state: dict, topic: int, stakes, params: Params) -> float:
    """Eqs 55-57 as deployed (chain/v0.6.md §1, §3.1): the topic's weight (eqs 56-57) from its
    current stake, fee revenue and stored weight, evaluated without being stored, as activation
    and scheduling see it."""
    previous = state["weights"][topic]
    return float(topic_weight(stakes[topic], state["fee_revenue"][topic], previous,
                              not np.isnan(previous), params))


def schedule_epoch_end(state: dict, topic: int, block: int, stakes, params: Params) -> None:
    """Eq 55 as deployed (chain/v0.6.md §3.1): try to schedule ``topic`` to end its epoch at
    ``block``: the slot competition of ``takes_slot``; the lowest-weight record's topic, if
    pushed out, is inactivated; the slot's record is recomputed."""
    slot = np.flatnonzero(state["epoch_ends"] == block)
    joins, out = takes_slot(evaluated_weight(state, topic, stakes, params),
                            state["slot_weights"][slot], params)
    if not joins:
        return
    if out is not None:
        inactivate(state, slot[out])
    state["epoch_ends"][topic] = block
    for t in np.flatnonzero(state["epoch_ends"] == block):
        state["slot_weights"][t] = evaluated_weight(state, t, stakes, params)


def inactivate(state: dict, topic: int) -> None:
    """Eq 55 as deployed (chain/v0.6.md §3.1): the topic leaves the active set, the schedule
    and Sigma W; its stored weight is kept."""
    if state["active"][topic]:
        state["weight_sum"] -= np.nan_to_num(state["weights"][topic])
    state["active"][topic] = False
    state["epoch_ends"][topic] = -1
    state["slot_weights"][topic] = np.nan


@float64_guarded
def topics_step(state: TopicsState, inputs: TopicsInputs, params: Params
                ) -> tuple[TopicsBlock, TopicsState]:
    """Eqs 55-57 over one block of the network's topics: mint to the treasury, fees and
    activation, the epoch ends (weights, fee drip, inactivation, rescheduling), the rewards
    (chain/v0.6.md §0-3); the paper's step under ``topic_reward_accrual = "per-step"``."""
    n = state.weights.size
    stakes = amount(inputs.stakes, "topic reputer stake S_t,i", "eq 57")
    fees = np.zeros(n) if inputs.fees is None else amount(inputs.fees, "fees F_t,i", "eq 57")
    touched = fees > 0 if inputs.touched is None else np.asarray(inputs.touched, bool)
    nonces = np.ones(n, bool) if inputs.reward_nonces is None \
        else np.asarray(inputs.reward_nonces, bool)
    if not stakes.shape == fees.shape == touched.shape == nonces.shape == (n,):
        raise ValueError(f"topic stakes, fees, touched topics and reward nonces (eqs 55-57) "
                         f"must be one per topic ({n})")
    per_step = params.topic_reward_accrual == "per-step"
    minted = params.treasury_shortfall_rule == "minted"      # rewards minted as they are paid
    block, length = state.block + 1, epoch_blocks(params)
    s = {name: np.array(getattr(state, name)) for name in
         ("weights", "fee_revenue", "active", "epoch_ends", "slot_weights")}
    s["weight_sum"] = state.weight_sum
    # 1. mint
    block_emission = float(amount(inputs.emission, "block emission E_blk", "eq 55"))
    emission = state.emission if block_emission == 0 and not per_step else block_emission
    treasury = state.treasury + float(amount(inputs.returned, "returned rewards", "eq 55")) \
        + (0.0 if minted else float(reward_emission(block_emission, params)))
    # 2. fees and activation
    s["fee_revenue"] = s["fee_revenue"] + fees
    for t in np.flatnonzero(touched & (s["epoch_ends"] < 0)):
        if evaluated_weight(s, t, stakes, params) < params.min_topic_weight:
            continue
        if params.double_count_reactivation or not s["active"][t]:
            s["weight_sum"] += np.nan_to_num(s["weights"][t])
        s["active"][t] = True
        schedule_epoch_end(s, t, block if per_step else block + length, stakes, params)
    # 3. epoch ends
    due = np.flatnonzero(s["epoch_ends"] == block)
    weights = np.full(n, np.nan)
    for t in due:
        previous = s["weights"][t]
        weights[t] = topic_weight(stakes[t], s["fee_revenue"][t], previous,
                                  not np.isnan(previous), params)
        s["weights"][t] = weights[t]
        s["weight_sum"] += weights[t] - np.nan_to_num(previous)
        s["fee_revenue"][t] = effective_fee_revenue(s["fee_revenue"][t], 0.0, params)
        s["epoch_ends"][t], s["slot_weights"][t] = -1, np.nan
        if weights[t] < params.min_topic_weight:
            inactivate(s, t)
        else:
            schedule_epoch_end(s, t, block + length, stakes, params)
    # 4. rewards
    rewards = np.zeros(n)
    paying = np.nan_to_num(weights[due])
    if due.size and s["weight_sum"] > 0 and paying.max() > 0 and (minted or treasury > 0):
        rewards[due] = topic_rewards(emission, paying, s["weight_sum"], treasury, params)
    rewards = np.where(nonces, rewards, 0.0)
    if not minted:
        treasury = max(float(treasury - rewards.sum()), 0.0)
    after = TopicsState(block, s["weights"], s["fee_revenue"], s["active"], s["epoch_ends"],
                        s["slot_weights"], float(s["weight_sum"]), treasury, emission)
    return (TopicsBlock(weights, rewards, after.weight_sum, treasury, after.active.copy(),
                        after.epoch_ends.copy()), after)

# %% [markdown]
# Two topics on the chain with epochs of $L_t = 12$ blocks and one slot per block, by hand. A
# (fee revenue 1201 uallo, stake $10^4$) activates at block 1; its first epoch ends at 13 with
# $w_A = \sqrt{10^4 \cdot 1201/12} = 1000.42$, and it is paid $R_{\text{blk}} L_t = 750 \cdot 12
# = 9000$ uallo. B (4801 uallo) activates at block 13, before A's epoch end, and takes the slot of
# block 25; A, rescheduled there and lighter, loses it: it stays counted in $\Sigma W$ with no
# epoch end. A fee at block 26 activates A again: $\Sigma W = 2 w_A + w_B$.

# %%
two_topics = dataclasses.replace(chain, epoch_length=12.0)
topics = TopicsState.initial([1200.0, 4800.0])
fee_blocks = {1: [1.0, 0.0], 13: [0.0, 1.0], 26: [1.0, 0.0]}
history = {}
for h in range(1, 27):
    history[h], topics = topics_step(topics, TopicsInputs(
        np.array([1e4, 1e4]), 1000.0, np.array(fee_blocks.get(h, [0.0, 0.0]))), two_topics)
w_a, w_b = np.sqrt(1e4 * 1201 / 12), np.sqrt(1e4 * 4801 / 12)
assert history[13].rewards[0] == 750 * 12 and list(history[13].epoch_ends) == [-1, 25]
np.testing.assert_allclose(history[25].rewards[1], 750 * 12 * w_b / (w_a + w_b), rtol=1e-14)
np.testing.assert_allclose(topics.weight_sum, 2 * w_a + w_b, rtol=1e-14)
print(f"sum W after A's re-activation: {topics.weight_sum:.2f} = 2 x {w_a:.2f} + {w_b:.2f}")

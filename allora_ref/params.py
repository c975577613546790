"""The parameter object: every constant of the paper and every settled ambiguity, one field each.

A profile is a complete assignment of these fields. Profiles are data (``presets/*.toml``), not
code: ``whitepaper`` reads the paper literally and settles its ambiguities; ``allora-simulator``
reproduces the Allora research simulator (the golden data); ``chain-defaults`` is the simulator
with the Allora chain's default parameters where they differ (DEVIATIONS.md §5); ``chain-v0.6``
is the deployed chain at v0.6 (chain/v0.6.md), its rules, state and parameter ranges. Each
field's documentation says which equation it enters and, where the two presets differ, why.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import typing
from dataclasses import dataclass
from importlib import resources
from typing import Literal

ColdStart = Literal["equal-weights", "chain", "while-initial-regret-zero"]
InitialRegret = Literal["zero", "topic-quantile", "topic-experienced"]
QuantileEnds = Literal["clamp", "extrapolate"]
OneInShare = Literal["all-subsets", "subsets-containing"]
WindowUnit = Literal["epochs", "samples"]
MissingFill = Literal["farthest", "lowest"]
GradientMethod = Literal["analytic", "finite-difference"]
ScoresFrom = Literal["final", "last-iteration-start"]
SmoothingStart = Literal["zero", "current"]
SmoothedState = Literal["raw", "normalised"]
EffectiveFrom = Literal["normalised", "smoothed"]
ScoreRatioRule = Literal["paper", "chain"]
StakersRule = Literal["measured", "constant"]
UnlockTiming = Literal["before-emission", "after-emission"]
EmaStart = Literal["first-value", "zero"]
SecondaryWeights = Literal["own-regrets", "network-weights"]
LossVectorLayout = Literal["eq-13", "with-one-out-forecast-implied"]
DelegatorSplit = Literal["none", "pro-rata-not-restaked"]
TokenRounding = Literal["real", "truncate"]
ZeroTotal = Literal["undefined", "all-zero"]
WeightCadence = Literal["weekly", "topic-epoch"]
TopicAccrual = Literal["per-step", "per-block-times-epoch-length"]
ShortfallRule = Literal["minted", "weight-times-epoch-length"]
Validation = Literal["none", "chain-v0.6"]


@dataclass(frozen=True)
class Params:
    """All parameters of the mechanism (frozen; build variants with ``dataclasses.replace``)."""

    # --- §3.1 inference synthesis -------------------------------------------------------------
    p: float
    """Eqs 5-7, 10: sharpness of the potential function phi_{p,c} (paper: 3)."""
    c: float
    """Eqs 5-7, 10: transition point of the potential function (paper: 0.75)."""
    epsilon: float
    """Eqs 8, 11: added to the regret standard deviation to avoid division by zero (paper: 0.01)."""
    alpha_regret: float
    """Eq 15: EMA weight of the newest regret, in (0, 1] (paper: 0.1)."""
    log_base: float
    """Eqs 2, 4, 13-15: base of "log" for losses. The paper writes ln where it means the natural
    logarithm (eq 6) and log elsewhere; the deployed system uses log10. Losses enter the spec as
    logarithms in this base."""
    sigma_ddof: int
    """Eqs 8, 11: delta degrees of freedom of the standard deviation: 0 = population (the paper's
    "standard deviation" read literally), 1 = sample (deployed). A single value has sigma = 0."""
    regret_guard_rails: bool
    """Eqs 5, 10: the deployed clip / shift / cut-off of normalised regrets (DEVIATIONS §1):
    cap at c + regret_cap/p; if the largest is below c - regret_shift/p shift all up so that it
    sits there; then give weight 0 below c - regret_cutoff/p. Not in the paper."""
    regret_cap: float
    """Eqs 5, 10 guard rails: the cap offset (deployed: 6.75)."""
    regret_shift: float
    """Eqs 5, 10 guard rails: the shift offset (deployed: 8.25)."""
    regret_cutoff: float
    """Eqs 5, 10 guard rails: the cut-off offset (deployed: 17.25)."""
    cold_start: ColdStart
    """Cold start (not in the paper). "equal-weights": a forecaster with no previous network loss
    weights its inferers equally (eq 3), and a combination none of whose members has a regret
    gives all members equal weight (eq 9). "chain": the deployed rule - the forecast-implied
    inference is the median of the inferences, and such a combination is the plain mean of its
    inferers only (forecast-implied inferences ignored). "while-initial-regret-zero": the chain at
    v0.6 (chain/v0.6.md §4.3-4.4) - before any network loss the network inference is the median
    of the inferences and the naive one 0; afterwards, while the topic's initial regret R0 is
    exactly 0, forecast-implied inferences are the median of the inferences a forecast names and
    every combination (network, naive, one-out, one-in) is the plain mean of its inferers."""
    initial_regret: InitialRegret
    """Eq 15 for a worker with no regret yet (not in the paper). "zero": the EMA starts at 0.
    "topic-quantile": the deployed formula - the initial_regret_quantile quantile of the known
    regrets plus (c - initial_regret_offset/p)(sigma + epsilon). The deployed system takes one
    topic-wide value from "experienced" workers (included at least 1/alpha times), which needs
    inclusion counts; this reference takes the regrets known in the same row (regret family),
    the same value for a newcomer's weight (eq 10) and for its EMA start (eq 15). The golden
    data never reaches it. "topic-experienced": the chain at v0.6 (chain/v0.6.md §4) - one
    topic-wide initial regret R0 (``TopicState.initial_regret``, 0 for a new topic) is every
    unknown regret; after each regret update it becomes the quantile plus offset above of the
    new inferer then forecaster regrets of the "experienced" workers (a stored regret before
    the update and at least 1/alpha_regret paid epochs for that task,
    ``TopicState.inclusions``), and stays unchanged while there are none."""
    initial_regret_quantile: float
    """Initial regret (deployed: 0.25)."""
    initial_regret_offset: float
    """Initial regret (deployed: 8.25)."""
    secondary_weights: SecondaryWeights
    """Eqs 9-11 for the secondary inferences (§3.1 items 1-3: naive, one-out, one-in), which the
    paper defines twice. "network-weights": each is eq 9 with the network inference's own weights
    of eq 10, those of the omitted entries set to zero (items 1-2 read literally: "setting their
    weights to zero", "omits ... from the weighted average in Equation 9"). "own-regrets": each
    has its own regrets, from the losses of its own inference, normalised (eq 11) over its own
    members (the sentence after eq 15, "to enable evaluating Equation 10 for each of these";
    deployed)."""
    loss_vector_layout: LossVectorLayout
    """Eqs 12-13: what each reputer reports. "eq-13": the six lines of eq 13, 1 + N_i + N_f + 1 +
    (N_i + N_f) + N_f entries (21 for 5 inferers and 3 forecasters). "with-one-out-forecast-
    implied": also the losses of the N_f x N_i forecast-implied inferences recomputed without one
    inferer (deployed: 36 entries). Under "eq-13" these entries are absent: the consensus (eq 30)
    has none of them, and the forecasters' regrets in the one-out rows of inferers (eq 15), which
    only "own-regrets" uses, keep their initial value (initial_regret)."""

    # --- §3.2 confidence intervals ------------------------------------------------------------
    ci_percentiles: tuple[float, ...]
    """Eqs 16-18: the percentiles P of the confidence intervals (paper: 2.28, 15.87, 84.13,
    97.72; deployed adds the median 50)."""
    ci_ends: QuantileEnds
    """Eq 18 outside [C_1, C_N], which the paper leaves undefined: "clamp" returns the smallest /
    largest inference (deployed); "extrapolate" extends the first / last segment linearly."""

    # --- §4.1 scores and reward fractions ------------------------------------------------------
    one_in_share: OneInShare
    """Eq 25: f+ as "all-subsets" = 1/2^N_f (the formula as printed: the share of all subsets of
    forecasters in which a worker is alone) or "subsets-containing" = 1/2^(N_f - 1) (its share
    among the subsets containing it; deployed)."""
    lone_forecaster_scores_zero: bool
    """Eqs 22-24: a single forecaster scores 0 (deployed: its one-out and one-in inferences are
    not computed). The paper's formula applies to it unchanged."""
    reward_p_inference: float
    """Eqs 26, 28: p of the mapping function for inferers (paper and simulator 3, chain 1)."""
    reward_p_forecast: float
    """Eqs 27, 28: p of the mapping function for forecasters (3)."""
    reward_c: float
    """Eq 28: c of the mapping function (0.75)."""
    score_window: int
    """Eq 28: Delta N, the window of the score standard deviation (10)."""
    score_window_unit: WindowUnit
    """Eq 28: "epochs" (the paper: every score of the last Delta N epochs) or "samples" (deployed:
    the last Delta N scores, newest epoch first, workers in index order)."""
    equal_split_below_epsilon: bool
    """Eq 28: if sigma(T) < epsilon every present worker gets M = 1 (deployed; not in the paper)."""
    consensus_with_one_out_forecast_implied: bool
    """Eq 30: the consensus vector also holds the losses of the one-out recomputed
    forecast-implied inferences (deployed: 36 entries for 5 inferers and 3 forecasters; the
    paper's eq 30: 21)."""
    missing_loss_fill: MissingFill
    """Eq 32: a loss a reputer did not report is replaced, for its score, by the reported value
    "farthest" from the consensus, or by the "lowest" reported value (deployed)."""
    consensus_norm_floor: float
    """Eq 32: a consensus vector norm below this is replaced by it (deployed: 1e-7)."""
    reputer_epsilon: float
    """Eq 32: epsilon_r (0.01)."""
    listening_gradient: GradientMethod
    """Eq 34: "analytic" d ln T_i / d a_im (the paper) or "finite-difference" (deployed: one-sided,
    step listening_step, (1 - T(a) / T(a + delta)) / delta)."""
    listening_step: float
    """Eq 34: the finite-difference step (deployed 0.001; -0.001 at a = 1)."""
    listening_learning_rate: float
    """Eq 34: lambda (0.05)."""
    listening_max_iterations: int
    """Eq 34: at most 1/lambda = 20 iterations (the paper); deployed: 10."""
    listening_gradient_threshold: float
    """Eq 34: stop when max |Delta a| / lambda is below this (0.001)."""
    listened_stake_floor: float
    """Eq 34: a step is interpolated so that sum a S / sum S stays at least this (0.5)."""
    listening_scores_from: ScoresFrom
    """Eqs 29, 32: the reported adjusted stakes and scores use the "final" coefficients (the
    paper) or those at the "last-iteration-start" (deployed)."""
    reputer_reward_p: float
    """Eq 35: p of the reputer reward fractions (paper and simulator 1, chain 3)."""
    reputer_fraction_zero_total: ZeroTotal
    """Eq 35 when every (S_m T_m)^p is 0 (all stakes 0): "undefined" (0/0, the paper; an error)
    or "all-zero" (every fraction 0 and W_i stays in the treasury; chain/v0.6.md §8)."""
    delegator_reward_split: DelegatorSplit
    """Eqs 36, 46: a reputer's reward W_m goes "none" - wholly to its stake (the paper) - or
    "pro-rata-not-restaked" (chain/v0.6.md §9): the delegators' part W_m D_m / S_m leaves the
    topic (it is not re-staked) and only the rest is added to the stake. D_m is
    ``TopicState.delegated``."""
    token_amount_rounding: TokenRounding
    """Eqs 36, 46: rewards are "real" numbers (the paper) or each payment is truncated to an
    integer amount of the smallest token unit, 0 being no payment (chain/v0.6.md §10, §14);
    what truncation removes stays in the treasury. With "truncate" amounts are in uallo."""
    distribution_needs_inferer_scores: bool
    """Eqs 41, 46: an epoch in which no inferer has a score (no one-out inference was
    evaluated, as before the first network loss on the chain) pays nothing and the topic reward
    stays in the treasury (chain/v0.6.md §6, §8); otherwise the classes present share it."""
    score_samples_per_block_cap: int
    """Eq 28 under "samples": each epoch keeps at most this many of its scores, the last ones in
    index order (chain/v0.6.md §6: MaxSamplesToScaleScores per block, the last inserted, workers
    in address order), so with more workers sigma is taken over the highest indices of the
    current epoch only; 0 = every score is kept (the paper, the research simulator)."""
    max_top_inferers: int
    """Active sets (chain/v0.6.md §7, not in the paper): at most this many inferers take part in
    an epoch. Submissions arrive in index order; while the set is full a newcomer whose score EMA
    is strictly above the lowest-EMA record replaces that actor, otherwise it is left out (both
    get the topic quantile score in their EMA). 0 = no limit (the paper). Chain: 32."""
    max_top_forecasters: int
    """Active sets for forecasters, as ``max_top_inferers`` (chain: 6; 0 = no limit)."""
    max_top_reputers: int
    """Active sets for reputers, as ``max_top_inferers`` (chain: 6; 0 = no limit)."""
    merit_sortition_alpha: float
    """Chain/v0.6.md §6: alpha_ms, the EMA weight of the newest score in each actor's score EMA,
    by which the full active sets admit (eqs 21-22, 32 smoothed; the chain's EMA helper: the
    first value is taken as it is). A topic parameter in [0, 1) with no chain default (0.1 here);
    unused without an active-set limit."""
    active_inferer_quantile: float
    """Chain/v0.6.md §6-7: q of the topic quantile score of the inferers' scores, which an actor
    left out of (or pushed out of) a full active set gets in its score EMA (topic parameter in
    [0, 1), 0.25 here)."""
    active_forecaster_quantile: float
    """As ``active_inferer_quantile``, for forecasters."""
    active_reputer_quantile: float
    """As ``active_inferer_quantile``, for reputers."""
    max_elements_per_forecast: int
    """Eqs 2-3: a forecast keeps its elements for at most this many inferers, those with the
    highest score EMAs (no EMA = 0; ties: lower index first, where the chain draws with Go's
    seeded math/rand) (chain/v0.6.md §5: MaxElementsPerForecast = 12); 0 = every element."""
    required_minimum_stake: float
    """Eqs 14, 29: a reputer whose stake is below this is not admitted and its losses are
    ignored (chain/v0.6.md §7: RequiredMinimumStake = 10000 uallo); 0 = none (the paper)."""

    # --- §4.2 reward division between tasks -----------------------------------------------------
    alpha_task: float
    """Eqs 39, 43: EMA weight of the smoothed fractions and of tau (0.1)."""
    beta_entropy: float
    """Eq 37: exponent of the number-ratio term (0.25)."""
    smoothing_start: SmoothingStart
    """Eq 39 for a participant's first epoch: EMA from "zero", or the "current" fraction
    (deployed)."""
    smoothed_state: SmoothedState
    """Eq 39: the value carried to the next epoch: the "raw" u~ or the "normalised" f of eq 38
    (deployed)."""
    effective_number_from: EffectiveFrom
    """Eq 40: N_eff from the "normalised" fractions f (the paper) or the "smoothed" u~
    (deployed)."""
    lone_participant_entropy: float
    """Eq 37 for a class with one participant: 0 (the paper) or 0.173286795139986 (deployed)."""
    forecasting_needs_two_inferers: bool
    """Eq 41: G_i = 0 when there are fewer than two inferers (deployed)."""
    score_ratio_rule: ScoreRatioRule
    """Eq 43 when max_j T_ij <= 0: "paper" (tau unchanged when the max is exactly 0) or "chain"
    (max(0, max_j T_ij); denominator |T_i| if that is 0; chi = 0.5 and tau reset if both are)."""
    chi_min: float
    """Eq 44: the utility below tau = 0 (0.1)."""
    chi_max: float
    """Eq 44: the utility from tau = 1 (0.5)."""

    # --- §5 tokenomics ------------------------------------------------------------------------
    total_supply: float
    """Eq 48: N_total, the fixed total token supply (paper: 1e9 ALLO). Treasury, circulating and
    locked (vesting) tokens always add up to it."""
    f_e: float
    """Eq 48: fraction of the treasury that would ideally be emitted per month (paper: 0.025)."""
    xi_max: float
    """Eq 50: the maximum monthly percentage yield (MPY). The paper caps the APY at 12% and writes
    xi_max = 0.0095, but (1 + 0.0095)^12 - 1 = 12.02%; the 12% APY compounded monthly is
    1.12^(1/12) - 1 = 0.0094888 (the research simulator's value). The whitepaper profile keeps
    the printed 0.0095."""
    f_stakers_rule: StakersRule
    """Eq 49: f_stakers,i. "measured" (the paper's definition): the fraction of the previous
    step's emission paid to staking participants, f_v + (1 - f_v) x (the topics' reward fraction
    paid to reputers, from §4), with f_stakers below in the first step. "constant": always
    f_stakers (the research simulator). The chain measures a single block's reputer ratio."""
    f_stakers: float
    """Eq 49: the constant f_stakers, and the first step's value under "measured" (research
    simulator: f_v + (1 - f_v)/3 = 0.5, the reputers taking a third of the topic rewards)."""
    unlock_timing: UnlockTiming
    """Eqs 47-48: whether N_circ,i and N_staked,i include the vesting unlock of step i (and the
    part of it staked at once). "before-emission": the unlock happens at the start of the step
    and the emission sees it (the research simulator; also the whitepaper profile's reading of
    "the circulating supply at time step i", since a vesting month unlocks at its start).
    "after-emission": the emission uses the previous step's supply and the unlock is booked
    after it."""
    alpha_e: float
    """Eq 52: EMA weight of the newest capped target emission at a monthly cadence (paper: 0.1);
    eq 53 recalibrates it to the step length."""
    epochs_per_month: float
    """Eqs 47, 53: N_epochs, the number of emission steps per month. Eq 47 pays e_i N_staked /
    N_epochs per step, so a month pays e_i N_staked whatever N_epochs is; eq 53 recalibrates the
    smoothing to the step length month / N_epochs. Both presets step monthly (1), like Figure 4
    and the research simulator (and the chain, which computes the emission once a month)."""
    ema_start: EmaStart
    """Eqs 52, 56 with no previous value (first emission step, new topic), which the paper leaves
    open. "first-value": the EMA starts at its first target (e_1 = e^_1; a new topic's weight is
    its target weight), as deployed. "zero": the EMA starts from 0 (e_1 = alpha_e e^_1)."""
    fees_to_treasury: bool
    """§5.1 (after eq 53): "all fees collected by the network are added to the network treasury",
    which pays rewards from them before minting. True in the whitepaper profile; the research
    simulator returns no fees (its treasury only drains)."""
    emission_decimals: int
    """Eqs 48-52 in the mint's fixed point (chain/v0.6.md §11: LegacyDec, 18 decimals, Mul
    and Quo rounded half-to-even): the target (eq 48), the maximum (eq 50) and the smoothed
    emission (eq 52) per staked token, and the reputers' measured share r (eq 49), are rounded
    half-to-even to this many decimals; 0 = real numbers (the paper). The chain rounds every
    operation inside them too, which binary64 cannot follow; at these rates the difference is
    a few ulps."""
    f_v: float
    """Eqs 54-55: fraction of the emission allocated to network validators (paper: 0.25)."""
    alpha_t: float
    """Eq 56: EMA weight of the newest target topic weight per week (paper: 0.5 weekly);
    recalibrated by eq 53 to the step length."""
    weeks_per_month: float
    """Eqs 53, 56-57: weeks in a month, to convert the weekly alpha_t (eq 56) and the weekly decay
    of the fee revenue (eq 57) to the step length. The paper's example (0.5 weekly <-> 0.9375
    monthly) implies 4; the chain uses 4.345."""
    mu: float
    """Eq 57: exponent of the topic's reputer stake in the target topic weight (paper: 0.5)."""
    nu: float
    """Eq 57: exponent of the topic's effective fee revenue in the target topic weight (paper:
    0.5). The effective revenue C_t loses C_t / N_epochs,w every epoch (N_epochs,w epochs a
    week) and gains the epoch's fees - in that order, so that a steady stream of fees gives C_t =
    one week's fees, as §5.3 describes it; at steps of a week or longer C_t is the step's fees."""
    topic_weight_cadence: WeightCadence
    """Eqs 56-57: the topic weight's EMA and the fee decay happen once per step with alpha_t and
    the decay recalibrated from their weekly values ("weekly", the paper), or once per topic
    epoch of epoch_length blocks with alpha_t as it is and N_epochs,w = (blocks_per_month /
    weeks_per_month) / epoch_length ("topic-epoch", chain/v0.6.md §1-2)."""
    topic_weight_fee_per_block: bool
    """Eq 57: the target weight uses the fee revenue per block of the topic's epoch,
    (C_t / epoch_length)^nu (chain/v0.6.md §1), not C_t^nu (the paper)."""
    topic_weight_zero_fee_is_zero: bool
    """Eqs 56-57: a topic with C_t = 0 gets weight 0 without an EMA step, and 0 is stored as
    its previous weight (chain/v0.6.md §1); the paper takes the EMA of a zero target."""
    fee_revenue_integer: bool
    """Eq 57: the decayed fee revenue is truncated to an integer number of uallo after each
    decay, C <- trunc(max(0, C - C / N_epochs,w)) (chain/v0.6.md §2); the paper's is real."""
    blocks_per_month: float
    """Eqs 47, 53, 57: blocks in a month (chain: 864000); with weeks_per_month it defines the
    chain's week of blocks_per_month / weeks_per_month blocks."""
    epoch_length: float
    """Eqs 55, 57: L_t, the topic's epoch length in blocks (a topic parameter on the chain,
    >= MinEpochLength = 12, with no default; 1200 blocks here). The paper has no blocks: its
    profile sets a step of a month, blocks_per_month / epochs_per_month."""
    topic_reward_accrual: TopicAccrual
    """Eq 55: a topic gets (1 - f_v) E_i w_t / sum w every step ("per-step", the paper), or at
    its epoch end the block's reward emission times its epoch length, R_blk L_t w_t / sum W,
    with sum W the stored weights of the active topics ("per-block-times-epoch-length",
    chain/v0.6.md §3.2)."""
    treasury_shortfall_rule: ShortfallRule
    """Eq 55 when the topics' rewards exceed the rewards treasury: "minted" (the paper: the
    emission is minted, there is no shortfall) or "weight-times-epoch-length" (chain/v0.6.md
    §3.2: the treasury is split pro rata to w_t L_t; a single topic gets all of it)."""
    min_topic_weight: float
    """Eqs 55-57: a topic whose weight falls below this is inactivated and gets no reward
    (chain/v0.6.md §3.1: MinTopicWeight = 100; the paper: 0)."""
    max_active_topics_per_block: int
    """Eq 55: of the topics whose epoch ends in the same block, only this many are paid in it -
    the heaviest (ties: lower index first) with a weight of at least min_topic_weight
    (chain/v0.6.md §0, §3.2: MaxActiveTopicsPerBlock = 1); 0 = every topic (the paper)."""
    double_count_reactivation: bool
    """Eq 55, its denominator Sigma W as deployed (chain/v0.6.md §3.2, edge cases): a topic that
    loses the slot competition when it is rescheduled stays active and counted in Sigma W with
    no epoch end; when it is activated again its stored weight is added to Sigma W once more
    (true, the chain's inconsistency), or activation only schedules a topic already counted
    (false). No effect without a limit on the topics per block (the paper)."""
    validation: Validation
    """The ranges the profile declares for its fields, beyond the mechanism's own checks:
    "none", or "chain-v0.6" (the chain's parameter validation, chain/v0.6.md §12), listed in
    ``presets/ranges/chain-v0.6.toml``. ``check_ranges`` applies them."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            allowed = typing.get_args(hints[field.name])
            if typing.get_origin(hints[field.name]) is Literal and \
                    getattr(self, field.name) not in allowed:
                raise ValueError(f"parameter {field.name} must be one of "
                                 f"{', '.join(map(repr, allowed))}")
        _check(self.p > 0, "p", "must be > 0 (eqs 5-7)")
        _check(self.epsilon > 0, "epsilon", "must be > 0 (eqs 8, 11)")
        _check(0 < self.alpha_regret <= 1, "alpha_regret", "must lie in (0, 1] (eq 15)")
        _check(self.log_base > 1, "log_base", "must be > 1 (eqs 2, 4)")
        _check(self.sigma_ddof in (0, 1), "sigma_ddof", "must be 0 or 1 (eqs 8, 11)")
        _check(0 <= self.initial_regret_quantile <= 1, "initial_regret_quantile",
               "must lie in [0, 1]")
        _check(len(self.ci_percentiles) > 0
               and all(0 < q < 100 for q in self.ci_percentiles)
               and list(self.ci_percentiles) == sorted(self.ci_percentiles),
               "ci_percentiles", "must be increasing values in (0, 100) (eqs 16-18)")
        _check(self.score_window >= 1, "score_window", "must be >= 1 (eq 28)")
        _check(self.reputer_epsilon > 0, "reputer_epsilon", "must be > 0 (eq 32)")
        _check(self.listening_learning_rate > 0 and self.listening_max_iterations >= 1,
               "listening_learning_rate", "and listening_max_iterations must be positive (eq 34)")
        _check(0 <= self.listened_stake_floor <= 1, "listened_stake_floor",
               "must lie in [0, 1] (eq 34)")
        _check(0 < self.alpha_task <= 1, "alpha_task", "must lie in (0, 1] (eqs 39, 43)")
        _check(0 <= self.chi_min <= self.chi_max <= 1, "chi_min",
               "and chi_max must satisfy 0 <= chi_min <= chi_max <= 1 (eq 44)")
        _check(self.total_supply > 0, "total_supply", "must be > 0 (eq 48)")
        _check(self.f_e > 0, "f_e", "must be > 0 (eq 48)")
        _check(0 < self.xi_max < 1, "xi_max", "must lie in (0, 1) (eq 50)")
        _check(0 < self.f_stakers <= 1, "f_stakers", "must lie in (0, 1] (eq 49)")
        _check(0 < self.alpha_e <= 1, "alpha_e", "must lie in (0, 1] (eq 52)")
        _check(self.epochs_per_month > 0, "epochs_per_month", "must be > 0 (eqs 47, 53)")
        _check(isinstance(self.fees_to_treasury, bool), "fees_to_treasury", "must be true or false")
        _check(0 <= self.f_v < 1, "f_v", "must lie in [0, 1) (eqs 54-55)")
        _check(0 < self.alpha_t <= 1, "alpha_t", "must lie in (0, 1] (eq 56)")
        _check(self.weeks_per_month > 0, "weeks_per_month", "must be > 0 (eq 53)")
        _check(self.mu >= 0, "mu", "must be >= 0 (eq 57)")
        _check(self.nu >= 0, "nu", "must be >= 0 (eq 57)")
        _check(self.blocks_per_month >= 1, "blocks_per_month", "must be >= 1 (eqs 47, 57)")
        _check(self.epoch_length > 0, "epoch_length", "must be > 0 (eqs 55, 57)")
        _check(self.min_topic_weight >= 0, "min_topic_weight", "must be >= 0 (eq 55)")
        for name in ("score_samples_per_block_cap", "max_top_inferers", "max_top_forecasters",
                     "max_top_reputers", "max_elements_per_forecast"):
            _check(getattr(self, name) >= 0, name, "must be >= 0 (0: no limit)")
        _check(0 <= self.merit_sortition_alpha < 1, "merit_sortition_alpha",
               "must lie in [0, 1) (chain/v0.6.md §6)")
        for name in ("active_inferer_quantile", "active_forecaster_quantile",
                     "active_reputer_quantile"):
            _check(0 <= getattr(self, name) <= 1, name, "must lie in [0, 1] (chain/v0.6.md §6)")
        _check(self.max_active_topics_per_block >= 0, "max_active_topics_per_block",
               "must be >= 0 (0: no limit)")
        _check(self.emission_decimals >= 0, "emission_decimals", "must be >= 0 (eqs 48-52)")
        _check(self.required_minimum_stake >= 0, "required_minimum_stake",
               "must be >= 0 (eqs 14, 29)")
        check_ranges(self)


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ValueError(f"parameter {field} {message}")


def parse_range(text: str) -> tuple[float, bool, float, bool]:
    """An interval written "[a, b]", "(a, b)", "[a, inf)" ... as (low, low closed, high, high
    closed)."""
    low, high = (part.strip() for part in text.strip()[1:-1].split(","))
    return float(low), text.strip()[0] == "[", float(high), text.strip()[-1] == "]"


def declared_ranges(validation: str) -> dict[str, str]:
    """The ranges of the named validation set (``presets/ranges/NAME.toml``), {field: interval}."""
    if validation == "none":
        return {}
    ranges = resources.files("allora_ref.presets").joinpath("ranges", f"{validation}.toml")
    return tomllib.loads(ranges.read_text())


def check_ranges(params: Params) -> Params:
    """Reject a field outside the range its profile declares (``Params.validation``) with a
    ValueError naming the field and the range; return ``params`` unchanged otherwise."""
    for name, interval in declared_ranges(params.validation).items():
        low, low_closed, high, high_closed = parse_range(interval)
        value = getattr(params, name)
        inside = (low <= value if low_closed else low < value) and \
            (value <= high if high_closed else value < high)
        _check(bool(inside), name, f"= {value!r} is outside {interval}, the range declared by "
               f"validation {params.validation!r}")
    return params


PROFILES = ("whitepaper", "allora-simulator", "chain-defaults", "chain-v0.6")

#: The first field of each section's block in :class:`Params` (fields follow the paper's order).
SECTION_STARTS = {"3.1": "p", "3.2": "ci_percentiles", "4.1": "one_in_share",
                  "4.2": "alpha_task", "5.1": "total_supply", "5.2": "f_v",
                  "validation": "validation"}


def section_fields(section: str) -> list[str]:
    """The names of the fields of the paper's section ``section`` ("3" or "4.1", say)."""
    names = [f.name for f in dataclasses.fields(Params)]
    starts = sorted((names.index(first), key) for key, first in SECTION_STARTS.items())
    result = []
    for (start, key), (end, _) in zip(starts, starts[1:] + [(len(names), "")]):
        if key == section or key.startswith(section + "."):
            result += names[start:end]
    return result


def load_profile(name: str) -> Params:
    """Read the named preset from ``allora_ref/presets/NAME.toml`` into a :class:`Params`."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    text = resources.files("allora_ref.presets").joinpath(f"{name}.toml").read_text(
        encoding="utf-8")
    return params_from_mapping(tomllib.loads(text), source=f"profile {name}")


def params_from_mapping(values: dict, source: str = "parameters") -> Params:
    """Build :class:`Params` from a mapping that names every field exactly once."""
    names = {f.name for f in dataclasses.fields(Params)}
    missing = sorted(names - values.keys())
    unknown = sorted(values.keys() - names)
    if missing or unknown:
        raise ValueError(f"{source}: missing fields {missing}, unknown fields {unknown}")
    values = dict(values)
    values["ci_percentiles"] = tuple(float(q) for q in values["ci_percentiles"])
    return Params(**values)


def profile_differences(a: Params, b: Params) -> dict[str, tuple]:
    """The fields on which two parameter sets differ, as ``{field: (a value, b value)}``."""
    return {f.name: (getattr(a, f.name), getattr(b, f.name))
            for f in dataclasses.fields(Params)
            if getattr(a, f.name) != getattr(b, f.name)}


def profile_with(name: str, overrides: dict | None = None) -> Params:
    """The named profile with some fields replaced, each checked as the profile's own are.

    An unknown field name, a value of another type than the field's, or a value outside the
    field's range is a ValueError naming the field.
    """
    params = load_profile(name)
    overrides = dict(overrides or {})
    fields = {f.name for f in dataclasses.fields(Params)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        close = [m for name in unknown for m in difflib.get_close_matches(name, fields, n=2)]
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}"
                         + (f" (did you mean {', '.join(close)}?)" if close else "")
                         + "; the fields are those of allora_ref.params.Params")
    for field, value in overrides.items():
        current = getattr(params, field)
        if isinstance(current, tuple) and isinstance(value, (list, tuple)):
            overrides[field] = value = tuple(float(q) for q in value)
        elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            overrides[field] = value = float(value)
        if type(value) is not type(current):
            raise ValueError(f"parameter {field} must be a {type(current).__name__} "
                             f"(like {current!r}), not {value!r}")
    return dataclasses.replace(params, **overrides)

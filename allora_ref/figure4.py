"""The Figure 4 scenario (§5.1, eqs 47-53): a token launch with a major unlock after one year,
run month by month through the emission step, and what the figure shows measured on it.

Not the mechanism: the set-up beyond what the paper states (allocation, vesting, holder model)
is a choice of this reference; the §5.1 notebook draws the figure and the claims ledger judges it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from allora_ref.params import Params
from allora_ref.spec.token_emission import (
    EmissionInputs, EmissionState, Supply, emission_step, vesting_unlocks)


@dataclass(frozen=True)
class Figure4Scenario:
    """The set-up of Figure 4 (§5.1), beyond what the paper states (a major unlock after one year,
    about 60% staked, fees of 2% of the unstaked circulating supply per month)."""

    months: int = 60
    """Length of the scenario."""
    unlock_month: int = 12
    """The major unlock: the vesting cliff."""
    vesting_months: int = 36
    """The locked tokens are fully unlocked after this many months."""
    treasury: float = 359.5e6
    """Ecosystem treasury at launch (the research simulator's allocation)."""
    circulating: float = 155e6
    """Circulating at launch (foundation + participants)."""
    locked: float = 485.5e6
    """Investors and team, vesting."""
    holder_staked_fraction: float = 0.45
    """Share staked by launch holders and reward recipients."""
    vested_staked_fraction: float = 0.75
    """Share of their unlocked tokens that vesting holders stake."""
    fee_rate: float = 0.02
    """Fees: the share of the unstaked circulating supply paid per month."""
    reputer_fraction: float = 1 / 3
    """Share of the topics' rewards paid to reputers (§4), for eq 49."""


def run_scenario(params: Params, scenario: Figure4Scenario, fees_per_month: float
                 ) -> dict[str, np.ndarray]:
    """Figure 4 (eqs 47-53 month by month) with the scenario's holder model: monthly APY, staked
    share, treasury and emission."""
    holders, vested = scenario.circulating, 0.0
    staked = scenario.holder_staked_fraction * holders
    state = EmissionState.genesis(Supply(scenario.treasury, scenario.circulating, staked,
                                         scenario.locked), params)
    unlocks = vesting_unlocks([scenario.locked], np.arange(1, scenario.months + 1),
                              scenario.unlock_month, scenario.vesting_months)
    fee_shares = fees_per_month * np.array([1 - scenario.holder_staked_fraction,
                                            1 - scenario.vested_staked_fraction])
    record = {"apy": [], "staked_share": [], "treasury": [], "emission": []}
    for unlock in unlocks[:, 0]:
        fees = fee_shares * [holders, vested + unlock] if params.fees_to_treasury else [0.0, 0.0]
        inputs = EmissionInputs(unlock, scenario.vested_staked_fraction * unlock, sum(fees),
                                scenario.reputer_fraction)
        emission, state = emission_step(state, inputs, params)
        holders += emission.total - fees[0]
        vested += unlock - fees[1]
        np.testing.assert_allclose(holders + vested, state.supply.circulating, rtol=1e-12)
        staked_now = (scenario.holder_staked_fraction * holders
                      + scenario.vested_staked_fraction * vested)
        state = dataclasses.replace(state, supply=dataclasses.replace(state.supply,
                                                                      staked=staked_now))
        assert abs(state.supply.total - params.total_supply) <= 1e-14 * params.total_supply  # kept
        record["apy"].append(emission.apy)
        record["staked_share"].append(staked_now / state.supply.circulating)
        record["treasury"].append(state.supply.treasury)
        record["emission"].append(emission.total)
    return {name: np.array(values) for name, values in record.items()}


def figure4_setups(params: Params, scenario: Figure4Scenario) -> dict[str, dict]:
    """Figure 4's three set-ups (eqs 47-53): without smoothing (alpha_e = 1), with it, and with
    smoothing and fees."""
    return {"no smoothing": run_scenario(dataclasses.replace(params, alpha_e=1.0), scenario, 0.0),
            "smoothing": run_scenario(params, scenario, 0.0),
            "smoothing and fees": run_scenario(params, scenario, scenario.fee_rate)}


def figure4_measures(setups: dict[str, dict], scenario: Figure4Scenario) -> dict[str, float]:
    """What Figure 4 shows (eqs 47-53), measured on ``figure4_setups``: the monthly APY change
    at the unlock without smoothing and whether it is the largest drop, the largest monthly
    change with smoothing, the unlock's jump with and without smoothing (``unlock_jump``), the
    APY decline over the last year with and without fees, whether fees keep the APY higher after
    the unlock, and the mean staked share after the second year."""
    raw, smooth, with_fees = (setups[name]["apy"] for name in
                              ("no smoothing", "smoothing", "smoothing and fees"))
    change = lambda values: values[1:] / values[:-1] - 1
    drop = change(raw)
    cliff = scenario.unlock_month - 2                # the change from month 11 to month 12
    month = np.arange(1, scenario.months + 1)
    last_year = month > scenario.months - 12
    decline = lambda values: float(1 - values[last_year][-1] / values[last_year][0])
    return {"unlock_drop": float(drop[cliff]),
            "drop_is_largest": float(np.argmin(drop) == cliff),
            "smoothed_largest_change": float(np.abs(change(smooth)).max()),
            "jump_without_smoothing": unlock_jump(raw, scenario.unlock_month),
            "jump_with_smoothing": unlock_jump(smooth, scenario.unlock_month),
            "decline_with_fees": decline(with_fees),
            "decline_without_fees": decline(smooth),
            "fees_higher_after_unlock": float(
                (with_fees[month > scenario.unlock_month]
                 > smooth[month > scenario.unlock_month]).all()),
            "staked_share": float(setups["smoothing"]["staked_share"][month > 24].mean())}


def unlock_jump(apy: np.ndarray, unlock_month: int, months: int = 6) -> float:
    """How much the monthly APY change into the unlock month stands out: its size over the
    median size of the changes in the ``months`` months before and after it (1: like its
    neighbours; a jump is many times larger). ``apy`` starts at month 1."""
    change = np.abs(apy[1:] / apy[:-1] - 1)
    at = unlock_month - 2                                   # from month 11 to month 12
    neighbours = np.concatenate([change[max(at - months, 0): at], change[at + 1: at + 1 + months]])
    return float(change[at] / np.median(neighbours))

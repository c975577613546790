"""The parameter object and its presets."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources

import pytest

from allora_ref.params import (PROFILES, Params, load_profile, params_from_mapping,
                               profile_differences)


@pytest.mark.parametrize("name", PROFILES)
def test_presets_name_every_field(name):
    text = resources.files("allora_ref.presets").joinpath(f"{name}.toml").read_text()
    assert set(tomllib.loads(text)) == {f.name for f in dataclasses.fields(Params)}
    assert load_profile(name).p == 3.0


def test_params_are_frozen_and_validated():
    params = load_profile("whitepaper")
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.p = 2.0
    for field, value, message in [("alpha_regret", 0.0, "eq 15"), ("epsilon", 0.0, "eqs 8, 11"),
                                  ("ci_percentiles", (50.0, 10.0), "eqs 16-18"),
                                  ("cold_start", "guess", "cold_start"),
                                  ("xi_max", 0.0, "eq 50"), ("alpha_e", 1.5, "eq 52"),
                                  ("f_v", 1.0, "eqs 54-55"),
                                  ("unlock_timing", "later", "unlock_timing must be one of"),
                                  ("secondary_weights", "own", "secondary_weights must be one of"),
                                  ("loss_vector_layout", "eq 13",
                                   "loss_vector_layout must be one of")]:
        with pytest.raises(ValueError, match=message):
            dataclasses.replace(params, **{field: value})


def test_unknown_profile_and_incomplete_mapping():
    with pytest.raises(ValueError, match="unknown profile 'chain'"):
        load_profile("chain")
    with pytest.raises(ValueError, match=r"missing fields \[[^]]*'alpha_regret'"):
        params_from_mapping({"p": 3.0})


def test_chain_defaults_are_the_simulator_with_the_chains_defaults():
    """DEVIATIONS.md §5: PRewardInference = 1, PRewardReputer = 3 and
    MaximumMonthlyPercentageYield = 0.0095 on the chain."""
    assert profile_differences(load_profile("allora-simulator"), load_profile("chain-defaults")) \
        == {"reward_p_inference": (3.0, 1.0), "reputer_reward_p": (1.0, 3.0),
            "xi_max": (1.12 ** (1 / 12) - 1, 0.0095)}

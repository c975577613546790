"""The parameter object: every constant of the paper and every settled ambiguity, one field each.

A profile is a complete assignment of these fields. Profiles are data (``presets/*.toml``), not
code: ``whitepaper`` reads the paper literally and settles its ambiguities; ``allora-simulator``
reproduces the Allora research simulator (the golden data). Each field's documentation says which
equation it enters and, where the two presets differ, why.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Literal

ColdStart = Literal["equal-weights", "chain"]
InitialRegret = Literal["zero", "topic-quantile"]
QuantileEnds = Literal["clamp", "extrapolate"]


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
    inferers only (forecast-implied inferences ignored)."""
    initial_regret: InitialRegret
    """Eq 15 for a worker with no regret yet (not in the paper). "zero": the EMA starts at 0.
    "topic-quantile": the deployed rule - the initial_regret_quantile quantile of the regrets known
    in the same family plus (c - initial_regret_offset/p)(sigma + epsilon)."""
    initial_regret_quantile: float
    """Initial regret (deployed: 0.25)."""
    initial_regret_offset: float
    """Initial regret (deployed: 8.25)."""

    # --- §3.2 confidence intervals ------------------------------------------------------------
    ci_percentiles: tuple[float, ...]
    """Eqs 16-18: the percentiles P of the confidence intervals (paper: 2.28, 15.87, 84.13,
    97.72; deployed adds the median 50)."""
    ci_ends: QuantileEnds
    """Eq 18 outside [C_1, C_N], which the paper leaves undefined: "clamp" returns the smallest /
    largest inference (deployed); "extrapolate" extends the first / last segment linearly."""

    def __post_init__(self) -> None:
        _check(self.p > 0, "p", "must be > 0 (eqs 5-7)")
        _check(self.epsilon > 0, "epsilon", "must be > 0 (eqs 8, 11)")
        _check(0 < self.alpha_regret <= 1, "alpha_regret", "must lie in (0, 1] (eq 15)")
        _check(self.log_base > 1, "log_base", "must be > 1 (eqs 2, 4)")
        _check(self.sigma_ddof in (0, 1), "sigma_ddof", "must be 0 or 1 (eqs 8, 11)")
        _check(self.cold_start in ("equal-weights", "chain"), "cold_start",
               "must be 'equal-weights' or 'chain'")
        _check(self.initial_regret in ("zero", "topic-quantile"), "initial_regret",
               "must be 'zero' or 'topic-quantile' (eq 15)")
        _check(0 <= self.initial_regret_quantile <= 1, "initial_regret_quantile",
               "must lie in [0, 1]")
        _check(self.ci_ends in ("clamp", "extrapolate"), "ci_ends",
               "must be 'clamp' or 'extrapolate' (eq 18)")
        _check(len(self.ci_percentiles) > 0
               and all(0 < q < 100 for q in self.ci_percentiles)
               and list(self.ci_percentiles) == sorted(self.ci_percentiles),
               "ci_percentiles", "must be increasing values in (0, 100) (eqs 16-18)")


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ValueError(f"parameter {field} {message}")


PROFILES = ("whitepaper", "allora-simulator")


def load_profile(name: str) -> Params:
    """Read the named preset from ``allora_ref/presets/NAME.toml`` into a :class:`Params`."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    text = resources.files("allora_ref.presets").joinpath(f"{name}.toml").read_text()
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

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
# # The paper against the chain: what each departure does
#
# The `chain-v0.6` profile is the deployed Allora chain at v0.6 (`chain/v0.6.md`): its defaults,
# the rules it adds where the whitepaper is silent (the cold start, the initial regret of new
# workers, integer token amounts, delegators, the topic's epoch in blocks) and the points where
# it departs from the text. Each is a field of `Params`. This notebook referees them: for every
# field on which the `whitepaper` and `chain-v0.6` profiles differ, it states the paper's
# reading, the research simulator's and the chain's, the equations the field enters (from
# `equations/catalog.toml`), and measures what switching **that field alone** from the paper's
# value to the chain's does to the §3.3 experiment (`allora_ref.experiment`):
#
# * the network loss: the mean over the run of $\log_{10}$ of the network inference's loss;
# * each class's reward share: $\sum_i U_i$, $\sum_i V_i$, $\sum_i W_i$ over the run, divided by
#   the topic rewards paid to the topic;
# * the spread of worker rewards: the coefficient of variation (standard deviation / mean) of
#   the workers' (inferers' and forecasters') total rewards over the run.
#
# The table is ranked by the largest of the three changes (network loss in dex, shares and the
# spread as fractions). Fields of §3.2 and §5 (confidence intervals, emission, topic weights,
# fee revenue, topic rewards) and the parameter ranges do not enter the §3.3 experiment, which
# feeds the topic a given reward; they are listed without a measurement. `make reports` writes
# the table to `reports/paper-vs-chain.md`.
#
# The experiment pays the topic `mean_emission` uallo an epoch on average, so that the chain's
# truncation of payments to whole uallo acts at a realistic scale, and its reputers start with
# `initial_stake` uallo, above the chain's minimum reputer stake; every other measurement is
# scale-free. Its 3 workers and 5 reputers fit the chain's active sets (32 / 6 / 6), so the
# fields of `chain/v0.6.md` §5-7 measure no change there: they are measured on a second,
# larger topic of `overflow_workers` workers and `overflow_reputers` reputers (40 and 8: more
# than 32 inferers, 6 forecasters and 6 reputers), which overflows all three sets.

# %% tags=["parameters"]
seed = 0
epochs = 16            # epochs of each run; the chain's cold start ends at the 12th
mean_emission = 1e6    # uallo of topic reward per epoch, on average
initial_stake = 1e5    # uallo per reputer, above the chain's minimum reputer stake (10000)
overflow_workers = 40  # workers (each an inferer and a forecaster) of the overflowing topic
overflow_reputers = 8  # reputers of the overflowing topic
paper_vs_chain_path = ""   # the file of the Markdown table, empty for none (make reports sets it)

# %%
import dataclasses
import tomllib
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

import allora_ref
from allora_ref.atomic import write_text_atomic
from allora_ref.experiment import Settings, simulate
from allora_ref.params import load_profile, profile_differences, section_fields

whitepaper = load_profile("whitepaper")
simulator = load_profile("allora-simulator")
chain = load_profile("chain-v0.6")
settings = Settings(seed=seed, epochs=epochs, mean_emission=mean_emission,
                    initial_stake=initial_stake)
catalog = tomllib.loads((Path(allora_ref.__file__).resolve().parents[1] / "equations"
                         / "catalog.toml").read_text())
equations: dict[str, list[int]] = {}
for entry in catalog["equation"]:
    for field in entry.get("deviations", []):
        equations.setdefault(field, []).append(entry["number"])
differences = profile_differences(whitepaper, chain)
exercised = set(section_fields("3.1") + section_fields("4"))
print(f"{len(differences)} fields differ; {len(exercised & differences.keys())} enter the §3.3 "
      f"experiment; {epochs} epochs, seed {seed}")

# %% [markdown]
# ## The measurements
#
# One run of the experiment per profile: the same seed, so the same world, workers and
# reputers; only the mechanism changes.

# %%
def measure(params, run=None, world=settings) -> dict:
    """Network loss, class reward shares and the spread of worker rewards of one run."""
    run = simulate(world, params) if run is None else run
    paid = run.topic_reward.sum()
    workers = np.concatenate([run.inferer_rewards.sum(axis=0), run.forecaster_rewards.sum(axis=0)])
    return {"loss": float(run.network_loss.mean()),
            "shares": run.class_rewards.sum(axis=0) / paid,
            "spread": float(workers.std() / workers.mean()) if workers.mean() > 0 else np.nan}


def change(variant: dict, base: dict) -> dict:
    """The differences of a variant's measurements from the base's, and the largest of them."""
    delta = {"loss": variant["loss"] - base["loss"],
             "shares": variant["shares"] - base["shares"],
             "spread": variant["spread"] - base["spread"]}
    delta["effect"] = max(abs(delta["loss"]), np.abs(delta["shares"]).max(), abs(delta["spread"]))
    return delta


# The chain's bounds on a topic (chain/v0.6.md §5-7) that the run's topic fits, and the
# settings that act only when an active set overflows: switched alone they cannot change the
# run, which therefore is not repeated for them.
workers, reputers = settings.n_workers + settings.sybil_copies, settings.n_reputers
fits = {"max_top_inferers": workers <= chain.max_top_inferers,
        "max_top_forecasters": settings.n_workers <= chain.max_top_forecasters,
        "max_top_reputers": reputers <= chain.max_top_reputers,
        "max_elements_per_forecast": workers <= chain.max_elements_per_forecast,
        "score_samples_per_block_cap": workers <= chain.score_samples_per_block_cap,
        "required_minimum_stake": settings.initial_stake >= chain.required_minimum_stake}
overflows = not all(fits.values())
fits |= {name: not overflows for name in ("merit_sortition_alpha", "active_inferer_quantile",
                                           "active_forecaster_quantile",
                                           "active_reputer_quantile")}
fit_note = (f"the run's {workers} workers and {reputers} reputers (stakes from "
            f"{settings.initial_stake:g}) fit the chain's active sets: see the overflowing topic")

base = measure(whitepaper)
chain_run = simulate(settings, chain)
whole_chain = change(measure(chain, chain_run), base)
whole_simulator = change(measure(simulator), base)
rows = []
for field, (paper_value, chain_value) in differences.items():
    row = {"field": field, "paper": paper_value, "simulator": getattr(simulator, field),
           "chain": chain_value, "equations": equations.get(field, [])}
    if fits.get(field):
        row["note"] = fit_note
    elif field in exercised:
        try:
            row["delta"] = change(measure(dataclasses.replace(whitepaper,
                                                              **{field: chain_value})), base)
        except ValueError as error:       # a value the paper's other fields do not admit
            row["note"] = f"not switchable alone: {error}"
    else:
        row["note"] = "outside the §3.3 experiment"
    rows.append(row)
measured = sorted((r for r in rows if "delta" in r), key=lambda r: -r["delta"]["effect"])
unmeasured = [r for r in rows if "delta" not in r]
assert all(np.isfinite(r["delta"]["effect"]) for r in measured)
print(f"whole chain profile: network loss {whole_chain['loss']:+.4f} dex, shares "
      f"{np.round(whole_chain['shares'], 4)}, spread {whole_chain['spread']:+.4f}")

# %% [markdown]
# ## A topic that overflows the active sets
#
# The same experiment with `overflow_workers` workers and `overflow_reputers` reputers: every
# active set of the chain overflows, forecasts name more inferers than a forecast keeps, and the
# σ window of eq 28 holds more scores than the chain keeps per block. Each field of the bounds
# is switched alone from the paper's value to the chain's on this topic, against the paper on
# the same topic. The merit-sortition settings (the EMA weight, the topic quantiles) only rank
# the members of a bounded set, so alone they cannot act and are not run. A forecast capped at
# `max_elements_per_forecast` elements changes nothing measured here: the experiment's
# reputers report the losses of the inferences synthesised from the whole forecasts.

# %%
large = dataclasses.replace(settings, n_workers=overflow_workers, n_reputers=overflow_reputers)
large_workers = large.n_workers + large.sybil_copies
assert large_workers > chain.max_top_inferers and large.n_workers > chain.max_top_forecasters \
    and large.n_reputers > chain.max_top_reputers, "the second topic must overflow every set"
large_base = measure(whitepaper, world=large)
ranking_only = {"merit_sortition_alpha", "active_inferer_quantile", "active_forecaster_quantile",
                "active_reputer_quantile"}
for row in rows:
    if row["field"] in ranking_only:
        row["note"] = "ranks the members of a bounded active set: no effect alone"
    elif row["field"] in fits:
        switched = dataclasses.replace(whitepaper, **{row["field"]: row["chain"]})
        row["large"] = change(measure(switched, world=large), large_base)
overflowing = sorted((r for r in rows if "large" in r), key=lambda r: -r["large"]["effect"])
for r in overflowing:
    print(f"{r['field']:28s} effect {r['large']['effect']:.3g}")

# %% [markdown]
# ## Checks
#
# What the document says each departure does, checked on these runs: the cold start changes
# the network inference of a young topic (the chain averages its inferers until the topic's
# initial regret is set, after the 12th epoch here); integer payments never pay more than the
# topic received, and the chain's first epoch pays nobody; the reward exponents
# (`reward_p_inference = 1`, `reputer_reward_p = 3`) change the division of the rewards. (They
# also move the network loss a little: rewards feed the reputers' stakes, which weight the
# network losses of eq 14 and through them the regrets.)

# %%
by_field = {r["field"]: r for r in measured}
assert by_field["cold_start"]["delta"]["loss"] != 0.0
assert chain_run.class_rewards[0].sum() == 0.0                          # first epoch: no payout
paid = np.concatenate([chain_run.inferer_rewards, chain_run.forecaster_rewards,
                       chain_run.reputer_rewards], axis=1)
np.testing.assert_array_equal(paid, np.trunc(paid))                     # whole uallo
assert paid.sum() <= chain_run.topic_reward.sum()
for field in ("reward_p_inference", "reputer_reward_p"):
    assert np.abs(by_field[field]["delta"]["shares"]).max() > 1e-3
# on the overflowing topic each set's bound changes the run: fewer workers or reputers are paid
large_by_field = {r["field"]: r["large"] for r in overflowing}
for field in ("max_top_inferers", "max_top_forecasters", "max_top_reputers"):
    assert large_by_field[field]["effect"] > 0, field

# %% [markdown]
# ## The table

# %%
def value(x) -> str:
    """A field value for the table."""
    if isinstance(x, tuple):
        return "[" + ", ".join(f"{v:g}" for v in x) + "]"
    return f"`{x:g}`" if isinstance(x, float) else f"`{x}`"


def numbers(field: str, eqs: list[int]) -> str:
    """The equations a field enters (the parameter ranges: every field)."""
    return ", ".join(map(str, eqs)) if eqs else ("all" if field == "validation" else "-")


def signed(x: float) -> str:
    """A change, 3 significant digits; an exact 0 (the rule's case never arose) as 0."""
    return "0" if x == 0 else f"{x:+.3g}"


def effect_cells(delta: dict) -> str:
    shares = " / ".join(signed(s) for s in delta["shares"])
    effect = "0" if delta["effect"] == 0 else f"{delta['effect']:.3g}"
    return f"{signed(delta['loss'])} | {shares} | {signed(delta['spread'])} | {effect}"


header = ("| rank | field | eqs | paper | simulator | chain | network loss (dex) | "
          "shares U / V / W | worker spread | effect |\n"
          "|---:|---|---|---|---|---|---:|---:|---:|---:|\n")
lines = [f"| {i} | `{r['field']}` | {numbers(r['field'], r['equations'])} | {value(r['paper'])} | "
         f"{value(r['simulator'])} | {value(r['chain'])} | {effect_cells(r['delta'])} |"
         for i, r in enumerate(measured, 1)]
large_lines = [f"| {i} | `{r['field']}` | {numbers(r['field'], r['equations'])} | "
               f"{value(r['paper'])} | {value(r['simulator'])} | {value(r['chain'])} | "
               f"{effect_cells(r['large'])} |" for i, r in enumerate(overflowing, 1)]
others = [f"| `{r['field']}` | {numbers(r['field'], r['equations'])} | {value(r['paper'])} | "
          f"{value(r['simulator'])} | {value(r['chain'])} | {r['note']} |" for r in unmeasured]
by_equation: dict[int, list[str]] = {}
for r in rows:
    for number in r["equations"]:
        by_equation.setdefault(number, []).append(f"`{r['field']}`")
index = "\n".join(f"| {n} | {', '.join(fields)} |" for n, fields in sorted(by_equation.items()))
report = f"""# The whitepaper against the chain (v0.6)

Generated by `notebooks/06_paper_vs_chain.py` (`make reports`): seed {seed}, {epochs} epochs of
the §3.3 experiment, a mean topic reward of {mean_emission:g} uallo an epoch. Each row switches
one field of the `whitepaper` profile alone to its `chain-v0.6` value and shows the change of
the network loss (mean log10 loss of the network inference), of the inferers' / forecasters' /
reputers' share of the topic rewards and of the spread (coefficient of variation) of the
workers' total rewards; "effect" is the largest of the three changes. A change of exactly 0
means that the case the field settles (a lone forecaster, all-zero stakes, delegated stake, ...)
never arose in the run. Field documentation:
`allora_ref/params.py`; the chain's rules: `chain/v0.6.md`.

Against the whitepaper profile, all chain fields together change the network loss by
{signed(whole_chain['loss'])} dex, the shares by {' / '.join(signed(s) for s in whole_chain['shares'])}
and the worker spread by {signed(whole_chain['spread'])}; the simulator profile by
{signed(whole_simulator['loss'])} dex, {' / '.join(signed(s) for s in whole_simulator['shares'])}
and {signed(whole_simulator['spread'])}.

## Departures measured on the §3.3 experiment, by effect

{header}{chr(10).join(lines)}

## The active-set bounds, measured on a topic that overflows them

The same experiment with {large.n_workers} workers (each an inferer and a forecaster) and
{large.n_reputers} reputers, more than the chain's {chain.max_top_inferers} inferers,
{chain.max_top_forecasters} forecasters and {chain.max_top_reputers} reputers; each field switched
alone against the paper on this topic (the merit-sortition settings, which only rank the
members of a bounded set, are not switched alone; the experiment's reputers report the losses
of the inferences from the whole forecasts, so the forecast cap cannot show).

{header}{chr(10).join(large_lines)}

## Departures the §3.3 experiment does not exercise

| field | eqs | paper | simulator | chain | |
|---|---|---|---|---|---|
{chr(10).join(others)}

## Equations and the fields that change them

| eq | fields |
|---:|---|
{index}
"""
if paper_vs_chain_path:
    write_text_atomic(paper_vs_chain_path, report)
display(Markdown(report))

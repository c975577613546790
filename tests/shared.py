"""Helpers shared by several test modules and the benchmark: the property tests' settings, the
catalog's sympy forms, hand-built cases, and one vectorised synthesis epoch."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

import numpy as np
import sympy
from hypothesis import settings

from allora_ref.spec.confidence_intervals import confidence_interval
from allora_ref.spec.epoch import EpochInputs, TopicState, step
from allora_ref.spec.inference_synthesis import (
    Submissions, SynthesisState, reported_entries, settle, synthesise)

CATALOG = Path(__file__).resolve().parent.parent / "equations" / "catalog.toml"

#: ``make test-explore`` sets ALLORA_EXPLORE to a factor: every property then runs that many times
#: more examples, from fresh random seeds (conftest.py); unset, the properties are deterministic.
EXPLORE = int(os.environ.get("ALLORA_EXPLORE", "0"))


def examples(n: int) -> settings:
    """Hypothesis settings of a property: ``n`` examples, or ``n`` x ALLORA_EXPLORE."""
    return settings(max_examples=n * EXPLORE if EXPLORE else n)


def catalog_form(number: int):
    """The catalog's sympy form of eq ``number`` as a numpy function of keyword arguments."""
    entry = next(e for e in tomllib.loads(CATALOG.read_text(encoding="utf-8"))["equation"]
                 if e["number"] == number)
    names = entry["symbols"].split()
    symbols = {name: sympy.Symbol(name, real=True) for name in names}
    f = sympy.lambdify([symbols[n] for n in names],
                       sympy.sympify(entry["sympy"], locals=symbols), "numpy")
    return lambda **values: f(*(values[n] for n in names))


def in_window(window: np.ndarray) -> np.ndarray:
    """The scores of a window (eq 28), in its order: its NaN entries are not in it."""
    return window[~np.isnan(window)]


def silencing_case():
    """Three reputers (stake 1 each) agree; three (stake 2 each, 2/3 of the stake) each report
    one loss far off in a different direction: the ascent wants to silence the majority."""
    rng = np.random.default_rng(0)
    truth = rng.normal(-2, 0.05, 6)
    outliers = truth + np.array([[1.5, 0, 0, 0, 0, 0], [0, -1.5, 0, 0, 0, 0],
                                 [0, 0, 1.5, 0, -1.0, 0]])
    return np.vstack([np.tile(truth, (3, 1)), outliers]), np.array([1.0, 1, 1, 2, 2, 2])


#: One inferer, two forecasters: the loss vector every reputer reports, in the DEVIATIONS §2
#: order - network, naive, inferer 0, forecast-implied 0-1, one-out forecast-implied (k0 j0,
#: k1 j0), one-out inferer 0, one-out forecasters 0-1, one-in forecasters 0-1. The one-out row of
#: the lone inferer and the one-out forecast-implied inferences do not exist (nothing is left
#: when inferer 0 is withheld).
ONE_INFERER_LOSSES = [-2.0, -1.8, -2.0, -2.0, -2.0, np.nan, np.nan, np.nan, -1.9, -2.05, -1.95,
                      -1.85]


def one_inferer_epoch(params, topic_reward: float = 100.0):
    """The first epoch of a topic with one inferer, two forecasters and two reputers of equal
    stake that both report ONE_INFERER_LOSSES (the entries of the profile's layout)."""
    submissions = Submissions([0.3], [[-2.1], [-1.9]])
    state = TopicState.initial(1, 2, [1.0, 1.0], params)
    reports = np.tile(ONE_INFERER_LOSSES, (2, 1))[:, reported_entries(1, 2, params)]
    epoch, _ = step(state, EpochInputs(submissions, reports, topic_reward), params)
    return epoch


def spec_epoch(inputs: dict, params) -> dict:
    """The vectorised spec's outputs under the loop oracle's keys."""
    state = SynthesisState(inputs["previous_network_log_loss"], inputs["state_regrets"])
    inferred = synthesise(state, Submissions(inputs["inferences"],
                                             inputs["forecasted_log_losses"]), params)
    losses, after = settle(state, inferred, inputs["stakes"], inputs["reported_log_losses"],
                           params)
    network = inferred.members[0]
    if network.any():
        confidence = confidence_interval(inferred.values[0, network],
                                         inferred.weights[0, network], params)
    else:
        confidence = np.full(len(params.ci_percentiles), np.nan)
    return {
        "forecasted_regrets": inferred.forecasted_regrets,
        "forecast_implied": inferred.forecast_implied,
        "one_out_forecast_implied": inferred.one_out_forecast_implied,
        "values": inferred.values,
        "members": inferred.members,
        "weights": inferred.weights,
        "combined": inferred.combined,
        "confidence": confidence,
        "losses": losses,
        "regrets": after.regrets,
        "previous_network_log_loss": after.previous_network_log_loss,
    }


def assert_each_topic(batched, singles, shape=None, path: str = "") -> None:
    """Each topic's part of a batched result - leading batch axes ``shape``, by default one axis
    over ``singles`` - equals that topic's single-topic result bit for bit (NaN equal to NaN),
    field by field through dataclasses and tuples; None and shared ints or strings must match."""
    shape = (len(singles),) if shape is None else shape
    first = singles[0]
    if dataclasses.is_dataclass(first):
        for field in dataclasses.fields(first):
            assert_each_topic(getattr(batched, field.name),
                              [getattr(s, field.name) for s in singles], shape,
                              f"{path}.{field.name}")
    elif isinstance(first, tuple):
        assert len(batched) == len(first) and all(len(s) == len(first) for s in singles), path
        for k in range(len(first)):
            assert_each_topic(batched[k], [s[k] for s in singles], shape, f"{path}[{k}]")
    elif first is None:
        assert batched is None and all(s is None for s in singles), path
    elif isinstance(first, (int, str)) and not isinstance(batched, np.ndarray) \
            and batched == first:                                     # shared by the batch
        assert all(s == first for s in singles), path
    else:
        for index, single in zip(np.ndindex(shape), singles, strict=True):
            part = np.asarray(batched)[index]
            assert np.shape(part) == np.shape(single), (path, index)
            assert np.array_equal(part, single, equal_nan=True), (path, index, part, single)

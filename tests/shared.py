"""Helpers shared by several test modules: the catalog's sympy forms and hand-built cases."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import sympy

CATALOG = Path(__file__).resolve().parent.parent / "equations" / "catalog.toml"


def catalog_form(number: int):
    """The catalog's sympy form of eq ``number`` as a numpy function of keyword arguments."""
    entry = next(e for e in tomllib.loads(CATALOG.read_text(encoding="utf-8"))["equation"]
                 if e["number"] == number)
    names = entry["symbols"].split()
    symbols = {name: sympy.Symbol(name, real=True) for name in names}
    f = sympy.lambdify([symbols[n] for n in names],
                       sympy.sympify(entry["sympy"], locals=symbols), "numpy")
    return lambda **values: f(*(values[n] for n in names))


def silencing_case():
    """Three reputers (stake 1 each) agree; three (stake 2 each, 2/3 of the stake) each report
    one loss far off in a different direction: the ascent wants to silence the majority."""
    rng = np.random.default_rng(0)
    truth = rng.normal(-2, 0.05, 6)
    outliers = truth + np.array([[1.5, 0, 0, 0, 0, 0], [0, -1.5, 0, 0, 0, 0],
                                 [0, 0, 1.5, 0, -1.0, 0]])
    return np.vstack([np.tile(truth, (3, 1)), outliers]), np.array([1.0, 1, 1, 2, 2, 2])

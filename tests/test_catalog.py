"""The equation catalog (``equations/catalog.toml``) agrees with the paper, the code and the tests.

"Equation numbers are the index": every numbered equation of the whitepaper has one catalog entry;
a specified equation names the functions that implement it (whose docstrings cite it), the
notebook heading that derives it, the tests that check it (whose ``pytest.mark.eq`` markers name
it, and vice versa) and the ``Params`` fields that change it. Field documentation:
``equations/README.md``.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import math
import os
import re
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import sympy

from allora_ref import export
from allora_ref.params import Params, load_profile

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "equations" / "catalog.toml"
TESTS = ROOT / "tests"
#: The specification text, beside the repository like the golden data (see tests/conftest.py).
WHITEPAPER = ROOT.parent / "shared" / "whitepaper" / "000_74baa935cc128db0.txt"

N_EQUATIONS = 57
SPECIFIED = range(1, N_EQUATIONS + 1)   # every numbered equation is implemented
STATUSES = {"specified", "pending"}
SYMPY_REQUIRED = {4, 6, 7, 8, 15, 17}

COMMON_KEYS = {"number", "section", "title", "latex", "status", "printed", "note"}
SPECIFIED_KEYS = {"functions", "notebook", "tests", "deviations", "sympy", "symbols",
                  "established", "cell"}
#: How the spec establishes an equation: a "proof" of its asserted properties or of its form for
#: every value of its symbols, a symbolic "identity" it is checked against, "numeric" checks only,
#: or a "definition" with nothing to derive.
ESTABLISHED = {"proof", "identity", "numeric", "definition"}
#: The closed forms (DESIGN "Symbolic where the paper is symbolic", and the properties the paper
#: asserts of them): each needs a proof or identity cell.
CLOSED_FORMS = {5, 6, 7, 15, 17, 18, 25, 28, 29, 37, 40, 41, 44, 45, 47, 48, 50, 51, 52, 53, 57}
PENDING_KEYS = {"notebook", "deviations_expected"}

#: Public functions of the generated spec modules that implement no numbered equation. Keep this
#: minimal: anything that computes a numbered equation belongs in the catalog instead.
HELPERS = {
    # Cold start only (Params.cold_start = "chain", DEVIATIONS §1): a masked median, which the
    # paper never uses.
    "allora_ref.spec.inference_synthesis.masked_median",
    # Bookkeeping for the §3.1 secondary inferences (prose items 1-3, no equation): which workers
    # each combination row may hold.
    "allora_ref.spec.inference_synthesis.row_families",
    # The parts of the one-out forecast-implied kernel (§3.1 item 2 with eqs 3-8), which the
    # catalogued one_out_forecast_implied_inferences composes; _plain is its formula written
    # out, the kernel's test oracle.
    "allora_ref.spec.inference_synthesis.one_out_blocks",
    "allora_ref.spec.inference_synthesis.one_out_forecast_implied_plain",
    "allora_ref.spec.inference_synthesis.forecast_implied_with_one_out",
    "allora_ref.spec.inference_synthesis.one_out_largest",
    "allora_ref.spec.inference_synthesis.one_out_medians",
    "allora_ref.spec.inference_synthesis.one_out_spreads",
    "allora_ref.spec.inference_synthesis.one_out_weighted_inferences",
    # Masked maximum shared by the guard rails and the weight scaling of eqs 5, 10.
    "allora_ref.spec.inference_synthesis.best_member",
    # A per-topic number as a float for one topic, an array for a batch of topics.
    "allora_ref.spec.inference_synthesis.topic_number",
    # The epoch driver (DESIGN: "one epoch is one pure step"): it only composes eqs 1-46, each
    # catalogued at the function that computes it; its docstring cites the range for the
    # float64 guard's errors.
    "allora_ref.spec.epoch.step",
    # The epoch's input check on the reputers' state (listening coefficients of eq 34).
    "allora_ref.spec.epoch.check_reputer_state",
    # The deployed chain's bounded active sets (chain/v0.6.md §5-7, not in the paper): who takes
    # part in an epoch, the score EMAs and topic quantile scores that decide it, and the
    # loss-vector entries of the workers left out; the catalogued kept_forecast_elements (eq 3)
    # and the step use them.
    "allora_ref.spec.participant_rewards.uses_active_sets",
    "allora_ref.spec.participant_rewards.score_emas",
    "allora_ref.spec.participant_rewards.lowest_record",
    "allora_ref.spec.participant_rewards.admitted",
    "allora_ref.spec.participant_rewards.admissions",
    "allora_ref.spec.participant_rewards.scored_active_sets",
    "allora_ref.spec.epoch.active_submissions",
    "allora_ref.spec.epoch.active_reports",
    "allora_ref.spec.epoch.entries_of",
    # §5 input check shared by every tokenomics function: a finite, non-negative token amount.
    "allora_ref.spec.token_emission.amount",
    # §5 supply bookkeeping: the vesting schedule of the allocation, which the paper does not give.
    "allora_ref.spec.token_emission.vesting_unlocks",
}

# --- equation citations: "Eq 6", "eqs 3, 9", "Eqs 3-8", "(with 8, 11)" ------------------------

_NUMBERS = r"\d+(?:\s*[-\u2013]\s*\d+)?"
_LIST = rf"{_NUMBERS}(?:\s*(?:,|\band\b|&)\s*{_NUMBERS})*"
_CITATION = re.compile(rf"\b(?:eqs?|equations?)\.?\s+({_LIST})|\(with\s+({_LIST})\)",
                       re.IGNORECASE)


def cited(text: str) -> set[int]:
    """The equation numbers a text cites; ranges expand ("Eqs 3-5" -> {3, 4, 5})."""
    numbers: set[int] = set()
    for match in _CITATION.finditer(text or ""):
        for part in re.split(r"\s*(?:,|\band\b|&)\s*", match[1] or match[2], flags=re.I):
            bounds = [int(b) for b in re.split(r"\s*[-\u2013]\s*", part)]
            numbers.update(range(bounds[0], bounds[-1] + 1))
    return numbers


#: Texts and the equation numbers they cite.
CITATIONS = [
    ("Eq 6: phi", {6}),
    ("Eqs 3, 9: sum", {3, 9}),
    ("Eqs 3-8: I_ik", {3, 4, 5, 6, 7, 8}),
    ("Eqs 9-11 for every row", {9, 10, 11}),
    ("Eqs 5, 10 (with 8, 11): w", {5, 8, 10, 11}),
    ("Logarithm of eq 7", {7}),
    ("# ## Eqs 12-13: every inference", {12, 13}),
    ("equation 15 and 16", {15, 16}),
    ("EQ 2", {2}),
    ("the squared-error loss (eq 13)", {13}),
    ("sequence 3 of frequencies 4", set()),
]


def test_citation_parser():
    wrong = [f"{text!r}: {sorted(cited(text))}, not {sorted(numbers)}"
             for text, numbers in CITATIONS if cited(text) != numbers]
    assert not wrong, "citations misread: " + "; ".join(wrong)


# --- loading -----------------------------------------------------------------------------------

@cache
def catalog() -> tuple[dict, ...]:
    with CATALOG.open("rb") as f:
        return tuple(tomllib.load(f)["equation"])


def entry(number: int) -> dict:
    return next(e for e in catalog() if e.get("number") == number)


def specified() -> list[dict]:
    return [e for e in catalog() if e.get("status") == "specified"]


def resolve(qualified: str):
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def params_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(Params)}


@cache
def marked_tests() -> dict[str, set[int]]:
    """Every test in tests/test_*.py -> the numbers of its ``pytest.mark.eq`` markers."""
    result: dict[str, set[int]] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marks = set()
        for node in tree.body:          # pytestmark = pytest.mark.eq(...) or [...]
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
                module_marks |= _eq_numbers(node.value, f"{path.name}::pytestmark")
        scopes = [(node, "") for node in tree.body]
        for node, prefix in scopes:
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                class_marks = set().union(*(_eq_numbers(d, f"{path.name}::{node.name}")
                                            for d in node.decorator_list))
                for child in node.body:
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                            and child.name.startswith("test"):
                        nodeid = f"tests/{path.name}::{node.name}::{child.name}"
                        result[nodeid] = module_marks | class_marks | _marks(child, nodeid)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and node.name.startswith("test"):
                nodeid = f"tests/{path.name}::{node.name}"
                result[nodeid] = module_marks | _marks(node, nodeid)
    return result


def _marks(function: ast.AST, nodeid: str) -> set[int]:
    return set().union(*(_eq_numbers(d, nodeid) for d in function.decorator_list))


def _eq_numbers(node: ast.AST, where: str) -> set[int]:
    """The numbers of every ``pytest.mark.eq(...)`` call in an expression (decorator, list)."""
    numbers: set[int] = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and ast.unparse(call.func) in ("pytest.mark.eq", "mark.eq"):
            for arg in call.args:
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, int)):
                    pytest.fail(f"{where}: pytest.mark.eq takes literal equation numbers, "
                                f"got {ast.unparse(arg)!r} (the catalog test reads them statically)")
                numbers.add(arg.value)
    return numbers


def generated_modules() -> list[str]:
    """The module names of the spec modules (``allora_ref.spec.*``) exported from the notebooks;
    the other exported modules (the §3.3 experiment, the claims ledger) are not the mechanism."""
    names = (".".join(path.relative_to(ROOT).with_suffix("").parts) for path in export.exports())
    return sorted(name for name in names if name.startswith("allora_ref.spec."))


# --- shape of the catalog ---------------------------------------------------------------------
# Each check walks every equation and lists every one that fails it, in one assertion.

def assert_none(problems, what: str) -> None:
    """Fail with every problem found (one line each), if there is any."""
    problems = list(problems)
    assert not problems, f"{len(problems)} {what}:\n" + "\n".join(problems)


def test_numbers_are_1_to_57_in_order():
    numbers = [e.get("number") for e in catalog()]
    assert numbers == list(range(1, N_EQUATIONS + 1)), \
        f"catalog numbers must be 1..{N_EQUATIONS} in order, got {numbers}"


def entry_shape_problems(e: dict):
    number = e["number"]
    for key in ("section", "title", "latex", "status"):
        if not (isinstance(e.get(key), str) and e[key].strip()):
            yield f"eq {number}: no {key}"
            return
    if not re.fullmatch(r"\d+\.\d+", e["section"]):
        yield f"eq {number}: section {e['section']!r} is not like '3.1'"
    if e["status"] not in STATUSES:
        yield f"eq {number}: status {e['status']!r} not in {STATUSES}"
    allowed = COMMON_KEYS | (SPECIFIED_KEYS if e["status"] == "specified" else PENDING_KEYS)
    if set(e) - allowed:
        yield f"eq {number}: unknown fields {sorted(set(e) - allowed)}"
    if re.search(r"\\quad \(\d+\)\s*$", e["latex"]):
        yield f"eq {number}: latex carries its equation tag; the number is a field of its own"
    if "printed" in e and not (e["printed"] != e["latex"] and e.get("note")):
        yield f"eq {number}: 'printed' (the erratum as printed) needs a different latex and a note"
    for key in ("note", "deviations_expected"):
        if not isinstance(e.get(key, ""), str):
            yield f"eq {number}: {key} must be text"


def test_every_entry_has_section_title_latex_status():
    assert_none((p for e in catalog() for p in entry_shape_problems(e)), "malformed entries")


def test_sections_follow_the_paper():
    sections = [tuple(map(int, e["section"].split("."))) for e in catalog()]
    assert sections == sorted(sections), "sections must not go backwards with the numbers"
    assert entry(1)["section"] == "3.1" and entry(N_EQUATIONS)["section"] == "5.2"


def test_implemented_equations_are_specified():
    assert_none((f"eq {n}: implemented now, so its status must be 'specified'"
                 for n in SPECIFIED if entry(n)["status"] != "specified"),
                "implemented equations not marked specified")


def test_latex_is_the_papers():
    """Each latex is the paper's display equation (tag and closing punctuation removed), except
    where an erratum is fixed: then ``printed`` is the paper's."""
    if not WHITEPAPER.is_file():
        reason = f"whitepaper text not found at {WHITEPAPER}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must check the catalog against the paper")
        pytest.skip(reason)
    text = WHITEPAPER.read_text(encoding="utf-8")
    paper = {}
    for block in re.findall(r"\$\$(.*?)\$\$", text, re.S):
        match = re.fullmatch(r"\s*(.*?)[.,]?\s*\\quad \((\d+)\)\s*", block, re.S)
        if match:
            paper[int(match[2])] = match[1]
    assert sorted(paper) == list(range(1, N_EQUATIONS + 1)), "the paper numbers eqs 1-57"
    assert_none((f"eq {e['number']}: paper {paper[e['number']]!r}" for e in catalog()
                 if e.get("printed", e["latex"]) != paper[e["number"]]),
                "latex entries differ from the paper (fix only errata, keeping 'printed')")


# --- specified equations: functions, notebooks, tests, deviations -----------------------------

def listing_problems(number: int):
    e = entry(number)
    for key in ("functions", "tests", "deviations"):
        if not isinstance(e.get(key), list):
            yield f"eq {number}: '{key}' must be a list"
            return
    if not e["functions"]:
        yield f"eq {number}: no implementing function"
    if not e["tests"]:
        yield f"eq {number}: no test"
    if not isinstance(e.get("notebook"), str):
        yield f"eq {number}: no notebook"
    for key in ("functions", "tests", "deviations"):
        if len(set(e[key])) != len(e[key]):
            yield f"eq {number}: duplicate {key}"


def test_specified_equation_has_functions_notebook_tests():
    assert_none((p for n in SPECIFIED for p in listing_problems(n)), "incomplete entries")


def function_problems(number: int, qualified: str):
    try:
        function = resolve(qualified)
    except (ImportError, AttributeError) as error:
        yield f"eq {number}: function {qualified} does not import ({error})"
        return
    if not callable(function):
        yield f"eq {number}: {qualified} is not callable"
        return
    defined = f"{function.__module__}.{function.__qualname__}"
    if defined != qualified:
        yield f"eq {number}: {qualified} is defined as {defined}"
    doc = inspect.getdoc(function) or ""
    if number not in cited(doc):
        yield f"eq {number}: the docstring of {qualified} does not cite eq {number}: {doc[:120]!r}"


def test_function_exists_and_cites_its_equation():
    functions = [(e["number"], q) for e in specified() for q in e.get("functions", [])]
    assert functions, "the catalog names no function"
    assert_none((p for number, q in functions for p in function_problems(number, q)),
                "catalogued functions missing or not citing their equation")


def heading_problems(number: int):
    e = entry(number)
    path = ROOT / e["notebook"]
    if not path.is_file():
        yield f"eq {number}: notebook {e['notebook']} does not exist"
        return
    headings = [line for line in path.read_text(encoding="utf-8").splitlines()
                if re.match(r"# ##+ ", line)]
    if not any(number in cited(h) for h in headings):
        yield f"eq {number}: no '# ## ...' heading of {e['notebook']} cites eq {number}"


def test_notebook_heading_cites_the_equation():
    assert_none((p for n in SPECIFIED for p in heading_problems(n)),
                "equations without a notebook heading")


def listed_test_problems(number: int):
    for nodeid in entry(number)["tests"]:
        path, _, name = nodeid.partition("::")
        if not (ROOT / path).is_file():
            yield f"eq {number}: test file {path} does not exist"
        elif nodeid not in marked_tests():
            yield f"eq {number}: test {nodeid} is not defined"
        elif number not in marked_tests()[nodeid]:
            yield f"eq {number}: test {nodeid} has no pytest.mark.eq(...) naming {number}"


def test_listed_tests_exist_and_carry_the_marker():
    assert_none((p for n in SPECIFIED for p in listed_test_problems(n)),
                "listed tests missing or unmarked")


def test_every_marked_test_is_listed():
    def unlisted(number):
        listed = set(entry(number)["tests"])
        return [f"eq {number}: {nodeid} is marked eq({number}) but not listed"
                for nodeid, numbers in sorted(marked_tests().items())
                if number in numbers and nodeid not in listed]
    assert_none((p for n in SPECIFIED for p in unlisted(n)), "marked tests not in the catalog")


def test_markers_name_catalogued_equations():
    wrong = {nodeid: sorted(n for n in numbers if not 1 <= n <= N_EQUATIONS)
             for nodeid, numbers in marked_tests().items()}
    assert not {k: v for k, v in wrong.items() if v}, f"markers outside eqs 1-57: {wrong}"


def test_deviations_are_params_fields():
    assert_none((f"eq {n}: deviations {sorted(set(entry(n)['deviations']) - params_fields())} "
                 "are not fields of Params" for n in SPECIFIED
                 if set(entry(n)["deviations"]) - params_fields()),
                "deviations that are not Params fields")


def test_every_spec_function_is_catalogued():
    catalogued = {f for e in catalog() for f in e.get("functions", [])}
    assert not HELPERS & catalogued, \
        f"in the catalog, so not helpers: {sorted(HELPERS & catalogued)}"
    public = set()
    for name in generated_modules():
        module = importlib.import_module(name)
        public |= {f"{name}.{attr}" for attr, obj in vars(module).items()
                   if inspect.isfunction(obj) and not attr.startswith("_")
                   and obj.__module__ == name}
    assert not HELPERS - public, f"allow-listed helpers that do not exist: {HELPERS - public}"
    missing = sorted(public - catalogued - HELPERS)
    assert not missing, f"spec functions in no catalog entry (and not helpers): {missing}"


# --- sympy forms --------------------------------------------------------------------------------

def symbolic(number: int) -> tuple[sympy.Expr, dict[str, sympy.Symbol]]:
    e = entry(number)
    names = e.get("symbols", "").split()
    assert names, f"eq {number}: sympy form without 'symbols'"
    symbols = {name: sympy.Symbol(name, real=True) for name in names}
    try:
        expr = sympy.sympify(e["sympy"], locals=symbols)
    except (sympy.SympifyError, SyntaxError, TypeError) as error:
        pytest.fail(f"eq {number}: sympy {e['sympy']!r} does not parse: {error}")
    return expr, symbols


def test_closed_forms_have_sympy():
    assert_none((f"eq {n}: closed form without a 'sympy' field" for n in sorted(SYMPY_REQUIRED)
                 if not entry(n).get("sympy")), "closed forms without sympy")


def sympy_problems(number: int):
    e = entry(number)
    names = e.get("symbols", "").split()
    if not names:
        yield f"eq {number}: sympy form without 'symbols'"
        return
    symbols = {name: sympy.Symbol(name, real=True) for name in names}
    try:
        expr = sympy.sympify(e["sympy"], locals=symbols)
    except (sympy.SympifyError, SyntaxError, TypeError) as error:
        yield f"eq {number}: sympy {e['sympy']!r} does not parse: {error}"
        return
    if expr.free_symbols != set(symbols.values()):
        yield (f"eq {number}: sympy uses {sorted(map(str, expr.free_symbols))}, "
               f"declares {sorted(symbols)}")


def test_sympy_parses_with_declared_symbols():
    forms = [e["number"] for e in catalog() if "sympy" in e]
    assert forms, "the catalog has no sympy form"
    assert_none((p for n in forms for p in sympy_problems(n)), "sympy forms that do not parse")


def test_eq07_is_the_derivative_of_eq06():
    phi, s6 = symbolic(6)
    dphi, s7 = symbolic(7)
    dphi = dphi.subs({s7[n]: s6[n] for n in s6})
    assert sympy.simplify(sympy.diff(phi, s6["x"]) - dphi) == 0, "eq 7 is not d(eq 6)/dx"


P, C = 3.0, 0.75
X = np.array([-4.0, -1.0, 0.0, 0.5, 0.75, 1.3, 2.0, 6.0])


def _numeric(number: int):
    expr, symbols = symbolic(number)
    return sympy.lambdify([symbols[n] for n in sorted(symbols)], expr, "numpy"), sorted(symbols)


def _call(f_names, **values):
    f, names = f_names
    return f(*(values[n] for n in names))


def _exact(number: int, **values) -> float:
    """The sympy form evaluated at 30 significant digits (a reference free of rounding)."""
    expr, symbols = symbolic(number)
    return float(expr.evalf(30, subs={symbols[n]: sympy.Float(v, 30) for n, v in values.items()}))


@pytest.mark.parametrize("number, function", [
    (6, "allora_ref.spec.inference_synthesis.potential"),
    (7, "allora_ref.spec.inference_synthesis.potential_gradient"),
    (7, "allora_ref.spec.inference_synthesis.log_potential_gradient"),
])
def test_sympy_agrees_with_the_package(number, function):
    expected = np.array([_exact(number, x=x, p=P, c=C) for x in X])
    got = resolve(function)(X, P, C)
    if function.endswith("log_potential_gradient"):
        got = np.exp(got)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0,
                               err_msg=f"eq {number}: {function} differs from its sympy form")


def test_sympy_eq04_agrees_with_forecasted_regrets():
    from allora_ref.spec.inference_synthesis import forecasted_regrets
    b, previous, losses = 10.0, 0.02, np.array([[0.01, 0.05, 0.3]])
    expected = _call(_numeric(4), L_prev=previous, L=losses, b=b)
    got = forecasted_regrets(math.log(previous, b), np.log(losses) / math.log(b))
    np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg="eq 4: forecasted_regrets")


@pytest.mark.parametrize("profile", ["whitepaper", "allora-simulator"])
def test_sympy_eq08_agrees_with_normalised_regrets(profile):
    from allora_ref.spec.inference_synthesis import normalised_regrets
    params = load_profile(profile)
    regrets = np.array([[0.3, -0.1, 0.5, 2.0]])
    sigma = np.std(regrets, ddof=params.sigma_ddof)
    expected = _call(_numeric(8), R=regrets, sigma=sigma, epsilon=params.epsilon)
    got = normalised_regrets(regrets, np.ones_like(regrets, bool), params)
    np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg="eq 8: normalised_regrets")


def test_sympy_eq15_agrees_with_updated_regrets():
    from allora_ref.spec.inference_synthesis import updated_regrets
    params = load_profile("whitepaper")
    b = params.log_base
    previous, network, workers = np.array([[0.4, -0.2, 0.1]]), 0.05, np.array([[0.02, 0.2, 0.05]])
    expected = _call(_numeric(15), alpha=params.alpha_regret, L=network, L_l=workers,
                     R_prev=previous, b=b)
    got = updated_regrets(previous, np.array([math.log(network, b)]), np.log(workers) / math.log(b),
                          np.ones_like(previous, bool), params)
    np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg="eq 15: updated_regrets")


def test_sympy_eq17_agrees_with_weighted_cdf():
    from allora_ref.spec.confidence_intervals import weighted_cdf
    weights = np.array([0.5, 2.0, 1.0, 0.25])
    expected = _call(_numeric(17), c_l=np.cumsum(weights), w_l=weights, c_N=weights.sum())
    np.testing.assert_allclose(weighted_cdf(weights), expected, rtol=1e-12,
                               err_msg="eq 17: weighted_cdf")


def test_sympy_eq18_agrees_with_weighted_quantiles():
    from allora_ref.spec.confidence_intervals import weighted_cdf, weighted_quantiles
    values, weights = np.array([1.0, 2.5, 4.0, 7.0]), np.array([0.5, 2.0, 1.0, 0.25])
    cdf = weighted_cdf(weights)
    for q in (0.2, 0.5, 0.8):
        a = int(np.nonzero(cdf <= q)[0][-1])          # the largest index with C <= q
        expected = _call(_numeric(18), q=q, I_a=values[a], I_b=values[a + 1], C_a=cdf[a],
                         C_b=cdf[a + 1])
        for ends in ("clamp", "extrapolate"):
            np.testing.assert_allclose(weighted_quantiles(values, weights, [q], ends), [expected],
                                       rtol=1e-12, err_msg=f"eq 18 at q = {q} ({ends})")


def test_sympy_eq19_eq20_agree_with_the_experiment():
    from allora_ref.experiment import context_sensitivity, experience_factor
    epochs = np.array([0.0, 1.0, 23.1, 100.0, 1000.0])
    expected = [_exact(19, i=i) for i in epochs]
    np.testing.assert_allclose(experience_factor(epochs), expected, rtol=1e-14,
                               err_msg="eq 19: experience_factor")
    draws = np.array([0.0, 0.2, 0.5, 0.77, 1.0])
    expected = [_exact(20, a=10.0, b=0.5, x=x) for x in draws]
    np.testing.assert_allclose(context_sensitivity(draws, 10.0, 0.5), expected, rtol=1e-14,
                               err_msg="eq 20: context_sensitivity")


def _section_5_cases():
    from allora_ref.spec import token_emission as te
    from allora_ref.spec import topic_rewards as tr
    sim = load_profile("allora-simulator")
    w = np.array([3.0, 1.0, 0.5])
    return [
        (47, dict(e=0.019, N_staked=4.7e7, N_epochs=30.0), te.total_emission(0.019, 4.7e7, 30.0)),
        (48, dict(f_e=0.025, T_total=3.595e8, N_circ=1.55e8, N_staked=4.7e7, N_total=1e9),
         te.target_emission(3.595e8, 1.55e8, 4.7e7, 1e9, 0.025)),
        (49, dict(f_stakers=0.5, e=0.019), te.monthly_percentage_yield(0.5, 0.019)),
        (50, dict(xi_max=0.0095, f_stakers=0.4), te.maximum_emission(0.0095, 0.4)),
        (51, dict(e_target=0.03, e_max=0.019), te.capped_target_emission(0.03, 0.019)),
        (52, dict(alpha_e=0.1, e_hat=0.016, e_prev=0.019),
         te.exponential_moving_average(0.016, 0.019, 0.1, True, "first-value")),
        (53, dict(alpha_e=0.1, k=0.25), te.recalibrated_alpha(0.1, 4.0)),
        (54, dict(f_v=0.25, E=1e6, S_v=2.0, S_sum=7.0),
         tr.validator_emission(1e6, [2.0, 5.0], 0.25)[0]),
        (55, dict(f_v=0.25, E=1e6, w_t=3.0, w_sum=w.sum()), tr.topic_emission(1e6, w, 0.25)[0]),
        (56, dict(alpha_t=0.9375, w_hat=5.0, w_prev=2.0), tr.topic_weights(5.0, 2.0, True, sim)),
        (57, dict(S_t=1.2e6, C_t=7.4e4, mu=0.5, nu=0.5),
         tr.target_topic_weight(1.2e6, 7.4e4, 0.5, 0.5)),
    ]


def test_sympy_section_5_agrees_with_the_package():
    """Eqs 47-57: each sympy form, evaluated at 30 digits, equals the package's function."""
    for number, values, got in _section_5_cases():
        np.testing.assert_allclose(got, _exact(number, **values), rtol=1e-13,
                                   err_msg=f"eq {number} differs from its sympy form")


# --- how each equation is established ---------------------------------------------------------

def code_cells(notebook: str) -> list[str]:
    """The sources of the code cells of a py:percent notebook (markdown cells excluded)."""
    cells = re.split(r"^# %%", (ROOT / notebook).read_text(encoding="utf-8"), flags=re.M)[1:]
    return [cell for cell in cells if not cell.startswith(" [markdown]")]


def test_every_equation_says_how_it_is_established():
    """``established`` is one of ESTABLISHED; a proof or identity names its ``cell``: a code cell
    of the equation's notebook with the comment line ``# <cell>``, which cites the equation and
    asserts; every closed form is established by a proof or an identity."""
    failures = []
    for e in catalog():
        n, how, cell = e.get("number"), e.get("established"), e.get("cell")
        if how not in ESTABLISHED:
            failures.append(f"eq {n}: established {how!r} is not one of {sorted(ESTABLISHED)}")
        elif n in CLOSED_FORMS and how not in ("proof", "identity"):
            failures.append(f"eq {n}: a closed form established as {how!r}, not by a proof")
        elif how in ("proof", "identity"):
            found = [c for c in code_cells(e.get("notebook", "")) if
                     re.search(rf"^# {re.escape(cell)}\s*$", c, re.M)] if cell else []
            if not cell or not cell.startswith(f"{how}:") or n not in cited(cell):
                failures.append(f"eq {n}: cell {cell!r} must read '{how}: eq {n}' (or cite it)")
            elif len(found) != 1 or not re.search(r"^\s*(assert|np\.testing\.assert)", found[0],
                                                  re.M):
                failures.append(f"eq {n}: {e.get('notebook')} has {len(found)} code cells with "
                                f"'# {cell}' (need one, with an assert)")
        elif cell is not None:
            failures.append(f"eq {n}: a {how} equation names no cell")
    assert not failures, "\n".join(failures)


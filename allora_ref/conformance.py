"""The conformance runner: another implementation, driven over JSON lines, against the vectors.

``allora-ref conform --cmd "PROGRAM ARGS"`` starts the program once and writes one request per
case to its stdin, one JSON object per line::

    {"id": CASE-ID, "manifest": {...}, "parameters": {...}, "inputs": {...}}

and reads one response line per request from its stdout::

    {"id": CASE-ID, "outputs": {...}}       the outputs, shaped like the case's "expected"
    {"id": CASE-ID, "error": "message"}     the inputs are rejected
    {"id": CASE-ID, "skip": "reason"}       the implementation does not cover this case

``allora-ref conform --results FILE`` reads the same response lines from a file written offline.
Each case ends as pass, fail, skip or error: a wrong or missing output and accepted invalid
inputs fail; rejected valid inputs, a response that breaks the protocol, a timeout or a crash of the
program is an error of that case only (the program is restarted for the next one), reported
with what the program wrote to stderr meanwhile. What the program may do and what the runner
keeps of it is bounded (``program.py``); a run that checked nothing is not a success.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from allora_ref.compare import LISTED, numeric_errors
from allora_ref.program import (LINE_LIMIT, Program, leading_id, parse_line, printable,
                                protocol_problem, shorten)
from allora_ref.vectors import (MISSING, case_id, decode_array, decode_number, field_name,
                                paired_fields)

STATUSES = ("pass", "fail", "skip", "error")
#: The size of the pieces in which an overlong results line is skipped.
_SKIP = 2**20
#: The largest results file read, in bytes (the responses to the shipped set take ~3 MB).
RESULTS_LIMIT = 2**28
#: How many wrong fields a failure names (in the order of the case: the first is the earliest).
FIELDS_LISTED = 3


@dataclass
class Result:
    """The outcome of one case, with its largest errors over every compared value."""

    id: str
    status: str
    message: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    max_ulp: float = 0.0
    worst: str = ""
    """The worst value: a field path with its element index, e.g. ``weights[0, 3]``."""
    stderr: str = ""
    seconds: float = 0.0

    def maxima(self) -> str:
        return f"max abs {self.max_abs:.3g}, rel {self.max_rel:.3g}, ulp {self.max_ulp:.3g}"

    def errors(self) -> str:
        return f"{self.maxima()}, worst {self.worst}" if self.worst else self.maxima()


def request(case: dict) -> dict:
    """The request line of a case: everything but what is expected."""
    return {"id": case_id(case["manifest"]), "manifest": case["manifest"],
            "parameters": case["parameters"], "inputs": case["inputs"]}


# --- judging a response ---------------------------------------------------------------------

def judge(case: dict, response: dict) -> Result:
    """The result of a well-formed response to ``case``."""
    identifier = case_id(case["manifest"])
    if "skip" in response:
        return Result(identifier, "skip", response["skip"])
    if "expected_error" in case:
        if "error" in response:
            return Result(identifier, "pass", f"rejected: {response['error']}")
        return Result(identifier, "fail", "accepted invalid inputs, which must be rejected "
                                          f"({case['expected_error']})")
    if "error" in response:
        return Result(identifier, "error", f"rejected valid inputs: {response['error']}")
    return compare_outputs(identifier, case["expected"], case["tolerance"], response["outputs"])


@dataclass
class _Worst:
    """The running maxima and the worst value seen (failed first, then relative error)."""

    result: Result
    failed_values: int = 0
    values: int = 0
    failed_fields: list[str] = field(default_factory=list)
    rank: tuple = (False, -1.0, -1.0)
    detail: str = ""

    def add(self, path: str, failed: bool, abs_error: float, rel_error: float, ulp: float,
            detail: str) -> None:
        r = self.result
        r.max_abs, r.max_rel, r.max_ulp = (max(r.max_abs, abs_error), max(r.max_rel, rel_error),
                                           max(r.max_ulp, ulp))
        if (failed, rel_error, abs_error) > self.rank:
            self.rank, r.worst, self.detail = (failed, rel_error, abs_error), path, detail


def compare_outputs(identifier: str, expected: dict, tolerance: dict, outputs: dict) -> Result:
    """Compare every expected field with the response's: pass if every value is within its
    field's tolerance; else fail, naming the worst value and how many are off."""
    worst = _Worst(Result(identifier, "pass"))
    for path, want, got in paired_fields(expected, outputs):
        rule = tolerance[field_name(path)]
        rtol, atol = decode_number(rule["rtol"]), decode_number(rule["atol"])
        before = worst.failed_values
        problem = _compare_field(path, want, got, rtol, atol, worst)
        if problem:
            worst.add(path, True, np.inf, np.inf, np.inf, f"{path}: {problem}")
            worst.failed_fields.append(f"{path} ({problem})")
        elif worst.failed_values > before:
            worst.failed_fields.append(path)
    result = worst.result
    if worst.failed_fields:
        result.status = "fail"
        wrong = worst.failed_fields
        listed = ", ".join(wrong[:FIELDS_LISTED]) + (", ..." if len(wrong) > FIELDS_LISTED
                                                      else "")
        result.message = (f"{len(wrong)} wrong field(s): {listed}; {worst.failed_values} "
                          f"of {worst.values} values outside tolerance; worst {worst.detail}; "
                          f"{result.maxima()}")
    return result


def _compare_field(path: str, want, got, rtol: float, atol: float, worst: _Worst) -> str:
    """Compare one field, recording its values in ``worst``; a problem that makes the whole
    field wrong (missing, wrong shape, not numbers, a wrong flag) is returned as text."""
    if got is MISSING:
        return "missing from the outputs"
    if isinstance(want, bool) or isinstance(want, int):
        worst.values += 1
        if got != want or type(got) is not type(want):
            worst.failed_values += 1
            return f"expected {json.dumps(want)}, got {json.dumps(got)}"
        return ""
    try:
        expected = decode_array(want) if isinstance(want, list) else np.array(decode_number(want))
        actual = decode_array(got) if isinstance(got, list) else np.array(decode_number(got))
    except ValueError as error:
        return str(error)
    if expected.shape != actual.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    if expected.dtype == bool or actual.dtype == bool:
        worst.values += expected.size
        wrong = int((expected != actual).sum()) if expected.dtype == actual.dtype else expected.size
        worst.failed_values += wrong
        return f"expected flags {json.dumps(want)}, got {json.dumps(got)}" if wrong else ""
    abs_error, rel_error, ulp, failed = numeric_errors(expected, actual, rtol, atol)
    worst.values += expected.size
    worst.failed_values += int(failed.sum())
    if expected.size == 0:
        return ""
    order = np.lexsort((abs_error.ravel(), rel_error.ravel(), failed.ravel()))[-1]
    where = np.unravel_index(order, expected.shape)
    name = f"{path}[{', '.join(map(str, where))}]" if expected.ndim else path
    e, a = expected[where], actual[where]
    detail = (f"{name}: expected {_shown(e)}, got {_shown(a)} (tolerance "
              f"{atol:.3g} + {rtol:.3g} |expected|)")
    worst.add(name, bool(failed[where]), float(abs_error[where]), float(rel_error[where]),
              float(ulp[where]), detail)
    return ""


def _shown(x: float) -> str:
    return "null" if np.isnan(x) else f"{x:.17g}"


# --- results written offline ---------------------------------------------------------------

def read_results(path: str | Path, known: set[str]) -> tuple[dict[str, dict | str], list[str]]:
    """The response lines of a results file for the cases ``known``, by case id; a case whose
    line breaks the protocol or a bound (``program.parse_line``), or that has two lines, maps to
    a problem text. Also returns the problems of lines that name no known case.

    Lines end at a newline only (U+2028 inside a string is text); a leading byte-order mark is
    dropped. Only the lines of known cases are kept, each at most LINE_LIMIT bytes.
    """
    results: dict[str, dict | str] = {}
    stray = []
    unknown = 0
    try:
        with open(path, "rb") as handle:
            for number, line in enumerate(_lines(handle), 1):
                if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if not line.strip():
                    continue
                response, problem = parse_line(line)
                identifier = response.get("id") if isinstance(response, dict) \
                    else leading_id(line)
                if not isinstance(identifier, str):
                    stray.append(f"{path}: line {number}: "
                                 f"{problem or 'a response must be an object with an id'}")
                elif identifier not in known:
                    unknown += 1
                    if unknown <= LISTED:
                        stray.append(f"{path}: line {number}: a result for "
                                     f"{shorten(printable(identifier), 200)}, which is not "
                                     "in the set")
                elif identifier in results:
                    results[identifier] = (f"protocol error: two results for this case ({path}, "
                                           f"line {number})")
                else:
                    problem = problem or protocol_problem(response, identifier)
                    results[identifier] = f"protocol error: {problem} ({path}, line {number})" \
                        if problem else response
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read ({error.strerror or error})") from None
    if unknown > LISTED:
        stray.append(f"{path}: {unknown - LISTED} more results for cases not in the set")
    return results, stray


def _lines(handle) -> Iterator[bytes]:
    """The newline-separated lines of a binary file; a line longer than LINE_LIMIT is cut to
    LINE_LIMIT + 1 bytes (so that it fails the bound) and the rest of it skipped. A file longer
    than RESULTS_LIMIT bytes (or endless, as /dev/zero) is a ValueError."""
    read = 0
    while line := handle.readline(LINE_LIMIT + 1):
        read += len(line)
        if len(line) > LINE_LIMIT and not line.endswith(b"\n"):
            while (rest := handle.readline(_SKIP)) and read <= RESULTS_LIMIT:
                read += len(rest)
                if rest.endswith(b"\n"):
                    break
        if read > RESULTS_LIMIT:
            raise ValueError(f"{handle.name}: longer than {RESULTS_LIMIT} bytes (the limit of "
                             "a results file)")
        yield line.rstrip(b"\r\n") if len(line) <= LINE_LIMIT else line


# --- selection and exclusions ---------------------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """Which cases to run; an empty criterion selects everything."""

    kinds: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    """A section selects its subsections: "4" selects "4.1" and "4.2"."""
    profiles: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    """Glob patterns matched against the case id, e.g. ``*/worker_scores/*``."""

    def selects(self, manifest: dict) -> bool:
        identifier = case_id(manifest)
        return ((not self.kinds or manifest["kind"] in self.kinds)
                and (not self.profiles or manifest["profile"] in self.profiles)
                and (not self.sections or any(s == want or s.startswith(want + ".")
                                              for s in manifest["sections"]
                                              for want in self.sections))
                and (not self.names or any(fnmatchcase(identifier, p) for p in self.names)))


@dataclass(frozen=True)
class Exclusion:
    """A line of an exclude file: a glob over case ids, and why those cases are not run."""

    pattern: str
    reason: str
    line: int


def read_exclusions(path: str | Path) -> list[Exclusion]:
    """An exclude file: per line a case-id glob, whitespace, and the reason (required);
    blank lines and lines starting with # are ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read ({error})") from None
    exclusions = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, *reason = line.split(None, 1)
        reason = reason[0].strip() if reason else ""
        if not reason:
            raise ValueError(f"{path}: line {number}: the exclusion of {pattern} gives no reason")
        exclusions.append(Exclusion(pattern, reason, number))
    return exclusions


# --- a run ----------------------------------------------------------------------------------

@dataclass
class Report:
    """Every result of a run, and what the run did not cover."""

    results: list[Result]
    set_size: int
    filtered_out: int
    never_run: list[str]
    """Selected, not excluded, and never answered (``--results`` without a line for it)."""
    unused_exclusions: list[Exclusion]
    stray_results: list[str]

    def count(self, *statuses: str) -> int:
        return sum(result.status in statuses for result in self.results)

    @property
    def ok(self) -> bool:
        """No case failed, every selected case ran, and at least one passed."""
        return not self.count("fail", "error") and not self.never_run and self.count("pass") > 0

    def nothing_checked(self) -> str:
        """Why no case was checked ("" if some were): a run that checked nothing fails."""
        if self.count("pass", "fail", "error") or self.never_run:
            return ""
        if self.set_size == self.filtered_out:
            return "no case of the set is selected"
        return "every selected case was skipped"

    def lines(self, verbose: bool = False) -> list[str]:
        """The report: one line per case that did not pass (every case if ``verbose``),
        what was not run, and the counts; the last line is ``N passed, M failed, K skipped``."""
        lines = []
        for r in self.results:
            if r.status == "pass" and not verbose:
                continue
            text = r.errors() if r.status == "pass" and r.worst else r.message
            lines.append(f"{r.status.upper():5s} {r.id}  {text}".rstrip())
            lines += [f"      stderr: {line}" for line in r.stderr.splitlines()]
        lines += [f"NOT RUN {identifier}  no result" for identifier in self.never_run]
        lines += [f"warning: exclusion at line {e.line} ({printable(e.pattern)}) matches no "
                  "selected case"
                  for e in self.unused_exclusions]
        lines += [f"warning: {problem}" for problem in self.stray_results]
        selected = self.set_size - self.filtered_out
        lines.append(f"{self.set_size} cases in the set: {selected} selected, "
                     f"{self.filtered_out} filtered out, {len(self.never_run)} never run")
        errors = self.count("error")
        if errors:
            lines.append(f"{errors} of the failed are errors (rejected valid inputs, protocol "
                         "errors, timeouts, crashes)")
        reason = self.nothing_checked()
        if reason:
            lines.append(f"nothing was checked: {reason}")
        lines.append(f"{self.count('pass')} passed, {self.count('fail', 'error')} failed, "
                     f"{self.count('skip')} skipped")
        return lines

    def junit(self, suite: str) -> str:
        """The results as JUnit XML (one testcase per case) for CI systems."""
        root = ElementTree.Element("testsuites", name="allora-ref conform")
        node = ElementTree.SubElement(
            root, "testsuite", name=suite, tests=str(len(self.results)),
            failures=str(self.count("fail")), errors=str(self.count("error")),
            skipped=str(self.count("skip")),
            time=f"{sum(r.seconds for r in self.results):.3f}")
        for r in self.results:
            profile, kind, function, case = r.id.split("/")
            testcase = ElementTree.SubElement(node, "testcase", classname=f"{profile}.{kind}."
                                              f"{function}", name=case, time=f"{r.seconds:.3f}")
            tag = {"fail": "failure", "error": "error", "skip": "skipped"}.get(r.status)
            if tag:
                ElementTree.SubElement(testcase, tag, message=r.message)
            if r.worst:
                ElementTree.SubElement(testcase, "system-out").text = r.errors()
            if r.stderr:
                ElementTree.SubElement(testcase, "system-err").text = r.stderr
        for identifier in self.never_run:
            profile, kind, function, case = identifier.split("/")
            testcase = ElementTree.SubElement(node, "testcase", classname=f"{profile}.{kind}."
                                              f"{function}", name=case)
            ElementTree.SubElement(testcase, "error", message="never run: no result")
        ElementTree.indent(root)
        return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def run(cases: Iterable[dict], answer: Callable[[dict], tuple[dict | None, str, str]],
        selection: Selection = Selection(), exclusions: Iterable[Exclusion] = ()) -> Report:
    """Run the selected cases: ``answer(request)`` gives (response or None if there is none,
    problem or "", stderr) for each case that is not excluded."""
    exclusions = list(exclusions)
    used = set()
    results, never_run = [], []
    total = filtered = 0
    for case in cases:
        total += 1
        if not selection.selects(case["manifest"]):
            filtered += 1
            continue
        identifier = case_id(case["manifest"])
        excluded = next((e for e in exclusions if fnmatchcase(identifier, e.pattern)), None)
        if excluded is not None:
            used.add(excluded)
            results.append(Result(identifier, "skip",
                                  f"excluded: {shorten(printable(excluded.reason))}"))
            continue
        started = time.monotonic()
        response, problem, stderr = answer(request(case))
        if problem:
            result = Result(identifier, "error", problem)
        elif response is None:
            never_run.append(identifier)
            continue
        else:
            result = judge(case, response)
        result.message = shorten(printable(result.message))
        result.stderr, result.seconds = stderr, time.monotonic() - started
        results.append(result)
    return Report(results, total, filtered, never_run,
                  [e for e in exclusions if e not in used], [])


def run_program(cases: Iterable[dict], program: Program, selection: Selection = Selection(),
                exclusions: Iterable[Exclusion] = ()) -> Report:
    """Run the selected cases through a program under test (stopped at the end)."""
    try:
        report = run(cases, program.ask, selection, exclusions)
    finally:
        program.stop()
    for result in report.results:
        if result.id in program.answered_twice and result.status != "error":
            result.status, result.message = "error", (
                f"protocol error: answered twice (the first answer was {result.status})")
    return report


def run_results(cases: Iterable[dict], path: str | Path, selection: Selection = Selection(),
                exclusions: Iterable[Exclusion] = ()) -> Report:
    """Check the responses of a results file; cases without a line are reported never run."""
    cases = list(cases)
    results, stray = read_results(path, {case_id(case["manifest"]) for case in cases})

    def answer(message: dict) -> tuple[dict | None, str, str]:
        response = results.get(message["id"])
        return (None, response, "") if isinstance(response, str) else (response, "", "")
    report = run(cases, answer, selection, exclusions)
    report.stray_results = stray
    return report

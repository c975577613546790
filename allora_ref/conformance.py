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
with what the program wrote to stderr meanwhile.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from allora_ref.compare import numeric_errors
from allora_ref.vectors import (MISSING, case_id, decode_array, decode_number, field_name,
                                paired_fields)

STATUSES = ("pass", "fail", "skip", "error")
#: How much of the program's stderr a report keeps per case.
STDERR_LIMIT = 2000
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


def protocol_problem(response, identifier: str) -> str:
    """What is wrong with a response to case ``identifier`` ("" if nothing)."""
    if not isinstance(response, dict):
        return "a response must be a JSON object"
    if response.get("id") != identifier:
        return f"the response's id {response.get('id')!r} is not the request's {identifier!r}"
    answers = [key for key in ("outputs", "error", "skip") if key in response]
    if len(answers) != 1:
        return "a response holds exactly one of outputs, error, skip"
    if "outputs" in response and not isinstance(response["outputs"], dict):
        return "outputs must be a JSON object"
    for key in ("error", "skip"):
        if key in response and not (isinstance(response[key], str) and response[key].strip()):
            return f"{key} must be a non-empty string (the {'message' if key == 'error' else 'reason'})"
    return ""


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


# --- the program under test -----------------------------------------------------------------

class Program:
    """The implementation under test: one process, started on the first request and restarted
    after a crash, a timeout or a protocol error."""

    def __init__(self, argv: list[str], timeout: float):
        if not argv:
            raise ValueError("--cmd names no program")
        self.argv, self.timeout = argv, timeout
        self.process: subprocess.Popen | None = None

    def _start(self) -> None:
        try:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", errors="replace", bufsize=1)
        except OSError as error:
            raise ValueError(f"cannot start {self.argv[0]}: {error.strerror or error}") from None
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        self.readers = [threading.Thread(target=_pump, args=(stream, sink, end), daemon=True)
                        for stream, sink, end in ((self.process.stdout, self.lines.put, True),
                                                  (self.process.stderr, self.stderr.append,
                                                   False))]
        for reader in self.readers:
            reader.start()

    def ask(self, message: dict) -> tuple[dict | None, str, str]:
        """Send one request: (response or None, problem or "", stderr written meanwhile)."""
        if self.process is None:
            self._start()
        mark = len(self.stderr)
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass                  # the program is gone; reading tells how it ended
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.stop()
            return None, f"no response within {self.timeout:g} s (the program was killed)", \
                self._stderr(mark)
        if line is None:
            status = self.stop()
            return None, f"the program exited with status {status} before responding", \
                self._stderr(mark)
        try:
            response = json.loads(line)
        except json.JSONDecodeError:
            self.stop()
            return None, f"protocol error: not a JSON line: {line.strip()[:200]!r}", \
                self._stderr(mark)
        problem = protocol_problem(response, message["id"])
        if problem:
            self.stop()
            return None, f"protocol error: {problem}", self._stderr(mark)
        return response, "", self._stderr(mark)

    def _stderr(self, mark: int) -> str:
        text = "".join(self.stderr[mark:])
        return text if len(text) <= STDERR_LIMIT else "..." + text[-STDERR_LIMIT:]

    def stop(self) -> int | None:
        """End the process (closing its stdin, then killing it if it lingers): its status."""
        process, self.process = self.process, None
        if process is None:
            return None
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            status = process.wait(timeout=min(self.timeout, 5.0))
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait()
        for reader in self.readers:
            reader.join(timeout=5.0)
        process.stdout.close()
        process.stderr.close()
        return status


def _pump(stream, sink: Callable[[str | None], None], end: bool) -> None:
    """Copy the lines of ``stream`` to ``sink``, then None at the end if ``end``."""
    try:
        for line in stream:
            sink(line)
    except (OSError, ValueError):
        pass
    if end:
        sink(None)


def read_results(path: str | Path) -> tuple[dict[str, dict | str], list[str]]:
    """The response lines of a results file by case id; a case with two lines maps to a
    problem text. Also returns the problems of lines that name no case."""
    results: dict[str, dict | str] = {}
    stray = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read ({error})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            response = json.loads(line)
        except json.JSONDecodeError:
            stray.append(f"{path}: line {number} is not JSON")
            continue
        identifier = response.get("id") if isinstance(response, dict) else None
        if not isinstance(identifier, str):
            stray.append(f"{path}: line {number} has no case id")
        elif identifier in results:
            results[identifier] = f"protocol error: two results for this case ({path})"
        else:
            problem = protocol_problem(response, identifier)
            results[identifier] = f"protocol error: {problem} ({path}, line {number})" \
                if problem else response
    return results, stray


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
        return not self.count("fail", "error") and not self.never_run

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
        lines += [f"warning: exclusion at line {e.line} ({e.pattern}) matches no selected case"
                  for e in self.unused_exclusions]
        lines += [f"warning: {problem}" for problem in self.stray_results]
        selected = self.set_size - self.filtered_out
        lines.append(f"{self.set_size} cases in the set: {selected} selected, "
                     f"{self.filtered_out} filtered out, {len(self.never_run)} never run")
        errors = self.count("error")
        if errors:
            lines.append(f"{errors} of the failed are errors (rejected valid inputs, protocol "
                         "errors, timeouts, crashes)")
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
            results.append(Result(identifier, "skip", f"excluded: {excluded.reason}"))
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
        result.stderr, result.seconds = stderr, time.monotonic() - started
        results.append(result)
    return Report(results, total, filtered, never_run,
                  [e for e in exclusions if e not in used], [])


def run_program(cases: Iterable[dict], program: Program, selection: Selection = Selection(),
                exclusions: Iterable[Exclusion] = ()) -> Report:
    """Run the selected cases through a program under test (stopped at the end)."""
    try:
        return run(cases, program.ask, selection, exclusions)
    finally:
        program.stop()


def run_results(cases: Iterable[dict], path: str | Path, selection: Selection = Selection(),
                exclusions: Iterable[Exclusion] = ()) -> Report:
    """Check the responses of a results file; cases without a line are reported never run."""
    results, stray = read_results(path)
    cases = list(cases)
    known = {case_id(case["manifest"]) for case in cases}

    def answer(message: dict) -> tuple[dict | None, str, str]:
        response = results.get(message["id"])
        return (None, response, "") if isinstance(response, str) else (response, "", "")
    report = run(cases, answer, selection, exclusions)
    report.stray_results = stray + [f"{path}: a result for {identifier}, which is not in the set"
                                    for identifier in results if identifier not in known]
    return report

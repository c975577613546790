"""The conformance runner against real misbehaving adapter processes and hostile results files:
nothing hangs, nothing exhausts memory, nothing crashes the run, nothing passes by default.

Each adapter is a small script written to tmp_path; timeouts are ~1 s and sizes bounded, so the
module runs in a few seconds.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import NamedTuple

import pytest

import allora_ref
from allora_ref import conformance
from allora_ref.cli import main
from allora_ref.examples.adapter import respond
from allora_ref.program import LINE_LIMIT, STDERR_LIMIT
from allora_ref.vectors import DEPTH_LIMIT, NUMBER_LIMIT, case_id, read_set, write_set

COMMITTED = Path(allora_ref.__file__).parent / "vectors_data"
POTENTIAL = "whitepaper/function/potential/grid"
GRADIENT = "whitepaper/function/potential_gradient/grid"
LONG_RUN = "allora-simulator/trace/step/long_run"           # a request larger than a pipe


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> Path:
    """A set of the few cases these tests run (reading it is quicker than the whole set)."""
    directory = tmp_path_factory.mktemp("vectors") / "set"
    chosen = {POTENTIAL, GRADIENT, LONG_RUN}
    write_set(directory, [case for case in read_set(COMMITTED)[1]
                          if case_id(case["manifest"]) in chosen])
    return directory


class Outcome(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def conform(vectors, capsys):
    """``allora-ref conform --vectors (the small set) ARGS``: (outcome, wall seconds)."""
    def run(*args) -> tuple[Outcome, float]:
        started = time.monotonic()
        status = main(["conform", "--vectors", str(vectors), *map(str, args)])
        captured = capsys.readouterr()
        return Outcome(status, captured.out, captured.err), time.monotonic() - started
    return run


def adapter(tmp_path: Path, body: str, name: str = "adapter.py") -> str:
    """A Python adapter whose loop body handles ``request`` (a dict) per line of stdin."""
    script = tmp_path / name
    script.write_text("import json, sys, os, time\n"
                      "for line in sys.stdin:\n"
                      "    request = json.loads(line)\n"
                      "    rid = request['id']\n"
                      + "".join(f"    {text}\n" for text in body.strip().splitlines()))
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def lines_of(result) -> list[str]:
    return result.stdout.splitlines()


def case_line(result, identifier: str) -> str:
    return next(line for line in lines_of(result) if f" {identifier}  " in line)


# --- nothing hangs ----------------------------------------------------------------------------

def test_a_grandchild_holding_the_pipes_is_killed_with_the_group(conform):
    result, seconds = conform("--name", POTENTIAL, "--timeout", "1",
                              "--cmd", "sh -c 'sleep 600 & sleep 600; exit 1'")
    assert result.returncode == 1
    assert seconds < 15
    assert case_line(result, POTENTIAL).endswith("no response within 1 s (the program was killed)")


def test_a_request_larger_than_the_pipe_to_a_program_that_never_reads(conform, tmp_path):
    size = len(json.dumps(next(c for c in read_set(COMMITTED)[1]
                               if c["manifest"]["case"] == "long_run")))
    assert size > 65536                       # larger than a Linux pipe buffer
    result, seconds = conform("--name", LONG_RUN, "--timeout", "1", "--cmd", "sleep 600")
    assert result.returncode == 1 and seconds < 15
    assert "no response within 1 s" in case_line(result, LONG_RUN)


def test_a_program_that_closes_stdout_but_lingers(conform, tmp_path):
    command = adapter(tmp_path, "os.close(1)\ntime.sleep(600)")
    result, seconds = conform("--name", POTENTIAL, "--timeout", "1", "--cmd", command)
    assert result.returncode == 1 and seconds < 15
    assert "the program exited with status -9 before responding" in case_line(result, POTENTIAL)


# --- nothing exhausts memory or crashes the run ---------------------------------------------

@pytest.mark.parametrize("write, fragment", [
    ("sys.stdout.write('[' * 100000 + '\\n')",
     f"protocol error: JSON nested deeper than {DEPTH_LIMIT} levels (the limit)"),
    ("sys.stdout.write(json.dumps({'id': rid, 'outputs': {'potential': int('7' * 4000)}}) + '\\n')",
     f"protocol error: a number literal of 4000 characters (the limit is {NUMBER_LIMIT})"),
    ("sys.stdout.write('{\"id\": \"%s\", \"outputs\": {\"potential\": 1%s}}\\n' % (rid, '0' * 5000))",
     f"protocol error: a number literal of 5001 characters (the limit is {NUMBER_LIMIT})"),
    ("sys.stdout.write(json.dumps({'id': rid, 'outputs': {'potential': float('inf')}}) + '\\n')",
     "protocol error: Infinity is not JSON"),
    ("sys.stdout.write(json.dumps({'id': rid, 'outputs': json.loads('[' * 500 + ']' * 500)}) + '\\n')",
     f"JSON nested deeper than {DEPTH_LIMIT} levels"),
    ("sys.stdout.buffer.write(b'\\xff\\xfe\\n')", "protocol error: not UTF-8 (byte 0xff"),
])
def test_absurd_json_is_that_cases_error(conform, tmp_path, write, fragment):
    command = adapter(tmp_path, f"{write}\nsys.stdout.flush()")
    result, _ = conform("--name", POTENTIAL, "--name", GRADIENT, "--timeout", "5",
                        "--cmd", command)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in case_line(result, POTENTIAL)
    assert fragment in case_line(result, GRADIENT)          # restarted, judged on its own
    assert lines_of(result)[-1] == "0 passed, 2 failed, 0 skipped"


def test_endless_output_without_a_newline_is_cut_at_the_line_limit(conform, tmp_path):
    command = adapter(tmp_path, "while True:\n    sys.stdout.write('x' * 65536)")
    result, seconds = conform("--name", POTENTIAL, "--timeout", "20", "--cmd", command)
    assert result.returncode == 1 and seconds < 15
    assert (f"protocol error: more than {LINE_LIMIT} bytes without a newline (the limit of a "
            "response line)") in case_line(result, POTENTIAL)


def test_a_flood_of_stderr_is_kept_bounded(conform, tmp_path):
    command = adapter(tmp_path, "sys.stderr.write('\\x1b[31mnoise\\x1b[0m ' * 1_000_000)\n"
                      "print(json.dumps({'id': rid, 'error': 'no \\x1b[1mthanks\\x1b[0m'}), "
                      "flush=True)")
    junit_path = Path(command.split()[-1]).parent / "out.xml"
    result, seconds = conform("--name", POTENTIAL, "--timeout", "20", "--junit", junit_path,
                              "--cmd", command)
    assert result.returncode == 1 and seconds < 15
    out = lines_of(result)
    assert f"ERROR {POTENTIAL}  rejected valid inputs: no \\x1b[1mthanks\\x1b[0m" in out
    assert (f"      stderr: ... (15000000 bytes written, the last {STDERR_LIMIT} kept)") in out
    assert "\x1b" not in result.stdout
    assert len(result.stdout) < 10 * STDERR_LIMIT
    suite = ElementTree.parse(junit_path).getroot().find("testsuite")   # valid XML
    assert suite.find("testcase/error").get("message") == \
        "rejected valid inputs: no \\x1b[1mthanks\\x1b[0m"


# --- nothing misclassified ------------------------------------------------------------------

def test_a_case_answered_twice_is_that_cases_error(conform, tmp_path):
    command = adapter(tmp_path, "answer = json.dumps({'id': rid, 'skip': 'twice'}) + '\\n'\n"
                      "sys.stdout.write(answer * 2)\nsys.stdout.flush()")
    result, _ = conform("--name", POTENTIAL, "--name", GRADIENT, "--timeout", "20",
                        "--cmd", command)
    assert result.returncode == 1
    for identifier in (POTENTIAL, GRADIENT):           # the last one too, answered at the end
        assert case_line(result, identifier) == (f"ERROR {identifier}  protocol error: answered "
                                                 "twice (the first answer was skip)")


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "1e300"])
def test_absurd_timeouts_are_usage_errors(conform, value):
    result, _ = conform("--name", POTENTIAL, "--timeout", value, "--cmd", "true")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "--timeout must be a number of seconds in (0, 86400]" in result.stderr


# --- results files --------------------------------------------------------------------------

def reference_lines(*identifiers: str) -> list[str]:
    cases = {"/".join(c["manifest"][k] for k in ("profile", "kind", "function", "case")): c
             for c in read_set(COMMITTED)[1]}
    lines = []
    for identifier in identifiers:
        case = cases[identifier]
        message = {"id": identifier, "manifest": case["manifest"],
                   "parameters": case["parameters"], "inputs": case["inputs"]}
        lines.append(json.dumps(respond(message, None, set()), ensure_ascii=False))
    return lines


def test_results_with_a_bom_crlf_and_line_separators_pass(conform, tmp_path):
    first, second = reference_lines(POTENTIAL, GRADIENT)
    first = first[:-1] + ', "note": "a\u2028b\u2029c"}'
    path = tmp_path / "results.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + f"{first}\r\n{second}\r\n".encode("utf-8"))
    result, _ = conform("--results", path, "--name", POTENTIAL, "--name", GRADIENT)
    assert result.returncode == 0, result.stdout
    assert lines_of(result)[-1] == "2 passed, 0 failed, 0 skipped"


def test_hostile_results_lines_are_their_cases_errors(conform, tmp_path):
    path = tmp_path / "results.jsonl"
    deep = "[" * 500 + "]" * 500
    path.write_text(
        f'{{"id": "{POTENTIAL}", "outputs": {{"potential": {"9" * 5000}}}}}\n'
        f'{{"id": "{GRADIENT}", "outputs": {deep}}}\n'
        + "[" * 100_000 + "\n"
        + "\n".join(json.dumps({"id": f"nowhere/x/y/{n}", "skip": "s"}) for n in range(30))
        + "\n")
    result, _ = conform("--results", path, "--name", POTENTIAL, "--name", GRADIENT)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    out = lines_of(result)
    assert f"ERROR {POTENTIAL}  protocol error: a number literal of 5000 characters (the limit is " \
           f"{NUMBER_LIMIT}) ({path}, line 1)" in out
    assert f"ERROR {GRADIENT}  protocol error: JSON nested deeper than {DEPTH_LIMIT} levels " \
           f"(the limit) ({path}, line 2)" in out
    assert f"warning: {path}: line 3: JSON nested deeper than {DEPTH_LIMIT} levels (the limit)" \
        in out
    assert f"warning: {path}: 20 more results for cases not in the set" in out
    assert sum(line.startswith("warning") for line in out) == 12


def test_an_overlong_results_line_is_bounded(conform, tmp_path):
    path = tmp_path / "results.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f'{{"id": "{POTENTIAL}", "outputs": {{"potential": ["' + "1" * (LINE_LIMIT + 10)
                     + '"]}}\n')
        handle.write(reference_lines(GRADIENT)[0] + "\n")
    result, _ = conform("--results", path, "--name", POTENTIAL, "--name", GRADIENT)
    out = lines_of(result)
    assert result.returncode == 1
    assert f"ERROR {POTENTIAL}  protocol error: a line longer than {LINE_LIMIT} bytes (the limit) " \
           f"({path}, line 1)" in out
    assert out[-1] == "1 passed, 1 failed, 0 skipped"


# --- nothing false-green ---------------------------------------------------------------------

@pytest.mark.parametrize("args, reason", [
    (["--section", "9"], "no case of the set is selected"),
    (["--name", "*/potentail/*"], "no case of the set is selected"),
    (["--profile", "chain-v9"], "no case of the set is selected"),
])
def test_a_run_that_selects_nothing_fails(conform, tmp_path, args, reason):
    (tmp_path / "empty.jsonl").write_text("")
    result, _ = conform("--results", tmp_path / "empty.jsonl", *args)
    assert result.returncode == 1
    assert lines_of(result)[-2:] == [f"nothing was checked: {reason}",
                                     "0 passed, 0 failed, 0 skipped"]


def test_a_run_whose_every_case_is_skipped_fails(conform, tmp_path):
    command = adapter(tmp_path, "print(json.dumps({'id': rid, 'skip': 'later'}), flush=True)")
    result, _ = conform("--name", POTENTIAL, "--name", GRADIENT, "--cmd", command)
    assert result.returncode == 1
    assert lines_of(result)[-2:] == ["nothing was checked: every selected case was skipped",
                                     "0 passed, 0 failed, 2 skipped"]


def test_no_process_is_left_behind(conform, tmp_path):
    marker = tmp_path / "pids"
    command = adapter(tmp_path, f"os.system('sleep 600 & echo $! >> {marker}')\n"
                      "print(json.dumps({'id': rid, 'skip': 'x'}), flush=True)")
    result, _ = conform("--name", POTENTIAL, "--cmd", command)
    assert result.returncode == 1
    pids = [int(pid) for pid in marker.read_text().split()]
    deadline = time.monotonic() + 5                  # SIGKILL takes effect asynchronously
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pids and not any(map(running, pids))


def running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_an_endless_results_file_is_refused(conform, monkeypatch):
    monkeypatch.setattr(conformance, "RESULTS_LIMIT", 3 * LINE_LIMIT)
    result, seconds = conform("--results", "/dev/zero")
    assert result.returncode == 2 and seconds < 15
    assert result.stderr == (f"allora-ref: error: /dev/zero: longer than {3 * LINE_LIMIT} bytes "
                             "(the limit of a results file)\n")

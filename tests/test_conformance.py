"""The conformance runner: the example adapter both ways, the golden rows, and every way an
implementation under test can misbehave.

The example adapter is the reference itself, and so are the vectors' expected values: the tests
that run it over the committed set check the runner (and detect change), not the paper. Only the
golden rows of the research simulator are an expectation independent of this code; the function
kinds meet hand-derived values in tests/test_vector_kinds.py.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import allora_ref
from allora_ref.conformance import Selection, judge, read_exclusions, request, run
from allora_ref.params import load_profile
from allora_ref.synthesis_table import epoch_cases
from allora_ref.table import read_table
from allora_ref.tokenomics_table import emission_cases
from allora_ref.vectors import read_set, write_set

PACKAGE = Path(allora_ref.__file__).parent
COMMITTED = PACKAGE / "vectors_data"
EXCLUDE = PACKAGE / "examples" / "chain-defaults.exclude"
ADAPTER = f"{shlex.quote(sys.executable)} -m allora_ref.examples.adapter"


def conform(*args):
    return subprocess.run([sys.executable, "-m", "allora_ref.cli", "conform", *map(str, args)],
                          capture_output=True, text=True)


def failed_ids(stdout: str) -> set[str]:
    return {line.split()[1] for line in stdout.splitlines() if line.startswith(("FAIL", "ERROR"))}


def test_runner_passes_the_reference_adapter_on_its_own_vectors(tmp_path):
    """Runner and change detection: the reference meets its own outputs in every case, and the
    runner counts, reports and writes JUnit for all of them."""
    junit = tmp_path / "conform.xml"
    result = conform("--cmd", ADAPTER, "--junit", junit)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert result.stdout.splitlines()[-1] == "446 passed, 0 failed, 0 skipped"
    assert "446 cases in the set: 446 selected, 0 filtered out, 0 never run" in result.stdout
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("446", "0", "0")
    case = suite.find("testcase[@name='guard_rail_cutoff']")
    assert case.get("classname") == "allora-simulator.function.regret_weights"
    assert case.find("system-out").text.startswith("max abs 0, rel 0, ulp 0")


def test_runner_reports_the_chain_defaults_failing_exactly_the_documented_cases():
    """Runner: an implementation with other parameters (the reference under chain-defaults)
    fails exactly the cases its exclusion file documents, with the worst value named."""
    command = f"{ADAPTER} --profile chain-defaults"
    result = conform("--profile", "allora-simulator", "--cmd", command)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "114 passed, 27 failed, 0 skipped"
    documented = {exclusion.pattern for exclusion in read_exclusions(EXCLUDE)}
    assert failed_ids(result.stdout) == documented
    line = next(line for line in result.stdout.splitlines()
                if "inferer_reward_fractions/steady" in line)
    assert line == (
        "FAIL  allora-simulator/function/inferer_reward_fractions/steady  1 wrong field(s): "
        "reward_fractions; 5 of 5 values outside tolerance; worst reward_fractions[2]: expected "
        "0.0026376996050498707, got 0.061163025981888421 (tolerance 1e-13 + 1e-10 |expected|); "
        "max abs 0.0585, rel 22.2, ulp 2.07e+16")
    epoch = next(line for line in result.stdout.splitlines() if "step/steady_state" in line)
    assert "13 wrong field(s): outputs.inferer_reward_fractions, " \
           "outputs.reputer_reward_fractions, outputs.inferer_modified_fractions, ..." in epoch

    excluded = conform("--profile", "allora-simulator", "--cmd", command,
                       "--exclude-file", EXCLUDE)
    assert excluded.returncode == 0, excluded.stdout[-2000:]
    assert excluded.stdout.splitlines()[-1] == "114 passed, 0 failed, 27 skipped"
    assert "SKIP  allora-simulator/function/reputer_reward_fractions/fractions  excluded: " \
           "reputer reward p: chain default 3, case 1 (eq 35)" in excluded.stdout


def test_the_research_simulators_epochs_through_the_kit(golden_synthesis, tmp_path):
    """Epochs 301-303 of the golden table as epoch vectors whose expected values are the
    simulator's own: the reference passes them; the chain's defaults fail every row."""
    simulator = load_profile("allora-simulator")
    cases = epoch_cases(read_table(golden_synthesis), simulator, "allora-simulator")
    assert [case["manifest"]["case"] for case in cases] == ["epoch_301", "epoch_302", "epoch_303"]
    # the forecasters' score window of 301-302 reaches before the file: not expected there
    assert "forecaster_reward_fractions" not in cases[0]["expected"]["outputs"]
    assert "forecaster_reward_fractions" in cases[2]["expected"]["outputs"]
    golden = read_table(golden_synthesis)
    network = float(golden.rows[3][golden.column("network_inference")])    # epoch 303
    assert cases[2]["expected"]["outputs"]["network_inference"] == f"{network:.16e}"
    vectors = tmp_path / "golden"
    write_set(vectors, cases)
    result = conform("--vectors", vectors, "--cmd", ADAPTER, "--verbose")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "3 passed, 0 failed, 0 skipped"
    worst_rel = [float(line.split("rel ")[1].split(",")[0])
                 for line in result.stdout.splitlines() if line.startswith("PASS")]
    assert max(worst_rel) < 1e-11
    chain = conform("--vectors", vectors, "--cmd", f"{ADAPTER} --profile chain-defaults")
    assert chain.stdout.splitlines()[-1] == "0 passed, 3 failed, 0 skipped"
    assert "outputs.inferer_reward_fractions" in chain.stdout


def test_the_research_simulators_months_through_the_kit(golden_tokenomics, tmp_path):
    """Months 1-24 of the golden tokenomics as emission-step vectors: the reference passes them;
    the chain's xi_max (0.0095) fails every month, in the cap first (DEVIATIONS.md §4, eq 50)."""
    simulator = load_profile("allora-simulator")
    cases = emission_cases(read_table(golden_tokenomics), simulator, "allora-simulator")
    assert len(cases) == 24
    assert set(cases[0]["expected"]["outputs"]) == {"target", "maximum", "capped", "e", "total"}
    assert cases[0]["inputs"]["state"]["locked"] is None           # not in the table: unknown
    vectors = tmp_path / "golden"
    write_set(vectors, cases)
    result = conform("--vectors", vectors, "--cmd", ADAPTER)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "24 passed, 0 failed, 0 skipped"
    chain = conform("--vectors", vectors, "--cmd", f"{ADAPTER} --profile chain-defaults")
    assert chain.stdout.splitlines()[-1] == "0 passed, 24 failed, 0 skipped"
    assert all("wrong field(s): outputs.maximum" in line
               for line in chain.stdout.splitlines() if line.startswith("FAIL"))


MISBEHAVING = textwrap.dedent("""
    import json, sys, time
    from allora_ref.examples.adapter import respond
    for line in sys.stdin:
        request = json.loads(line)
        case = request["id"].split("/", 2)[2]
        print(f"working on {case}", file=sys.stderr, flush=True)
        if case == "potential/grid":
            print("all good!", flush=True)
        elif case == "potential/extremes":
            print("segmentation fault", file=sys.stderr, flush=True)
            sys.exit(3)
        elif case == "potential_gradient/grid":
            time.sleep(120)
        elif case == "potential_gradient/extremes":
            print(json.dumps({"id": "someone else", "outputs": {}}), flush=True)
        elif case == "forecasted_log_losses/losses":
            print(json.dumps({"id": request["id"], "skip": "no eq 2 here"}), flush=True)
        elif case == "forecasted_log_losses/zero_loss":
            print(json.dumps({"id": request["id"], "outputs": {"forecasted_log_losses": []}}),
                  flush=True)
        elif case == "normalised_regrets/rows":
            print(json.dumps({"id": request["id"], "error": "not today"}), flush=True)
        else:
            print(json.dumps(respond(request, None, set())), flush=True)
""")


def test_misbehaviour_is_reported_per_case(tmp_path):
    program = tmp_path / "adapter.py"
    program.write_text(MISBEHAVING)
    junit = tmp_path / "out.xml"
    result = conform("--profile", "whitepaper", "--kind", "function", "--timeout", "20",
                     "--name", "*/potential*/*", "--name", "*/forecasted_log_losses/*",
                     "--name", "*/normalised_regrets/*", "--junit", junit,
                     "--cmd", f"{shlex.quote(sys.executable)} {program}")
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[-1] == "3 passed, 6 failed, 1 skipped"
    assert "5 of the failed are errors (rejected valid inputs, protocol errors, timeouts, " \
           "crashes)" in lines[-2]
    prefix = "whitepaper/function/"
    expected = {
        "ERROR": [f"{prefix}potential/grid  protocol error: not a JSON line: 'all good!'",
                  f"{prefix}potential/extremes  the program exited with status 3 before "
                  "responding",
                  f"{prefix}potential_gradient/grid  no response within 20 s (the program was "
                  "killed)",
                  f"{prefix}potential_gradient/extremes  protocol error: the response's id "
                  f"'someone else' is not the request's '{prefix}potential_gradient/extremes'",
                  f"{prefix}normalised_regrets/rows  rejected valid inputs: not today"],
        "FAIL": [f"{prefix}forecasted_log_losses/zero_loss  accepted invalid inputs, which must "
                 "be rejected (forecasted losses L_ijk (eq 2) must be > 0 to take their "
                 "logarithm)"],
        "SKIP": [f"{prefix}forecasted_log_losses/losses  no eq 2 here"],
    }
    for status, texts in expected.items():
        for text in texts:
            assert f"{status:5s} {text}" in lines, text
    crash = lines.index(f"ERROR {prefix}potential/extremes  the program exited with status 3 "
                        "before responding")
    assert lines[crash + 1:crash + 3] == ["      stderr: working on potential/extremes",
                                          "      stderr: segmentation fault"]
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "5", "1")
    error = suite.find("testcase[@name='extremes'][@classname='whitepaper.function.potential']")
    assert "segmentation fault" in error.find("system-err").text


def test_results_file_flags_cases_never_run(tmp_path):
    _, cases = read_set(COMMITTED)
    chosen = [case for case in cases
              if case["manifest"]["function"] == "potential"][:4]      # allora-simulator first
    ids = [request(case)["id"] for case in chosen]
    lines = [json.dumps({"id": ids[0], "outputs": chosen[0]["expected"]}),
             "not json",
             json.dumps({"id": ids[1], "outputs": chosen[1]["expected"]}),
             json.dumps({"id": ids[1], "outputs": chosen[1]["expected"]}),
             json.dumps({"id": ids[2], "skip": ""}),
             json.dumps({"id": "whitepaper/function/potential/unknown", "error": "x"})]
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(lines) + "\n")
    profiles = sorted({case["manifest"]["profile"] for case in chosen})
    result = conform("--results", results, "--name", "*/potential/*",
                     *[arg for profile in profiles for arg in ("--profile", profile)])
    out = result.stdout.splitlines()
    assert result.returncode == 1
    assert out[-1] == "1 passed, 2 failed, 0 skipped"
    assert f"NOT RUN {ids[3]}  no result" in out
    assert f"ERROR {ids[1]}  protocol error: two results for this case ({results}, line 4)" in out
    assert f"ERROR {ids[2]}  protocol error: skip must be a non-empty string (the reason) " \
           f"({results}, line 5)" in out
    assert f"warning: {results}: line 2: not a JSON line: 'not json'" in out
    assert f"warning: {results}: line 6: a result for whitepaper/function/potential/unknown, " \
           "which is not in the set" in out
    assert "446 cases in the set: 4 selected, 442 filtered out, 1 never run" in out


def test_selection_and_exclusions(tmp_path):
    _, cases = read_set(COMMITTED)
    answers = []

    def answer(message):
        answers.append(message["id"])
        return {"id": message["id"], "skip": "counting"}, "", ""
    exclude = tmp_path / "exclude"
    exclude.write_text("# comment\n\n*/effective_number/*\tnot in this implementation\n"
                       "*/nothing/*  stale entry\n")
    report = run(cases, answer, Selection(kinds=("function",), sections=("4.2",),
                                          profiles=("whitepaper",)), read_exclusions(exclude))
    assert all(identifier.startswith("whitepaper/function/") for identifier in answers)
    functions = {identifier.split("/")[2] for identifier in answers}
    assert functions == {"smoothed_fractions", "modified_fractions", "class_entropy",
                         "forecasting_score_ratio", "forecasting_utility",
                         "normalisation_factor", "class_rewards", "participant_rewards"}
    assert report.count("skip") == len(answers) + 1                   # + the excluded case
    assert [e.pattern for e in report.unused_exclusions] == ["*/nothing/*"]
    assert "warning: exclusion at line 4 (*/nothing/*) matches no selected case" in report.lines()
    section_4 = run(cases, answer, Selection(sections=("4",), kinds=("epoch",)))
    assert section_4.set_size - section_4.filtered_out == 3 * 18 + 4  # + chain-v0.6 epochs
    bad = tmp_path / "bad"
    bad.write_text("*/potential/*\n")
    with pytest.raises(ValueError, match="line 1: the exclusion of \\*/potential/\\* gives no "
                                         "reason"):
        read_exclusions(bad)


def test_judging_shapes_flags_and_absent_values():
    _, cases = read_set(COMMITTED)
    case = next(c for c in cases if c["manifest"]["case"] == "partial_participation")
    outputs = json.loads(json.dumps(case["expected"]))
    outputs["outputs"]["inferer_scores"][2] = "0"                     # absent -> present
    outputs["outputs"]["forecaster_scores"] = outputs["outputs"]["forecaster_scores"][:2]
    del outputs["state"]["score_ratio"]
    result = judge(case, {"id": "x", "outputs": outputs})
    assert result.status == "fail"
    assert result.message.startswith(
        "3 wrong field(s): outputs.inferer_scores, outputs.forecaster_scores (shape (2,), "
        "expected (3,)), state.score_ratio (missing from the outputs); 1 of 354 values outside "
        "tolerance; worst outputs.inferer_scores[2]: expected null, got 0 ")
    ratio = next(c for c in cases if c["manifest"]["case"] == "both_zero")
    flipped = ratio["expected"] | {"utility_pinned": 1}
    flagged = judge(ratio, {"id": "x", "outputs": flipped})
    assert flagged.status == "fail"
    assert flagged.message.startswith("1 wrong field(s): utility_pinned (expected true, got 1)")
    numbers = {key: value if isinstance(value, bool) else float(value)
               for key, value in ratio["expected"].items()}
    assert judge(ratio, {"id": "x", "outputs": numbers}).status == "pass"   # JSON numbers do


@pytest.mark.parametrize("args, fragment", [
    ([], "one of the arguments --cmd --results is required"),
    (["--cmd", "no-such-program-here"], "cannot start no-such-program-here"),
    (["--cmd", "'unbalanced"], "--cmd: No closing quotation"),
    (["--results", "missing.jsonl"], "missing.jsonl: no such file"),
    (["--results", "r.jsonl", "--junit", "r.jsonl"], "refusing to write over input file"),
    (["--results", "r.jsonl", "--vectors", "."], "not a vector set (no index.json)"),
    (["--results", "r.jsonl", "--timeout", "0"], "--timeout must be a number of seconds in (0, 86400]"),
    (["--results", "r.jsonl", "--kind", "block"], "invalid choice: 'block'"),
    (["--results", "r.jsonl", "--exclude-file", "bad.exclude"], "gives no reason"),
])
def test_usage_errors(tmp_path, args, fragment):
    (tmp_path / "r.jsonl").write_text("")
    (tmp_path / "bad.exclude").write_text("*/x/*\n")
    result = subprocess.run([sys.executable, "-m", "allora_ref.cli", "conform", *args],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert fragment in result.stderr
    assert (tmp_path / "r.jsonl").read_text() == ""


@pytest.mark.parametrize("index, fragment", [
    ({"version": "1.0.0", "cases": [1]}, "not a valid vector-set index"),
    ({"version": "1.0.0", "spec": "s", "generator": "g", "root_sha256": "0" * 64,
      "cases": [{"sha256": "0" * 64}]}, "not a valid vector-set index"),
])
def test_a_broken_index_is_one_line(tmp_path, index, fragment):
    (tmp_path / "index.json").write_text(json.dumps(index))
    for args in (["vectors", "validate", tmp_path],
                 ["conform", "--results", tmp_path / "r.jsonl", "--vectors", tmp_path]):
        result = subprocess.run([sys.executable, "-m", "allora_ref.cli", *map(str, args)],
                                capture_output=True, text=True)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert fragment in result.stderr and "Traceback" not in result.stderr


def test_junit_is_never_written_over_the_vector_set(tmp_path):
    write_set(tmp_path / "set", [])
    index = tmp_path / "set" / "index.json"
    before = index.read_bytes()
    result = conform("--results", tmp_path / "r.jsonl", "--vectors", tmp_path / "set",
                     "--junit", index)
    assert result.returncode == 2 and "refusing to write over input file" in result.stderr
    assert index.read_bytes() == before

"""The vector set: format, reproducible generation, validation, coverage and tolerances.

The expected values of the vectors are the reference's own outputs: these tests check the format,
the generator and that the committed set is current (change detection), not the paper. The
function kinds meet hand-derived values in tests/test_vector_kinds.py, the epoch kinds the
research simulator's golden rows in tests/test_conformance.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

import allora_ref
from allora_ref.params import Params, load_profile
from allora_ref.vector_cases import SET_PROFILES, cases
from allora_ref.vector_kinds import FUNCTIONS, evaluate
from allora_ref.vectors import (
    INDEX, VERSION, decode_array, decode_number, decode_params, dumps, encode, encode_number,
    encode_params, leaf_fields, read_index, read_set, root_hash, schema, schema_problems, sha256,
    validate_set, write_set)

COMMITTED = Path(allora_ref.__file__).parent / "vectors_data"


def tree(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes()
            for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The set generated twice, into two directories."""
    first, second = (tmp_path_factory.mktemp(name) / "set" for name in ("first", "second"))
    write_set(first, cases())
    write_set(second, cases())
    return first, second


@pytest.fixture(scope="module")
def committed():
    return read_set(COMMITTED)


def test_generation_is_byte_identical(generated):
    first, second = generated
    assert tree(first) == tree(second)


CROSS_PLATFORM_RTOL, CROSS_PLATFORM_ATOL = 1e-10, 1e-12
"""How far a regenerated value may stand from the committed one. Generation is byte-identical on
one machine (above); across CPUs numpy's vectorised exp, log and power differ in the last bit,
and the listening ascent and the score differences carry that bit up to about 3e-12 relative
(2e-10 on values near zero, 1.2e-12 absolute), measured between two CPUs on the whole set. A
committed set generated on one CPU must still count as current on another; a change of the
mechanism moves values far more than this."""
DECIMAL = re.compile(r"-?\d\.\d{16}e[+-]\d+")
"""A float as ``encode_number`` writes it."""


def value_differences(fresh, committed, where: str):
    """Where two decoded JSON values differ beyond the cross-platform tolerance (hashes are not compared:
    they follow the bytes)."""
    if isinstance(fresh, dict) and isinstance(committed, dict):
        if fresh.keys() != committed.keys():
            yield f"{where}: keys {sorted(fresh.keys() ^ committed.keys())}"
            return
        for key in fresh:
            if key not in ("sha256", "root_sha256"):
                yield from value_differences(fresh[key], committed[key], f"{where}.{key}")
    elif isinstance(fresh, list) and isinstance(committed, list):
        if len(fresh) != len(committed):
            yield f"{where}: {len(fresh)} items, committed {len(committed)}"
            return
        for k, (a, b) in enumerate(zip(fresh, committed)):
            yield from value_differences(a, b, f"{where}[{k}]")
    elif isinstance(fresh, str) and isinstance(committed, str) \
            and DECIMAL.fullmatch(fresh) and DECIMAL.fullmatch(committed):
        if not math.isclose(float(fresh), float(committed), rel_tol=CROSS_PLATFORM_RTOL,
                            abs_tol=CROSS_PLATFORM_ATOL):
            yield f"{where}: {fresh}, committed {committed}"
    elif fresh != committed or type(fresh) is not type(committed):
        yield f"{where}: {fresh!r}, committed {committed!r}"


def test_change_detection_the_committed_set_is_current(generated):
    """Change detection: the committed set is what the reference generates now (regenerate with
    `make vectors` after a deliberate change), to the last bits that differ between CPUs. It says
    nothing about whether either is right."""
    fresh, stale = tree(generated[0]), tree(COMMITTED)
    assert fresh.keys() == stale.keys(), \
        f"stale vector set: files {sorted(fresh.keys() ^ stale.keys())[:3]} differ"
    problems = []
    for name in sorted(name for name in fresh if fresh[name] != stale[name]):
        if not name.endswith(".json"):
            problems.append(f"{name}: the text differs")
            continue
        problems += value_differences(json.loads(fresh[name]), json.loads(stale[name]), name)
    assert not problems, f"stale vector set, {len(problems)} values differ, e.g. {problems[:3]}"


def test_the_cross_platform_comparison_notices_a_change():
    """The comparison above is not blind: a change in the 9th digit, a key, a string or a
    length is a difference; a change in the last bits is not."""
    base = {"x": ["1.0000000000000000e+00", None], "name": "a", "sha256": "00"}
    assert not list(value_differences(
        {**base, "x": ["1.0000000000000002e+00", None], "sha256": "ff"}, base, "case"))
    for changed in ({**base, "x": ["1.0000000010000000e+00", None]}, {**base, "name": "b"},
                    {**base, "x": ["1.0000000000000000e+00"]}, {**base, "extra": 1},
                    {**base, "x": ["1.0000000000000000e+00", "0.0000000000000000e+00"]}):
        assert list(value_differences(changed, base, "case")), changed


def test_the_committed_set_is_valid_and_small(committed):
    assert validate_set(COMMITTED) == []
    index, all_cases = committed
    assert index["version"] == VERSION and len(all_cases) == len(index["cases"]) == 446
    size = sum(len(data) for data in tree(COMMITTED).values())
    assert 1e6 < size < 5e6                                   # a few MB: vendorable


def test_index_and_root_hash(committed):
    index, _ = committed
    ids = [entry["id"] for entry in index["cases"]]
    assert ids == sorted(ids)
    lines = "".join(f"{entry['sha256']}  {entry['id']}.json\n" for entry in index["cases"])
    assert index["root_sha256"] == sha256(lines.encode())
    entry = index["cases"][0]
    assert sha256((COMMITTED / f"{entry['id']}.json").read_bytes()) == entry["sha256"]


def test_numbers_are_17_significant_digits():
    assert encode_number(0.1) == "1.0000000000000001e-01"
    assert encode_number(-2.5e-300) == "-2.5000000000000000e-300"
    assert encode_number(math.nan) is None
    for x in (0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308, -123.456):
        assert decode_number(encode_number(x)) == x
    with pytest.raises(ValueError, match="non-finite"):
        encode_number(math.inf)
    assert encode({"a": np.array([[1.0, np.nan]]), "n": np.int64(3), "f": np.array([True])}) == \
        {"a": [["1.0000000000000000e+00", None]], "n": 3, "f": [True]}
    assert decode_array([], 2).shape == (0, 0)
    np.testing.assert_array_equal(decode_array([["1e0", None]], 2), [[1.0, np.nan]])
    with pytest.raises(ValueError, match="expected 1 dimension"):
        decode_array([["1e0"]], 1)
    with pytest.raises(ValueError, match="not a decimal number"):
        decode_number("one")


@pytest.mark.parametrize("profile", ["whitepaper", "allora-simulator", "chain-defaults"])
def test_parameters_round_trip(profile):
    params = load_profile(profile)
    encoded = encode_params(params)
    assert set(encoded) == {f.name for f in dataclasses.fields(Params)}
    assert decode_params(json.loads(json.dumps(encoded))) == params
    with pytest.raises(ValueError, match="epsilon"):
        decode_params(encoded | {"epsilon": "0.0000000000000000e+00"})


def test_dumps_keeps_rows_on_lines():
    text = dumps({"a": [["1", "2"], ["3", None]], "b": {"c": True}})
    assert text == '{\n "a": [\n  ["1", "2"],\n  ["3", null]\n ],\n "b": {\n  "c": true\n }\n}'
    assert json.loads(text) == {"a": [["1", "2"], ["3", None]], "b": {"c": True}}


def test_schema_rejects_malformed_cases(committed):
    """The published schema is valid draft-07, and an independent validator (jsonschema)
    agrees with the one the package uses (fastjsonschema) on good and malformed cases."""
    jsonschema.Draft7Validator.check_schema(schema())
    reference = jsonschema.Draft7Validator(schema())
    _, all_cases = committed
    case = all_cases[0]
    assert schema()["$id"].endswith(f":{VERSION.split('.')[0]}")
    assert schema_problems(case) == [] and not list(reference.iter_errors(case))
    bad = [case | {"expected_error": "x"},                     # both an error and outputs
           {k: v for k, v in case.items() if k != "tolerance"},
           case | {"manifest": case["manifest"] | {"kind": "block"}},
           case | {"inputs": {"x": [0.5]}},                     # a JSON float, not a decimal
           case | {"inputs": {"x": ["0.5"]}},                   # not 17 significant digits
           case | {"parameters": {}}]
    for malformed in bad:
        assert schema_problems(malformed) and list(reference.iter_errors(malformed)), malformed
    assert schema_problems({"version": "1"}, "index")


def test_validate_finds_tampering(tmp_path):
    target = tmp_path / "set"
    shutil.copytree(COMMITTED, target)
    case = target / "whitepaper/function/potential/grid.json"
    case.write_text(case.read_text().replace("e-01", "e-02", 1))
    with pytest.raises(ValueError, match="grid.json: sha256 differs from index.json"):
        read_set(target)
    (target / "whitepaper/function/potential/stray.json").write_text("{}")
    (target / "allora-simulator/function/potential/grid.json").unlink()
    (target / "schema.json").write_text("{}")
    problems = validate_set(target)
    assert any("potential/grid: sha256" in p and "differs from the index" in p for p in problems)
    assert "whitepaper/function/potential/stray: on disk but not in index.json" in problems
    assert "allora-simulator/function/potential/grid: listed in index.json but missing" \
        in problems
    assert "schema.json: missing or not this package's vector-schema.json" in problems


def test_validate_checks_manifests_and_tolerances(tmp_path):
    target = tmp_path / "set"
    shutil.copytree(COMMITTED, target)
    path = target / "whitepaper/function/potential/grid.json"
    case = json.loads(path.read_text())
    case["manifest"]["case"] = "other"
    case["tolerance"] = {"phi": case["tolerance"]["potential"]}
    path.write_text(dumps(case))
    index = json.loads((target / INDEX).read_text())
    for entry in index["cases"]:
        if entry["id"] == "whitepaper/function/potential/grid":
            entry["sha256"] = sha256(path.read_bytes())
    index["root_sha256"] = root_hash((e["id"], e["sha256"]) for e in index["cases"])
    (target / INDEX).write_text(dumps(index))
    problems = validate_set(target)
    assert "whitepaper/function/potential/grid: the manifest names " \
           "whitepaper/function/potential/other" in problems
    assert any("tolerance fields ['phi', 'potential']" in p for p in problems)


def test_write_set_replaces_a_set_but_nothing_else(tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    few = cases(("whitepaper",))[:3]
    with pytest.raises(ValueError, match="not a vector set"):
        write_set(other, few)
    assert (other / "keep.txt").read_text() == "mine"
    target = tmp_path / "set"
    write_set(target, few)
    write_set(target, few[:1])
    assert len(read_index(target)["cases"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "set"]    # no leftovers
    index = json.loads((target / INDEX).read_text())
    index["version"] = "2.0.0"
    (target / INDEX).write_text(json.dumps(index))
    with pytest.raises(ValueError, match="format version 2.0.0 is not readable"):
        read_index(target)


def test_coverage_every_equation_profile_and_kind(committed):
    """Every numbered equation with numeric content in §3-4 has cases, in both profiles, with
    valid and invalid inputs; every function kind has a case in every profile."""
    _, all_cases = committed
    covered = {profile: set() for profile in SET_PROFILES}
    functions = {profile: set() for profile in SET_PROFILES}
    kinds = {(c["manifest"]["profile"], c["manifest"]["kind"], "expected" in c) for c in all_cases}
    for case in all_cases:
        manifest = case["manifest"]
        covered[manifest["profile"]] |= set(manifest["equations"])
        if manifest["kind"] == "function":
            functions[manifest["profile"]].add(manifest["function"])
    numeric = set(range(1, 19)) | set(range(21, 58))          # eqs 19-20: §3.3 mock workers
    for profile in SET_PROFILES:
        assert covered[profile] == numeric
        chain_only = {"reputer_reward_split", "topic_initial_regret", "topic_weight",
                      "topic_rewards", "stored_weight_sum",
                      "takes_slot"}                           # chain-v0.6's own rules
        assert functions[profile] == set(FUNCTIONS) - (
            set() if profile == "chain-v0.6" else chain_only)
        assert {(profile, kind, valid) for kind in ("function", "epoch", "trace")
                for valid in (True, False) if (kind, valid) != ("trace", False)} <= kinds


def load(identifier: str) -> dict:
    return json.loads((COMMITTED / f"{identifier}.json").read_bytes())


def outputs(identifier: str) -> dict:
    return load(identifier)["expected"]


def values(field) -> np.ndarray:
    return decode_array(field) if isinstance(field, list) else np.array(decode_number(field))


@pytest.mark.parametrize("profile", SET_PROFILES)
def test_edge_cases_hit_their_branch(profile):
    epoch = f"{profile}/epoch/step"
    floor = load(f"{epoch}/listened_stake_floor")
    listening = values(floor["expected"]["outputs"]["listening_coefficients"])
    stakes = values(floor["inputs"]["state"]["stakes"])
    assert (listening * stakes).sum() / stakes.sum() == pytest.approx(0.5, abs=1e-12)
    assert values(outputs(f"{epoch}/utility_above_one")["outputs"]["forecasting_utility"]) == 0.5
    assert values(outputs(f"{epoch}/utility_below_zero")["outputs"]["forecasting_utility"]) == 0.1
    cold = outputs(f"{epoch}/cold_start")
    assert cold["outputs"]["forecasted_regrets"][0][0] is None        # no previous loss
    assert load(f"{epoch}/cold_start")["inputs"]["state"]["previous_network_log_loss"] is None
    single = outputs(f"{epoch}/single_inferer")["outputs"]
    assert single["forecast_implied_inferences"] == [] and single["inferer_reward_fractions"] \
        == ["1.0000000000000000e+00"]
    partial = outputs(f"{epoch}/partial_participation")["outputs"]
    assert partial["inferer_scores"][2] is None and partial["reputer_scores"][3] is None
    new = load(f"{epoch}/new_inferer")
    assert all(row[4] is None for row in new["inputs"]["state"]["regrets"])
    assert new["expected"]["outputs"]["inferer_scores"][4] is not None
    zero = outputs(f"{profile}/function/normalised_regrets/sigma_zero")["normalised_regrets"]
    assert values(zero).tolist() == [[50.0] * 4]                    # 0.5 / (0 + 0.01)


def test_deployed_branches_fire_in_the_simulator_profile():
    """The guard rails cap, shift and cut off; chi is pinned; the lone forecaster scores 0."""
    simulator = load_profile("allora-simulator")
    no_rails = dataclasses.replace(simulator, regret_guard_rails=False)
    for case in ("guard_rail_cap", "guard_rail_shift", "guard_rail_cutoff"):
        vector = load(f"allora-simulator/function/regret_weights/{case}")
        railed = values(vector["expected"]["weights"])
        plain = values(evaluate(vector["manifest"], vector["inputs"], no_rails)["weights"])
        assert np.abs(railed - plain).max() > 1e-6, case
    assert values(outputs("allora-simulator/function/regret_weights/guard_rail_cutoff")
                  ["weights"])[0, -1] == 0.0
    shift = load("allora-simulator/epoch/step/guard_rail_shift")
    plain = evaluate(shift["manifest"], shift["inputs"], no_rails)
    assert values(plain["outputs"]["network_inference"]) != \
        values(shift["expected"]["outputs"]["network_inference"])
    assert outputs("allora-simulator/function/forecasting_score_ratio/both_zero")[
        "utility_pinned"] is True
    assert values(outputs("allora-simulator/epoch/step/single_forecaster")["outputs"]
                  ["forecaster_scores"]).tolist() == [0.0]
    equal = values(outputs("allora-simulator/function/inferer_reward_fractions/equal_scores")
                   ["reward_fractions"])
    assert equal.tolist() == [0.25] * 4


@pytest.mark.parametrize("profile", SET_PROFILES)
def test_emission_cases_hit_their_branch(profile):
    def step(case):
        return {key: values(value) for key, value in
                outputs(f"{profile}/epoch/emission_step/{case}")["outputs"].items()}
    launch, capped, uncapped, short = map(step, ("launch", "capped", "uncapped",
                                                 "treasury_short"))
    assert launch["e"] == launch["capped"]                  # no e_{i-1}: the EMA starts there
    assert capped["capped"] == capped["maximum"] < capped["target"]
    assert uncapped["capped"] == uncapped["target"] < uncapped["maximum"]
    assert short["paid"] < 1e-3 and short["total"] == 1e3   # the whole treasury, no more
    after = outputs(f"{profile}/epoch/emission_step/first_unlock")["state"]
    measured = 0.25 + 0.75 * 0.4
    assert values(after["stakers_fraction"]) == pytest.approx(
        measured if profile in ("whitepaper", "chain-v0.6") else 0.5, rel=1e-15)


def test_invalid_cases_are_rejected_with_a_reason(committed):
    _, all_cases = committed
    invalid = [case for case in all_cases if "expected_error" in case]
    assert len(invalid) == 2 * 29 + 28       # chain-v0.6 accepts all-zero reputer terms
    messages = {case["manifest"]["case"]: case["expected_error"] for case in invalid}
    assert "parameter epsilon must be > 0" in messages["invalid_parameters"]
    assert "must be non-negative" in messages["negative_topic_reward"]
    assert "no inferer submitted" in messages["no_inferences"]


def test_unknown_function_and_missing_inputs():
    params = load_profile("whitepaper")
    with pytest.raises(ValueError, match="unknown function 'gradient'"):
        evaluate({"kind": "function", "function": "gradient"}, {}, params)
    with pytest.raises(ValueError, match="input x is missing"):
        evaluate({"kind": "function", "function": "potential"}, {}, params)
    with pytest.raises(ValueError, match="input n_inferers must be a non-negative integer"):
        evaluate({"kind": "function", "function": "updated_regrets"},
                 {"regrets": [], "network_log_losses": [], "n_inferers": -1}, params)


def perturbed(value, rng: np.random.Generator):
    """Every decimal that is not a round number (2 decimals) moved by a few 1e-16, relative."""
    if isinstance(value, dict):
        return {key: perturbed(item, rng) for key, item in value.items()}
    if isinstance(value, list):
        return [perturbed(item, rng) for item in value]
    if isinstance(value, str) and float(value) != round(float(value), 2):
        return encode_number(float(value) * (1 + 8e-16 * rng.standard_normal()))
    return value


def test_tolerances_absorb_rounding(committed):
    """Inputs moved by about 1e-15 move no output by more than 1/10 of its tolerance, except
    in the cases built on exact ties (equal values, zero scores), which are branch points."""
    _, all_cases = committed
    rng = np.random.default_rng(5)
    ties = ("sigma_zero", "both_zero", "ties", "equal_scores")
    worst = 0.0
    for case in all_cases:
        if "expected" not in case or case["manifest"]["case"] in ties:
            continue
        params = decode_params(case["parameters"])
        moved = evaluate(case["manifest"], perturbed(case["inputs"], rng), params)
        expected, actual = dict(leaf_fields(case["expected"])), dict(leaf_fields(moved))
        for path, want in expected.items():
            if isinstance(want, bool) or values(want).dtype == bool:     # flags: exact
                assert actual[path] == want, (case["manifest"]["case"], path)
                continue
            e, a = values(want), values(actual[path])
            rule = case["tolerance"][path.rsplit(".", 1)[-1]]
            bound = float(rule["atol"]) + float(rule["rtol"]) * np.abs(e)
            both = np.isnan(e) & np.isnan(a)
            ratio = np.where(both, 0.0, np.abs(a - e) / bound)
            assert not np.isnan(ratio).any(), (case["manifest"]["case"], path)
            worst = max(worst, float(ratio.max(initial=0.0)))
    assert worst < 0.1


def test_function_registry_is_documented(committed):
    """The format README names every function with its equations' inputs and outputs."""
    readme = (Path(allora_ref.__file__).parent / "vectors-format.md").read_text()
    section = readme.split("## Kind `function`")[1].split("## Kind `epoch`")[0]
    rows = {line.split("|")[1].strip(" `"): line for line in section.splitlines()
            if line.startswith("| `")}
    for name in FUNCTIONS:
        assert name in rows, name
    for case in committed[1]:
        manifest = case["manifest"]
        if manifest["kind"] == "function":
            _, _, inputs, outputs_ = rows[manifest["function"]].split("|")[1:5]
            assert set(case["inputs"]) <= set(inputs.replace(",", " ").split())
            assert set(case.get("expected", {})) <= set(outputs_.replace(",", " ").split())


def cli(*args):
    return subprocess.run([sys.executable, "-m", "allora_ref.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_generate_and_validate(tmp_path, generated):
    target = tmp_path / "set"
    result = cli("vectors", "generate", target)
    index = read_index(generated[0])
    assert result.returncode == 0 and result.stdout == (
        f"446 cases (vector set {VERSION}), root sha256 {index['root_sha256']}\n")
    assert tree(target) == tree(generated[0])
    assert cli("vectors", "validate", target).stdout == "valid\n"
    (target / "whitepaper/function/potential/grid.json").write_text("{}")
    broken = cli("vectors", "validate", target)
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[-1] == "1 problems"
    for args, fragment in [(("validate", tmp_path / "none"), "not a vector set (no index.json)"),
                           (("generate", Path(__file__)), "exists and is not a directory"),
                           (("generate", tmp_path / "no" / "set"),
                            "the parent directory does not exist"),
                           (("check", target), "invalid choice: 'check'")]:
        result = cli("vectors", *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result
        assert fragment in result.stderr and "Traceback" not in result.stderr

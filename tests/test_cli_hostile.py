"""The command line under hostile input: a check that checked nothing fails, a malformed table is
refused with one line naming its column or row, extreme values name their equation, a broken
vector set names its file, the locale changes nothing, and SIGTERM leaves no temporary file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import allora_ref
from allora_ref.cli import main
from allora_ref.vectors import DEPTH_LIMIT, case_id, read_set, write_set

COMMITTED = Path(allora_ref.__file__).parent / "vectors_data"


@pytest.fixture(autouse=True)
def no_warnings():
    """A leaked RuntimeWarning (or any other) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture
def cli(capsys):
    """``allora-ref ARGS`` in this process: (status, stdout lines, stderr)."""
    def run(*args):
        status = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return status, captured.out.splitlines(), captured.err
    return run


def one_line(status: int, stderr: str, *fragments: str) -> None:
    assert status == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


def edited(source: Path, target: Path, edit) -> Path:
    """A copy of a CSV table with ``edit(header, rows)`` applied (in place)."""
    with open(source, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    edit(header, rows)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    return target


def set_cell(name: str, row: int, value: str):
    def edit(header, rows):
        rows[row][header.index(name)] = value
    return edit


# --- nothing compared, nothing passed ---------------------------------------------------------

def test_compare_of_unrelated_tables_fails(cli, golden_synthesis, golden_tokenomics):
    status, out, _ = cli("compare", golden_synthesis, golden_tokenomics)
    assert status == 1
    assert out[-2:] == ["nothing was compared: the tables have no column in common (besides the "
                        "key)", "0 passed, 0 failed, 0 skipped"]


def test_compare_against_an_empty_table_fails(cli, golden_synthesis, tmp_path):
    def empty(header, rows):
        rows[:] = [[row[0]] + [""] * (len(row) - 1) for row in rows]
    blank = edited(golden_synthesis, tmp_path / "blank.csv", empty)
    status, out, _ = cli("compare", golden_synthesis, blank)
    assert status == 1
    assert out[-2] == ("nothing was compared: every cell of the actual table in the common rows "
                       "and columns is empty")
    assert out[-1].startswith("0 passed, 0 failed, ")


# --- tables that do not match their header's layout -------------------------------------------

def drop_column(name: str):
    def edit(header, rows):
        index = header.index(name)
        for row in [header, *rows]:
            del row[index]
    return edit


@pytest.mark.parametrize("column", ["inference_2", "reputer_stake_4",
                                    "forecast_implied_inference_0"])
def test_a_synthesis_table_missing_a_numbered_column(cli, golden_synthesis, tmp_path, column):
    table = edited(golden_synthesis, tmp_path / "t.csv", drop_column(column))
    status, _, err = cli("replay", "synthesis", table, "--out", tmp_path / "o.csv")
    one_line(status, err, str(table), f"lacks the column {column}")
    assert not (tmp_path / "o.csv").exists()


def months(keys):
    def edit(header, rows):
        rows[:] = [[key] + rows[min(i, len(rows) - 1)][1:] for i, key in enumerate(keys)]
    return edit


@pytest.mark.parametrize("edit, fragments", [
    (months(["0", "2", "1"]), ["months must be consecutive: 2 follows 0"]),
    (months(["0", "1", "3"]), ["months must be consecutive: 3 follows 1"]),
    (months(["0", "one"]), ["epoch 'one' is not an integer month"]),
    (set_cell("n_active_topics", 3, "-2"), ["epoch 3: n_active_topics must be a count (an "
                                            "integer >= 0), got '-2'"]),
    (set_cell("n_active_validators", 5, "2.5"), ["epoch 5: n_active_validators must be a count"]),
    (set_cell("n_active_topics", 4, "many"), ["epoch 4: non-numeric value 'many' in column "
                                              "n_active_topics"]),
    (drop_column("validator_stake_1"), ["lacks the column validator_stake_1"]),
])
def test_malformed_tokenomics_tables(cli, golden_tokenomics, tmp_path, edit, fragments):
    table = edited(golden_tokenomics, tmp_path / "t.csv", edit)
    status, _, err = cli("replay", "tokenomics", table, "--out", tmp_path / "o.csv")
    one_line(status, err, str(table), *fragments)


# --- extreme finite values --------------------------------------------------------------------

@pytest.mark.parametrize("column, value, fragment", [
    ("reputer_0_loss_inference_1", "1e200", "(eqs 29, 31-33) cannot be computed in float64"),
    ("inference_0", "1e308", "(eqs 3-12) is infinite for these inputs"),
    ("reputer_stake_0", "1.7976931348623157e308", "(eq"),
])
def test_replay_at_extreme_values_names_the_equation(cli, golden_synthesis, tmp_path, column,
                                                     value, fragment):
    table = edited(golden_synthesis, tmp_path / "t.csv", set_cell(column, 1, value))
    status, _, err = cli("replay", "synthesis", table, "--out", tmp_path / "o.csv")
    one_line(status, err, f"{table}: epoch 301: ", fragment)


def test_replay_of_large_but_computable_values(cli, golden_synthesis, tmp_path):
    """A reported loss of -1e6 (a tiny loss) is an ordinary number: every row replays."""
    table = edited(golden_synthesis, tmp_path / "t.csv",
                   set_cell("reputer_0_loss_inference_1", 1, "-1e6"))
    status, _, err = cli("replay", "synthesis", table, "--out", tmp_path / "o.csv")
    assert status == 0, err


# --- broken vector sets -----------------------------------------------------------------------

@pytest.fixture
def small_set(tmp_path) -> Path:
    wanted = {"whitepaper/function/potential/grid", "whitepaper/function/potential/extremes"}
    write_set(tmp_path / "set", [case for case in read_set(COMMITTED)[1]
                                 if case_id(case["manifest"]) in wanted])
    return tmp_path / "set"


def test_validate_a_deeply_nested_index(cli, small_set):
    (small_set / "index.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    status, _, err = cli("vectors", "validate", small_set)
    one_line(status, err, f"{small_set / 'index.json'}: JSON nested deeper than {DEPTH_LIMIT}")
    (small_set / "index.json").write_text(json.dumps({"cases": [[[[[[]]]]]] * 3}),
                                          encoding="utf-8")
    status, _, err = cli("vectors", "validate", small_set)
    one_line(status, err, "index.json: not a valid vector-set index")


def test_validate_a_deeply_nested_case(cli, small_set):
    path = small_set / "whitepaper/function/potential/grid.json"
    path.write_text("{" + '"a": {' * 5000 + "}" * 5001, encoding="utf-8")
    status, out, _ = cli("vectors", "validate", small_set)
    assert status == 1
    assert "whitepaper/function/potential/grid: sha256 " in out[0]


def test_validate_a_readme_that_is_not_utf8(cli, small_set):
    (small_set / "README.md").write_bytes(b"\xff\xfe not UTF-8")
    status, out, _ = cli("vectors", "validate", small_set)
    assert status == 1
    assert out == ["README.md: missing or not this package's vectors-format.md", "1 problems"]


# --- the locale -------------------------------------------------------------------------------

ASCII_LOCALE = {"LC_ALL": "POSIX", "LANG": "POSIX", "PYTHONUTF8": "0",
                "PYTHONIOENCODING": ""}


def run_under_ascii(args: list, **kwargs) -> subprocess.CompletedProcess:
    """A command under the POSIX locale with UTF-8 mode off, failing on any implicit use of the
    locale's encoding (``-X warn_default_encoding``) by allora_ref."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("LC_", "PYTHONIOENCODING"))} | ASCII_LOCALE
    return subprocess.run([sys.executable, "-X", "warn_default_encoding",
                           "-W", "error::EncodingWarning:allora_ref", *map(str, args)],
                          capture_output=True, env=environment, **kwargs)


def test_replay_and_compare_under_an_ascii_locale(golden_synthesis, tmp_path):
    out = tmp_path / "ré play.csv"
    replay = run_under_ascii(["-m", "allora_ref.cli", "replay", "synthesis", golden_synthesis,
                              "--out", out])
    assert replay.returncode == 0, replay.stderr
    compare = run_under_ascii(["-m", "allora_ref.cli", "compare", golden_synthesis, out])
    assert compare.returncode == 0, compare.stderr
    missing = run_under_ascii(["-m", "allora_ref.cli", "compare", tmp_path / "nöne.csv", out])
    assert missing.returncode == 2
    assert missing.stderr.decode("utf-8").endswith("nöne.csv: no such file\n")


def test_vectors_are_written_and_read_as_utf8_under_an_ascii_locale(tmp_path):
    script = textwrap.dedent(f"""
        from allora_ref.vectors import case_id, read_set, validate_set, write_set
        cases = [c for c in read_set({str(COMMITTED)!r})[1]
                 if case_id(c["manifest"]) == "whitepaper/function/potential/grid"]
        write_set({str(tmp_path / "set")!r}, cases)
        assert validate_set({str(tmp_path / "set")!r}) == []
    """)
    result = run_under_ascii(["-c", script])
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    for name in ("README.md", "IMPLEMENTING.md"):
        assert (tmp_path / "set" / name).read_bytes() == \
            (COMMITTED / name).read_bytes()


# --- SIGTERM ----------------------------------------------------------------------------------

TERMINATED_WRITE = """
import os, signal, sys
from allora_ref import atomic
from allora_ref.cli import main

def fsync(fd):                     # SIGTERM arrives in the middle of the write
    os.kill(os.getpid(), signal.SIGTERM)
atomic.os.fsync = fsync
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_during_a_write_leaves_no_temporary_file(golden_synthesis, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = subprocess.run([sys.executable, "-c", TERMINATED_WRITE, "replay", "synthesis",
                             golden_synthesis, "--out", out_dir / "replayed.csv"],
                            capture_output=True, text=True)
    assert result.returncode == 143, result.stderr
    assert list(out_dir.iterdir()) == []


TERMINATED_SET = """
import os, signal, sys
from allora_ref import cli, vectors

cases = vectors.read_set(sys.argv[1])[1][:5]
digest, calls = vectors.sha256, []
def sha256(data):                   # SIGTERM arrives while the set is being built
    calls.append(1)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGTERM)
    return digest(data)
vectors.sha256 = sha256
signal.signal(signal.SIGTERM, cli._terminate)        # as `allora-ref vectors generate` has it
try:
    vectors.write_set(sys.argv[2], cases)
except cli.Terminated:
    sys.exit(143)
"""


def test_sigterm_during_vector_generation_leaves_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-c", TERMINATED_SET, COMMITTED, tmp_path / "set"],
                            capture_output=True, text=True)
    assert result.returncode == 143, result.stderr
    assert list(tmp_path.iterdir()) == []

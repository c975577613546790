"""The command-line contract: replay, compare, and one-line errors with exit status 2."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from allora_ref.cli import main
from allora_ref.synthesis_table import section_4_columns
from allora_ref.table import read_table


def run(*args):
    return subprocess.run([sys.executable, "-m", "allora_ref.cli", *map(str, args)],
                          capture_output=True, text=True)


def assert_one_line_error(result, fragment):
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert fragment in result.stderr


def test_replay_then_compare_reports_zero_failed(golden_synthesis, tmp_path):
    out = tmp_path / "out.csv"
    assert run("replay", "synthesis", golden_synthesis, "--out", out).returncode == 0
    header = read_table(golden_synthesis).header
    result = run("compare", golden_synthesis, out, "--exclude", *section_4_columns(header))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1].endswith(" passed, 0 failed, 0 skipped")


def test_tokenomics_replay_then_compare_reports_zero_failed(golden_tokenomics, tmp_path):
    """The shared months: every determinable output within 1e-9; the rest left empty."""
    out = tmp_path / "out.csv"
    assert run("replay", "tokenomics", golden_tokenomics, "--out", out).returncode == 0
    result = run("compare", golden_tokenomics, out)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "1804 passed, 0 failed, 71 skipped"


def test_tokenomics_bad_supply_gives_one_line(golden_tokenomics, tmp_path):
    text = golden_tokenomics.read_text().splitlines()
    header = text[0].split(",")
    cells = text[3].split(",")                                 # month 2
    cells[header.index("network_tokens_staked")] = "1e12"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text[:3] + [",".join(cells)] + text[4:]) + "\n")
    assert_one_line_error(run("replay", "tokenomics", bad, "--out", tmp_path / "o.csv"),
                          "epoch 2: staked supply N_staked (eq 48) 1000000000000.0 exceeds the "
                          "circulating supply")


def test_compare_fails_on_a_wrong_value(golden_synthesis, tmp_path):
    text = golden_synthesis.read_text().splitlines()
    cells = text[2].split(",")
    cells[40] = repr(float(cells[40]) * (1 + 1e-6))            # network_inference of epoch 301
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("\n".join(text[:2] + [",".join(cells)] + text[3:]) + "\n")
    result = run("compare", golden_synthesis, wrong)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == f"{len(text[0].split(',')) * 4 - 4 - 1} passed, " \
                                             "1 failed, 0 skipped"
    assert "network_inference at epoch 301" in result.stdout


def test_replay_writes_stdout_identically(golden_synthesis, tmp_path):
    first, second = run("replay", "synthesis", golden_synthesis), run("replay", "synthesis",
                                                                        golden_synthesis)
    assert first.returncode == 0 and first.stdout == second.stdout


def test_output_is_never_written_over_the_input(golden_synthesis, tmp_path):
    copy = tmp_path / "in.csv"
    shutil.copy(golden_synthesis, copy)
    before = copy.read_bytes()
    assert_one_line_error(run("replay", "synthesis", copy, "--out", copy), "refusing to write")
    assert copy.read_bytes() == before


@pytest.mark.parametrize("content, fragment", [
    ("", "empty file, no header"),
    ("epoch,inference_0\n300,1\n300,2\n", "duplicate epoch 300"),
    ("epoch,inference_0\n300,1\n", "not a synthesis table"),
])
def test_bad_files_give_one_line(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert_one_line_error(run("replay", "synthesis", path, "--out", tmp_path / "o.csv"), fragment)


def test_non_numeric_input(golden_synthesis, tmp_path):
    text = golden_synthesis.read_text().splitlines()
    cells = text[2].split(",")
    cells[2] = "abc"                                           # inference_0 of epoch 301
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text[:2] + [",".join(cells)] + text[3:]) + "\n")
    assert_one_line_error(run("replay", "synthesis", bad, "--out", tmp_path / "o.csv"),
                          "non-numeric value 'abc' in column inference_0")


@pytest.mark.parametrize("args, fragment", [
    (["replay", "synthesis", "missing.csv", "--out", "o.csv"], "missing.csv: no such file"),
    (["replay", "emissions", "x.csv", "--out", "o.csv"], "unknown dataset 'emissions'"),
    (["replay", "tokenomics", "x.csv", "--out", "o.csv"], "not a tokenomics table"),
    (["replay", "synthesis", "x.csv", "--profile", "paper"], "unknown profile 'paper'"),
    (["compare", "only-one.csv"], "required"),
    (["compare", "a.csv", "b.csv", "--rtol", "x"], "invalid float value"),
])
def test_usage_errors(tmp_path, monkeypatch, capsys, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("epoch\n1\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


@pytest.mark.parametrize("rows, fragment", [
    ([], "has a header but no rows"),
    (["301", "300"], "epochs must be consecutive: 300 follows 301"),
    (["300", "302"], "epochs must be consecutive: 302 follows 300"),
    (["300", "x"], "'x' is not an integer epoch"),
])
def test_epochs_must_be_consecutive_rows(golden_synthesis, tmp_path, rows, fragment):
    lines = golden_synthesis.read_text().splitlines()
    body = {line.split(",", 1)[0]: line.split(",", 1)[1] for line in lines[1:]}
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0]] + [f"{key},{body.get(key, body['301'])}"
                                           for key in rows]) + "\n")
    assert_one_line_error(run("replay", "synthesis", bad, "--out", tmp_path / "o.csv"), fragment)


def test_directory_and_non_utf8_inputs(tmp_path):
    assert_one_line_error(run("replay", "synthesis", tmp_path, "--out", tmp_path / "o.csv"),
                          "cannot read")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("epoch,caf\xe9\n1,2\n".encode("latin-1"))
    assert_one_line_error(run("compare", latin, latin), "cannot read")


def test_missing_output_directory(golden_synthesis, tmp_path):
    assert_one_line_error(run("replay", "synthesis", golden_synthesis, "--out",
                              tmp_path / "no" / "out.csv"), "cannot write")


def test_a_trailing_blank_line_is_accepted(golden_synthesis, tmp_path):
    copy = tmp_path / "in.csv"
    copy.write_text(golden_synthesis.read_text() + "\n\n")
    assert run("replay", "synthesis", copy, "--out", tmp_path / "o.csv").returncode == 0

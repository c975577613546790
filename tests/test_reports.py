"""`make reports` options are checked before any notebook runs: one line on stderr, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from allora_ref import reports

NOTEBOOKS = str(Path(__file__).resolve().parent.parent / "notebooks")


@pytest.mark.parametrize("arguments, message", [
    (["--set", "nope=1"], "unknown parameter(s) nope"),
    (["--set", "alpha_regret=1.5"], "parameter alpha_regret must lie in (0, 1] (eq 15)"),
    (["--set", "p=fast"], "parameter p must be a float (like 3.0), not 'fast'"),
    (["--set", "p"], "parameter 'p' is not FIELD=VALUE"),
    (["--profile", "mainnet"], "unknown profile 'mainnet'"),
    (["--only", "77"], "no report notebook named 77"),
    (["-p", "epochz", "3"], "no notebook has parameter(s) epochz"),
])
def test_bad_option_is_one_line_and_exit_2(arguments, message, tmp_path, capsys):
    assert reports.main([*arguments, "--notebooks", NOTEBOOKS, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not any(tmp_path.iterdir())


def test_parameters_reach_only_the_notebooks_that_declare_them(tmp_path):
    """Figure 4's scenario goes to 05_1 alone; the profile and its overrides to every notebook
    that has them; figures and the ledger are written where --out says."""
    args = reports.argparse.Namespace(
        parameter=[["unlock_month", "18"]], set=["xi_max=0.008"], profile="allora-simulator")
    sources = reports.selected(reports.report_notebooks(Path(NOTEBOOKS)), ["05_1", "03_2"])
    notebooks = {src: reports.read_notebook(src) for src in sources}
    given = {src.stem: p for src, p in reports.report_parameters(args, notebooks, tmp_path).items()}
    assert given["03_2_confidence_intervals"] == {}
    assert given["05_1_token_emission"]["unlock_month"] == 18
    assert given["05_1_token_emission"]["profile"] == "allora-simulator"
    assert given["05_1_token_emission"]["overrides"] == {"xi_max": 0.008}
    assert (Path(NOTEBOOKS) / given["05_1_token_emission"]["figure_dir"]).resolve() == tmp_path.resolve()


def test_the_warm_process_ends_with_a_runner_that_is_killed(tmp_path):
    """A runner killed outright (SIGKILL: no cleanup runs) leaves no warm process and no socket
    behind: the warm process notices its parent is gone, as a plain kernel does."""
    import signal
    import subprocess
    import sys
    import time

    runner = subprocess.Popen(
        [sys.executable, "-c", "import os, sys\n"
         "from allora_ref.warm_kernels import SOCKET_VARIABLE, warm_process\n"
         "with warm_process():\n"
         "    print(os.environ[SOCKET_VARIABLE], flush=True)\n"
         "    sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    socket_path = Path(runner.stdout.readline().strip())
    assert socket_path.exists()
    def state(pid: int) -> tuple[int, str] | None:
        """(parent pid, state) of a process from /proc; None once it is gone."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return None
        return int(fields[1]), fields[0]

    warm = [int(d.name) for d in Path("/proc").iterdir()
            if d.name.isdigit() and (state(int(d.name)) or (0, ""))[0] == runner.pid]
    assert len(warm) == 1
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    for _ in range(100):                        # the warm process polls every 50 ms
        if state(warm[0]) is None or state(warm[0])[1] == "Z":    # ended (a zombie: not reaped)
            break
        time.sleep(0.05)
    else:
        os.kill(warm[0], signal.SIGKILL)
        raise AssertionError("the warm process outlived its runner")
    assert not socket_path.exists() and not socket_path.parent.exists()


def test_each_notebook_runs_in_a_fresh_kernel_forked_warm(tmp_path):
    """The kernels forked by the warm process: one process per notebook, none the warm process
    itself, in the notebook's folder, sympy already imported, no name left by another notebook."""
    import json

    import nbformat

    from allora_ref.warm_kernels import warm_process

    code = ("import json, os, sys\n"
            "print(json.dumps({'pid': os.getpid(), 'parent': os.getppid(), 'cwd': os.getcwd(),\n"
            "                  'sympy': 'sympy' in sys.modules, 'left': 'left' in dir()}))\n"
            "left = 1")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    with warm_process():
        for name in ("first", "second"):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
            nb.metadata["kernelspec"] = dict(reports.KERNELSPEC)
            reports.run_report(nb, name, folder, tmp_path, {})
    seen = [json.loads(nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
                       .cells[0].outputs[0]["text"]) for name in ("first", "second")]
    assert seen[0]["pid"] != seen[1]["pid"] and seen[0]["parent"] == seen[1]["parent"]
    assert os.getpid() not in {seen[0]["parent"], seen[0]["pid"], seen[1]["pid"]}
    assert all(s["cwd"] == str(folder) and s["sympy"] and not s["left"] for s in seen)
    assert (tmp_path / "site" / "notebooks" / "second.html").is_file()

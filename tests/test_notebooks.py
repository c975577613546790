"""The notebooks' golden cells: without the golden data they say so, and under CI they fail, as
the golden tests do (tests/conftest.py). The notebooks themselves run under nbval in `make test`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
GOLDEN_CALL = re.compile(r"golden_(?:synthesis|tokenomics)_path\(golden_dir")


def golden_cells() -> list[tuple[str, str]]:
    """(notebook:line, source) of every code cell that reads the golden data."""
    cells = []
    for path in sorted(NOTEBOOKS.glob("*.py")):
        line = 1
        for cell in re.split(r"^(?=# %%)", path.read_text(encoding="utf-8"), flags=re.M):
            if not cell.startswith("# %% [markdown]") and GOLDEN_CALL.search(cell):
                cells.append((f"{path.name}:{line}", cell))
            line += cell.count("\n")
    return cells


def test_the_golden_cells_are_found():
    assert {where.split(":")[0] for where, _ in golden_cells()} >= {
        "03_1_inference_synthesis.py", "04_3_epoch.py", "05_2_topic_rewards.py"}


@pytest.mark.parametrize("where, source", golden_cells(), ids=[w for w, _ in golden_cells()])
def test_golden_cell_without_the_data(where, source, tmp_path, monkeypatch, capsys):
    absent = str(tmp_path / "absent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(AssertionError, match="CI must measure the profiles"):
        exec(compile(source, where, "exec"), {"golden_dir": absent})
    monkeypatch.delenv("CI")
    exec(compile(source, where, "exec"), {"golden_dir": absent})
    assert "golden data not found" in capsys.readouterr().out

"""The mechanism stands alone: ``allora_ref.spec`` imports numpy, the standard library, the
parameters and itself - never the experiment, the scenarios, the claims or the tools."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parent.parent / "allora_ref" / "spec"
ALLOWED = {"numpy", "allora_ref.params", "allora_ref.checks"}


def imported_modules(source: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` anywhere in ``source`` names."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def allowed(module: str) -> bool:
    return (module in ALLOWED or module.startswith("allora_ref.spec.")
            or module.split(".")[0] in sys.stdlib_module_names)


@pytest.mark.parametrize("path", sorted(SPEC.glob("*.py")), ids=lambda p: p.name)
def test_spec_module_imports_only_the_mechanism(path):
    foreign = sorted(m for m in imported_modules(path.read_text(encoding="utf-8"))
                     if not allowed(m))
    assert foreign == [], f"{path.name} imports {foreign}"


def test_the_layer_check_catches_a_foreign_import():
    source = "import numpy as np\nfrom allora_ref.claims import Claim\nfrom .epoch import step\n"
    assert [m for m in sorted(imported_modules(source)) if not allowed(m)] == [
        ".epoch", "allora_ref.claims"]


def test_importing_the_spec_loads_nothing_else_of_the_package():
    modules = [f"allora_ref.spec.{p.stem}" for p in sorted(SPEC.glob("*.py"))]
    code = (f"import sys\nfor m in {modules!r}: __import__(m)\n"
            "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('allora_ref'))))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout.split()
    assert {m for m in loaded if not m.startswith("allora_ref.spec")} <= {
        "allora_ref", "allora_ref.params", "allora_ref.checks"}, loaded

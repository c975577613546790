"""Shared fixtures: the golden data (skipped with a reason when absent, required under CI)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

from allora_ref.reports import KERNEL_START_TIMEOUT
from shared import EXPLORE

from allora_ref.golden import GOLDEN_ENV, golden_synthesis_path, golden_tokenomics_path

# Property tests are never timed (speed is measured by `make bench`). `make test` runs them
# deterministically; `make test-explore` (ALLORA_EXPLORE) from fresh seeds, remembering nothing.
settings.register_profile("allora-ref", deadline=None, derandomize=True, database=None)
settings.register_profile("explore", deadline=None, derandomize=False, database=None,
                          print_blob=True)
settings.load_profile("explore" if EXPLORE else "allora-ref")


# Notebook kernels (nbval's, and the reports' in tests) start side by side with the rest of the
# suite on a busy machine: give them the reports' start timeout instead of nbval's 60 s, and no
# input history, so that no two of them share IPython's SQLite file (IPYTHONDIR of their own).
KERNEL_CONFIG = "c.HistoryManager.enabled = False\n"


def pytest_configure(config):
    config.addinivalue_line("markers", "eq(*numbers): the whitepaper equations a test checks")
    if getattr(config.option, "nbval_kernel_startup_timeout", KERNEL_START_TIMEOUT) < \
            KERNEL_START_TIMEOUT:
        config.option.nbval_kernel_startup_timeout = KERNEL_START_TIMEOUT
    ipython_dir = Path(tempfile.mkdtemp(prefix="allora-ref-ipython-"))
    (ipython_dir / "profile_default").mkdir()
    (ipython_dir / "profile_default" / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    config.allora_ipython_dir = ipython_dir
    os.environ["IPYTHONDIR"] = str(ipython_dir)


def pytest_unconfigure(config):
    ipython_dir = getattr(config, "allora_ipython_dir", None)
    if ipython_dir is not None:
        shutil.rmtree(ipython_dir, ignore_errors=True)


GOLDEN_MISSING = f"golden data not found (../shared/golden or ${GOLDEN_ENV})"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Every skip for missing golden data is reported at one place, so that the summary prints
    its reason once, with the number of tests skipped."""
    report = (yield).get_result()
    if report.skipped and isinstance(report.longrepr, tuple) and GOLDEN_MISSING in str(
            report.longrepr[2]):
        report.longrepr = ("tests/conftest.py", 0, report.longrepr[2])


def _golden(path):
    """``path`` if the golden data is present; else skip with a reason (a failure under CI)."""
    if path is None:
        reason = GOLDEN_MISSING
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the golden tests")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def golden_synthesis():
    """Path of the research simulator's synthesis table."""
    return _golden(golden_synthesis_path())


@pytest.fixture(scope="session")
def golden_tokenomics():
    """Path of the research simulator's monthly tokenomics table."""
    return _golden(golden_tokenomics_path())

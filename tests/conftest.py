"""Shared fixtures: the golden data (skipped with a reason when absent, required under CI)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings
from shared import EXPLORE

from allora_ref.golden import GOLDEN_ENV, golden_synthesis_path, golden_tokenomics_path

# Property tests are never timed (speed is measured by `make bench`). `make test` runs them
# deterministically; `make test-explore` (ALLORA_EXPLORE) from fresh seeds, remembering nothing.
settings.register_profile("allora-ref", deadline=None, derandomize=True, database=None)
settings.register_profile("explore", deadline=None, derandomize=False, database=None,
                          print_blob=True)
settings.load_profile("explore" if EXPLORE else "allora-ref")


def pytest_configure(config):
    config.addinivalue_line("markers", "eq(*numbers): the whitepaper equations a test checks")


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

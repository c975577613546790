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


def _golden(path):
    """``path`` if the golden data is present; else skip with a reason (a failure under CI)."""
    if path is None:
        reason = f"golden data not found (../shared/golden or ${GOLDEN_ENV})"
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

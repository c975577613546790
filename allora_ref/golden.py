"""Where the golden data of other implementations lives (read in place, never copied).

Tests and notebooks look in ``$ALLORA_GOLDEN_DIR`` if set, else in ``../shared/golden/allora-simulator``
beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_ENV = "ALLORA_GOLDEN_DIR"
GOLDEN_DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "golden" / "allora-simulator"
SYNTHESIS_FILE = "synthesis_epochs_300-303.csv"
TOKENOMICS_FILE = "tokenomics_months_00-24.csv"



def golden_dir(directory: str | os.PathLike | None = None) -> Path | None:
    """The golden data folder (argument, else $ALLORA_GOLDEN_DIR, else ../shared), if it exists."""
    path = Path(directory or os.environ.get(GOLDEN_ENV) or GOLDEN_DEFAULT)
    return path if path.is_dir() else None


def golden_synthesis_path(directory: str | os.PathLike | None = None) -> Path | None:
    """The research simulator's synthesis table, if the golden data is present."""
    folder = golden_dir(directory)
    return folder / SYNTHESIS_FILE if folder else None


def golden_tokenomics_path(directory: str | os.PathLike | None = None) -> Path | None:
    """The research simulator's monthly tokenomics table, if the golden data is present."""
    folder = golden_dir(directory)
    return folder / TOKENOMICS_FILE if folder else None

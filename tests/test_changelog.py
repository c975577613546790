"""The changelog versions the vector set: the set's current version has an entry."""

from __future__ import annotations

import re
from pathlib import Path

from allora_ref.vectors import VERSION

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"


def test_the_vector_set_version_has_a_changelog_entry():
    text = CHANGELOG.read_text()
    assert re.search(rf"[Vv]ector set \*{{0,2}}{re.escape(VERSION)}\b", text), (
        f"CHANGELOG.md has no entry for vector set {VERSION}")

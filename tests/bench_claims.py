"""Benchmark the claims ledger as ``make reports`` runs it: wall-clock and CPU seconds.

Run by ``make bench`` as ``python tests/bench_claims.py`` (not a pytest module). The ledger
notebook (``--all``: every report notebook) is executed by the reports runner into a temporary
folder, with the notebooks' own parameters (those of ``make reports``). CPU seconds count this
process and every process it waited for (kernels, the ledger's worker processes); on a shared
machine they are steadier than the wall-clock time. The target: all of ``make reports`` under
60 s of wall-clock time on a two-core machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from allora_ref import reports  # noqa: E402

LEDGER = "99_claims_ledger.py"
TARGET_SECONDS = 60.0


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of the children it has waited for."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="every report notebook, not only "
                        "the claims ledger")
    args = parser.parse_args(argv)
    sources = sorted((ROOT / "notebooks").glob("*.py")) if args.all else [
        ROOT / "notebooks" / LEDGER]
    with tempfile.TemporaryDirectory() as folder:
        notebooks = Path(folder) / "notebooks"
        notebooks.mkdir()
        for source in sources:
            shutil.copy(source, notebooks / source.name)
        wall, cpu = time.perf_counter(), cpu_seconds()
        status = reports.main(["--notebooks", str(notebooks), "--out", str(Path(folder) /
                                                                            "reports")])
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    what = "make reports (every notebook)" if args.all else "the claims ledger"
    print(f"\n| run | wall-clock (s) | CPU (s) |\n|---|---|---|\n| {what} | {wall:.1f} | "
          f"{cpu:.1f} |")
    if args.all:
        verdict = "met" if wall < TARGET_SECONDS else "not met"
        print(f"target: make reports under {TARGET_SECONDS:.0f} s wall-clock - {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())

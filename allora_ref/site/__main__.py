"""``python -m allora_ref.site``: build the site from the executed notebooks in reports/."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from allora_ref.site.build import build_site


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m allora_ref.site", description=__doc__)
    parser.add_argument("--reports", type=Path, default=Path("reports"), help="default: reports")
    parser.add_argument("--out", type=Path, default=None, help="default: REPORTS/site")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = args.out or args.reports / "site"
    pages = build_site(args.reports, out)
    print(f"{'site':<40} {time.perf_counter() - start:7.1f} s  {pages} pages in {out}/", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``allora-ref`` command line.

    allora-ref replay {synthesis,tokenomics} IN.csv [--out OUT.csv] [--profile NAME]
    allora-ref compare EXPECTED.csv ACTUAL.csv [--rtol R] [--atol A] [--exclude GLOB ...]

Exit status: 0 success, 1 compare found failed cells, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import csv
import sys

from allora_ref import __version__
from allora_ref.compare import compare_tables
from allora_ref.params import PROFILES, load_profile
from allora_ref.synthesis_table import replay_synthesis
from allora_ref.table import read_table, write_table_atomic
from allora_ref.tokenomics_table import replay_tokenomics

DATASETS = {"synthesis": replay_synthesis, "tokenomics": replay_tokenomics}


class UsageError(Exception):
    """A command-line mistake, reported in one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="allora-ref", description="The Allora whitepaper v2024.8.14, executable.")
    top.add_argument("--version", action="version", version=f"allora-ref {__version__}")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)

    replay = commands.add_parser("replay", help="recompute the outputs of a recorded table")
    replay.add_argument("dataset", help=f"the table's kind: {', '.join(DATASETS)}")
    replay.add_argument("input", metavar="IN.csv")
    replay.add_argument("--out", metavar="OUT.csv", help="output file (default: stdout)")
    replay.add_argument("--profile", default="allora-simulator",
                        help=f"parameter profile: {', '.join(PROFILES)} (default allora-simulator)")

    compare = commands.add_parser("compare", help="compare two tables cell by cell")
    compare.add_argument("expected", metavar="EXPECTED.csv")
    compare.add_argument("actual", metavar="ACTUAL.csv")
    compare.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance (1e-9)")
    compare.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (0)")
    compare.add_argument("--exclude", nargs="+", default=[], metavar="GLOB",
                         help="ignore columns matching these patterns")
    return top


def run_replay(args: argparse.Namespace) -> int:
    if args.dataset not in DATASETS:
        raise UsageError(f"unknown dataset {args.dataset!r} (known: {', '.join(DATASETS)})")
    params = load_profile(args.profile)
    table = DATASETS[args.dataset](read_table(args.input), params)
    if args.out is None:
        csv.writer(sys.stdout, lineterminator="\n").writerows([table.header, *table.rows])
    else:
        write_table_atomic(args.out, table, inputs=[args.input])
    return 0


def run_compare(args: argparse.Namespace) -> int:
    comparison = compare_tables(read_table(args.expected), read_table(args.actual),
                                rtol=args.rtol, atol=args.atol, exclude=args.exclude)
    print("\n".join(comparison.lines()))
    return 1 if comparison.failed else 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        return {"replay": run_replay, "compare": run_compare}[args.command](args)
    except (UsageError, ValueError, OSError) as error:
        print(f"allora-ref: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The ``allora-ref`` command line.

    allora-ref replay {synthesis,tokenomics} IN.csv [--out OUT.csv] [--profile NAME]
    allora-ref compare EXPECTED.csv ACTUAL.csv [--rtol R] [--atol A] [--exclude GLOB ...]
    allora-ref vectors generate DIR
    allora-ref vectors validate DIR
    allora-ref conform (--cmd "PROGRAM ARGS" | --results FILE) [--vectors DIR] [--kind K]
        [--section S] [--profile P] [--name GLOB] [--exclude-file F] [--junit FILE]

Exit status: 0 success, 1 compare found failed cells / validate found problems / conform found
failed or never-run cases - or compare or conform checked nothing at all -, 2 bad input (one
line on stderr), 130 interrupted, 143 terminated (SIGTERM; no partial output is left).
"""

from __future__ import annotations

import argparse
import csv
import shlex
import signal
import sys
import threading
from pathlib import Path
from importlib import resources

from allora_ref import __version__
from allora_ref.atomic import refuse_inputs, write_text_atomic
from allora_ref.compare import compare_tables
from allora_ref.conformance import Selection, read_exclusions, run_program, run_results
from allora_ref.params import PROFILES, load_profile
from allora_ref.program import Program, check_timeout
from allora_ref.synthesis_table import replay_synthesis
from allora_ref.table import read_table, write_table_atomic
from allora_ref.tokenomics_table import replay_tokenomics
from allora_ref.vector_cases import cases
from allora_ref.vectors import KINDS, VERSION, read_set, validate_set, write_set

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

    vectors = commands.add_parser("vectors", help="write or check a test-vector set")
    actions = vectors.add_subparsers(dest="action", required=True, parser_class=Parser)
    actions.add_parser("generate", help="write the vector set to DIR (replacing a set there)"
                       ).add_argument("directory", metavar="DIR")
    actions.add_parser("validate", help="check schema, hashes and completeness of a set"
                       ).add_argument("directory", metavar="DIR")

    conform = commands.add_parser("conform", help="run an implementation against the vectors")
    source = conform.add_mutually_exclusive_group(required=True)
    source.add_argument("--cmd", metavar='"PROGRAM ARGS"',
                        help="the implementation's adapter, speaking the JSON-lines protocol")
    source.add_argument("--results", metavar="FILE", help="response lines written offline")
    conform.add_argument("--vectors", metavar="DIR", default=None,
                         help="the vector set (default: the one shipped with allora-ref)")
    conform.add_argument("--kind", action="append", choices=KINDS, default=[],
                         help="only cases of this kind (repeatable)")
    conform.add_argument("--section", action="append", default=[], metavar="S",
                         help='only cases of this section, e.g. 4 or 4.1 (repeatable)')
    conform.add_argument("--profile", action="append", default=[], metavar="P",
                         help="only cases of this profile (repeatable)")
    conform.add_argument("--name", action="append", default=[], metavar="GLOB",
                         help="only cases whose id matches, e.g. '*/worker_scores/*' (repeatable)")
    conform.add_argument("--exclude-file", metavar="F",
                         help="case-id globs not to run, one per line, each with its reason")
    conform.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML")
    conform.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                         help="how long to wait for each response (60)")
    conform.add_argument("--verbose", "-v", action="store_true",
                         help="also list the cases that passed, with their largest errors")
    return top


def run_replay(args: argparse.Namespace) -> int:
    if args.dataset not in DATASETS:
        raise UsageError(f"unknown dataset {args.dataset!r} (known: {', '.join(DATASETS)})")
    params = load_profile(args.profile)
    source = read_table(args.input)
    try:
        table = DATASETS[args.dataset](source, params)
    except ValueError as error:
        raise ValueError(f"{args.input}: {error}") from None
    if args.out is None:
        csv.writer(sys.stdout, lineterminator="\n").writerows([table.header, *table.rows])
    else:
        write_table_atomic(args.out, table, inputs=[args.input])
    return 0


def run_compare(args: argparse.Namespace) -> int:
    comparison = compare_tables(read_table(args.expected), read_table(args.actual),
                                rtol=args.rtol, atol=args.atol, exclude=args.exclude)
    print("\n".join(comparison.lines()))
    return 0 if comparison.ok else 1


def packaged_vectors() -> str:
    """The vector set shipped with the package."""
    return str(resources.files("allora_ref").joinpath("vectors_data"))


def run_vectors(args: argparse.Namespace) -> int:
    if args.action == "generate":
        index = write_set(args.directory, cases())
        print(f"{len(index['cases'])} cases (vector set {VERSION}), root sha256 "
              f"{index['root_sha256']}")
        return 0
    problems = validate_set(args.directory)
    print("\n".join(problems + [f"{len(problems)} problems" if problems else "valid"]))
    return 1 if problems else 0


def run_conform(args: argparse.Namespace) -> int:
    check_timeout(args.timeout)
    program = None
    if args.cmd is not None:
        try:
            argv = shlex.split(args.cmd)
        except ValueError as error:
            raise UsageError(f"--cmd: {error}") from None
        program = Program(argv, args.timeout)
    vectors = args.vectors or packaged_vectors()
    inputs = [path for path in (args.results, args.exclude_file) if path]
    if args.junit:
        refuse_inputs(args.junit, inputs + [str(path) for path in Path(vectors).rglob("*")
                                            if path.is_file()])
    index, set_cases = read_set(vectors)
    selection = Selection(tuple(args.kind), tuple(args.section), tuple(args.profile),
                          tuple(args.name))
    exclusions = read_exclusions(args.exclude_file) if args.exclude_file else []
    if program is not None:
        report = run_program(set_cases, program, selection, exclusions)
    else:
        report = run_results(set_cases, args.results, selection, exclusions)
    print("\n".join(report.lines(args.verbose)))
    if args.junit:
        write_text_atomic(args.junit, report.junit(f"allora-ref vectors {index['version']}"))
    return 0 if report.ok else 1


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that a write in progress removes its temporary
    file and a program under test is killed before the command exits."""


def _terminate(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):            # UTF-8 whatever the locale says
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="surrogateescape")
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        args = parser().parse_args(argv)
        return {"replay": run_replay, "compare": run_compare, "vectors": run_vectors,
                "conform": run_conform}[args.command](args)
    except (UsageError, ValueError, OSError) as error:
        print(f"allora-ref: error: {' '.join(str(error).splitlines())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Terminated:
        return 128 + signal.SIGTERM
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())

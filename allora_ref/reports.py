"""Execute the report notebooks into ``reports/`` and build the spec site ``reports/site/``.

``python -m allora_ref.reports [-p NAME VALUE ...] [--profile NAME] [--set FIELD=VALUE ...]
[--only NOTEBOOK ...]``

Each report notebook (a jupytext py:percent file) is read into a notebook in memory, executed
with papermill on the ``allora-ref`` Jupyter kernel with the notebook's own folder as working
directory, and written to ``reports/<name>.ipynb``. Then the site is built from every executed
notebook in ``reports/`` (``allora_ref.site``): one page per notebook and per equation, opened
from the file system with no network. Progress: one line per notebook (its place, name and
seconds) and one for the site.

Parameters: ``-p seed 7`` is passed to every notebook whose ``parameters``-tagged cell assigns
``seed``; a parameter that no notebook assigns is an error (exit status 2). Values are Python
literals where they parse as one (``7``, ``0.5``, ``True``, ``[1, 2]``), else strings.
``--profile NAME`` is the parameter ``profile``; ``--set FIELD=VALUE`` (repeatable) replaces one
field of that profile's ``Params`` (the parameter ``overrides``), checked before anything runs: an
unknown field or a value outside its range is an error (exit status 2). ``--only NAME`` runs only
the notebooks whose name is or starts with NAME (``05_1``); the site still shows every notebook
executed before. The folder written into is the notebooks' ``figure_dir``, ``claims_path`` and
``paper_vs_chain_path``.

Outputs are replaced atomically (temporary file in the same folder, then ``os.replace``), and
volatile metadata (timings, temporary paths, random cell ids) is removed, so the same command gives the same
files. A notebook that fails leaves the previous report in place and is saved with its error as
``reports/<name>.failed.ipynb``; the exit status is then 1.

``make reports SEED=7 PROFILE=allora-simulator PARAMS="p=2 c=0.5" ONLY=03_3`` runs this module
with ``-p seed 7 --profile allora-simulator --set p=2 --set c=0.5 --only 03_3``.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

from allora_ref.atomic import write_text_atomic

KERNEL = "allora-ref"
KERNELSPEC = {"name": KERNEL, "display_name": "allora-ref (Python 3.11)", "language": "python"}
# Keep the kernel's own start-up chatter (e.g. "running over TCP without encryption" on
# localhost) off the terminal; errors in the notebook's code are reported as usual. No input
# history: kernels running side by side (reports, notebook tests) would share its SQLite file,
# and a locked file stops a kernel at start or prints a warning into a cell's output.
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False"]
# Seconds a kernel may take to start: on a busy machine it can take more than papermill's 60.
KERNEL_START_TIMEOUT = 300
VOLATILE = ("start_time", "end_time", "duration", "input_path", "output_path")


def report_notebooks(notebooks_dir: Path) -> list[Path]:
    """The report notebooks, in the order they run: every ``*.py`` notebook, sorted by name."""
    return sorted(notebooks_dir.glob("*.py"))


def read_notebook(path: Path):
    """Read a py:percent file as a notebook to run on the ``allora-ref`` kernel."""
    import jupytext

    nb = jupytext.read(path)
    nb.metadata.pop("jupytext", None)  # the report is not a paired copy of the source
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def parameter_names(nb) -> set[str]:
    """Names assigned at top level by the notebook's ``parameters``-tagged cell(s)."""
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def parse_value(text: str):
    """A command-line value: a Python literal if it is one, else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def scrub(nb) -> None:
    """Remove run-dependent metadata (timings, temporary paths, random cell ids) so that reruns
    give identical files."""
    for key in VOLATILE + ("exception",):
        nb.metadata.get("papermill", {}).pop(key, None)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
        cell.metadata.pop("execution", None)
        for key in VOLATILE:
            cell.metadata.get("papermill", {}).pop(key, None)


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``, with the same suffix (for atomic replacement)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def run_report(nb, name: str, cwd: Path, out_dir: Path, parameters: dict) -> None:
    """Execute one notebook and write ``<name>.ipynb`` into ``out_dir``."""
    import nbformat
    import papermill

    failed = out_dir / f"{name}.failed.ipynb"
    tmp = temp_path(failed)
    try:
        nb = papermill.execute_notebook(
            nb, str(tmp), parameters=parameters, kernel_name=KERNEL, cwd=str(cwd),
            progress_bar=False, request_save_on_cell_execute=False,
            extra_arguments=KERNEL_ARGS, start_timeout=KERNEL_START_TIMEOUT)
    except papermill.PapermillExecutionError:
        os.replace(tmp, failed)  # papermill saved the notebook with its error before raising
        raise
    finally:
        tmp.unlink(missing_ok=True)
    scrub(nb)
    write_text_atomic(out_dir / f"{name}.ipynb", nbformat.writes(nb) + "\n")
    failed.unlink(missing_ok=True)


def parse_overrides(items: list[str]) -> dict:
    """``["p=2", "cold_start=chain"]`` -> ``{"p": 2, "cold_start": "chain"}``."""
    overrides = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise ValueError(f"parameter {item!r} is not FIELD=VALUE")
        overrides[field.strip()] = parse_value(value.strip())
    return overrides


def selected(sources: list[Path], only: list[str]) -> list[Path]:
    """The notebooks named (or name-prefixed) by ``only``; all of them if it is empty."""
    if not only:
        return sources
    unknown = [name for name in only if not any(s.stem.startswith(name) for s in sources)]
    if unknown:
        raise ValueError(f"no report notebook named {', '.join(unknown)}; known: "
                         f"{', '.join(s.stem for s in sources)}")
    return [s for s in sources if any(s.stem.startswith(name) for name in only)]


def report_parameters(args, notebooks: dict, out_dir: Path) -> dict[Path, dict]:
    """Each notebook's papermill parameters: the given ones it assigns, the profile and its
    overrides, and where to write figures and the claims ledger (relative to the notebook)."""
    given = {name: parse_value(value) for name, value in args.parameter}
    overrides = parse_overrides(args.set)
    if args.profile is not None:
        given["profile"] = args.profile
    if overrides:
        given["overrides"] = overrides
    from allora_ref.params import profile_with

    profile_with(str(given.get("profile", "whitepaper")), overrides)   # ValueError if invalid
    known = {src: parameter_names(nb) for src, nb in notebooks.items()}
    unknown = sorted(set(given) - set().union(*known.values()))
    if unknown:
        raise ValueError(f"no notebook has parameter(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(set().union(*known.values()))) or 'none'}")
    result = {}
    for src in notebooks:
        relative = os.path.relpath(out_dir, src.parent.resolve())
        paths = {"figure_dir": relative, "claims_path": os.path.join(relative, "claims.md"),
                 "paper_vs_chain_path": os.path.join(relative, "paper-vs-chain.md")}
        result[src] = {k: v for k, v in {**paths, **given}.items() if k in known[src]}
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status (0 ok, 1 a notebook failed, 2 usage)."""
    parser = argparse.ArgumentParser(prog="python -m allora_ref.reports", description=__doc__.split("\n")[0])
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="notebook parameter (repeatable)")
    parser.add_argument("--profile", help="the parameter profile (notebook parameter 'profile')")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="replace one Params field of the profile (repeatable)")
    parser.add_argument("--only", action="append", default=[], metavar="NOTEBOOK",
                        help="run only this notebook (name or prefix; repeatable)")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="default: notebooks")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="default: reports")
    args = parser.parse_args(argv)

    out_dir = args.out.resolve()
    try:
        sources = selected(report_notebooks(args.notebooks), args.only)
        if not sources:
            raise ValueError(f"no report notebooks in {args.notebooks}/")
        notebooks = {src: read_notebook(src) for src in sources}
        parameters = report_parameters(args, notebooks, out_dir)
    except ValueError as e:
        print(f"reports: {e}", file=sys.stderr)
        return 2

    from jupyter_client.kernelspec import NoSuchKernel
    from papermill import PapermillExecutionError

    from allora_ref.site import build_site

    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for i, (src, nb) in enumerate(notebooks.items(), start=1):
        print(f"[{i}/{len(notebooks)}] {src.stem:<36}", end=" ", flush=True)
        start = time.perf_counter()
        try:
            run_report(nb, src.stem, src.parent.resolve(), out_dir, parameters[src])
            status = ""
        except PapermillExecutionError as e:
            failures += 1
            status = f"  FAILED in cell [{e.exec_count}] {e.ename}: {e.evalue} (see {args.out / src.stem}.failed.ipynb)"
        except NoSuchKernel:
            print(f"\nreports: Jupyter kernel '{KERNEL}' not found; run 'make venv'", file=sys.stderr)
            return 2
        print(f"{time.perf_counter() - start:7.1f} s{status}", flush=True)
    print(f"{len(sources) - failures} of {len(sources)} reports written to {args.out}/", flush=True)
    print(f"{'site':<42}", end=" ", flush=True)
    start = time.perf_counter()
    pages = build_site(out_dir, out_dir / "site")
    print(f"{time.perf_counter() - start:7.1f} s  {pages} pages: open {args.out / 'site' / 'index.html'}",
          flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

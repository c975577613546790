"""Execute the report notebooks into ``reports/`` and build the spec site ``reports/site/``.

``python -m allora_ref.reports [-p NAME VALUE ...] [--profile NAME] [--set FIELD=VALUE ...]
[--only NOTEBOOK ...]``

Each report notebook (a jupytext py:percent file) is read into a notebook in memory, executed
with papermill on the ``allora-ref`` Jupyter kernel with the notebook's own folder as working
directory, and written to ``reports/<name>.ipynb``, and its page of the site to
``reports/site/notebooks/<name>.html`` by the same process, beside the notebooks still running.
Then the rest of the site is built from every executed notebook in ``reports/``
(``allora_ref.site``): one page per notebook and per equation, opened from the file system with
no network. Two notebooks run side by side (``--jobs N``: N), the
claims ledger first; the files written do not depend on N. Progress: one line per notebook as
it finishes (its place, name and seconds) and one for the site.

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
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
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
# The notebook that takes longest, started first when notebooks run side by side.
LONGEST = "99_claims_ledger"
# Notebooks run side by side (this machine's cores; the ledger's own worker processes aside).
JOBS = 2
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
        if "outputs" in cell:
            cell.outputs = joined_streams(cell.outputs)


def joined_streams(outputs: list) -> list:
    """The outputs with consecutive pieces of one stream joined: how printed text is cut into
    pieces depends on the kernel's flush timing, so only the joined text is reproducible."""
    joined = []
    for output in outputs:
        if (output.get("output_type") == "stream" and joined
                and joined[-1].get("output_type") == "stream"
                and joined[-1].get("name") == output.get("name")):
            joined[-1]["text"] += output["text"]
        else:
            joined.append(output)
    return joined


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path``, with the same suffix (for atomic replacement)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def run_report(nb, name: str, cwd: Path, out_dir: Path, parameters: dict) -> None:
    """Execute one notebook and write ``<name>.ipynb`` into ``out_dir`` and its page into the
    site ``out_dir/site``."""
    import nbformat
    import papermill

    from allora_ref.site.build import notebook_page
    from allora_ref.warm_kernels import WarmKernelManager

    failed = out_dir / f"{name}.failed.ipynb"
    tmp = temp_path(failed)
    try:
        nb = papermill.execute_notebook(
            nb, str(tmp), parameters=parameters, kernel_name=KERNEL, cwd=str(cwd),
            progress_bar=False, request_save_on_cell_execute=False,
            extra_arguments=KERNEL_ARGS, start_timeout=KERNEL_START_TIMEOUT,
            kernel_manager_class=WarmKernelManager)
    except papermill.PapermillExecutionError:
        os.replace(tmp, failed)  # papermill saved the notebook with its error before raising
        raise
    finally:
        tmp.unlink(missing_ok=True)
    scrub(nb)
    write_text_atomic(out_dir / f"{name}.ipynb", nbformat.writes(nb) + "\n")
    failed.unlink(missing_ok=True)
    notebook_page(out_dir, out_dir / "site", name, nb)


def timed_report(job: tuple) -> tuple[Path, float, str]:
    """Run one report (``run_report``'s arguments after the source path) and return (source,
    seconds, error: "" if it ran, else the failing cell and error, or "NoSuchKernel")."""
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill import PapermillExecutionError

    src, *arguments = job
    start = time.perf_counter()
    try:
        run_report(*arguments)
        error = ""
    except PapermillExecutionError as e:
        error = f"[{e.exec_count}] {e.ename}: {e.evalue}"
    except NoSuchKernel:
        error = "NoSuchKernel"
    return src, time.perf_counter() - start, error


def executed(jobs: list[tuple], at_once: int) -> Iterator[tuple[Path, float, str]]:
    """``timed_report`` of every job, ``at_once`` of them at a time, yielded as they finish.

    The longest notebook (the claims ledger, last by name) starts first, so the others run
    beside it. Every report is written by its own job alone, so the files do not depend on
    the order in which the jobs finish.
    """
    jobs = sorted(jobs, key=lambda job: job[0].stem != LONGEST)
    if at_once <= 1 or len(jobs) <= 1:
        yield from map(timed_report, jobs)
        return
    context = multiprocessing.get_context("fork")     # no kernel is running yet in this process
    with ProcessPoolExecutor(min(at_once, len(jobs)), mp_context=context) as pool:
        futures = [pool.submit(timed_report, job) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


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
    parser.add_argument("--jobs", type=int, default=JOBS, metavar="N",
                        help=f"notebooks run side by side (default: {JOBS})")
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

    from allora_ref.site import build_site
    from allora_ref.warm_kernels import warm_process

    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    order = {src: i for i, src in enumerate(notebooks, start=1)}
    jobs = [(src, nb, src.stem, src.parent.resolve(), out_dir, parameters[src])
            for src, nb in notebooks.items()]
    with warm_process():
        for src, seconds, error in executed(jobs, args.jobs):
            print(f"[{order[src]}/{len(notebooks)}] {src.stem:<36} {seconds:7.1f} s", end="")
            if error == "NoSuchKernel":
                print(f"\nreports: Jupyter kernel '{KERNEL}' not found; run 'make venv'", file=sys.stderr)
                return 2
            if error:
                failures += 1
                print(f"  FAILED in cell {error} (see {args.out / src.stem}.failed.ipynb)", end="")
            print(flush=True)
    print(f"{len(sources) - failures} of {len(sources)} reports written to {args.out}/", flush=True)
    print(f"{'site':<42}", end=" ", flush=True)
    start = time.perf_counter()
    pages = build_site(out_dir, out_dir / "site")
    print(f"{time.perf_counter() - start:7.1f} s  {pages} pages: open {args.out / 'site' / 'index.html'}",
          flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

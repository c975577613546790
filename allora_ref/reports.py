"""Execute the report notebooks into ``reports/``: ``python -m allora_ref.reports [-p NAME VALUE ...]``.

Each report notebook (a jupytext py:percent file) is read into a notebook in memory, executed
with papermill on the ``allora-ref`` Jupyter kernel with the notebook's own folder as working
directory, and written to ``reports/<name>.ipynb`` together with an HTML rendering
``reports/<name>.html``. One progress line per notebook is printed (name, seconds).

Parameters: ``-p seed 7`` is passed to every notebook whose ``parameters``-tagged cell assigns
``seed``; a parameter that no notebook assigns is an error (exit status 2). Values are Python
literals where they parse as one (``7``, ``0.5``, ``True``, ``[1, 2]``), else strings.

Outputs are replaced atomically (temporary file in the same folder, then ``os.replace``), and
volatile metadata (timings, temporary paths, random cell ids) is removed, so the same command gives the same
files. A notebook that fails leaves the previous report in place and is saved with its error as
``reports/<name>.failed.ipynb``; the exit status is then 1.

``make reports SEED=7`` runs this module with ``-p seed 7``.
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
# localhost) off the terminal; errors in the notebook's code are reported as usual.
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]
VOLATILE = ("start_time", "end_time", "duration", "input_path", "output_path")
#: Files a report notebook writes besides its rendering: {notebook: {parameter: file name}};
#: the parameter is set to that file in the output folder.
REPORT_FILES = {"06_paper_vs_chain": {"report_path": "paper-vs-chain.md"}}


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
    """Execute one notebook and write ``<name>.ipynb`` and ``<name>.html`` into ``out_dir``."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    failed = out_dir / f"{name}.failed.ipynb"
    tmp = temp_path(failed)
    try:
        nb = papermill.execute_notebook(
            nb, str(tmp), parameters=parameters, kernel_name=KERNEL, cwd=str(cwd),
            progress_bar=False, request_save_on_cell_execute=False,
            extra_arguments=KERNEL_ARGS)
    except papermill.PapermillExecutionError:
        os.replace(tmp, failed)  # papermill saved the notebook with its error before raising
        raise
    finally:
        tmp.unlink(missing_ok=True)
    scrub(nb)
    html, _ = HTMLExporter().from_notebook_node(nb, resources={"metadata": {"name": name}})
    write_text_atomic(out_dir / f"{name}.ipynb", nbformat.writes(nb) + "\n")
    write_text_atomic(out_dir / f"{name}.html", html)
    failed.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status (0 ok, 1 a notebook failed, 2 usage)."""
    parser = argparse.ArgumentParser(prog="python -m allora_ref.reports", description=__doc__.split("\n")[0])
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="notebook parameter (repeatable)")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="default: notebooks")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="default: reports")
    args = parser.parse_args(argv)
    given = {name: parse_value(value) for name, value in args.parameter}

    sources = report_notebooks(args.notebooks)
    if not sources:
        print(f"reports: no report notebooks in {args.notebooks}/", file=sys.stderr)
        return 2
    notebooks = {src: read_notebook(src) for src in sources}
    known = {src: parameter_names(nb) for src, nb in notebooks.items()}
    unknown = sorted(set(given) - set().union(*known.values()))
    if unknown:
        print(f"reports: no notebook has parameter(s) {', '.join(unknown)}; "
              f"known: {', '.join(sorted(set().union(*known.values()))) or 'none'}", file=sys.stderr)
        return 2

    from jupyter_client.kernelspec import NoSuchKernel
    from papermill import PapermillExecutionError

    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for src, nb in notebooks.items():
        params = {k: v for k, v in given.items() if k in known[src]}
        params |= {k: str(out_dir / f) for k, f in REPORT_FILES.get(src.stem, {}).items()}
        start = time.perf_counter()
        try:
            run_report(nb, src.stem, src.parent.resolve(), out_dir, params)
            status = ""
        except PapermillExecutionError as e:
            failures += 1
            status = f"  FAILED in cell [{e.exec_count}] {e.ename}: {e.evalue} (see {args.out / src.stem}.failed.ipynb)"
        except NoSuchKernel:
            print(f"reports: Jupyter kernel '{KERNEL}' not found; run 'make venv'", file=sys.stderr)
            return 2
        print(f"{src.stem:<40} {time.perf_counter() - start:7.1f} s{status}", flush=True)
    print(f"{len(sources) - failures} of {len(sources)} reports written to {args.out}/", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

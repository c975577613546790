"""What an equation page shows, gathered from the catalog, the package, the tests and vectors."""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import inspect
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from allora_ref.params import PROFILES, Params, load_profile

ROOT = Path(__file__).resolve().parent.parent.parent
CATALOG = ROOT / "equations" / "catalog.toml"
VECTORS = Path(__file__).resolve().parent.parent / "vectors_data"
PARAMS_SOURCE = Path(__file__).resolve().parent.parent / "params.py"


@dataclass(frozen=True)
class Source:
    """A named piece of code and its text."""

    name: str
    code: str


@dataclass(frozen=True)
class ProfileField:
    """A Params field that changes an equation: its documentation and each profile's value."""

    name: str
    doc: str
    values: dict[str, object]


@dataclass(frozen=True)
class Equation:
    """Everything the site says about one numbered equation."""

    entry: dict                     # the catalog's table, as read
    functions: list[Source]
    tests: list[Source]
    vectors: list[dict]             # the manifests of the vector cases that cover it
    fields: list[ProfileField]
    check: Source | None = None     # the notebook cell that proves it or checks its identity

    @property
    def number(self) -> int:
        return self.entry["number"]


def read_catalog(path: Path = CATALOG) -> list[dict]:
    """The catalog's equations, in order."""
    return tomllib.loads(path.read_text())["equation"]


def function_source(qualified_name: str) -> Source:
    """The source of a function named ``package.module.function``, read from the module's file
    (the module is not imported)."""
    module, _, name = qualified_name.rpartition(".")
    path = Path(importlib.util.find_spec(module).origin)
    code = top_level_functions(path).get(name)
    if code is None:
        raise ValueError(f"the catalog names {qualified_name}, but {path} defines no "
                         f"function {name}")
    return Source(qualified_name, code)


@functools.lru_cache(maxsize=None)
def top_level_functions(path: Path) -> dict[str, str]:
    """The source of every top-level function of a Python file, by name (decorators included)."""
    if not path.is_file():
        return {}
    text = path.read_text()
    lines = text.splitlines()
    return {node.name: "\n".join(lines[min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1:
                                          node.end_lineno]) + "\n"
            for node in ast.parse(text).body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def source_of_test(test_id: str, root: Path = ROOT) -> Source:
    """The source of ``tests/FILE.py::test_name`` (empty if the file or function is missing)."""
    file, _, name = test_id.partition("::")
    return Source(test_id, top_level_functions(root / file).get(name, ""))


def marked_cell(notebook: Path, marker: str) -> Source | None:
    """The code cell of a py:percent notebook whose first line is ``# <marker>``."""
    if not notebook.is_file():
        return None
    for cell in notebook.read_text().split("\n# %%")[1:]:
        lines = cell.split("\n")[1:]
        if lines and lines[0].strip() == f"# {marker}":
            return Source(f"{notebook.name}: {marker}", "\n".join(lines).strip() + "\n")
    return None


def vector_manifests(vectors_dir: Path = VECTORS) -> list[dict]:
    """The manifest of every case listed in the vector set's index, with its ``id``."""
    index = json.loads((vectors_dir / "index.json").read_text())
    manifests = []
    for case in index["cases"]:
        manifest = json.loads((vectors_dir / f"{case['id']}.json").read_text())["manifest"]
        manifests.append({"id": case["id"], **manifest})
    return manifests


def field_docs(path: Path = PARAMS_SOURCE) -> dict[str, str]:
    """The docstring under each field of :class:`Params`."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name == "Params":
            docs = {}
            for field, doc in zip(node.body, node.body[1:]):
                if (isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
                        and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)):
                    docs[field.target.id] = inspect.cleandoc(doc.value.value)
            return docs
    return {}


def profiles() -> dict[str, Params]:
    """Every named profile."""
    return {name: load_profile(name) for name in PROFILES}


def equations(catalog: list[dict] | None = None, vectors_dir: Path = VECTORS) -> list[Equation]:
    """Every catalogued equation with its functions, tests, vectors and profile fields."""
    catalog = read_catalog() if catalog is None else catalog
    manifests = vector_manifests(vectors_dir)
    docs = field_docs()
    named = profiles()
    known = {f.name for f in dataclasses.fields(Params)}
    result = []
    for entry in catalog:
        number = entry["number"]
        fields = [ProfileField(name, docs.get(name, ""),
                               {profile: getattr(p, name) for profile, p in named.items()})
                  for name in entry.get("deviations", []) if name in known]
        result.append(Equation(
            entry=entry,
            functions=[function_source(name) for name in entry.get("functions", [])],
            tests=[source_of_test(test) for test in entry.get("tests", [])],
            vectors=[m for m in manifests if number in m.get("equations", [])],
            fields=fields,
            check=marked_cell(ROOT / entry.get("notebook", ""), entry["cell"])
            if entry.get("cell") and entry.get("notebook") else None))
    return result

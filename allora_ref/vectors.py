"""The test-vector format: encoding, the on-disk set, its index and its validation.

A vector set is a directory::

    README.md                  the format (a copy of allora_ref/vectors-format.md)
    IMPLEMENTING.md            how to run an implementation against it (allora_ref/examples/)
    schema.json                the JSON Schema of a case (a copy of allora_ref/vector-schema.json)
    index.json                 version, generator, every case's sha256, the root hash
    PROFILE/KIND/FUNCTION/CASE.json   one self-contained case per file

A case is a JSON object with a ``manifest`` (who made it and what it tests), the full
``parameters``, the ``inputs`` and either the ``expected`` outputs with a ``tolerance`` per field
or an ``expected_error`` (the inputs are invalid and must be rejected). Every float is a decimal
string with 17 significant digits (``"1.2345678901234567e-01"``), which reads back to exactly the
float64 that was written; ``null`` is an absent value (a worker that did not submit, a quantity
that does not exist); JSON integers are counts and JSON booleans are flags.

The case's identifier is its path without ``.json``. The root hash is the sha256 of the lines
``"<sha256>  <id>.json\\n"`` of every case, sorted by identifier (the format of ``sha256sum``).
The set's version is MAJOR.MINOR.PATCH: MAJOR changes the format, MINOR adds coverage, PATCH
corrects expected values (``vectors-format.md``, "Versioning").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
import typing
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import fastjsonschema
import numpy as np

from allora_ref import __version__
from allora_ref.atomic import permissions
from allora_ref.params import Params, params_from_mapping

#: The version of the vector set: MAJOR format, MINOR coverage, PATCH fixes.
VERSION = "1.5.0"
SPEC = "Allora whitepaper v2024.8.14"
GENERATOR = f"allora-ref {__version__}"
KINDS = ("function", "epoch", "trace")
INDEX = "index.json"
SCHEMA = "schema.json"
README = "README.md"
#: The package files copied into every set (source name -> name in the set).
DOCUMENTS = {"vector-schema.json": SCHEMA, "vectors-format.md": README,
             "examples/README.md": "IMPLEMENTING.md"}


# --- values ---------------------------------------------------------------------------------

def encode_number(x: float) -> str | None:
    """A float as a decimal string with 17 significant digits; NaN (absent) as None."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        raise ValueError(f"cannot encode the non-finite number {x}")
    return f"{x:.16e}"


def encode(value):
    """Numbers, arrays, tuples and mappings as JSON values: floats as decimal strings, NaN as
    null; integers, booleans and strings as they are."""
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return value.tolist()
        return encode(value.astype(float).tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return encode_number(value)
    if isinstance(value, str) or value is None:
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode_number(value) -> float:
    """A decimal string, a JSON number or null (NaN) as a float."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"not a number: {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"not a decimal number: {value!r}") from None


def decode_array(value, ndim: int | None = None) -> np.ndarray:
    """A (nested) list of decimal strings and nulls as a float array (null = NaN).

    An array of booleans stays boolean. ``ndim`` pads an empty array with empty dimensions
    (``[]`` with ndim 2 is shape (0, 0)) and is checked otherwise.
    """
    def leaves(item):
        if isinstance(item, list):
            for x in item:
                yield from leaves(x)
        else:
            yield item
    cells = list(leaves(value))
    if cells and all(isinstance(x, bool) for x in cells):
        array = np.array(value, dtype=bool)
    else:
        try:
            array = np.array(_numbers(value), dtype=float)
        except ValueError as error:
            raise ValueError(f"not a rectangular array of numbers ({error})") from None
    if ndim is not None:
        if array.size == 0 and array.ndim < ndim:
            array = array.reshape((0,) * ndim)
        if array.ndim != ndim:
            raise ValueError(f"expected {ndim} dimension(s), got shape {array.shape}")
    return array


def _numbers(value):
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return decode_number(value)


# --- JSON within bounds ------------------------------------------------------------------

#: The deepest nesting of arrays and objects read (a case nests 6 deep, a response 5).
DEPTH_LIMIT = 32
#: The longest number literal read, in characters (17 significant digits need 24).
NUMBER_LIMIT = 100


def _bounded_number(convert):
    def parse(text: str):
        if len(text) > NUMBER_LIMIT:
            raise ValueError(f"a number literal of {len(text)} characters (the limit is "
                             f"{NUMBER_LIMIT})")
        return convert(text)
    return parse


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON (an absent value is null, a number a decimal string)")


def json_depth(value) -> int:
    """How deep arrays and objects nest in ``value`` (0 for a scalar), counted without recursion
    and only as far as one level past DEPTH_LIMIT."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level + 1)
            if deepest > DEPTH_LIMIT:
                break
            stack.extend((child, level + 1) for child in
                         (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(text: str | bytes):
    """JSON text as a value; ValueError, naming the bound, for text that is not JSON (or not
    UTF-8), nests deeper than DEPTH_LIMIT, holds a number literal longer than NUMBER_LIMIT
    characters, or NaN / Infinity."""
    too_deep = f"JSON nested deeper than {DEPTH_LIMIT} levels (the limit)"
    try:
        value = json.loads(text, parse_int=_bounded_number(int),
                           parse_float=_bounded_number(float), parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(too_deep) from None
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 (byte {error.object[error.start]:#04x} at offset "
                         f"{error.start})") from None
    except json.JSONDecodeError:
        shown = (text if isinstance(text, str) else text.decode("utf-8", "replace")).strip()
        more = f" ... ({len(shown) - 200} more characters)" if len(shown) > 200 else ""
        raise ValueError(f"not a JSON line: {shown[:200]!r}{more}") from None
    if json_depth(value) > DEPTH_LIMIT:
        raise ValueError(too_deep)
    return value


# --- parameters -----------------------------------------------------------------------------

@cache
def _field_types() -> dict[str, type]:
    hints = typing.get_type_hints(Params)
    return {f.name: hints[f.name] for f in dataclasses.fields(Params)}


def encode_params(params: Params | dict) -> dict:
    """The full parameter set, every field by name (floats as decimal strings)."""
    values = dataclasses.asdict(params) if isinstance(params, Params) else dict(params)
    return {name: encode(float(value) if _field_types()[name] is float else value)
            for name, value in values.items()}


def decode_params(mapping: dict) -> Params:
    """:class:`Params` from a case's ``parameters`` (every field, validated)."""
    if not isinstance(mapping, dict):
        raise ValueError("parameters must be an object")
    types = _field_types()
    values = {}
    for name, value in mapping.items():
        kind = types.get(name)
        if kind is float:
            values[name] = decode_number(value)
        elif kind == tuple[float, ...]:
            values[name] = tuple(decode_number(x) for x in value)
        else:
            values[name] = value
    return params_from_mapping(values, source="parameters")


# --- cases ----------------------------------------------------------------------------------

def case_id(manifest: dict) -> str:
    """``PROFILE/KIND/FUNCTION/CASE``: the case's path in the set, without ``.json``."""
    return "/".join(manifest[key] for key in ("profile", "kind", "function", "case"))


#: Stands for a field that the other tree lacks (:func:`paired_fields`).
MISSING = object()


def paired_fields(expected: dict, actual) -> Iterator[tuple[str, object, object]]:
    """(path, expected value, actual value or MISSING) of every field of an ``expected`` tree,
    e.g. ``epochs[2].outputs.network_inference``.

    Objects nest by name, a list of objects (a trace's epochs) by position; anything else -
    a number, a flag or an array of numbers - is a field, compared as a whole.
    """
    for key, value in expected.items():
        other = actual.get(key, MISSING) if isinstance(actual, dict) else MISSING
        if isinstance(value, dict):
            for path, leaf, match in paired_fields(value, other):
                yield f"{key}.{path}", leaf, match
        elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            for index, item in enumerate(value):
                match = other[index] if isinstance(other, list) and index < len(other) \
                    else MISSING
                for path, leaf, inner in paired_fields(item, match):
                    yield f"{key}[{index}].{path}", leaf, inner
        else:
            yield key, value, other


def leaf_fields(tree: dict) -> Iterator[tuple[str, object]]:
    """(path, value) of every field of a tree (see :func:`paired_fields`)."""
    for path, value, _ in paired_fields(tree, tree):
        yield path, value


def field_name(path: str) -> str:
    """The name of a field (the last component of its path), which keys its tolerance."""
    return path.rsplit(".", 1)[-1]


def dumps(value, indent: int = 0) -> str:
    """JSON text for humans and diffs: one object member per line, a flat array on one line,
    an array of arrays one row per line. Deterministic for a given value."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(key)}: {dumps(item, indent + 1)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        rows = [inner + dumps(item, indent + 1) for item in value]
        return "[\n" + ",\n".join(rows) + "\n" + pad + "]"
    return json.dumps(value, separators=(", ", ": "))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def root_hash(entries: Iterable[tuple[str, str]]) -> str:
    """The root hash of (id, sha256) pairs: sha256 of ``"<sha256>  <id>.json\\n"`` sorted by id."""
    lines = "".join(f"{digest}  {identifier}.json\n"
                    for identifier, digest in sorted(entries))
    return sha256(lines.encode())


def document(name: str) -> str:
    """The text of a package file copied into every set (``DOCUMENTS``)."""
    return resources.files("allora_ref").joinpath(name).read_text(encoding="utf-8")


@cache
def schema() -> dict:
    """The JSON Schema (draft-07) of a case; its ``definitions/index`` describes index.json."""
    return json.loads(document("vector-schema.json"))


# --- the set on disk ------------------------------------------------------------------------

def write_set(directory: str | os.PathLike, cases: Iterable[dict]) -> dict:
    """Write the cases, the index and the documents to ``directory``, replacing it as a whole.

    The tree is built beside ``directory`` and renamed into place: a reader never sees a
    half-written set, though between moving the old set aside and moving the new one in there is
    a moment with none (an interruption there leaves a hidden ``.old`` folder beside it). An existing ``directory`` must be a vector set (it has an index.json) or
    empty: anything else is refused rather than deleted. Returns the index.
    """
    target = Path(directory)
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"{target}: exists and is not a directory")
        if any(target.iterdir()) and not (target / INDEX).is_file():
            raise ValueError(f"{target}: not empty and not a vector set (no {INDEX}); "
                             "refusing to replace it")
    parent = target.resolve().parent
    if not parent.is_dir():
        raise ValueError(f"{target}: the parent directory does not exist")
    building = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        entries = []
        for case in cases:
            identifier = case_id(case["manifest"])
            path = building / f"{identifier}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            data = (dumps(case) + "\n").encode()
            path.write_bytes(data)
            entries.append((identifier, sha256(data)))
        if len({identifier for identifier, _ in entries}) != len(entries):
            raise ValueError("two cases have the same identifier")
        entries.sort()
        index = {"version": VERSION, "spec": SPEC, "generator": GENERATOR,
                 "root_sha256": root_hash(entries),
                 "cases": [{"id": identifier, "sha256": digest} for identifier, digest in entries]}
        (building / INDEX).write_text(dumps(index) + "\n", encoding="utf-8")
        for source, name in DOCUMENTS.items():
            (building / name).write_text(document(source), encoding="utf-8")
        os.chmod(building, permissions(0o777))
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".old"))
            os.replace(target, old / "set")
        os.replace(building, target)
        if old is not None:
            shutil.rmtree(old)
        return index
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def read_index(directory: str | os.PathLike) -> dict:
    """The set's index.json (ValueError if it is missing or not JSON)."""
    path = Path(directory) / INDEX
    try:
        index = parse_json(path.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{directory}: not a vector set (no {INDEX})") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read ({error.strerror or error})") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if not isinstance(index, dict) or not isinstance(index.get("cases"), list):
        raise ValueError(f"{path}: not a vector-set index")
    problems = schema_problems(index, "index")
    if problems:
        raise ValueError(f"{path}: not a valid vector-set index ({problems[0]})")
    major = str(index.get("version", "")).split(".")[0]
    if major != VERSION.split(".")[0]:
        raise ValueError(f"{path}: format version {index.get('version')} is not readable by "
                         f"this allora-ref (format {VERSION})")
    return index


def read_case(directory: str | os.PathLike, entry: dict) -> dict:
    """The case of an index entry, parsed; ValueError if it is missing, not JSON, or its bytes
    do not have the sha256 the index lists."""
    path = Path(directory) / f"{entry['id']}.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: listed in {INDEX} but missing") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read ({error.strerror})") from None
    if sha256(data) != entry.get("sha256"):
        raise ValueError(f"{path}: sha256 differs from {INDEX} (run `allora-ref vectors "
                         f"validate`)")
    try:
        return parse_json(data)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def read_set(directory: str | os.PathLike) -> tuple[dict, list[dict]]:
    """The index and every case (hashes checked), in index order."""
    index = read_index(directory)
    return index, [read_case(directory, entry) for entry in index["cases"]]


def validate_set(directory: str | os.PathLike) -> list[str]:
    """Every problem of the set: schema, hashes, completeness, identifiers, parameters and
    tolerances. An empty list means the set is valid."""
    directory = Path(directory)
    index = read_index(directory)
    problems = []
    for source, name in DOCUMENTS.items():
        path = directory / name
        if not path.is_file() or path.read_bytes() != document(source).encode("utf-8"):
            problems.append(f"{name}: missing or not this package's {source}")
    listed = {}
    for entry in index["cases"]:
        path = directory / f"{entry.get('id')}.json"
        if not path.is_file():
            problems.append(f"{entry.get('id')}: listed in {INDEX} but missing")
            continue
        data = path.read_bytes()
        listed[entry["id"]] = sha256(data)
        if listed[entry["id"]] != entry.get("sha256"):
            problems.append(f"{entry['id']}: sha256 {listed[entry['id']]} differs from the index")
            continue
        try:
            case = parse_json(data)
        except ValueError as error:
            problems.append(f"{entry['id']}: {error}")
            continue
        problems += [f"{entry['id']}: {problem}" for problem in case_problems(case, entry["id"])]
    on_disk = {str(path.relative_to(directory).with_suffix("")).replace(os.sep, "/")
               for path in directory.rglob("*.json")} - {Path(INDEX).stem, Path(SCHEMA).stem}
    problems += [f"{identifier}: on disk but not in {INDEX}"
                 for identifier in sorted(on_disk - set(listed))]
    if root_hash((entry["id"], entry.get("sha256", "")) for entry in index["cases"]) \
            != index.get("root_sha256"):
        problems.append(f"{INDEX}: root_sha256 does not match the listed hashes")
    return problems


@cache
def _validator(definition: str | None):
    """The compiled schema: of a case (None) or of one of its definitions ("index")."""
    document_ = schema() if definition is None else {
        "$ref": f"#/definitions/{definition}", "definitions": schema()["definitions"]}
    return fastjsonschema.compile(document_)


def schema_problems(value, definition: str | None = None) -> list[str]:
    """Why ``value`` does not match the schema of a case (or of ``definition``): [] if it does."""
    try:
        _validator(definition)(value)
    except fastjsonschema.JsonSchemaValueException as error:
        return [f"schema: {error.message}"]
    return []


def case_problems(case: dict, identifier: str) -> list[str]:
    """What is wrong with one parsed case (schema first; the other checks need a valid shape)."""
    problems = schema_problems(case)
    if problems:
        return problems
    if case_id(case["manifest"]) != identifier:
        problems.append(f"the manifest names {case_id(case['manifest'])}")
    if set(case["parameters"]) != {f.name for f in dataclasses.fields(Params)}:
        problems.append("the parameters do not name every field of Params exactly once")
    elif "expected" in case:
        try:
            decode_params(case["parameters"])
        except ValueError as error:
            problems.append(f"invalid parameters in a valid case: {error}")
    if "expected" in case:
        names = {field_name(path) for path, _ in leaf_fields(case["expected"])}
        if names != set(case["tolerance"]):
            problems.append(f"tolerance fields {sorted(set(case['tolerance']) ^ names)} do not "
                            "match the expected fields")
    return problems

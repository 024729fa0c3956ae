"""Deterministic mutated Seed manifests for the schema differential tests.

Everything here is a pure function of the manifests found in ``../shared`` (the test oracle's fixtures,
read in place, never copied into the project) and of a ``random.Random(seed)``: the same inputs give the
same mutations, in the same order, on every run.

A mutation is a description plus a tuple of edits; an edit is one of

* ``("set", path, value)``   set a member or an array element (a new key adds an extra member),
* ``("delete", path)``       remove a member or an array element,
* ``("wrap", ())``           wrap the whole document in a one-element list,

where ``path`` is a tuple of keys and indexes from the root (``()`` is the root itself).
The verdict of each mutated document is not decided here: the tests ask the official schema.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any, Iterator

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
"""The shared reference material (``../shared`` relative to the repository root)."""

MANIFEST_ROOTS = ("seed-spec", "seed-cli-examples", "scale-examples")
MANIFEST_FILE_NAMES = ("seed.manifest.json", "seed.manifest.example.json")
MANIFEST_FILE_SUFFIX = ".seed.manifest.json"
FIXTURE_GLOB = "scale-examples/scale/*/fixtures/*.json"

RICH_BASE = "seed-spec/examples/complete/seed.manifest.json"
"""The spec's own "complete" example: it uses every member of the schema, so every mutation applies to it."""

Path_ = tuple  # a JSON path: tuple[str | int, ...]
Edit = tuple
Mutation = tuple  # (description, tuple[Edit, ...])


# ---------------------------------------------------------------------------------------------------------------
# Collecting the manifests in ../shared


def is_manifest_file(path: Path) -> bool:
    return path.name in MANIFEST_FILE_NAMES or path.name.endswith(MANIFEST_FILE_SUFFIX)


def manifest_files(shared: Path = SHARED) -> list[Path]:
    """Every manifest file (``seed.manifest.json``, ``*.seed.manifest.json``, ``seed.manifest.example.json``)."""
    found = [p for root in MANIFEST_ROOTS for p in (shared / root).rglob("*") if p.is_file() and is_manifest_file(p)]
    return sorted(found)


def fixture_files(shared: Path = SHARED) -> list[Path]:
    """The Django fixture files of Scale, some of which embed manifests under a ``manifest`` key."""
    return sorted(shared.glob(FIXTURE_GLOB))


def _embedded_manifests(value: Any, pointer: str = "") -> Iterator[tuple[str, dict]]:
    """Every dict under a key named ``manifest`` that looks like a manifest, with its JSON pointer."""
    if isinstance(value, dict):
        for key, member in value.items():
            here = f"{pointer}/{key}"
            if key == "manifest" and isinstance(member, dict) and ("seedVersion" in member or "job" in member):
                yield here, member
            yield from _embedded_manifests(member, here)
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from _embedded_manifests(member, f"{pointer}/{index}")


def _load(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def unparseable_files(shared: Path = SHARED) -> list[str]:
    """Relative paths of the candidate files that are not JSON at all (they are skipped by the collection)."""
    bad = []
    for path in [*manifest_files(shared), *fixture_files(shared)]:
        try:
            _load(path)
        except ValueError:
            bad.append(path.relative_to(shared).as_posix())
    return bad


def collect_manifests(shared: Path = SHARED) -> list[tuple[str, Any]]:
    """``(id, document)`` for every manifest in ../shared, in a stable order.

    The id is the path relative to ``shared``; an embedded manifest adds ``#`` and its JSON pointer.
    Files that are not JSON are skipped (see ``unparseable_files``).
    """
    out: list[tuple[str, Any]] = []
    for path in manifest_files(shared):
        try:
            document = _load(path)
        except ValueError:
            continue
        out.append((path.relative_to(shared).as_posix(), document))
    for path in fixture_files(shared):
        try:
            document = _load(path)
        except ValueError:
            continue
        rel = path.relative_to(shared).as_posix()
        out.extend((f"{rel}#{pointer}", manifest) for pointer, manifest in _embedded_manifests(document))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Edits


def fmt(path: Path_) -> str:
    """``("job", "errors", 0, "code")`` -> ``$.job.errors[0].code`` (for descriptions only)."""
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if part.isidentifier() else f"[{part!r}]")
    return out


def _parent(document: Any, path: Path_) -> Any:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


def apply(document: Any, edits: tuple[Edit, ...]) -> Any:
    """A new document with ``edits`` applied in order (``document`` is not modified).

    Raises ``LookupError`` when an edit's path does not exist (anymore).
    """
    doc = copy.deepcopy(document)
    for edit in edits:
        op, path = edit[0], edit[1]
        if op == "wrap":
            doc = [doc]
        elif op == "set" and not path:
            doc = copy.deepcopy(edit[2])
        elif op == "set":
            parent = _parent(doc, path)
            if isinstance(parent, list) and not (isinstance(path[-1], int) and path[-1] < len(parent)):
                raise LookupError(path)
            if not isinstance(parent, (dict, list)):
                raise LookupError(path)
            parent[path[-1]] = copy.deepcopy(edit[2])
        elif op == "delete":
            parent = _parent(doc, path)
            if not isinstance(parent, (dict, list)):
                raise LookupError(path)
            del parent[path[-1]]
        else:  # pragma: no cover - programming error
            raise ValueError(op)
    return doc


def nodes(document: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below the root, depth first, in document order."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*path, key), value
            yield from nodes(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*path, index), value
            yield from nodes(value, (*path, index))


def _overlaps(a: Path_, b: Path_) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


# ---------------------------------------------------------------------------------------------------------------
# The mutation catalogue (each function: document -> list of mutations)

# One value of every JSON type, plus the integral float and the fractional float that draft-04 integers care about.
OTHER_TYPE_VALUES: tuple[tuple[str, Any], ...] = (
    ("a string", "x"),
    ("an integer", 10),
    ("an integral float 10.0", 10.0),
    ("a float 10.5", 10.5),
    ("true", True),
    ("null", None),
    ("an empty array", []),
    ("an empty object", {}),
)

BAD_NAMES = (
    "under_score", "with space", "dot.ted", "ünïcödé", "", " ", "name!", "slash/name", "tab\tname",
    "trailing-newline\n", "\nleading-newline", "trailing-space ", "emoji-\U0001F600", "café", "１２３",
)
GOOD_NAMES = ("123", "1", "-", "--", "a-b-c", "ALL-CAPS", "x", "a" * 200, "0-0", "-leading-dash")
GOOD_UNDERSCORE_NAMES = ("under_score", "_", "__init__", "MIX_of-both")
"""Legal for every name except ``job.name``."""

BAD_VERSIONS = (
    "1.0", "01.0.0", "1.01.0", "1.0.01", "1.0.0-", "v1.0.0", "1.0.0 ", " 1.0.0", "1.0.0\n", "1.0.0-01",
    "1.0.0-rc..1", "1.0.0+", "1.0.0+build..5", "1.0.0-ü", "1", "", "1.0.0.0", "a.b.c", "1.0.0-+x",
)
GOOD_VERSIONS = (
    "0.0.0", "1.0.0-rc.1", "1.0.0+build.5", "1.0.0-alpha.1+exp.sha.5114f85", "10.20.30", "1.0.0-0",
    "1.0.0-x-y-z.--", "1.0.0+001", "1.0.0-0A.is.legal", "999999999.0.0",
)
SEED_VERSIONS = (
    "0.1.0", "1.0.0 ", " 1.0.0", "SEED_VERSION", "1.0.1", "1.0.2", "1.0", "1.0.0-rc.1", "1.0.0+build",
    "1.0.0\n", "1x0x0", "", "v1.0.0", "1.0.0.0",
)
ENUM_VIOLATIONS = {
    "mode": ("RW", "Ro", "r", "w", "", "readonly", None, 1),
    "category": ("system", "Job", "DATA", "algorithm", "", "job "),
    "type": ("null", "float", "Integer", "int", "str", "", "file", "any"),
}
ENUM_GOOD = {
    "mode": ("ro", "rw"),
    "category": ("job", "data"),
    "type": ("array", "boolean", "integer", "number", "object", "string"),
}
TYPO_MEMBERS = (
    "mediatype", "MediaType", "media_type", "mediaTypes", "mediaType", "count", "Name", "names", "patern",
    "requried", "default", "description", "extra", "$schema", "",
)
"""Extra members added to every object: typos of real members, and real members of other objects."""


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def drop_members(doc: Any) -> list[Mutation]:
    """Remove every member of every object, and every element of every array, at every level."""
    out = []
    for path, _ in nodes(doc):
        what = "element" if isinstance(path[-1], int) else "member"
        out.append((f"drop {what} {fmt(path)}", (("delete", path),)))
    return out


def wrong_types(doc: Any) -> list[Mutation]:
    """Replace every value with a value of each other JSON type, plus type-specific near misses."""
    out = []
    for path, value in nodes(doc):
        kind = _value_kind(value)
        for label, replacement in OTHER_TYPE_VALUES:
            if replacement == value and type(replacement) is type(value):
                continue
            out.append((f"{fmt(path)} -> {label}", (("set", path, replacement),)))
        near: list[tuple[str, Any]] = []
        if kind == "integer":
            near = [("the same integer as a float", float(value)), ("the integer plus .5", value + 0.5),
                    ("the integer as a string", str(value)), ("a negative integer", -value - 1),
                    ("a huge integer", 2**70), ("false", False)]
        elif kind == "number":
            near = [("the number as a string", str(value)), ("an integer", int(value))]
        elif kind == "boolean":
            near = [(f"the string {str(value).lower()!r}", str(value).lower()), ("the integer 1", 1),
                    ("the integer 0", 0), ("the other boolean", not value)]
        elif kind == "string":
            near = [("a numeric string", "10"), ("the string 'true'", "true"), ("a one-element list", [value])]
        elif kind == "array":
            near = [("the first element alone", value[0]) if value else ("null list", [None]),
                    ("a nested list", [value])]
        elif kind == "object":
            near = [("the object in a list", [value])]
        for label, replacement in near:
            out.append((f"{fmt(path)} -> {label}", (("set", path, replacement),)))
    return out


def names(doc: Any) -> list[Mutation]:
    """Bad and good names for every member called ``name`` (job, maintainer, inputs, outputs, ...)."""
    out = []
    for path, value in nodes(doc):
        if path[-1] != "name" or not isinstance(value, str):
            continue
        candidates = [*BAD_NAMES, *GOOD_NAMES]
        if path != ("job", "name"):
            candidates += GOOD_UNDERSCORE_NAMES
        for name in candidates:
            out.append((f"{fmt(path)} = {name!r}", (("set", path, name),)))
    return out


def versions(doc: Any) -> list[Mutation]:
    """Bad and good SemVer strings for jobVersion and packageVersion; seedVersion variants."""
    out = []
    job = doc.get("job") if isinstance(doc, dict) else None
    for member in ("jobVersion", "packageVersion"):
        if isinstance(job, dict) and member in job:
            for version in (*BAD_VERSIONS, *GOOD_VERSIONS):
                out.append((f"$.job.{member} = {version!r}", (("set", ("job", member), version),)))
    if isinstance(doc, dict):
        for version in SEED_VERSIONS:
            out.append((f"$.seedVersion = {version!r}", (("set", ("seedVersion",), version),)))
    return out


def extra_members(doc: Any) -> list[Mutation]:
    """An unknown member (typos included) added to the root and to every object at every level."""
    out = []
    objects = [((), doc)] if isinstance(doc, dict) else []
    objects += [(path, value) for path, value in nodes(doc) if isinstance(value, dict)]
    for path, value in objects:
        for member in TYPO_MEMBERS:
            if member in value:
                continue
            extra = "2" if member == "count" else "x"
            out.append((f"extra member {fmt((*path, member))} = {extra!r}", (("set", (*path, member), extra),)))
    return out


def empties(doc: Any) -> list[Mutation]:
    """Every array emptied, every object emptied, and the well-known empty shapes."""
    out = []
    for path, value in nodes(doc):
        if isinstance(value, list) and value:
            out.append((f"{fmt(path)} = []", (("set", path, []),)))
        if isinstance(value, dict) and value:
            out.append((f"{fmt(path)} = {{}}", (("set", path, {}),)))
    job = doc.get("job") if isinstance(doc, dict) else None
    if isinstance(job, dict):
        shapes = [
            (("job", "resources"), {}), (("job", "resources"), {"scalar": []}), (("job", "interface"), {}),
            (("job", "interface"), {"inputs": {}}), (("job", "interface"), {"inputs": {"files": []}}),
            (("job", "interface"), {"inputs": {"json": []}}), (("job", "interface"), {"outputs": {}}),
            (("job", "interface"), {"outputs": {"files": [], "json": []}}),
            (("job", "interface"), {"mounts": [], "settings": []}), (("job", "interface"), {"command": ""}),
            (("job", "errors"), []), (("job", "tags"), []), (("job", "tags"), [""]),
            (("job", "maintainer"), {"name": "", "email": ""}),
            (("job", "interface"), {"inputs": {"files": [{}]}}),
            (("job", "interface"), {"outputs": {"json": [{"name": "x"}]}}),
            (("job", "resources"), {"scalar": [{}]}),
        ]
        for path, value in shapes:
            out.append((f"{fmt(path)} = {json.dumps(value)}", (("set", path, value),)))
    return out


def enums(doc: Any) -> list[Mutation]:
    """Values outside (and inside) the enums of mounts[].mode, errors[].category and json[].type."""
    out = []
    for path, value in nodes(doc):
        member = path[-1]
        if member not in ENUM_VIOLATIONS or len(path) < 3 or not isinstance(path[-2], int):
            continue
        for candidate in (*ENUM_VIOLATIONS[member], *ENUM_GOOD[member]):
            if candidate != value:
                out.append((f"{fmt(path)} = {candidate!r}", (("set", path, candidate),)))
    return out


def optional_members_added(doc: Any) -> list[Mutation]:
    """Optional members the document leaves out, added with a good value (valid mutations) and a bad one."""
    out = []
    job = doc.get("job") if isinstance(doc, dict) else None
    if not isinstance(job, dict):
        return out
    additions = [
        (("job", "tags"), ["a", "b"], ["a", 1]),
        (("job", "resources"), {"scalar": [{"name": "gpus", "value": 1, "inputMultiplier": 0.5}]},
         {"scalar": {"name": "gpus", "value": 1}}),
        (("job", "errors"), [{"code": 3, "name": "e"}], [{"code": "3", "name": "e"}]),
        (("job", "interface"), {"command": "echo ${X}"}, {"command": ["echo"]}),
    ]
    for path, good, bad in additions:
        if path[-1] not in job:
            out.append((f"add {fmt(path)} = {json.dumps(good)}", (("set", path, good),)))
            out.append((f"add {fmt(path)} = {json.dumps(bad)}", (("set", path, bad),)))
    maintainer = job.get("maintainer")
    if isinstance(maintainer, dict):
        for member in ("organization", "url", "phone"):
            if member not in maintainer:
                out.append((f"add $.job.maintainer.{member}", (("set", ("job", "maintainer", member), "x"),)))
    for path, value in nodes(doc):
        if not (isinstance(value, dict) and len(path) >= 2 and isinstance(path[-1], int)):
            continue
        holder = path[-2]
        defaults = {"files": {"required": False, "multiple": True, "partial": True},
                    "json": {"required": False}, "mounts": {"mode": "rw"}, "settings": {"secret": True},
                    "errors": {"category": "data", "title": "t", "description": "d"},
                    "scalar": {"inputMultiplier": 0}}.get(holder, {})
        for member, good in defaults.items():
            if member not in value:
                out.append((f"add {fmt((*path, member))} = {good!r}", (("set", (*path, member), good),)))
    return out


def root_shapes(doc: Any) -> list[Mutation]:
    """The whole document replaced or wrapped: a list around it, and non-object roots."""
    return [
        ("root wrapped in a list", (("wrap", ()),)),
        ("root = []", (("set", (), []),)),
        ("root = {}", (("set", (), {}),)),
        ("root = 'seed'", (("set", (), "seed"),)),
        ("root = null", (("set", (), None),)),
        ("root = 1", (("set", (), 1),)),
        ("root = {'seedVersion': '1.0.0'}", (("set", (), {"seedVersion": "1.0.0"}),)),
        ("root = {'job': {}}", (("set", (), {"job": {}}),)),
    ]


CATALOGUE = (drop_members, wrong_types, names, versions, extra_members, empties, enums,
             optional_members_added, root_shapes)


def single_mutations(doc: Any) -> list[Mutation]:
    """Every single mutation of ``doc``, catalogue order."""
    return [m for family in CATALOGUE for m in family(doc)]


def combined_mutations(doc: Any, rng: random.Random, count: int) -> list[Mutation]:
    """``count`` pairs of single mutations at unrelated paths, chosen by ``rng``."""
    singles = [m for m in single_mutations(doc) if m[1][0][0] != "wrap" and m[1][0][1]]
    out: list[Mutation] = []
    tries = 0
    while len(out) < count and tries < count * 20:
        tries += 1
        first, second = rng.sample(singles, 2)
        if _overlaps(first[1][0][1], second[1][0][1]):
            continue
        out.append((f"{first[0]} AND {second[0]}", first[1] + second[1]))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The corpus


def mutated_manifests(seed: int = 20240601, *, per_base: int = 14, combos: int = 160,
                      combos_per_base: int = 3) -> list[tuple[str, Any]]:
    """At least 600 distinct mutated manifests as ``(description, document)``, in a stable order.

    * every single mutation of the spec's "complete" example (it has every member of the schema);
    * ``per_base`` single mutations, drawn by ``random.Random(seed)``, of every other manifest in ../shared;
    * ``combos`` pairs of mutations of the complete example and ``combos_per_base`` pairs of every other one.

    Duplicates (same document from different mutations) are dropped, keeping the first description;
    documents equal to their base manifest are dropped too.
    """
    rng = random.Random(seed)
    bases = collect_manifests()
    by_id = dict(bases)
    if RICH_BASE not in by_id:
        raise FileNotFoundError(f"{SHARED / RICH_BASE} is missing: the mutations start from it")
    planned: list[tuple[str, Any, tuple[Mutation, ...]]] = []
    rich = by_id[RICH_BASE]
    planned.append((RICH_BASE, rich, tuple(single_mutations(rich))))
    planned.append((RICH_BASE, rich, tuple(combined_mutations(rich, rng, combos))))
    for base_id, doc in bases:
        if base_id == RICH_BASE:
            continue
        singles = single_mutations(doc)
        chosen = rng.sample(singles, min(per_base, len(singles)))
        planned.append((base_id, doc, tuple(chosen)))
        planned.append((base_id, doc, tuple(combined_mutations(doc, rng, combos_per_base))))

    seen = {_canonical(doc) for _, doc in bases}
    out: list[tuple[str, Any]] = []
    for base_id, doc, mutations in planned:
        for description, edits in mutations:
            try:
                mutated = apply(doc, edits)
            except (LookupError, TypeError):
                continue
            key = _canonical(mutated)
            if key in seen:
                continue
            seen.add(key)
            out.append((f"{base_id}: {description}", mutated))
    return out


def _canonical(document: Any) -> str:
    # sort_keys and type-exact: 10 and 10.0 and True stay distinct ("10", "10.0", "true").
    return json.dumps(document, sort_keys=True, ensure_ascii=False, allow_nan=False)

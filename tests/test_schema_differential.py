"""Differential tests: the project's manifest schema against the official Seed 1.0.0 schema.

The official schema (``../shared/seed-spec/schema/seed.manifest.schema.json``) is a test oracle only
(DECISIONS.md, "Versions"): it is read in place, checked with python-jsonschema's Draft4Validator, and
never shipped. The project's verdict is ``seed_runner.manifest.schemas.is_schema_valid("manifest", doc)``.
The two must agree on every document: every manifest in ../shared, every mutation of them
(tests/manifest_mutations.py) and random manifests shaped like the schema (hypothesis).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seed_runner.manifest.schemas import ecma_draft4_validator, detailed_validator, is_schema_valid

try:  # tests/ is a package
    from . import manifest_mutations as mm
except ImportError:  # tests/ is a plain directory that pytest put on sys.path
    import manifest_mutations as mm

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OFFICIAL_SCHEMA = SHARED / "seed-spec" / "schema" / "seed.manifest.schema.json"

MIN_MANIFESTS = 35
"""../shared holds 41 manifests today (25 files + 16 embedded in Scale fixtures); fewer than this means a wrong path."""
MIN_MUTATIONS = 600
MIN_VALID_MUTATIONS = 50
MIN_INVALID_MUTATIONS = 400
SHOWN = 25
"""How many disagreements an assertion message lists in full."""


# ---------------------------------------------------------------------------------------------------------------
# Helpers


@lru_cache(maxsize=None)
def official_validator() -> jsonschema.Draft4Validator:
    """python-jsonschema's Draft4Validator with the official schema, with one correction: its ``pattern``
    uses Python's ``$`` (which also matches before a final newline) where JSON Schema specifies ECMA-262
    (``$`` only at the very end). Without it the oracle accepts ``"seedVersion": "1.0.0\\n"``, which
    jsonschema-rs, Ajv and Go reject (found by this very test)."""
    with open(OFFICIAL_SCHEMA, encoding="utf-8") as fh:
        schema = json.load(fh)
    return ecma_draft4_validator(schema)


def official_verdict(document: Any) -> bool:
    """The oracle: python-jsonschema's Draft4Validator with the official schema (ECMA-262 patterns)."""
    return official_validator().is_valid(document)


def our_verdict(document: Any) -> bool:
    """The product: the fast path of the project's own schema."""
    return is_schema_valid("manifest", document)


@lru_cache(maxsize=None)
def all_manifests() -> tuple[tuple[str, Any], ...]:
    return tuple(mm.collect_manifests(SHARED))


@lru_cache(maxsize=None)
def all_mutations() -> tuple[tuple[str, Any], ...]:
    return tuple(mm.mutated_manifests())


def load_schema_findings() -> Callable[[Any], list]:
    """``schema_findings``, or a skip while ``seed_runner.runtime.command`` (another engineer's file) does not exist yet."""
    try:
        from seed_runner.validation.schema_findings import schema_findings
    except ModuleNotFoundError as exc:
        if exc.name == "seed_runner.runtime.command":
            pytest.skip("seed_runner.runtime.command does not exist yet, so seed_runner.validation cannot be imported")
        raise
    return schema_findings


def compact(document: Any) -> str:
    return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


def report(title: str, problems: list[str], total: int) -> str:
    shown = "\n".join(f"  - {p}" for p in problems[:SHOWN])
    more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return f"{len(problems)} of {total} documents: {title}\n{shown}{more}"


# ---------------------------------------------------------------------------------------------------------------
# The manifests of ../shared


def test_shared_paths_are_where_the_oracle_expects() -> None:
    """The oracle and the fixtures are read from ../shared (never from a copy inside the project)."""
    assert mm.SHARED == SHARED
    assert OFFICIAL_SCHEMA.is_file(), f"the official schema is missing at {OFFICIAL_SCHEMA}"
    assert not str(OFFICIAL_SCHEMA).startswith(str(REPO) + "/")
    assert official_validator().schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(detailed_validator("manifest").schema)


def test_collection_finds_every_kind_of_shared_manifest() -> None:
    """The collection finds a sensible number of manifests, from every source: spec examples, seed-cli data,
    Scale manifest files and the manifests embedded in Scale's Django fixtures; ids are unique."""
    manifests = all_manifests()
    ids = [manifest_id for manifest_id, _ in manifests]
    assert len(manifests) >= MIN_MANIFESTS, f"only {len(manifests)} manifests under {SHARED}: wrong path?"
    assert len(set(ids)) == len(ids)
    for root in mm.MANIFEST_ROOTS:
        assert any(i.startswith(root + "/") for i in ids), f"nothing collected under {SHARED / root}"
    embedded = [i for i in ids if "#" in i]
    assert len(embedded) >= 10, f"only {len(embedded)} manifests embedded in Scale fixtures were found"
    assert any(i.endswith("/seed.manifest.example.json") for i in ids)
    assert any(i.endswith(".seed.manifest.json") and not i.endswith("/seed.manifest.json") for i in ids)
    assert mm.RICH_BASE in ids
    for manifest_id, document in manifests:
        assert isinstance(document, dict) and ("seedVersion" in document or "job" in document), manifest_id


def test_only_seed_cli_invalid_json_data_is_unparseable() -> None:
    """Exactly the seed-cli ``invalid-json-*`` test data is skipped as not-JSON: a new unparseable manifest or
    fixture anywhere else fails here instead of silently dropping out of the differential tests."""
    candidates = [p.relative_to(SHARED).as_posix() for p in [*mm.manifest_files(SHARED), *mm.fixture_files(SHARED)]]
    expected = sorted(c for c in candidates if any(part.startswith("invalid-json-") for part in c.split("/")))
    assert expected, "the seed-cli invalid-json-* test data was not found"
    assert sorted(mm.unparseable_files(SHARED)) == expected


@pytest.mark.parametrize(("manifest_id", "document"), all_manifests(), ids=[i for i, _ in all_manifests()])
def test_shared_manifest_verdict_matches_official(manifest_id: str, document: Any) -> None:
    """On each manifest in ../shared, our schema says valid exactly when the official schema does."""
    official, ours = official_verdict(document), our_verdict(document)
    assert ours == official, f"{manifest_id}: official schema says valid={official}, ours says valid={ours}"


# ---------------------------------------------------------------------------------------------------------------
# Mutations


def test_mutation_corpus_is_large_distinct_strict_json_and_stable() -> None:
    """The generator gives at least 600 distinct, strict-JSON documents, and the same list on every call."""
    mutations = all_mutations()
    assert len(mutations) >= MIN_MUTATIONS
    canonical = [json.dumps(doc, sort_keys=True, allow_nan=False) for _, doc in mutations]
    assert len(set(canonical)) == len(canonical), "duplicate mutated documents"
    for (description, document), text in zip(mutations, canonical):
        assert json.loads(text) == document, description
    again = mm.mutated_manifests()
    assert [d for d, _ in again] == [d for d, _ in mutations]
    assert [json.dumps(doc, sort_keys=True) for _, doc in again] == canonical


def test_mutation_verdicts_match_official() -> None:
    """On every mutated manifest, our fast verdict equals the official verdict, and our detailed validator
    (python-jsonschema on our schema, used to explain failures) agrees with our fast verdict."""
    mutations = all_mutations()
    ours_vs_official, fast_vs_detailed = [], []
    detailed = detailed_validator("manifest")
    for description, document in mutations:
        official, ours = official_verdict(document), our_verdict(document)
        if ours != official:
            ours_vs_official.append(f"{description!r}: official valid={official}, ours valid={ours}")
        explained = detailed.is_valid(document)
        if explained != ours:
            fast_vs_detailed.append(f"{description!r}: fast path valid={ours}, detailed validator valid={explained}")
    assert len(mutations) >= MIN_MUTATIONS
    problems = []
    if ours_vs_official:
        problems.append(report("our schema's verdict differs from the official one", ours_vs_official,
                               len(mutations)))
    if fast_vs_detailed:
        problems.append(report("is_schema_valid and detailed_validator disagree", fast_vs_detailed, len(mutations)))
    assert not problems, "\n".join(problems)


def test_mutation_schema_findings_match_verdict_and_are_well_formed() -> None:
    """``schema_findings`` is empty exactly when the official schema accepts the document, and every finding
    has a non-empty code, a JSON path starting with ``$`` and a one-line message."""
    schema_findings = load_schema_findings()
    mutations = all_mutations()
    wrong_verdict, malformed = [], []
    for description, document in mutations:
        findings = schema_findings(document)
        official = official_verdict(document)
        if (not findings) != official:
            codes = sorted({f.code for f in findings})
            wrong_verdict.append(f"{description!r}: official valid={official}, {len(findings)} findings {codes}")
        for finding in findings:
            if not (finding.code and isinstance(finding.code, str)):
                malformed.append(f"{description!r}: empty code in {finding}")
            if not (isinstance(finding.path, str) and finding.path.startswith("$")):
                malformed.append(f"{description!r}: path {finding.path!r} does not start with '$'")
            if not (isinstance(finding.message, str) and finding.message.strip()
                    and "\n" not in finding.message and "\r" not in finding.message):
                malformed.append(f"{description!r}: message is not one non-empty line: {finding.message!r}")
    problems = []
    if wrong_verdict:
        problems.append(report("schema_findings disagrees with the official verdict", wrong_verdict, len(mutations)))
    if malformed:
        problems.append(report("malformed findings", malformed, len(mutations)))
    assert not problems, "\n".join(problems)


def test_mutations_are_not_degenerate() -> None:
    """Both validators find many valid and many invalid mutations, so the corpus tests both sides of each rule."""
    mutations = all_mutations()
    official = [official_verdict(doc) for _, doc in mutations]
    ours = [our_verdict(doc) for _, doc in mutations]
    for who, verdicts in (("official", official), ("ours", ours)):
        valid = sum(verdicts)
        invalid = len(verdicts) - valid
        assert valid >= MIN_VALID_MUTATIONS, f"{who}: only {valid} valid mutations"
        assert invalid >= MIN_INVALID_MUTATIONS, f"{who}: only {invalid} invalid mutations"


def test_every_required_member_is_dropped_somewhere() -> None:
    """The corpus drops each required member of the schema, at every level, at least once (a drop that gives a
    document already in ../shared, such as seed-cli's invalid-missing-job, counts: that one is tested as is)."""
    rich = dict(all_manifests())[mm.RICH_BASE]
    corpus = {json.dumps(doc, sort_keys=True) for _, doc in [*all_mutations(), *all_manifests()]}
    required = [("seedVersion",), ("job",), ("job", "name"), ("job", "jobVersion"), ("job", "packageVersion"),
                ("job", "title"), ("job", "description"), ("job", "maintainer"), ("job", "timeout"),
                ("job", "maintainer", "name"), ("job", "maintainer", "email")]
    interface = ("job", "interface")
    required += [(*interface, "inputs", "files", 0, "name"), (*interface, "inputs", "json", 0, "name"),
                 (*interface, "inputs", "json", 0, "type"), (*interface, "outputs", "files", 0, "name"),
                 (*interface, "outputs", "files", 0, "pattern"), (*interface, "outputs", "json", 0, "name"),
                 (*interface, "outputs", "json", 0, "type"), (*interface, "mounts", 0, "name"),
                 (*interface, "mounts", 0, "path"), (*interface, "settings", 0, "name"),
                 ("job", "resources", "scalar", 0, "name"), ("job", "resources", "scalar", 0, "value"),
                 ("job", "errors", 0, "code"), ("job", "errors", 0, "name")]
    missing = [mm.fmt(path) for path in required
               if json.dumps(mm.apply(rich, (("delete", path),)), sort_keys=True) not in corpus]
    assert not missing, f"no mutation of {mm.RICH_BASE} drops {missing}"


# ---------------------------------------------------------------------------------------------------------------
# Random manifests shaped like the schema


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def sometimes(one_in: int) -> st.SearchStrategy:
    """True once in ``one_in`` draws (False is listed first: it is the value hypothesis prefers and shrinks to)."""
    return st.sampled_from([False] * (one_in - 1) + [True])


def mostly(good: st.SearchStrategy, one_in: int = 16) -> st.SearchStrategy:
    """``good`` most of the time; once in ``one_in`` draws, any JSON value at all."""
    return sometimes(one_in).flatmap(lambda odd: ANY_JSON if odd else good)


@st.composite
def closed_object(draw: Any, required: dict, optional: dict | None = None) -> dict:
    """An object with the required members (one sometimes dropped), a random subset of the optional ones,
    and sometimes an unknown member."""
    out = draw(st.fixed_dictionaries(required, optional=optional or {}))
    if out and draw(sometimes(20)):
        del out[draw(st.sampled_from(sorted(out)))]
    if draw(sometimes(30)):
        out[draw(st.sampled_from(mm.TYPO_MEMBERS) | st.text(max_size=6))] = draw(ANY_JSON)
    return out


NAME = sometimes(5).flatmap(lambda odd: st.one_of(
    st.sampled_from([*mm.BAD_NAMES, *mm.GOOD_NAMES, *mm.GOOD_UNDERSCORE_NAMES]), st.text(max_size=12),
) if odd else st.one_of(
    st.from_regex(r"[a-zA-Z0-9-]{1,12}", fullmatch=True), st.from_regex(r"[a-zA-Z0-9_-]{1,12}", fullmatch=True),
))
VERSION = sometimes(5).flatmap(lambda odd: st.one_of(
    st.sampled_from([*mm.GOOD_VERSIONS, *mm.BAD_VERSIONS]), st.text(max_size=10),
) if odd else st.from_regex(
    r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
    r"(-[0-9A-Za-z-]{1,5}(\.[0-9A-Za-z-]{1,5})*)?(\+[0-9A-Za-z-]{1,5}(\.[0-9A-Za-z-]{1,5})*)?", fullmatch=True))
SEED_VERSION = sometimes(4).flatmap(lambda odd: st.sampled_from(mm.SEED_VERSIONS) if odd else st.just("1.0.0"))
TEXT = st.text(max_size=10)
BOOL = mostly(st.booleans())
INTEGER = mostly(sometimes(6).flatmap(lambda odd: st.sampled_from([10.0, 10.5, -0.0, 1e3, True, "10", 2**70])
                                     if odd else st.integers(-(2**40), 2**40)))
NUMBER = mostly(st.integers(-(10**9), 10**9) | st.floats(allow_nan=False, allow_infinity=False))
JSON_TYPE = mostly(st.sampled_from([*mm.ENUM_GOOD["type"], *mm.ENUM_VIOLATIONS["type"]]))


def array_of(item: st.SearchStrategy) -> st.SearchStrategy:
    return mostly(st.lists(item, max_size=3))


SCALAR = closed_object({"name": NAME, "value": NUMBER}, {"inputMultiplier": NUMBER})
INPUT_FILE = closed_object({"name": NAME}, {"required": BOOL, "mediaTypes": array_of(TEXT), "multiple": BOOL,
                                            "partial": BOOL})
INPUT_JSON = closed_object({"name": NAME, "type": JSON_TYPE}, {"required": BOOL})
OUTPUT_FILE = closed_object({"name": NAME, "pattern": mostly(TEXT)}, {"mediaType": mostly(TEXT), "multiple": BOOL,
                                                                      "required": BOOL})
OUTPUT_JSON = closed_object({"name": NAME, "type": JSON_TYPE}, {"key": mostly(TEXT), "required": BOOL})
MOUNT = closed_object({"name": NAME, "path": mostly(TEXT)},
                      {"mode": mostly(st.sampled_from([*mm.ENUM_GOOD["mode"], *mm.ENUM_VIOLATIONS["mode"]]))})
SETTING = closed_object({"name": NAME}, {"secret": BOOL})
ERROR = closed_object({"code": INTEGER, "name": NAME},
                      {"title": mostly(TEXT), "description": mostly(TEXT),
                       "category": mostly(st.sampled_from([*mm.ENUM_GOOD["category"],
                                                           *mm.ENUM_VIOLATIONS["category"]]))})
INTERFACE = closed_object({}, {
    "command": mostly(TEXT),
    "inputs": mostly(closed_object({}, {"files": array_of(INPUT_FILE), "json": array_of(INPUT_JSON)})),
    "outputs": mostly(closed_object({}, {"files": array_of(OUTPUT_FILE), "json": array_of(OUTPUT_JSON)})),
    "mounts": array_of(MOUNT),
    "settings": array_of(SETTING),
})
MAINTAINER = closed_object({"name": mostly(TEXT), "email": mostly(TEXT)},
                           {"organization": mostly(TEXT), "url": mostly(TEXT), "phone": mostly(TEXT)})
JOB = closed_object(
    {"name": mostly(NAME), "jobVersion": mostly(VERSION), "packageVersion": mostly(VERSION), "title": mostly(TEXT),
     "description": mostly(TEXT), "maintainer": mostly(MAINTAINER), "timeout": INTEGER},
    {"tags": array_of(TEXT), "resources": mostly(closed_object({}, {"scalar": array_of(SCALAR)})),
     "interface": mostly(INTERFACE), "errors": array_of(ERROR)},
)
MANIFEST = st.sampled_from(["object", "object", "object", "object", "object", "object", "object", "object",
                            "wrapped in a list", "any JSON"]).flatmap(
    lambda shape: ANY_JSON if shape == "any JSON" else closed_object(
        {"seedVersion": SEED_VERSION, "job": mostly(JOB)}).map(lambda doc: [doc] if shape != "object" else doc))


def test_random_manifests_match_official() -> None:
    """On random manifests shaped like the schema (random member subsets, values of random JSON types, random
    names and versions), our verdict equals the official verdict; the random set holds both valid and invalid
    documents, so the property is not vacuous."""
    seen: list[bool] = []

    @settings(derandomize=True, max_examples=200, deadline=None, database=None)
    @given(MANIFEST)
    def verdicts_agree(document: Any) -> None:
        official, ours = official_verdict(document), our_verdict(document)
        seen.append(official)
        assert ours == official, f"official valid={official}, ours valid={ours}: {compact(document)}"
        explained = detailed_validator("manifest").is_valid(document)
        assert explained == ours, f"fast path valid={ours}, detailed validator valid={explained}: {compact(document)}"

    verdicts_agree()
    assert seen.count(True) >= 10 and seen.count(False) >= 10, (
        f"degenerate random manifests: {seen.count(True)} valid, {seen.count(False)} invalid")

"""``parse_json_text`` reads a document once with plain objects and tells duplicated member names from the
number of members: it must report exactly the duplicates there are (path by path), whatever colons, quotes
and backslashes the strings hold and however the text is spaced, and return what ``json.loads`` returns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed_runner.manifest.jsontext import parse_json_text
from seed_runner.problems import json_path


@dataclass(frozen=True)
class Obj:
    """A JSON object as its text has it: pairs in order, a name possibly more than once."""

    pairs: tuple[tuple[str, Any], ...]


NAMES = st.sampled_from(["a", "b", "a:b", ":", '"', 'x":1', "c\\", "\\u003a", "é"])
STRINGS = st.text(alphabet=st.sampled_from(['a', ':', '"', '\\', ' ', '{', '}', ',', 'é', '\u2028']), max_size=6)
SCALARS = st.one_of(st.integers(-5, 10**6), STRINGS, st.booleans(), st.none(), st.floats(-1e3, 1e3))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(st.tuples(NAMES, inner), max_size=5).map(lambda p: Obj(tuple(p)))),
    max_leaves=25)
SPACES = st.sampled_from(["", " ", "\n  ", "\t"])


def text_of(value: Any, space: str) -> str:
    if isinstance(value, Obj):
        return "{" + ",".join(f"{space}{json.dumps(k)}{space}:{space}{text_of(v, space)}" for k, v in value.pairs) \
            + space + "}"
    if isinstance(value, list):
        return "[" + ",".join(text_of(v, space) for v in value) + "]"
    return json.dumps(value)


def duplicates(value: Any, path: tuple = ()) -> set[str]:
    """The JSON paths of the names that appear twice, in the values that survive (the last of each name)."""
    found: set[str] = set()
    if isinstance(value, Obj):
        last = {}
        for name, member in value.pairs:
            if name in last:
                found.add(json_path((*path, name)))
            last[name] = member
        for name, member in last.items():
            found |= duplicates(member, (*path, name))
    elif isinstance(value, list):
        for i, member in enumerate(value):
            found |= duplicates(member, (*path, i))
    return found


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(NAMES, VALUES), max_size=6).map(lambda p: Obj(tuple(p))), SPACES)
def test_exactly_the_duplicated_names_are_reported(document: Obj, space: str) -> None:
    text = text_of(document, space)
    value, findings = parse_json_text(text)
    assert value == json.loads(text)
    assert all(f.code == "duplicate-key" for f in findings)
    assert {f.path for f in findings} == duplicates(document)
    assert len(findings) == len(duplicates(document))

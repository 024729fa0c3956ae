"""Scale data filters evaluated (when / unless): each condition, files and JSON, fields, all / any."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seed_runner.pipelines.filters import FileFacts, accepts, data_accepted, passes
from seed_runner.pipelines.model import Condition, Connection, Filter

COUNT = Connection.output("split", "COUNT")
PARTS = Connection.output("split", "PARTS")
LIMIT = Connection.input("LIMIT")


def _resolve(values: dict[str, Any]):
    def resolve(connection: Connection) -> Any:
        return values.get(connection.text)

    return resolve


def _filter(kind: str, condition: str, *values: Any, name: Connection = COUNT, **extra: Any) -> Filter:
    return Filter(name=name, type=kind, condition=condition, values=tuple(values), **extra)


@pytest.mark.parametrize("condition, values, count, expected", [
    ("<", (5,), 4, True), ("<", (5,), 5, False), ("<=", (5,), 5, True), (">", (5,), 6, True), (">", (5,), 5, False),
    (">=", (5,), 5, True), ("==", (5,), 5, True), ("==", (5,), 5.0, True), ("!=", (5,), 4, True),
    ("between", (2, 4), 3, True), ("between", (2, 4), 5, False), ("between", (2,), 3, False),
    ("in", (1, 2, 3), 2, True), ("in", (1, 2, 3), 4, False), ("not in", (1, 2, 3), 4, True),
    ("==", (True,), 1, False),  # a boolean is never a number
    ("<", ("5",), 4, False),  # no comparing across types: the filter fails, nothing raises
    ("<", (), 4, False),
])
def test_number_conditions(condition: str, values: tuple, count: Any, expected: bool) -> None:
    assert passes(_filter("integer", condition, *values), _resolve({"split.COUNT": count})) is expected


@pytest.mark.parametrize("condition, values, text, expected", [
    ("==", ("abc",), "abc", True), ("!=", ("abc",), "abd", True), ("contains", ("b", "z"), "abc", True),
    ("contains", ("z",), "abc", False), ("in", ("xabcx",), "abc", True), ("not in", ("xyz",), "abc", True),
])
def test_string_conditions(condition: str, values: tuple, text: str, expected: bool) -> None:
    assert passes(_filter("string", condition, *values), _resolve({"split.COUNT": text})) is expected


def test_object_subset_superset_and_fields() -> None:
    value = {"a": 1, "b": {"c": "x"}}
    resolve = _resolve({"split.COUNT": value})
    assert passes(_filter("object", "superset of", {"a": 1}), resolve)
    assert not passes(_filter("object", "subset of", {"a": 1}), resolve)
    assert passes(_filter("object", "subset of", {"a": 1, "b": {"c": "x"}, "d": 2}), resolve)
    assert passes(Filter(COUNT, "object", "==", ("x",), fields=(("b", "c"),)), resolve)
    missing = Filter(name=COUNT, type="object", condition="==", values=("x",), fields=(("nope",),))
    assert not passes(missing, resolve)


FILES = [FileFacts("part-1.txt", "text/plain", {"lines": 3, "lang": "en"}, ("text",)),
         FileFacts("part-2.csv", "text/csv", {"lines": 9, "lang": "fr"}, ("table",))]


@pytest.mark.parametrize("kind, condition, values, all_files, expected", [
    ("filename", "contains", (".csv",), False, True), ("filename", "contains", (".csv",), True, False),
    ("media-type", "==", ("text/plain",), False, True), ("media-type", "in", ("text/plain", "text/csv"), True, True),
    ("data-type", "==", ("table",), False, True), ("data-type", "==", ("image",), False, False),
    ("meta-data", "superset of", ({"lang": "en"},), False, True),
    ("meta-data", "superset of", ({"lang": "en"},), True, False),
])
def test_file_filters_one_file_or_every_file(kind: str, condition: str, values: tuple, all_files: bool,
                                             expected: bool) -> None:
    item = _filter(kind, condition, *values, name=PARTS, all_files=all_files)
    assert passes(item, _resolve({"split.PARTS": FILES})) is expected


def test_meta_data_fields_all_or_any() -> None:
    resolve = _resolve({"split.PARTS": FILES[:1]})
    both = Filter(PARTS, "meta-data", "==", (3, "fr"), fields=(("lines",), ("lang",)))
    assert not passes(both, resolve)
    assert passes(Filter(PARTS, "meta-data", "==", (3, "fr"), fields=(("lines",), ("lang",)), all_fields=False),
                  resolve)
    uneven = Filter(PARTS, "meta-data", "==", (3,), fields=(("lines",), ("lang",)))
    assert not passes(uneven, resolve)


def test_a_file_filter_on_json_and_a_json_filter_on_files_fail_quietly() -> None:
    resolve = _resolve({"split.PARTS": FILES, "split.COUNT": 3})
    assert not passes(_filter("filename", "==", "a", name=COUNT), resolve)
    assert not passes(_filter("integer", "==", 3, name=PARTS), resolve)
    assert not passes(_filter("integer", "==", 3), _resolve({}))  # no value: the filter fails


def test_values_may_be_references_and_unless_inverts() -> None:
    resolve = _resolve({"split.COUNT": 4, "inputs.LIMIT": 10})
    when = Condition((_filter("integer", "<=", LIMIT),))
    unless = Condition((_filter("integer", "<=", LIMIT),), accept_when=False)
    assert accepts(when, resolve) and not accepts(unless, resolve)
    assert not accepts(when, _resolve({"split.COUNT": 11, "inputs.LIMIT": 10}))


def test_all_or_any_of_the_filters() -> None:
    resolve = _resolve({"split.COUNT": 4})
    yes, no = _filter("integer", "==", 4), _filter("integer", "==", 5)
    assert not data_accepted(Condition((yes, no)), resolve)
    assert data_accepted(Condition((yes, no), all=False), resolve)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=8)
CONDITIONS = ["<", "<=", ">", ">=", "==", "!=", "between", "in", "not in", "contains", "subset of", "superset of",
              "no such"]
TYPES = ["array", "boolean", "integer", "number", "object", "string", "filename", "media-type", "data-type",
         "meta-data"]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(TYPES), condition=st.sampled_from(CONDITIONS), value=JSON,
       values=st.lists(JSON, max_size=3), fields=st.lists(st.lists(st.text(max_size=3), max_size=2), max_size=2),
       files=st.booleans())
def test_any_value_gives_a_verdict_never_an_exception(kind: str, condition: str, value: Any, values: list,
                                                      fields: list, files: bool) -> None:
    given_value = [FileFacts("f", "text/plain", value if isinstance(value, dict) else {})] if files else value
    item = Filter(COUNT, kind, condition, tuple(values), fields=tuple(tuple(f) for f in fields))
    assert passes(item, _resolve({"split.COUNT": given_value})) in (True, False)

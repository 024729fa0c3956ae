"""Scale's data filters, evaluated: does a step's ``when`` (or ``unless``) let it run?

Pure: the values come through ``resolve(connection)``, which gives a JSON value for a JSON input or output,
and a list of :class:`FileFacts` for files. The semantics are Scale's (``data/filter/filter.py``), with its
rough edges made plain: a value that is missing, or of another type than the condition compares, fails the
filter (it never raises); ``true`` is not ``1``.

- ``filename``, ``media-type``: each file's name or media type is compared; one file passing is enough, or
  every file must (``all_files``). ``data-type``: each data-type tag of the files, the same way.
- ``meta-data``: each file's side-car metadata (an object); with ``fields``, the value at each key path is
  compared to the value at the same place of ``values`` (every field must pass, or one: ``all_fields``).
- JSON types: the value itself; an ``object`` with ``fields`` as meta-data does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .model import Condition, Connection, Filter

FILE_FILTER_TYPES = frozenset({"filename", "media-type", "data-type", "meta-data"})
JSON_FILTER_TYPES = frozenset({"array", "boolean", "integer", "number", "object", "string"})
STRING_CONDITIONS = frozenset({"==", "!=", "in", "not in", "contains"})
NUMBER_CONDITIONS = frozenset({"<", "<=", ">", ">=", "==", "!=", "between", "in", "not in"})
BOOLEAN_CONDITIONS = frozenset({"==", "!="})
OBJECT_CONDITIONS = frozenset({"subset of", "superset of"})
ARRAY_CONDITIONS = frozenset({"==", "!=", "in", "not in", "contains", "subset of", "superset of"})

CONDITIONS_BY_TYPE: Mapping[str, frozenset[str]] = {
    "string": STRING_CONDITIONS, "filename": STRING_CONDITIONS, "media-type": STRING_CONDITIONS,
    "data-type": STRING_CONDITIONS, "integer": NUMBER_CONDITIONS, "number": NUMBER_CONDITIONS,
    "boolean": BOOLEAN_CONDITIONS, "object": OBJECT_CONDITIONS | {"==", "!="},
    "meta-data": OBJECT_CONDITIONS | NUMBER_CONDITIONS | STRING_CONDITIONS, "array": ARRAY_CONDITIONS,
}
"""The conditions each filter type may use (meta-data compares fields of any type, so it takes them all)."""


@dataclass(frozen=True)
class FileFacts:
    """What a filter may test of one file."""

    name: str
    media_type: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    data_types: tuple[str, ...] = ()


Resolve = Callable[[Connection], Any]


def accepts(condition: Condition, resolve: Resolve) -> bool:
    """Whether the step may run under ``condition``: its filter accepts (``when``), or does not (``unless``)."""
    return data_accepted(condition, resolve) == condition.accept_when


def data_accepted(condition: Condition, resolve: Resolve) -> bool:
    """Scale's verdict: every filter passes (``all``), or one does."""
    verdicts = (passes(item, resolve) for item in condition.filters)
    return all(verdicts) if condition.all else any(verdicts)


def passes(item: Filter, resolve: Resolve) -> bool:
    """Whether one filter passes, with its name and every reference among its values resolved."""
    value = resolve(item.name)
    values = [resolve(v) if isinstance(v, Connection) else v for v in item.values]
    test = _CONDITION.get(item.condition)
    if test is None or value is None:
        return False
    if item.type in FILE_FILTER_TYPES:
        files = value if isinstance(value, (list, tuple)) else [value]
        if not files or not all(isinstance(f, FileFacts) for f in files):
            return False
        return _files_pass(item, files, values, test)
    if isinstance(value, FileFacts) or (isinstance(value, list) and value and isinstance(value[0], FileFacts)):
        return False  # a file tested as JSON
    if item.type == "object" and item.fields:
        return _fields_pass(item, value, values, test)
    return test(value, values)


def _files_pass(item: Filter, files: Sequence[FileFacts], values: list[Any], test: Any) -> bool:
    if item.type == "meta-data":
        checks = [(_fields_pass(item, f.metadata, values, test) if item.fields else test(dict(f.metadata), values))
                  for f in files]
    elif item.type == "data-type":
        tags = [tag for f in files for tag in f.data_types]
        checks = [test(tag, values) for tag in tags]
    else:
        checks = [test(f.name if item.type == "filename" else f.media_type, values) for f in files]
    if not checks:
        return False
    return all(checks) if item.all_files else any(checks)


def _fields_pass(item: Filter, value: Any, values: list[Any], test: Any) -> bool:
    if not isinstance(value, Mapping) or len(item.fields) != len(values):
        return False
    checks = []
    for path, expected in zip(item.fields, values):
        found = _at(value, path)
        checks.append(found is not None and test(found, expected if isinstance(expected, list) else [expected]))
    return all(checks) if item.all_fields else any(checks)


def _at(value: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


# ------------------------------------------------------------------------------ the conditions


def _same(a: Any, b: Any) -> bool:
    """JSON equality: a boolean is never a number, 1 == 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, list[Any]], bool]:
    def test(value: Any, values: list[Any]) -> bool:
        if not values:
            return False
        other = values[0]
        if _number(value) and _number(other):
            return op(value, other)
        if isinstance(value, str) and isinstance(other, str):
            return op(value, other)
        return False

    return test


def _equal(value: Any, values: list[Any]) -> bool:
    return bool(values) and _same(value, values[0])


def _not_equal(value: Any, values: list[Any]) -> bool:
    return bool(values) and not _same(value, values[0])


def _between(value: Any, values: list[Any]) -> bool:
    return (len(values) >= 2 and all(_number(v) for v in (value, values[0], values[1]))
            and values[0] <= value <= values[1])


def _in(value: Any, values: list[Any]) -> bool:
    """One of the values, or inside one (a substring of a string value, an element of a list value)."""
    for candidate in values:
        if _same(value, candidate):
            return True
        if isinstance(candidate, str) and isinstance(value, str) and value in candidate:
            return True
        if isinstance(candidate, list) and any(_same(value, x) for x in candidate):
            return True
    return False


def _not_in(value: Any, values: list[Any]) -> bool:
    return not _in(value, values)


def _contains(value: Any, values: list[Any]) -> bool:
    if isinstance(value, str):
        return any(isinstance(v, str) and v in value for v in values)
    if isinstance(value, list):
        return any(_same(v, x) for v in values for x in value)
    return False


def _subset(value: Any, values: list[Any]) -> bool:
    if not values:
        return False
    other = values[0]
    if isinstance(value, Mapping) and isinstance(other, Mapping):
        return all(k in other and _same(v, other[k]) for k, v in value.items())
    if isinstance(value, list) and isinstance(other, list):
        return all(any(_same(x, y) for y in other) for x in value)
    return False


def _superset(value: Any, values: list[Any]) -> bool:
    return bool(values) and _subset(values[0], [value])


_CONDITION: dict[str, Callable[[Any, list[Any]], bool]] = {
    "<": _compare(lambda a, b: a < b), "<=": _compare(lambda a, b: a <= b),
    ">": _compare(lambda a, b: a > b), ">=": _compare(lambda a, b: a >= b),
    "==": _equal, "!=": _not_equal, "between": _between, "in": _in, "not in": _not_in,
    "contains": _contains, "subset of": _subset, "superset of": _superset,
}

"""YAML (and JSON, which YAML reads too) to plain JSON data, with the line and column of every key and value.

PyYAML's safe composer builds the node tree (each node carries its marks); this module turns it into JSON
data itself, so that hostile text meets limits instead of exhausting the machine: a size cap on the bytes, a
cap on nesting depth, a cap on the nodes an alias expansion may produce (a "billion laughs" bomb stops at it),
numbers past 64 bits refused, tags other than YAML's plain ones refused, duplicate keys reported. Every
failure is a :class:`YamlError` whose message is one line with its place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ..problems import Problem, error, one_line
from .model import Position

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
_LIMIT = 2**63

Path_ = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_CONSTRUCT = SafeConstructor()


class YamlError(ValueError):
    """The text is not a document we read; ``code`` names why, ``position`` where (when known)."""

    def __init__(self, code: str, message: str, position: Position | None = None):
        self.code = code
        self.position = position
        self.detail = one_line(message)
        where = f"{position}: " if position else ""
        super().__init__(where + self.detail)


@dataclass
class Located:
    """A document as JSON data, with where each value (``values``) and each mapping key (``keys``) was."""

    data: Any
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    """Problems found on the way that do not stop the reading (a duplicate key: reported, the last value kept)."""

    def value_at(self, path: Path_) -> Position | None:
        """Where the value at ``path`` was, else its nearest enclosing value."""
        path = tuple(path)
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path)

    def key_at(self, path: Path_) -> Position | None:
        """Where the key of the member at ``path`` was (else the value's place)."""
        return self.keys.get(tuple(path)) or self.value_at(path)


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
               max_nodes: int = MAX_NODES) -> Located:
    """One YAML document as JSON data with places. Raises :class:`YamlError` (one line) on anything else."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise YamlError("document-too-large", f"the file is larger than {max_bytes // (1024 * 1024)} MiB")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise YamlError("invalid-encoding", f"the file is not UTF-8 text (byte {exc.start}); save it as "
                            "UTF-8") from None
    else:
        text = data
        if len(text) > max_bytes:
            raise YamlError("document-too-large", f"the text is longer than {max_bytes} characters")
    try:
        node = yaml.compose(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = Position(mark.line + 1, mark.column + 1) if mark else None
        raise YamlError("invalid-yaml", f"not valid YAML: {exc.problem or exc.context}", place) from None
    except yaml.YAMLError as exc:
        raise YamlError("invalid-yaml", f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlError("too-deeply-nested", f"the document is nested more than {max_depth} levels deep") from None
    if node is None:
        raise YamlError("empty-document", "the file holds no document", Position(1, 1))
    located = Located(None)
    builder = _Builder(located, max_depth, max_nodes)
    try:
        located.data = builder.build(node, (), 0)
    except RecursionError:
        raise YamlError("too-deeply-nested", f"the document is nested more than {max_depth} levels deep") from None
    return located


def _loader() -> type:
    # The C composer when there is one (quick, and no Python recursion); the pure one else. Both are safe.
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Builder:
    def __init__(self, located: Located, max_depth: int, max_nodes: int):
        self.located = located
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.count = 0

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise YamlError("too-many-nodes", f"the document expands to more than {self.max_nodes} values (aliases "
                            "repeated too often?); write it out, or share less", _mark(node))
        if depth > self.max_depth:
            raise YamlError("too-deeply-nested", f"the document is nested more than {self.max_depth} levels deep",
                            _mark(node))
        self.located.values[path] = _mark(node)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != f"{_TAG}seq":
                raise YamlError("unsupported-tag", f"the tag {node.tag} is not supported; write a plain list",
                                _mark(node))
            return [self.build(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != f"{_TAG}map":
                raise YamlError("unsupported-tag", f"the tag {node.tag} is not supported; write a plain mapping",
                                _mark(node))
            return self._mapping(node, path, depth)
        raise YamlError("invalid-yaml", "an unknown kind of YAML node", _mark(node))  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == f"{_TAG}merge":  # `<<: *defaults`: keys written here win over merged ones
                for source in _merge_sources(value_node):
                    for key, value in self._mapping(source, path, depth).items():
                        if key not in out or key in merged:
                            out[key] = value
                            merged.add(key)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("invalid-key", "a key must be a plain name, not a list or a mapping",
                                _mark(key_node))
            # A key is its text: `on:` or `1.0:` name a member, as in JSON (YAML 1.1 would make them a boolean).
            key = str(key_node.value)
            if key in out and key not in merged:
                self.located.problems.append(error(
                    "duplicate-key", _path_text(path + (key,)),
                    f"the key {key!r} appears more than once in one mapping; keys must be unique, remove "
                    "or rename the others").at(*_line_column(_mark(key_node))))
            merged.discard(key)
            self.located.keys[path + (key,)] = _mark(key_node)
            out[key] = self.build(value_node, path + (key,), depth + 1)
        return out


def _merge_sources(node: yaml.Node) -> list[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        return [node]
    if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.MappingNode) for n in node.value):
        return list(node.value)
    raise YamlError("invalid-merge", "`<<` must merge a mapping or a list of mappings", _mark(node))


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if tag not in _SCALAR_TAGS:
        raise YamlError("unsupported-tag", f"the tag {tag} is not supported; write a plain value", _mark(node))
    if tag == f"{_TAG}str" or tag == f"{_TAG}timestamp":  # a date stays the text written
        return str(node.value)
    if tag == f"{_TAG}null":
        return None
    if tag == f"{_TAG}bool":
        return bool(_CONSTRUCT.construct_yaml_bool(node))
    try:
        number = _CONSTRUCT.construct_yaml_int(node) if tag == f"{_TAG}int" else _CONSTRUCT.construct_yaml_float(node)
    except (ValueError, OverflowError):
        raise YamlError("number-too-large", f"the number {node.value[:40]!r} is too large; numbers must fit "
                        "in 64 bits", _mark(node)) from None
    if isinstance(number, int) and not -_LIMIT <= number < _LIMIT:
        raise YamlError("number-too-large", f"the number {node.value[:40]!r} is too large; integers must fit in "
                        "64 bits", _mark(node))
    if isinstance(number, float) and not math.isfinite(number):
        raise YamlError("invalid-number", f"{node.value[:40]!r} is not a finite number (JSON has no infinity or "
                        "NaN)", _mark(node))
    return number


def _line_column(position: Position) -> tuple[int, int]:
    return position.line, position.column


def _path_text(path: Path_) -> str:
    from ..problems import json_path

    return json_path(path)

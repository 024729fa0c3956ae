"""The pipeline model: immutable dataclasses for a graph of Seed steps, whichever file it came from.

A pipeline file (``loading``) and a Scale recipe (``scale``) both become a :class:`Pipeline`; the check, the
graph and the run all read this one shape. Positions (1-based line and column in the source file) ride along
so that every problem can name its place; they never take part in equality.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Mapping

ConnectionKind = Literal["input", "output", "item", "value"]
PIPELINE_VERSION = "1.0"
FILE_TYPE = "file"
JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")


class _Missing:
    """The absence of a default (``None`` is a JSON value, so it cannot stand for 'none given')."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based place in the pipeline file."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class Connection:
    """Where a value comes from: a pipeline input, a step's output, the ``forEach`` item, or a literal."""

    kind: ConnectionKind
    name: str | None = None
    """The pipeline input's name (``input``) or the step's output name (``output``)."""
    step: str | None = None
    """The producing step (``output``)."""
    value: Any = None
    """The literal (``value``)."""
    position: Position | None = field(default=None, compare=False)

    @classmethod
    def input(cls, name: str, position: Position | None = None) -> "Connection":
        return cls("input", name=name, position=position)

    @classmethod
    def output(cls, step: str, name: str, position: Position | None = None) -> "Connection":
        return cls("output", name=name, step=step, position=position)

    @classmethod
    def item(cls, position: Position | None = None) -> "Connection":
        return cls("item", position=position)

    @classmethod
    def literal(cls, value: Any, position: Position | None = None) -> "Connection":
        return cls("value", value=value, position=position)

    @property
    def text(self) -> str:
        """The connection as written in a pipeline file: ``inputs.X``, ``step.X``, ``item``, ``{value: ...}``."""
        if self.kind == "input":
            return f"inputs.{self.name}"
        if self.kind == "output":
            return f"{self.step}.{self.name}"
        if self.kind == "item":
            return "item"
        import json

        return "{value: " + json.dumps(self.value, default=str) + "}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Filter:
    """One Scale data filter: ``name`` (a connection) passes ``condition`` against ``values``."""

    name: Connection
    type: str
    condition: str
    values: tuple[Any, ...] = ()
    """Each value a JSON value or a :class:`Connection` (resolved at run time)."""
    fields: tuple[tuple[str, ...], ...] = ()
    all_fields: bool = True
    all_files: bool = False
    position: Position | None = field(default=None, compare=False)

    def connections(self) -> tuple[Connection, ...]:
        return (self.name,) + tuple(v for v in self.values if isinstance(v, Connection))


@dataclass(frozen=True)
class Condition:
    """Scale's data filter: every filter (``all``) or any of them must pass. ``accept_when`` False turns it
    into ``unless`` (Scale's ``acceptance: false``): the step runs only when the filter does not accept."""

    filters: tuple[Filter, ...]
    all: bool = True
    accept_when: bool = True
    position: Position | None = field(default=None, compare=False)
    origin: str | None = field(default=None, compare=False)
    """The Scale condition node it came from, if any (for messages and pictures)."""

    def connections(self) -> tuple[Connection, ...]:
        return tuple(c for f in self.filters for c in f.connections())


@dataclass(frozen=True)
class Step:
    """One Seed job in the graph."""

    name: str
    image: str | None = None
    manifest: Path | None = None
    """A manifest file to check against while developing (``image`` is still needed to run, unless given)."""
    inputs: Mapping[str, Connection] = field(default_factory=_empty)
    """Seed input name -> where its value comes from."""
    for_each: Connection | None = None
    """One run per file of a file output, or per element of a JSON array (an output or a pipeline input)."""
    conditions: tuple[Condition, ...] = ()
    """Every one must accept for the step to run; else it is ``skipped`` (and so is every step needing it)."""
    settings: Mapping[str, str | None] = field(default_factory=_empty)
    """Setting name -> value; ``None``: a secret, named here, its value given at run time (-e / --secret)."""
    mounts: Mapping[str, str] = field(default_factory=_empty)
    """Mount name -> host path."""
    resources: Mapping[str, float] = field(default_factory=_empty)
    after: tuple[str, ...] = ()
    """Ordering-only dependencies (Scale's ``dependencies`` that carry no data)."""
    job_type: str | None = field(default=None, compare=False)
    """A Scale recipe's ``NAME:VERSION`` for this step (``image`` is None when no mapping was given)."""
    position: Position | None = field(default=None, compare=False)
    places: Mapping[str, Position] = field(default_factory=_empty, compare=False)
    """Where each key was written: ``image``, ``manifest``, ``forEach``, ``when``, ``inputs.NAME`` (the key),
    ``settings.NAME``, ``mounts.NAME``, ``resources.NAME``, ``after[i]``."""

    def __post_init__(self) -> None:
        for name in ("inputs", "settings", "mounts", "resources", "places"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        object.__setattr__(self, "after", tuple(self.after))

    def connections(self) -> tuple[Connection, ...]:
        """Every connection this step reads: its inputs, its forEach, its conditions' names and values."""
        found = list(self.inputs.values())
        if self.for_each is not None:
            found.append(self.for_each)
        for condition in self.conditions:
            found.extend(condition.connections())
        return tuple(found)

    def needs(self) -> frozenset[str]:
        """The steps this one depends on: through connections, its forEach, its conditions, and ``after``."""
        steps = {c.step for c in self.connections() if c.kind == "output" and c.step is not None}
        return frozenset(steps | set(self.after))

    @property
    def is_conditional(self) -> bool:
        return bool(self.conditions)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The settings named here whose values come at run time."""
        return tuple(name for name, value in self.settings.items() if value is None)

    def place(self, key: str) -> Position | None:
        """Where ``key`` was written, else where the step was."""
        return self.places.get(key, self.position)


@dataclass(frozen=True)
class PipelineInput:
    """One of the pipeline's own inputs: a file (``type: file``) or a JSON value."""

    name: str
    type: str
    required: bool = True
    multiple: bool = False
    media_types: tuple[str, ...] = ()
    default: Any = MISSING
    position: Position | None = field(default=None, compare=False)

    @property
    def is_file(self) -> bool:
        return self.type == FILE_TYPE

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


@dataclass(frozen=True)
class Pipeline:
    name: str
    version: str
    inputs: Mapping[str, PipelineInput] = field(default_factory=_empty)
    steps: Mapping[str, Step] = field(default_factory=_empty)
    outputs: Mapping[str, Connection] = field(default_factory=_empty)
    source: Path | None = field(default=None, compare=False)
    position: Position | None = field(default=None, compare=False)
    places: Mapping[str, Position] = field(default_factory=_empty, compare=False)
    """Where each top-level key was written: ``seedPipeline``, ``name``, ``inputs``, ``steps``, ``outputs``,
    ``outputs.NAME`` (the key)."""

    def __post_init__(self) -> None:
        for name in ("inputs", "steps", "outputs", "places"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def graph(self) -> dict[str, frozenset[str]]:
        """Step -> the steps it needs (only those that exist: unknown names are the check's to report)."""
        return {name: frozenset(n for n in step.needs() if n in self.steps) for name, step in self.steps.items()}

    def order(self) -> tuple[str, ...]:
        """The steps in an order where each comes after every step it needs.

        Raises ``graphlib.CycleError`` on a cycle (``check`` reports it first, with places)."""
        return tuple(graphlib.TopologicalSorter(self.graph()).static_order())

    def dependants(self) -> dict[str, frozenset[str]]:
        """Step -> the steps that need it directly."""
        out: dict[str, set[str]] = {name: set() for name in self.steps}
        for name, needs in self.graph().items():
            for need in needs:
                out[need].add(name)
        return {name: frozenset(found) for name, found in out.items()}

    def downstream(self, step: str) -> frozenset[str]:
        """Every step that needs ``step``, directly or not (what a skip or a failure of it reaches)."""
        dependants = self.dependants()
        seen: set[str] = set()
        todo = [step]
        while todo:
            for nxt in dependants.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    def place(self, key: str) -> Position | None:
        return self.places.get(key, self.position)

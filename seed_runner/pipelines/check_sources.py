"""What a connection gives, as the check sees it: files or JSON, how many, which media types, which JSON type.

Pure. A source that cannot be known (its step has no manifest) is :data:`UNKNOWN`, which matches anything, so
one missing manifest does not bury the real problems under guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..manifest.model import FileInput, JsonInput, Manifest
from .model import Connection, Pipeline, Step


@dataclass(frozen=True)
class Source:
    """What flows through a connection."""

    is_file: bool | None
    """True for files, False for a JSON value, None when not known."""
    json_type: str | None = None
    """The JSON type (None: not known, or files)."""
    multiple: bool = False
    """Files: there may be more than one."""
    media_types: tuple[str, ...] = ()
    """Files: the media types they may have (empty: not known)."""
    conditional_step: str | None = None
    """The step with a condition that produces it (None: none)."""


UNKNOWN = Source(None)


def json_type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def json_types_match(given: str | None, wanted: str | None) -> bool:
    """Whether a value of type ``given`` can be one of type ``wanted`` (an integer is a number)."""
    if given is None or wanted is None:
        return True
    return given == wanted or (given == "integer" and wanted == "number")


def media_types_match(given: tuple[str, ...], accepted: tuple[str, ...]) -> bool:
    """Whether a file of one of ``given`` could be accepted (empty on either side: anything; ``*`` wildcards)."""
    if not given or not accepted:
        return True
    return any(_media_match(g, a) or _media_match(a, g) for g in given for a in accepted)


def _media_match(pattern: str, value: str) -> bool:
    p_type, _, p_sub = pattern.lower().partition("/")
    v_type, _, v_sub = value.lower().split(";")[0].strip().partition("/")
    return p_type in ("*", v_type) and p_sub in ("*", "", v_sub)


class Sources:
    """Sources of the connections of one pipeline, given the steps' manifests."""

    def __init__(self, pipeline: Pipeline, manifests: Mapping[str, Manifest]):
        self.pipeline = pipeline
        self.manifests = manifests

    def of(self, connection: Connection, consumer: Step | None) -> Source:
        """The source of ``connection`` read by ``consumer`` (None: a pipeline output). Names that do not
        resolve give :data:`UNKNOWN` (the check reports them on its own)."""
        if connection.kind == "value":
            return Source(False, json_type_of(connection.value))
        if connection.kind == "input":
            spec = self.pipeline.inputs.get(connection.name or "")
            if spec is None:
                return UNKNOWN
            if spec.is_file:
                return Source(True, multiple=spec.multiple, media_types=spec.media_types)
            return Source(False, spec.type)
        if connection.kind == "item":
            if consumer is None or consumer.for_each is None:
                return UNKNOWN
            return self.element(self.of(consumer.for_each, consumer))
        return self._output(connection)

    def _output(self, connection: Connection) -> Source:
        producer = self.pipeline.steps.get(connection.step or "")
        manifest = self.manifests.get(connection.step or "")
        if producer is None or manifest is None:
            return UNKNOWN
        conditional = producer.name if producer.conditions else None
        face = manifest.job.interface
        fanned = producer.for_each is not None  # every run's output, gathered
        for out in face.file_outputs:
            if out.name == connection.name:
                return Source(True, multiple=out.multiple or fanned,
                              media_types=(out.media_type,) if out.media_type else (), conditional_step=conditional)
        for out in face.json_outputs:
            if out.name == connection.name:
                return Source(False, "array" if fanned else out.type, conditional_step=conditional)
        return UNKNOWN

    @staticmethod
    def element(source: Source) -> Source:
        """One element of a forEach over ``source``: a single file, or an element of a JSON array (any type)."""
        if source.is_file:
            return Source(True, media_types=source.media_types, conditional_step=source.conditional_step)
        if source.is_file is False:
            return Source(False, None, conditional_step=source.conditional_step)
        return UNKNOWN

    def output_exists(self, connection: Connection) -> bool | None:
        """Whether the producing step declares the output (None: its manifest is not known)."""
        manifest = self.manifests.get(connection.step or "")
        if manifest is None:
            return None
        face = manifest.job.interface
        return any(o.name == connection.name for o in (*face.file_outputs, *face.json_outputs))


def target_of(manifest: Manifest, name: str) -> FileInput | JsonInput | None:
    """The Seed input ``name`` of a manifest."""
    face = manifest.job.interface
    for item in (*face.file_inputs, *face.json_inputs):
        if item.name == name:
            return item
    return None

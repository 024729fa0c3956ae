"""An execute request (``POST /processes/{id}/execution``) read against the job's manifest. Pure: the bytes of
inline values are decoded here; references are only checked to be http(s) URLs (fetching is the job's).

Every problem is a ``BadExecute`` with one line naming the input and what to do. Limits bound what a request may
hold (values per input, bytes inline) so that no request makes the server hold more than it chose to.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from ..manifest.model import Manifest

MAX_VALUES_PER_INPUT = 100


class BadExecute(ValueError):
    """An execute request this job cannot take (400)."""


@dataclass(frozen=True)
class InlineFile:
    data: bytes
    media_type: str | None


@dataclass(frozen=True)
class Reference:
    href: str
    media_type: str | None


@dataclass(frozen=True)
class Execute:
    file_inputs: Mapping[str, tuple[InlineFile | Reference, ...]] = field(default_factory=dict)
    json_inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: frozenset[str] | None = None
    """The outputs asked for; None: every output."""
    raw: bool = False
    """``response: raw``: a synchronous answer is the bytes of the one output asked for."""


def _file_value(name: str, value: Any) -> InlineFile | Reference:
    if isinstance(value, Mapping):
        media = value.get("mediaType", value.get("type"))
        if media is not None and not isinstance(media, str):
            raise BadExecute(f"input {name}: mediaType must be a text")
        if "href" in value:
            href = value["href"]
            if not isinstance(href, str) or not href.lower().startswith(("http://", "https://")):
                raise BadExecute(f"input {name}: a reference must be an http:// or https:// URL")
            return Reference(href, media)
        if "value" not in value:
            raise BadExecute(f"input {name}: give {{\"href\": URL}} or {{\"value\": ..., \"encoding\": \"base64\"}}")
        inner, encoding = value["value"], value.get("encoding")
        if encoding is not None and (not isinstance(encoding, str) or encoding.lower() not in ("base64", "utf-8")):
            raise BadExecute(f"input {name}: encoding must be base64 (or utf-8 for text)")
        if encoding and encoding.lower() == "base64":
            if not isinstance(inner, str):
                raise BadExecute(f"input {name}: a base64 value must be a text")
            try:
                return InlineFile(base64.b64decode(inner, validate=True), media)
            except (binascii.Error, ValueError):
                raise BadExecute(f"input {name}: the value is not valid base64") from None
        if isinstance(inner, str):
            return InlineFile(inner.encode("utf-8"), media)
        return InlineFile(json.dumps(inner).encode("utf-8"), media or "application/json")
    if isinstance(value, str):
        return InlineFile(value.encode("utf-8"), None)
    raise BadExecute(f"input {name}: a file input is {{\"href\": URL}}, {{\"value\": ...}} or a text")


def _json_value(name: str, kind: str, value: Any) -> Any:
    if isinstance(value, Mapping) and set(value) <= {"value", "mediaType", "encoding", "schema"} and "value" in value:
        value = value["value"]  # a qualified value
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "object": lambda v: isinstance(v, Mapping), "array": lambda v: isinstance(v, list)}
    check = checks.get(kind)
    if check is not None and not check(value):
        raise BadExecute(f"input {name}: must be a JSON {kind}")
    return value


def read_execute(body: Any, manifest: "Manifest") -> Execute:
    """The request's inputs and outputs, checked against the manifest (unknown, missing and repeated inputs)."""
    if not isinstance(body, Mapping):
        raise BadExecute("the execute request must be a JSON object with \"inputs\"")
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise BadExecute("\"inputs\" must be an object: {\"NAME\": value, ...}")
    interface = manifest.job.interface
    files = {spec.name: spec for spec in interface.file_inputs}
    jsons = {spec.name: spec for spec in interface.json_inputs}
    file_inputs: dict[str, tuple[InlineFile | Reference, ...]] = {}
    json_inputs: dict[str, Any] = {}
    for name, value in inputs.items():
        if name in files:
            values = value if isinstance(value, list) else [value]
            if len(values) > 1 and not files[name].multiple:
                raise BadExecute(f"input {name} takes one file, not {len(values)}")
            if len(values) > MAX_VALUES_PER_INPUT:
                raise BadExecute(f"input {name}: at most {MAX_VALUES_PER_INPUT} files")
            file_inputs[name] = tuple(_file_value(name, v) for v in values)
        elif name in jsons:
            json_inputs[name] = _json_value(name, jsons[name].type, value)
        else:
            known = ", ".join(sorted([*files, *jsons])) or "none"
            raise BadExecute(f"unknown input {name!r} (this process takes: {known})")
    missing = [n for n, s in files.items() if s.required and not file_inputs.get(n)]
    missing += [n for n, s in jsons.items() if s.required and n not in json_inputs]
    if missing:
        raise BadExecute(f"missing required input{'s' * (len(missing) > 1)}: {', '.join(missing)}")
    outputs = body.get("outputs")
    selected = None
    if outputs is not None:
        if not isinstance(outputs, Mapping):
            raise BadExecute("\"outputs\" must be an object: {\"NAME\": {}, ...}")
        known_outputs = {s.name for s in interface.file_outputs} | {s.name for s in interface.json_outputs}
        unknown = sorted(set(outputs) - known_outputs)
        if unknown:
            raise BadExecute(f"unknown output {unknown[0]!r} (this process gives: "
                             f"{', '.join(sorted(known_outputs)) or 'none'})")
        selected = frozenset(outputs)
    response = body.get("response", "document")
    if response not in ("document", "raw"):
        raise BadExecute("\"response\" must be \"document\" or \"raw\"")
    return Execute(file_inputs, json_inputs, selected, response == "raw")

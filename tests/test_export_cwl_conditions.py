"""The exported `when`/`unless` decide as `seed pipeline run` decides: the gate's JavaScript (FILTERS_LIB, run by
Node, the engine cwltool evaluates expressions with) against pipelines/filters.py on generated conditions and
values. And the pipeline sniffing of `seed export cwl` takes hostile bytes without a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seed_runner.cli.export_pipeline import is_pipeline_file
from seed_runner.export.cwl_conditions import FILTERS_LIB, UnsupportedPipeline, condition_spec, media_type_lib
from seed_runner.manifest.media_types import guess_media_type
from seed_runner.pipelines.filters import CONDITIONS_BY_TYPE, FileFacts, accepts
from seed_runner.pipelines.model import Condition, Connection, Filter

NODE = shutil.which("node") or shutil.which("nodejs")
TEXT = st.text(alphabet="ab.é", max_size=3)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 1.0, -2.5]), TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)),
                    max_leaves=6)
JSON_TYPES = ["string", "integer", "number", "boolean", "object", "array"]
TYPED = {"string": TEXT, "integer": st.integers(-3, 3), "number": st.sampled_from([-1, 0, 0.5, 1.0, 2]),
         "boolean": st.booleans(), "object": st.dictionaries(st.sampled_from("xyz"), JSON, max_size=3),
         "array": st.lists(JSON, max_size=3), "filename": TEXT,
         "media-type": st.sampled_from(["text/plain", "image/png", "application/gzip", "application/json"])}
IANA = "https://www.iana.org/assignments/media-types/"
# A file: its name, and the mediaType its step's manifest declares (None: seed run guesses from the name).
FILES = st.lists(st.tuples(st.builds(lambda t, e: t + e, TEXT, st.sampled_from([".txt", ".png", ".gz", ".TXT",
                                                                                 ".json", ".zz", ""])),
                           st.none() | st.sampled_from(["text/plain", "image/tiff"])), max_size=3)
"""Mostly values of the filter's own type, so that the conditions meet the cases where they differ."""


@st.composite
def filters(draw: Any, index: int) -> tuple[Filter, Any]:
    """A filter on input ``i{index}`` and the value it gets (a JSON value, or files for ``filename``)."""
    kind = draw(st.sampled_from([*JSON_TYPES, "filename", "media-type", "media-type"]))
    condition = draw(st.sampled_from(sorted(CONDITIONS_BY_TYPE[kind])))
    files = kind in ("filename", "media-type")
    values = draw(st.lists(TYPED[kind] if files and draw(st.booleans()) else TYPED[kind] | JSON,
                           min_size=1, max_size=3))
    fields: tuple[tuple[str, ...], ...] = ()
    if kind == "object" and draw(st.booleans()):
        fields = tuple(tuple(draw(st.lists(st.sampled_from("xyz"), min_size=1, max_size=2))) for _ in values)
    value = draw(FILES) if files else draw(TYPED[kind] | JSON)
    # A step's output (the run recorded a media type) or a pipeline input (seed pipeline run knows none).
    name = Connection.output("s", f"O{index}") if draw(st.booleans()) else Connection.input(f"i{index}")
    item = Filter(name, kind, condition, tuple(values), fields,
                  all_fields=draw(st.booleans()), all_files=draw(st.booleans()))
    return item, value


@st.composite
def conditions(draw: Any) -> tuple[Condition, list[Any]]:
    drawn = [draw(filters(i)) for i in range(draw(st.integers(1, 3)))]
    condition = Condition(tuple(f for f, _ in drawn), all=draw(st.booleans()), accept_when=draw(st.booleans()))
    return condition, [v for _, v in drawn]


def _is_files(condition: Condition, connection: Connection) -> bool:
    return next(f.type in ("filename", "media-type") for f in condition.filters if f.name == connection)


def _python(condition: Condition, values: list[Any]) -> bool:
    def resolve(connection: Connection) -> Any:
        value = values[int((connection.name or "")[1:])]
        if not _is_files(condition, connection):
            return value
        from_step = connection.kind == "output"
        return [FileFacts(name, (declared or guess_media_type(name)) if from_step else None)
                for name, declared in value]

    return accepts(condition, resolve)


def _gate_input(condition: Condition, values: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    refs: dict[Connection, int] = {}
    spec = condition_spec("s", condition, lambda c: refs.setdefault(c, len(refs)))
    inputs = {}
    for connection, ref in refs.items():
        value = values[int((connection.name or "")[1:])]
        inputs[f"v{ref}"] = [{"class": "File", "basename": name, **({"format": IANA + declared} if declared else {})}
                             for name, declared in value] if _is_files(condition, connection) else value
    return {"needs": [], "conditions": [spec]}, inputs


@pytest.mark.skipif(NODE is None, reason="cwltool evaluates expressions with Node; CI installs it")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions(), min_size=20, max_size=20))
def test_the_gate_decides_as_seed_pipeline_run_does(cases: list[tuple[Condition, list[Any]]]) -> None:
    batch = [_gate_input(condition, values) for condition, values in cases]
    script = FILTERS_LIB + media_type_lib() + "\nvar cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n" \
        "process.stdout.write(JSON.stringify(cases.map(function (c) { return seedGate(c[0], c[1]); })));"
    done = subprocess.run([str(NODE), "-e", script], input=json.dumps(batch), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    for (condition, values), verdict in zip(cases, json.loads(done.stdout)):
        assert verdict == _python(condition, values), (condition, values)


def test_the_gate_needs_every_gate_it_needs() -> None:
    script = FILTERS_LIB + "\nprocess.stdout.write(JSON.stringify([" \
        "seedGate({needs: ['n0', 'n1'], conditions: []}, {n0: true, n1: true})," \
        "seedGate({needs: ['n0', 'n1'], conditions: []}, {n0: true, n1: false})]));"
    done = subprocess.run([str(NODE), "-e", script], capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == [True, False]


@pytest.mark.parametrize("kind", ["data-type", "meta-data"])
def test_file_facts_cwl_does_not_carry_are_refused(kind: str) -> None:
    condition = Condition((Filter(Connection.output("a", "OUT"), kind, "==", ("x",)),))
    with pytest.raises(UnsupportedPipeline, match=f"type {kind}"):
        condition_spec("b", condition, lambda c: 0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_hostile_bytes_are_simply_not_a_pipeline(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "thing.yaml"
    path.write_bytes(data)
    assert is_pipeline_file(str(path)) in (True, False)
    assert is_pipeline_file(str(tmp_path)) is False
    assert is_pipeline_file(str(tmp_path / "missing")) is False

"""Check a pipeline against its steps' manifests: every problem at once, each at its line and column.

Pure: ``check(pipeline, manifests)`` reads nothing; the manifests come from files or image labels
(``seed_runner.pipelines.manifests``, which needs the engine). A step with no manifest is checked only for
what needs none (names of steps and pipeline inputs, ``item``, cycles), so one unreadable image does not
hide every other problem. Every code is in ``seed_runner.pipelines.codes``.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..manifest.model import FileInput, JsonInput, Manifest
from ..problems import Problem, Severity, json_path
from .check_sources import Source, Sources, json_type_of, json_types_match, media_types_match, target_of
from .codes import describe
from .filters import CONDITIONS_BY_TYPE, FILE_FILTER_TYPES
from .model import Connection, Filter, Pipeline, Position, Step

_ONE_VALUE = frozenset({"<", "<=", ">", ">=", "==", "!=", "subset of", "superset of"})


def check(pipeline: Pipeline, manifests: Mapping[str, Manifest]) -> list[Problem]:
    """Every problem of ``pipeline`` given the manifests of its steps (a step missing from ``manifests`` is
    checked without one), in the order of the file."""
    return _Checker(pipeline, manifests).run()


def _problem(code: str, path: Iterable[str | int], message: str, place: Position | None) -> Problem:
    problem = Problem(Severity(describe(code).severity), code, json_path(tuple(path)), message)
    return problem.at(place.line, place.column) if place else problem


class _Checker:
    def __init__(self, pipeline: Pipeline, manifests: Mapping[str, Manifest]):
        self.pipeline = pipeline
        self.manifests = manifests
        self.sources = Sources(pipeline, manifests)
        self.problems: list[Problem] = []
        self.used_inputs: set[str] = set()

    def add(self, code: str, path: Iterable[str | int], message: str, place: Position | None) -> None:
        self.problems.append(_problem(code, path, message, place))

    def run(self) -> list[Problem]:
        self._inputs()
        for step in self.pipeline.steps.values():
            self._step(step)
        self._outputs()
        self._cycles()
        for name, spec in self.pipeline.inputs.items():
            if name not in self.used_inputs:
                self.add("unused-input", ("inputs", name), f"the pipeline input {name!r} is read by no step or "
                         "output; connect it, or remove it", spec.position)
        order = {id(p): i for i, p in enumerate(self.problems)}
        return sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0, order[id(p)]))

    # -------------------------------------------------------------------------- pipeline inputs and outputs

    def _inputs(self) -> None:
        for name, spec in self.pipeline.inputs.items():
            if spec.has_default and not spec.is_file and not json_types_match(json_type_of(spec.default), spec.type):
                self.add("type-mismatch", ("inputs", name, "default"), f"the default of input {name!r} is a "
                         f"{json_type_of(spec.default)}, but the input is of type {spec.type}", spec.position)

    def _outputs(self) -> None:
        for name, connection in self.pipeline.outputs.items():
            path = ("outputs", name)
            if connection.kind == "item":
                self.add("item-outside-foreach", path, f"output {name!r}: `item` exists only inside a step with "
                         "forEach; connect a step's output", connection.position)
                continue
            self._reference(connection, None, path, f"output {name!r}")

    # -------------------------------------------------------------------------- one step

    def _step(self, step: Step) -> None:
        at = ("steps", step.name)
        manifest = self.manifests.get(step.name)
        if step.job_type and step.image is None and step.manifest is None:
            self.add("unmapped-job-type", at, f"step {step.name!r}: the Scale job type {step.job_type} has no image; "
                     f"map it: --job-type {step.job_type}=IMAGE (or =manifest:PATH)", step.position)
        for index, need in enumerate(step.after):
            if need not in self.pipeline.steps:
                self.add("unknown-step", at + ("after", index), f"step {step.name!r} waits for {need!r}, which is "
                         f"no step of this pipeline{_known(self.pipeline.steps)}", step.place(f"after[{index}]"))
        if step.for_each is not None:
            self._for_each(step, at)
        for name, connection in step.inputs.items():
            self._input(step, manifest, name, connection, at + ("inputs", name))
        for index, condition in enumerate(step.conditions):
            for number, item in enumerate(condition.filters):
                self._filter(step, item, at + ("when" if condition.accept_when else "unless", "filters", number))
        if manifest is not None:
            self._interface(step, manifest, at)

    def _for_each(self, step: Step, at: tuple[str, ...]) -> None:
        connection = step.for_each
        assert connection is not None
        if not self._reference(connection, step, at + ("forEach",), f"step {step.name!r} forEach"):
            return
        source = self.sources.of(connection, step)
        if source.is_file is False and source.json_type not in (None, "array"):
            self.add("foreach-not-iterable", at + ("forEach",), f"step {step.name!r}: forEach over {connection.text}, "
                     f"a JSON {source.json_type}; forEach takes a file output or a JSON array", connection.position)
        if source.conditional_step:
            self.add("conditional-input", at + ("forEach",), f"step {step.name!r} forEach is over an output of "
                     f"{source.conditional_step!r}, which has a condition: when it is skipped, {step.name!r} is "
                     "skipped too", connection.position)

    def _reference(self, connection: Connection, consumer: Step | None, path: tuple[Any, ...], what: str) -> bool:
        """Whether the names of ``connection`` resolve (reporting those that do not)."""
        if connection.kind == "input":
            self.used_inputs.add(connection.name or "")
            if connection.name not in self.pipeline.inputs:
                self.add("unknown-input", path, f"{what}: the pipeline has no input {connection.name!r}"
                         f"{_known(self.pipeline.inputs)}", connection.position)
                return False
        elif connection.kind == "output":
            if connection.step not in self.pipeline.steps:
                self.add("unknown-step", path, f"{what}: {connection.text} names no step of this pipeline"
                         f"{_known(self.pipeline.steps)}", connection.position)
                return False
            if self.sources.output_exists(connection) is False:
                manifest = self.manifests[connection.step or ""]
                face = manifest.job.interface
                names = [o.name for o in (*face.file_outputs, *face.json_outputs)]
                self.add("unknown-output", path, f"{what}: step {connection.step!r} ({manifest.image_name}) has no "
                         f"output {connection.name!r}{_known(names)}", connection.position)
                return False
        elif connection.kind == "item" and (consumer is None or consumer.for_each is None):
            self.add("item-outside-foreach", path, f"{what}: `item` exists only in a step with forEach; add "
                     "forEach to this step, or connect an output", connection.position)
            return False
        return True

    def _input(self, step: Step, manifest: Manifest | None, name: str, connection: Connection,
               path: tuple[str, ...]) -> None:
        what = f"step {step.name!r} input {name!r}"
        resolved = self._reference(connection, step, path, what)
        if manifest is None:
            return
        target = target_of(manifest, name)
        if target is None:
            face = manifest.job.interface
            names = [i.name for i in (*face.file_inputs, *face.json_inputs)]
            self.add("unknown-input", path, f"step {step.name!r}: {manifest.image_name} has no input {name!r}"
                     f"{_known(names)}", step.place(f"inputs.{name}"))
            return
        if not resolved:
            return
        source = self.sources.of(connection, step)
        self._fits(what, source, connection, target, path)
        if source.conditional_step and connection.kind != "item":  # an item's is said at the forEach
            self.add("conditional-input", path, f"{what} comes from {source.conditional_step!r}, which has a "
                     f"condition: when it is skipped, {step.name!r} is skipped too", connection.position)

    def _fits(self, what: str, source: Source, connection: Connection, target: FileInput | JsonInput,
              path: tuple[str, ...]) -> None:
        place = connection.position
        if isinstance(target, FileInput):
            if source.is_file is False:
                given = "a literal value" if connection.kind == "value" else f"{connection.text}, a JSON value"
                self.add("kind-mismatch", path, f"{what} takes files, but is fed {given}; connect a file input or "
                         "a file output", place)
                return
            if source.is_file and source.multiple and not target.multiple:
                self.add("several-files", path, f"{what} takes one file, but {connection.text} may give several; "
                         "add forEach over it (and connect item), or feed a multiple input", place)
            if source.is_file and not media_types_match(source.media_types, target.media_types):
                self.add("media-type-mismatch", path, f"{what} accepts {', '.join(target.media_types)}, but "
                         f"{connection.text} gives {', '.join(source.media_types)}", place)
            return
        if source.is_file:
            self.add("kind-mismatch", path, f"{what} is a JSON {target.type}, but is fed files ({connection.text}); "
                     "connect a JSON input or output, or a {value: ...}", place)
        elif source.is_file is False and not json_types_match(source.json_type, target.type):
            self.add("type-mismatch", path, f"{what} is a JSON {target.type}, but {connection.text} is a "
                     f"{source.json_type}", place)

    def _interface(self, step: Step, manifest: Manifest, at: tuple[str, ...]) -> None:
        face = manifest.job.interface
        for item in (*face.file_inputs, *face.json_inputs):
            if item.required and item.name not in step.inputs:
                self.add("required-input-unconnected", at + ("inputs",), f"step {step.name!r}: the required input "
                         f"{item.name!r} of {manifest.image_name} is connected to nothing; add it under inputs",
                         step.place("inputs"))
        settings = {s.name: s for s in face.settings}
        for name, value in step.settings.items():
            place = step.place(f"settings.{name}")
            if name not in settings:
                self.add("unknown-setting", at + ("settings", name), f"step {step.name!r}: {manifest.image_name} has "
                         f"no setting {name!r}{_known(settings)}", place)
            elif settings[name].secret and value is not None:
                self.add("secret-in-file", at + ("settings", name), f"step {step.name!r}: {name!r} is a secret; "
                         "never write its value in the file: write {secret: true} and give it at run time "
                         f"(-e {name} or --secret {name}=FILE)", place)
        mounts = {m.name for m in face.mounts}
        for name in step.mounts:
            if name not in mounts:
                self.add("unknown-mount", at + ("mounts", name), f"step {step.name!r}: {manifest.image_name} has no "
                         f"mount {name!r}{_known(mounts)}", step.place(f"mounts.{name}"))

    # -------------------------------------------------------------------------- conditions

    def _filter(self, step: Step, item: Filter, path: tuple[Any, ...]) -> None:
        what = f"step {step.name!r} condition"
        for index, value in enumerate(item.values):
            if isinstance(value, Connection):
                if self._reference(value, step, path + ("values", index), what) and \
                        self.sources.of(value, step).is_file:
                    self.add("kind-mismatch", path + ("values", index), f"{what}: the value {value.text} is files; "
                             "a filter compares with JSON values", value.position)
        if not self._reference(item.name, step, path + ("name",), what):
            return
        if item.type not in CONDITIONS_BY_TYPE:  # a Scale recipe's filter (a pipeline file's schema says it)
            self.add("filter-type-mismatch", path + ("type",), f"{what}: {item.type!r} is no filter type; use "
                     f"one of {', '.join(sorted(CONDITIONS_BY_TYPE))}", item.position)
            return
        source = self.sources.of(item.name, step)
        place = item.name.position
        if source.is_file is True and item.type not in FILE_FILTER_TYPES:
            self.add("filter-type-mismatch", path + ("type",), f"{what}: {item.name.text} is files; a filter on "
                     f"files has type filename, media-type, data-type or meta-data, not {item.type}", place)
        elif source.is_file is False and item.type in FILE_FILTER_TYPES:
            self.add("filter-type-mismatch", path + ("type",), f"{what}: {item.name.text} is a JSON value; type "
                     f"{item.type} is for files: use its JSON type", place)
        elif source.is_file is False and not json_types_match(source.json_type, item.type) and not (
                item.type == "integer" and source.json_type == "number"):
            self.add("filter-type-mismatch", path + ("type",), f"{what}: {item.name.text} is a JSON "
                     f"{source.json_type}, not {item.type}", place)
        allowed = CONDITIONS_BY_TYPE.get(item.type, frozenset())
        if item.condition not in allowed:
            self.add("invalid-condition", path + ("condition",), f"{what}: a {item.type} filter takes "
                     f"{', '.join(sorted(allowed))}, not {item.condition!r}", item.position)
        needed = 2 if item.condition == "between" else 1 if item.condition in _ONE_VALUE else 1
        if len(item.values) < needed:
            self.add("filter-values", path + ("values",), f"{what}: {item.condition!r} needs {needed} value"
                     f"{'s' if needed > 1 else ''}, {len(item.values)} given", item.position)
        if item.fields and len(item.fields) != len(item.values):
            self.add("filter-values", path + ("fields",), f"{what}: {len(item.fields)} fields but "
                     f"{len(item.values)} values; give one value per field", item.position)

    # -------------------------------------------------------------------------- cycles

    def _cycles(self) -> None:
        graph = self.pipeline.graph()
        for component in _strongly_connected(graph):
            if len(component) == 1 and component[0] not in graph[component[0]]:
                continue
            first = min(component, key=lambda n: _sort_key(self.pipeline.steps[n].position))
            ring = " -> ".join([*_ring(graph, first, set(component)), first])
            self.add("cycle", ("steps", first), f"steps need each other in a cycle: {ring}; remove one of these "
                     "connections", self.pipeline.steps[first].position)


def _sort_key(position: Position | None) -> tuple[int, int]:
    return (position.line, position.column) if position else (0, 0)


def _known(names: Iterable[str]) -> str:
    names = sorted(names)
    if not names:
        return " (it has none)"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f" (known: {shown})"


def _ring(graph: Mapping[str, frozenset[str]], start: str, members: set[str]) -> list[str]:
    """One cycle through ``start`` inside a strongly connected component, as a path of names."""
    path, seen, node = [start], {start}, start
    while True:
        nxt = sorted(n for n in graph[node] if n in members)
        if start in nxt and len(path) > 1 or nxt == [start]:
            return path
        node = next((n for n in nxt if n not in seen), start)
        if node == start:
            return path
        path.append(node)
        seen.add(node)


def _strongly_connected(graph: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a 10,000-step chain must not hit Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found

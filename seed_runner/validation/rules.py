"""The rules a JSON Schema cannot express (SEED-RULES.md section 10, items 2-16).

Each rule reads the raw document defensively (the schema may have failed elsewhere) so that
every problem of a manifest is reported in one pass, not only the first.
"""

from __future__ import annotations

import difflib
import posixpath
from typing import Any, Callable, Iterator

from ..runtime import layout
from ..problems import Finding, error, json_path, warning
from ..manifest.names import (INPUT_METADATA, KNOWN_RESOURCES, MAX_TAG_LENGTH, OUTPUT_DIR, allocated_variable,
                     normalize_name, suggested_job_name, suggested_variable_name)

Path = tuple[str | int, ...]
Rule = Callable[["Document"], Iterator[Finding]]

INTERFACE: Path = ("job", "interface")
FILE_INPUTS: Path = (*INTERFACE, "inputs", "files")
JSON_INPUTS: Path = (*INTERFACE, "inputs", "json")
FILE_OUTPUTS: Path = (*INTERFACE, "outputs", "files")
JSON_OUTPUTS: Path = (*INTERFACE, "outputs", "json")
MOUNTS: Path = (*INTERFACE, "mounts")
SETTINGS: Path = (*INTERFACE, "settings")
SCALARS: Path = ("job", "resources", "scalar")
ERRORS: Path = ("job", "errors")

# Mounting over these breaks the container's own system; "/" itself is covered separately.
SYSTEM_DIRECTORIES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sbin",
                      "/sys", "/usr")

_SYSTEM_PREFIXES = tuple(d + "/" for d in SYSTEM_DIRECTORIES)

KIND_LABELS = {FILE_INPUTS: "input", JSON_INPUTS: "json input", SETTINGS: "setting", FILE_OUTPUTS: "output",
               JSON_OUTPUTS: "json output", MOUNTS: "mount", ERRORS: "error", SCALARS: "resource"}


class Document:
    """The raw manifest with the lookups the rules share, each computed once per document.

    Rules read it defensively: a value of the wrong type is treated as absent (the schema reports it).
    """

    __slots__ = ("raw", "job", "_items", "_named", "_variables")

    def __init__(self, raw: dict):
        self.raw = raw
        self.job = job = _member(raw, "job")
        """``raw["job"]`` when it is an object, else an empty one."""
        # Every array the rules walk, read in one pass: its objects, and those of them with a string name.
        face = _member(job, "interface")
        inputs, outputs = _member(face, "inputs"), _member(face, "outputs")
        self._items: dict[Path, list[tuple[Path, dict]]] = {}
        self._named: dict[Path, list[tuple[Path, str]]] = {}
        for path, array in ((FILE_INPUTS, inputs.get("files")), (JSON_INPUTS, inputs.get("json")),
                            (FILE_OUTPUTS, outputs.get("files")), (JSON_OUTPUTS, outputs.get("json")),
                            (MOUNTS, face.get("mounts")), (SETTINGS, face.get("settings")),
                            (SCALARS, _member(job, "resources").get("scalar")), (ERRORS, job.get("errors"))):
            self._read_array(path, array)
        self._variables: list[tuple[Path, str, str]] | None = None

    def _read_array(self, path: Path, array: Any) -> None:
        items: list[tuple[Path, dict]] = []
        named: list[tuple[Path, str]] = []
        if isinstance(array, list):
            for i, element in enumerate(array):
                if isinstance(element, dict):
                    where = path + (i,)
                    items.append((where, element))
                    name = element.get("name")
                    if isinstance(name, str):
                        named.append((where + ("name",), name))
        self._items[path] = items
        self._named[path] = named

    def value(self, path: Path) -> Any:
        """The value at ``path``, or None when any step is missing or of the wrong type."""
        node: Any = self.raw
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node

    def items(self, path: Path) -> list[tuple[Path, dict]]:
        """(path, element) for every object in the array at ``path``."""
        if path not in self._items:
            self._read_array(path, self.value(path))
        return self._items[path]

    def named(self, path: Path) -> list[tuple[Path, str]]:
        """(path of the name member, name) for every element of the array at ``path`` with a string name."""
        if path not in self._named:
            self._read_array(path, self.value(path))
        return self._named[path]

    def declared_scalars(self) -> list[str]:
        return [name for _, name in self._named[SCALARS]]

    def variable_names(self) -> list[tuple[Path, str, str]]:
        """(path, name, kind) of every element that becomes an environment variable."""
        if self._variables is None:
            self._variables = [(path, name, KIND_LABELS[group])
                               for group in (FILE_INPUTS, JSON_INPUTS, SETTINGS) for path, name in self.named(group)]
        return self._variables


def _member(node: dict, key: str) -> dict:
    """``node[key]`` when it is an object, else an empty one (the rules treat a value of the wrong type as absent)."""
    value = node.get(key)
    return value if isinstance(value, dict) else {}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- rules --------------------------------------------------------------------------------------


def resources_need_scalar(doc: Document) -> Iterator[Finding]:
    """Rule 2: the spec makes ``scalar`` required; the official schema's check does nothing."""
    resources = doc.job.get("resources")
    if isinstance(resources, dict) and "scalar" not in resources:
        yield error("missing-scalar", json_path((*SCALARS[:2], "scalar")),
                    "resources has no 'scalar' list; declare at least cpus, mem and disk, "
                    "e.g. \"scalar\": [{\"name\": \"cpus\", \"value\": 1}], or remove 'resources'")


def mount_paths(doc: Document) -> Iterator[Finding]:
    """Rule 3: absolute mount paths; shared, root or system paths are suspicious."""
    seen: dict[str, Path] = {}
    for element_path, mount in doc.items(MOUNTS):
        path = mount.get("path")
        if not isinstance(path, str):
            continue
        if not path.startswith("/"):
            yield error("mount-path-not-absolute", json_path(element_path + ("path",)),
                        f"mount path {path!r} must be an absolute path inside the container, e.g. '/{path.lstrip('./')}'")
            continue
        norm = posixpath.normpath(path)
        norm = "/" if norm == "//" else norm
        where = element_path + ("path",)  # made a JSON path only for a finding
        if norm in seen:
            yield warning("duplicate-mount-path", json_path(where),
                          f"mount path {path!r} is also used by {json_path(seen[norm])}; "
                          "two mounts at one path hide each other, give each its own path")
        seen.setdefault(norm, where)
        if norm == "/" or norm in SYSTEM_DIRECTORIES or norm.startswith(_SYSTEM_PREFIXES):
            yield warning("mount-path-system", json_path(where),
                          f"mount path {path!r} covers a system directory of the container; "
                          "mount under a directory of your own such as /data")
        elif norm == layout.ROOT or norm.startswith(layout.ROOT + "/"):
            yield warning("mount-path-reserved", json_path(where),
                          f"mount path {path!r} is inside {layout.ROOT}, where seed-runner places inputs and "
                          "outputs; choose another path")


def reserved_names(doc: Document) -> Iterator[Finding]:
    """Rule 4 (+ DECISIONS: INPUT_METADATA): inputs and settings may not take an injected variable's name."""
    reserved = {OUTPUT_DIR: "the output directory", INPUT_METADATA: "the input metadata file"}
    for scalar in doc.declared_scalars():
        reserved[allocated_variable(scalar)] = f"the allocation of resource '{scalar}'"
    for path, name, kind in doc.variable_names():
        variable = normalize_name(name)
        if variable in reserved:
            yield error("reserved-name", json_path(path),
                        f"{kind} '{name}' becomes the variable {variable}, which the runner injects for "
                        f"{reserved[variable]}; rename the {kind}")


def variable_collisions(doc: Document) -> Iterator[Finding]:
    """Rule 5: inputs and settings become one environment variable each, so their normalized names must differ."""
    first: dict[str, tuple[str, str]] = {}
    for path, name, kind in doc.variable_names():
        variable = normalize_name(name)
        if variable in first:
            other_kind, other_name = first[variable]
            yield error("name-collision", json_path(path),
                        f"{kind} '{name}' and {other_kind} '{other_name}' both become the environment variable "
                        f"{variable}; rename one of them")
        else:
            first[variable] = (kind, name)


def duplicate_names(doc: Document) -> Iterator[Finding]:
    """Rule 6: unique names among outputs, mounts, errors and (normalized) resources."""
    groups: list[tuple[tuple[Path, ...], Callable[[str], str]]] = [
        ((FILE_OUTPUTS, JSON_OUTPUTS), str),
        ((MOUNTS,), normalize_name),  # `-m NAME=...` matches names after normalization
        ((ERRORS,), str),
        ((SCALARS,), normalize_name),  # each becomes one ALLOCATED_* variable
    ]
    for paths, key in groups:
        first: dict[str, tuple[Path, str]] = {}
        for group in paths:
            for path, name in doc.named(group):
                k = key(name)
                if k in first:
                    other_path, other = first[k]
                    kind = KIND_LABELS[group]
                    yield error("duplicate-name", json_path(path),
                                f"{kind} name '{name}' is already used by {json_path(other_path[:-1])} ('{other}'); "
                                f"{kind} names must be unique, rename one")
                else:
                    first[k] = (path, name)


def recommended_resources(doc: Document) -> Iterator[Finding]:
    """Rule 7: cpus, mem and disk should be declared."""
    job = doc.value(("job",))
    if not isinstance(job, dict):
        return
    if "resources" not in job:
        yield warning("missing-resources", "$.job.resources",
                      "no resources declared; declare cpus, mem (MiB) and disk (MiB) so that runners can "
                      "reserve what the job needs")
        return
    declared = set(doc.declared_scalars())
    if not isinstance(doc.value(SCALARS), list):
        return
    for name in ("cpus", "mem", "disk"):
        if name not in declared:
            yield warning("missing-recommended-resource", json_path(SCALARS),
                          f"resource '{name}' is not declared; the spec recommends cpus, mem and disk, "
                          f"add {{\"name\": \"{name}\", \"value\": ...}}")


def names_not_normalized(doc: Document) -> Iterator[Finding]:
    """Rule 8: names of inputs, outputs, mounts and settings should already be in variable form."""
    for group in (FILE_INPUTS, JSON_INPUTS, FILE_OUTPUTS, JSON_OUTPUTS, MOUNTS, SETTINGS):
        for path, name in doc.named(group):
            if normalize_name(name) != name:  # the same suggestion as invalid-name's, when the schema refuses it
                yield warning("name-not-normalized", json_path(path),
                              f"{KIND_LABELS[group]} name '{name}' is not in normalized form; "
                              f"write it as '{suggested_variable_name(name)}' so the name and its variable read "
                              "the same")


def unknown_resources(doc: Document) -> Iterator[Finding]:
    """Rule 9: resources the runner cannot allocate make `seed run` refuse unless overridden."""
    for path, name in doc.named(SCALARS):
        if name in KNOWN_RESOURCES:
            continue
        close = difflib.get_close_matches(name, KNOWN_RESOURCES, n=1, cutoff=0.6) or [
            r for r in KNOWN_RESOURCES if r.lower() == name.lower()]
        hint = f"did you mean '{close[0]}'? " if close else ""
        yield warning("unknown-resource", json_path(path),
                      f"resource '{name}' is not one seed-runner allocates ({', '.join(KNOWN_RESOURCES)}); "
                      f"{hint}`seed run` refuses it unless given with --resource {name}=VALUE")


def error_codes(doc: Document) -> Iterator[Finding]:
    """Rule 10: exit codes that can never be told apart or never happen."""
    seen: dict[int, str] = {}
    for element_path, spec in doc.items(ERRORS):
        code = spec.get("code")
        if not isinstance(code, int) or isinstance(code, bool):
            continue
        where = element_path + ("code",)  # made a JSON path only for a finding
        if code in seen:
            yield warning("duplicate-error-code", json_path(where),
                          f"exit code {code} is already declared by error '{seen[code]}'; only the first is used, "
                          "give each error its own code")
        else:
            seen[code] = str(spec.get("name"))
        if code == 0:
            yield warning("error-code-zero", json_path(where),
                          "exit code 0 means success and can never report an error; use a code from 1 to 255")
        elif not 0 < code <= 255:
            yield warning("error-code-out-of-range", json_path(where),
                          f"exit code {code} cannot occur (exit codes are 0-255); use a code from 1 to 255")


def non_positive_values(doc: Document) -> Iterator[Finding]:
    """Rule 11: timeout <= 0, negative resource values and multipliers."""
    timeout = doc.job.get("timeout")
    if _is_number(timeout) and timeout <= 0:
        meaning = "0 means no limit at all" if timeout == 0 else "a negative timeout is meaningless"
        yield warning("timeout-not-positive", "$.job.timeout",
                      f"timeout is {timeout}: {meaning}; give the job's longest expected run time in seconds")
    for element_path, scalar in doc.items(SCALARS):
        for member in ("value", "inputMultiplier"):
            value = scalar.get(member)
            if _is_number(value) and value < 0:
                yield warning("negative-resource", json_path((*element_path, member)),
                              f"{member} of resource '{scalar.get('name')}' is negative ({value}); use 0 or more")


def image_name_rules(doc: Document) -> Iterator[Finding]:
    """Rule 13: the image name <name>-<jobVersion>-seed:<packageVersion> must be legal for Docker."""
    job = doc.job
    name = job.get("name")
    if isinstance(name, str) and name != name.lower():
        yield warning("image-name-uppercase", "$.job.name",
                      f"job name {name!r} has upper-case letters, which Docker image names cannot; "
                      f"use {suggested_job_name(name)!r}")  # invalid-name's suggestion too: one fix
    for member in ("jobVersion", "packageVersion"):
        version = job.get(member)
        if isinstance(version, str) and "+" in version:
            yield warning("image-name-plus", f"$.job.{member}",
                          f"{member} {version!r} has build metadata ('+'), which Docker image names and tags "
                          "cannot hold; drop the '+...' part")
    package = job.get("packageVersion")
    if isinstance(package, str) and len(package) > MAX_TAG_LENGTH:
        yield warning("image-tag-too-long", "$.job.packageVersion",
                      f"packageVersion is {len(package)} characters; a Docker tag holds at most {MAX_TAG_LENGTH}")


def output_patterns(doc: Document) -> Iterator[Finding]:
    """Rule 14 (DECISIONS "Outputs": absolute or climbing patterns are errors)."""
    for element_path, output in doc.items(FILE_OUTPUTS):
        pattern = output.get("pattern")
        if not isinstance(pattern, str):
            continue
        where = element_path + ("pattern",)  # made a JSON path only for a finding
        parts = pattern.split("/")
        if not pattern:
            yield error("output-pattern-empty", json_path(where), "the pattern is empty; give a glob such as '*.png'")
        elif pattern.startswith("/"):
            yield error("output-pattern-absolute", json_path(where),
                        f"pattern {pattern!r} is absolute; patterns are relative to OUTPUT_DIR, "
                        f"write {pattern.lstrip('/')!r}")
        elif ".." in parts:
            yield error("output-pattern-parent", json_path(where),
                        f"pattern {pattern!r} climbs out of OUTPUT_DIR with '..'; outputs must be inside it")
        if "**" in pattern:
            yield warning("output-pattern-recursive", json_path(where),
                          f"pattern {pattern!r} uses '**', which is not recursive here (it acts like '*'); "
                          "name the subdirectories, e.g. 'sub/*.png'")
        last = parts[-1]
        if last.endswith(".metadata.json") or last == "seed.outputs.json":
            yield warning("output-pattern-reserved", json_path(where),
                          f"pattern {pattern!r} names side-car or seed.outputs.json files, which are then captured "
                          "as outputs too; make sure that is intended")


def json_output_keys(doc: Document) -> Iterator[Finding]:
    """Rule 15: keys of seed.outputs.json members."""
    seen: dict[str, Path] = {}
    for element_path, output in doc.items(JSON_OUTPUTS):
        key = output.get("key")
        if key == "":
            # SEED-RULES 10.15: a warning, and the key is taken as absent (the output's name), as seed-cli does.
            yield warning("empty-output-key", json_path((*element_path, "key")),
                          "key is an empty string, so the output's name is read from seed.outputs.json; remove "
                          "it, or name the member of seed.outputs.json to read")
            key = None
        resolved = key if isinstance(key, str) else output.get("name")
        if not isinstance(resolved, str):
            continue
        if resolved in seen:
            yield warning("duplicate-output-key", json_path(element_path),
                          f"this json output reads member '{resolved}' of seed.outputs.json, as "
                          f"{json_path(seen[resolved])} does; give each output its own key")
        else:
            seen[resolved] = element_path


def input_hints(doc: Document) -> Iterator[Finding]:
    """Rule 16: partial together with multiple; an empty mediaTypes list."""
    for element_path, file_input in doc.items(FILE_INPUTS):
        if file_input.get("partial") is True and file_input.get("multiple") is True:
            yield warning("partial-multiple", json_path((*element_path, "partial")),
                          "partial is set on a multiple input; partial is meant for one very large file, "
                          "check that both are intended")
        if file_input.get("mediaTypes") == []:
            yield warning("empty-media-types", json_path((*element_path, "mediaTypes")),
                          "mediaTypes is empty; list the accepted types or remove the member")


RULES: tuple[Rule, ...] = (
    resources_need_scalar, mount_paths, reserved_names, variable_collisions, duplicate_names,
    recommended_resources, names_not_normalized, unknown_resources, error_codes, non_positive_values,
    image_name_rules, output_patterns, json_output_keys, input_hints,
)


def rule_findings(doc: Document | Any) -> list[Finding]:
    if not isinstance(doc, Document):
        if not isinstance(doc, dict):
            return []
        doc = Document(doc)
    return [finding for rule in RULES for finding in rule(doc)]

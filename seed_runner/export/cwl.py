"""A Seed job as a CWL v1.2 ``CommandLineTool`` that keeps the Seed runtime contract (``seed export cwl``).

The container sees what ``seed run`` gives it, at the same paths: each file input at
``/seed/inputs/<INPUT>/<file name>`` (a ``multiple`` input is a ``Directory`` staged at ``/seed/inputs/<INPUT>``),
``OUTPUT_DIR=/seed/outputs`` (CWL's ``dockerOutputDirectory``), ``INPUT_METADATA=/seed/input-metadata.json``,
``ALLOCATED_*`` for every resource, the inputs and settings as environment variables, and the command expanded
with Bash's rules into the container's arguments (``cwl_command``). Inputs and settings keep their Seed names, so
``cwltool tool.cwl --INPUT_IMAGE in.png`` reads like ``seed run IMAGE -i INPUT_IMAGE=in.png``.

Pure: a manifest (and the image's ENV, when known) in, a dict out. What CWL cannot say is documented in
docs/how-to/export-cwl.md and refused here with ``UnsupportedCommand`` rather than approximated silently.
"""

from __future__ import annotations

import json
import mimetypes
from typing import Any, Mapping

from ..manifest.model import FileInput, Manifest
from ..manifest.names import normalize_name
from ..runtime import layout
from ..runtime.command import parse_command
from .cwl_command import EXPRESSION_LIB, UnsupportedCommand, command_arguments

__all__ = ["UnsupportedCommand", "cwl_tool"]

_JSON_TYPES = {"string": "string", "integer": "long", "number": "double", "boolean": "boolean",
               "object": "Any", "array": "Any"}
_MIB = 1048576
_IANA = "https://www.iana.org/assignments/media-types/"


def cwl_tool(manifest: Manifest, image: str | None = None, image_env: Mapping[str, str] | None = None) -> dict:
    """The ``CommandLineTool`` of ``manifest``, running ``image`` (default: the manifest's own image name)."""
    job, face = manifest.job, manifest.job.interface
    image = image or manifest.image_name
    inputs: dict[str, Any] = {}
    for spec in face.file_inputs:
        inputs[spec.name] = _file_input(spec)
    for spec in face.json_inputs:
        inputs[spec.name] = {"type": _JSON_TYPES[spec.type] + ("" if spec.required else "?"),
                             "doc": f"JSON input ({spec.type})"}
    secrets = []
    for setting in face.settings:
        inputs[setting.name] = {"type": "string", "doc": "setting" + (" (secret)" if setting.secret else "")}
        if setting.secret:
            secrets.append(setting.name)
    for mount in face.mounts:
        inputs[mount.name] = {"type": "Directory", "doc": f"mount at {mount.path} ({mount.mode})"}

    listing: list[dict[str, Any]] = [
        {"entryname": layout.INPUT_METADATA_FILE, "entry": "$(JSON.stringify(seedInputMetadata()))"}]
    for spec in face.file_inputs:
        folder = f"{layout.INPUTS_ROOT}/{spec.variable}"
        if spec.multiple:  # every file of the array into the one folder the job reads
            listing.append(f"$(seedStaged({json.dumps(spec.name)}, {json.dumps(folder)}))")
        else:
            listing.append({"entryname": f"{folder}/$(inputs['{spec.name}'].basename)",
                            "entry": f"$(inputs['{spec.name}'])"})
    for mount in face.mounts:
        listing.append({"entryname": mount.path, "entry": f"$(inputs['{mount.name}'])",
                        "writable": mount.mode == "rw"})

    environment = {name: f"$(seedEnvValue({json.dumps(name)}))" for name in _variables(manifest)}
    tool: dict[str, Any] = {
        "cwlVersion": "v1.2",
        "class": "CommandLineTool",
        "id": normalize_name(job.name).lower().replace("_", "-"),
        "label": job.title,
        "doc": job.description,
        "requirements": {
            "DockerRequirement": {"dockerPull": image, "dockerOutputDirectory": layout.OUTPUT_DIR},
            "InlineJavascriptRequirement": {"expressionLib": [EXPRESSION_LIB, OUTPUTS_LIB,
                                                              _variables_lib(manifest, image_env)]},
            "InitialWorkDirRequirement": {"listing": listing},
            "EnvVarRequirement": {"envDef": environment},
            "NetworkAccess": {"networkAccess": True},  # a Seed job has the engine's default network
            **_resources(manifest),
            **({"ToolTimeLimit": {"timelimit": job.timeout}} if job.timeout else {}),
        },
        "inputs": inputs,
        "outputs": _outputs(manifest),
        "successCodes": [0],
    }
    if job.errors:
        tool["permanentFailCodes"] = sorted({e.code for e in job.errors if e.code != 0})
    if face.command is not None:
        tool["arguments"] = command_arguments(face.command)
    if secrets:
        tool["$namespaces"] = {"cwltool": "http://commonwl.org/cwltool#"}
        tool["hints"] = {"cwltool:Secrets": {"secrets": secrets}}
    if any(spec.media_type for spec in face.file_outputs):
        tool.setdefault("$namespaces", {})["iana"] = _IANA
    return tool


def _file_input(spec: FileInput) -> dict[str, Any]:
    kind = "File[]" if spec.multiple else "File"
    entry: dict[str, Any] = {"type": kind + ("" if spec.required else "?")}
    if spec.multiple:
        entry["doc"] = "the input's files (a Seed multiple input: the job sees them in one folder)"
    if spec.media_types:
        entry.setdefault("doc", "")
        entry["doc"] = (entry["doc"] + "; " if entry["doc"] else "") + "media types: " + ", ".join(spec.media_types)
    return entry


def _outputs(manifest: Manifest) -> dict[str, Any]:
    """File outputs by pattern (files only, as seed run harvests them: a matching folder is left out); JSON
    outputs read from seed.outputs.json. A required output that is missing fails the tool, as it fails the run."""
    face = manifest.job.interface
    outputs: dict[str, Any] = {}
    for spec in face.file_outputs:
        kind = "File[]" if spec.multiple else "File?"
        pattern = json.dumps(spec.pattern)
        pick = (f"seedFilesOnly(self, {pattern})" if spec.multiple else
                f"seedOne(self, {pattern}, {json.dumps(spec.name)}, {str(spec.required).lower()})")
        outputs[spec.name] = {"type": kind, "outputBinding": {"glob": spec.pattern, "outputEval": f"$({pick})"}}
        if spec.media_type:
            outputs[spec.name]["format"] = f"iana:{spec.media_type}"
    for spec in face.json_outputs:
        outputs[spec.name] = {
            "type": ["null", _JSON_TYPES[spec.type]] if _JSON_TYPES[spec.type] != "Any" else "Any",
            "outputBinding": {
                "glob": "seed.outputs.json", "loadContents": True,
                "outputEval": f"$(seedJsonOutput(self, {json.dumps(spec.key)}, {json.dumps(spec.name)}, "
                              f"{str(spec.required).lower()}))"}}
    return outputs


OUTPUTS_LIB = r"""
function seedFilesOnly(found, pattern) {
  var last = pattern.split("/").pop();
  var sidecars = /\.metadata\.json$/.test(last), outputs = last === "seed.outputs.json";
  return (found || []).filter(function (f) {
    return f.class === "File" && (sidecars || !/\.metadata\.json$/.test(f.basename))
      && (outputs || f.basename !== "seed.outputs.json");
  }).sort(function (a, b) { return a.path < b.path ? -1 : a.path > b.path ? 1 : 0; });
}
function seedOne(found, pattern, name, required) {
  var files = seedFilesOnly(found, pattern);
  if (files.length > 1) { throw "output " + name + ": " + files.length + " files match, the output takes one"; }
  if (!files.length && required) { throw "output " + name + ": no file matches its pattern"; }
  return files.length ? files[0] : null;
}
function seedJsonOutput(found, key, name, required) {
  var doc = found.length ? JSON.parse(found[0].contents) : {};
  if (doc.hasOwnProperty(key)) { return doc[key]; }
  if (required) { throw "output " + name + ": seed.outputs.json has no " + key; }
  return null;
}
"""


def _variables(manifest: Manifest) -> list[str]:
    """Every variable the job's environment holds under the runtime contract, inputs and settings first."""
    face = manifest.job.interface
    names = [spec.variable for spec in (*face.file_inputs, *face.json_inputs, *face.settings)]
    names += ["OUTPUT_DIR", "INPUT_METADATA"]
    names += [scalar.variable for scalar in manifest.job.resources or ()]
    return names


def _variables_lib(manifest: Manifest, image_env: Mapping[str, str] | None) -> str:
    """``seedVar(name)`` (the container-side value, null when unset), ``seedEnvValue`` (the same for the
    environment, where CWL cannot leave a variable unset: empty instead), ``seedInputMiB`` and
    ``seedInputMetadata``."""
    face = manifest.job.interface
    cases = []
    for spec in face.file_inputs:
        ref = f"inputs[{json.dumps(spec.name)}]"
        folder = f"{layout.INPUTS_ROOT}/{spec.variable}"
        path = json.dumps(folder) if spec.multiple else f"{json.dumps(folder + '/')} + {ref}.basename"
        cases.append(f"{json.dumps(spec.variable)}: function () {{ return {ref} == null ? null : {path}; }}")
    for spec in face.json_inputs:
        cases.append(f"{json.dumps(spec.variable)}: function () {{ return seedJson(inputs[{json.dumps(spec.name)}], "
                     f"{json.dumps(spec.type)}); }}")
    for setting in face.settings:
        ref = f"inputs[{json.dumps(setting.name)}]"
        cases.append(f"{json.dumps(setting.variable)}: function () {{ return {ref} == null ? null : String({ref}); }}")
    cases.append(f"\"OUTPUT_DIR\": function () {{ return {json.dumps(layout.OUTPUT_DIR)}; }}")
    cases.append(f"\"INPUT_METADATA\": function () {{ return {json.dumps(layout.INPUT_METADATA_FILE)}; }}")
    for scalar in manifest.job.resources or ():
        value = f"{scalar.value!r} + {scalar.input_multiplier!r} * seedInputMiB()"
        if scalar.name in ("mem", "sharedMem"):
            shown = f"String(Math.ceil({value}))"
            if scalar.name == "mem":  # Docker's floor, as seed run raises it
                shown = f"String(Math.max(6, Math.ceil({value})))"
        else:
            shown = f"({value}).toFixed(6)"
        cases.append(f"{json.dumps(scalar.variable)}: function () {{ return {shown}; }}")
    # Only what the command reads from the image's ENV: the rest (PATH...) the container has anyway.
    referenced = {ref.name for ref in parse_command(face.command).references} if face.command else set()
    image_values = {k: v for k, v in (image_env or {}).items() if k in referenced}
    files = [(spec.name, spec.multiple) for spec in face.file_inputs]
    return "\n".join([
        f"var seedImageEnv = {json.dumps(image_values)};",
        "var seedVars = {" + ",\n  ".join(cases) + "};",
        "function seedVar(name) {",
        "  if (seedVars.hasOwnProperty(name)) { return seedVars[name](); }",
        "  return seedImageEnv.hasOwnProperty(name) ? seedImageEnv[name] : null;",
        "}",
        "function seedEnvValue(name) { var v = seedVar(name); return v === null ? \"\" : v; }",
        "function seedJson(v, type) {",
        "  if (v === null || v === undefined) { return null; }",
        "  return type === \"string\" ? String(v) : JSON.stringify(v);",
        "}",
        f"var seedFileInputs = {json.dumps(files)};",
        f"var seedMediaTypes = {json.dumps(_media_type_table(), separators=(',', ':'))};",
        "function seedFiles(name, multiple) {",
        "  var v = inputs[name];",
        "  if (v == null) { return []; }",
        "  return multiple ? v : [v];",
        "}",
        "function seedStaged(name, folder) {",
        "  return seedFiles(name, true).map(function (f) {",
        "    return {entryname: folder + \"/\" + f.basename, entry: f};",
        "  });",
        "}",
        "function seedInputMiB() {",
        "  var total = 0;",
        "  seedFileInputs.forEach(function (i) { seedFiles(i[0], i[1]).forEach(function (f) { total += f.size; }); });",
        f"  return total / {_MIB};",
        "}",
        "function seedMediaType(file) {",
        "  var dot = file.lastIndexOf(\".\"), ext = dot < 0 ? \"\" : file.slice(dot);",
        "  var t = seedMediaTypes;",
        "  if (t.enc.hasOwnProperty(ext)) { return t.enc[ext]; }",
        "  if (t.types.hasOwnProperty(ext)) { return t.types[ext]; }",
        "  ext = ext.toLowerCase();",
        "  return t.types.hasOwnProperty(ext) ? t.types[ext] : \"application/octet-stream\";",
        "}",
        "function seedInputMetadata() {",
        "  var job = {};",
        "  seedFileInputs.forEach(function (i) {",
        "    var files = seedFiles(i[0], i[1]);",
        "    if (!files.length) { return; }",
        "    job[i[0]] = files.map(function (f) {",
        "      var folder = \"/seed/inputs/\" + seedVarName(i[0]);",
        "      return {file_name: f.basename, path: folder + \"/\" + f.basename,",
        "              media_type: seedMediaType(f.basename), file_size: f.size};",
        "    });",
        "  });",
        *[f"  if (inputs[{json.dumps(spec.name)}] != null) {{ job[{json.dumps(spec.name)}] = "
          f"inputs[{json.dumps(spec.name)}]; }}" for spec in face.json_inputs],
        "  return {JOB: job};",
        "}",
        "function seedVarName(name) { return " + json.dumps({s.name: s.variable for s in face.file_inputs})
        + "[name]; }",
    ])


def _media_type_table() -> dict[str, dict[str, str]]:
    """The table ``seed run`` guesses an input's media type from (``manifest.media_types``), for INPUT_METADATA:
    the type of each extension, and the compression types that win over it."""
    from ..manifest.media_types import _COMPRESSION_MEDIA_TYPES, _EXTRA_MEDIA_TYPES, OCTET_STREAM

    table = mimetypes.MimeTypes()
    types = {**_EXTRA_MEDIA_TYPES, **table.types_map[1], **table.types_map[0]}
    encodings = {ext: _COMPRESSION_MEDIA_TYPES.get(kind, OCTET_STREAM) for ext, kind in table.encodings_map.items()}
    return {"types": dict(sorted(types.items())), "enc": dict(sorted(encodings.items()))}


def _resources(manifest: Manifest) -> dict[str, Any]:
    """``ResourceRequirement`` from the manifest's cpus, mem and disk (with inputMultiplier, an expression)."""
    wanted = {"cpus": "coresMin", "mem": "ramMin", "disk": "outdirMin"}
    found: dict[str, Any] = {}
    for scalar in manifest.job.resources or ():
        key = wanted.get(scalar.name)
        if key is None:
            continue
        if scalar.input_multiplier:
            found[key] = f"$(Math.ceil({scalar.value!r} + {scalar.input_multiplier!r} * seedInputMiB()))"
        elif scalar.name == "cpus":
            found[key] = scalar.value
        else:
            found[key] = int(-(-scalar.value // 1))
    return {"ResourceRequirement": found} if found else {}

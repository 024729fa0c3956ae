"""Provenance: ``ro-crate-metadata.json`` in every run folder, an RO-Crate 1.1 following the Process Run Crate
profile.

What the crate says: the image (reference and digest, the engine's image id) is the ``SoftwareApplication``;
one ``CreateAction`` (start and end time, ``actionStatus``, the error when the run did not succeed) has it as
``instrument``, the inputs as ``object`` and the outputs as ``result``. Input files live outside the run folder
(they are the user's): they are ``File`` entities named by their absolute ``file://`` URI, with ``sha256``,
``contentSize`` and ``encodingFormat``. Output files are data entities of the crate (``outputs/<path>``), with
the hash, size and media type the result document gives them. JSON inputs, settings and JSON outputs are
``PropertyValue``s; the value of a secret setting is never written (``****``), every value that comes from the
user or the job is masked, every other value only by secrets long enough not to stand in it by chance
(``masking.SAFE_LENGTH``), no member name ever; the crate's whole text is checked against every such secret
before it is written. ``result.json`` is a
data entity too.

Written here, not with the ``rocrate`` library: importing rocrate takes about 90 ms (requests, urllib3, ssl,
jinja2, dateutil), more than all of `seed run`'s own overhead, on every run; the crate itself is a few dozen
JSON-LD entities. It is as correct as the library's: the tests build the same crate with ``rocrate`` from the
same facts and require the two documents to be equal, and read every crate back with ``rocrate``.
``write_crate`` never raises: a crate that cannot be made becomes a ``provenance-not-written`` warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..manifest.media_types import guess_media_type
from ..problems import Problem, warning
from .atomic import write_text_atomically
from .masking import MASK, as_mask
from .input_files import file_sha256
from .input_records import host_files
from .plan import RunPlan

CRATE_FILE = "ro-crate-metadata.json"
PROCESS_RUN_CRATE = "https://w3id.org/ro/wfrun/process/0.5"
ACTION_STATUS = {"succeeded": "CompletedActionStatus"}  # every other status that got this far failed
FAILED = "FailedActionStatus"
WRITER_TIMEOUT = 60.0


def write_crate(run_dir: Path, document: dict[str, Any], plan: RunPlan, *, image_id: str | None = None,
                input_sha256: dict[str, str | None] | None = None) -> Problem | None:
    """Write ``run_dir/ro-crate-metadata.json`` for a run that started; a warning when it cannot be."""
    mask = as_mask(plan.secret_values)
    try:
        facts = crate_facts(document, plan, image_id=image_id, input_sha256=input_sha256)
        text = json.dumps(crate_document(facts), indent=2, ensure_ascii=True) + "\n"
        if mask.structural().found_in(text.encode("utf-8")):  # a last check, for what no rule above foresaw:
            raise ValueError("a secret would be written in it")  # no crate rather than a secret in one
        write_text_atomically(Path(run_dir) / CRATE_FILE, text, encoding="ascii")
    except Exception as exc:  # noqa: BLE001 - provenance must never take a run down
        message = mask.text(f"{type(exc).__name__}: {exc}")
        return warning("provenance-not-written", "$", f"{CRATE_FILE} could not be written: {message}")
    return None


def crate_document(facts: dict[str, Any]) -> dict[str, Any]:
    """The crate's JSON-LD from ``crate_facts``: the same entities, in the same order, as rocrate's
    ``ROCrate(version="1.1")`` with them added (the tests hold the two to equality)."""
    ref = _ref
    action = dict(facts["action"])
    action_id = action.pop("@id")
    input_files = [dict(item) for item in facts["input_files"]]
    input_values = [{"@id": item["@id"], "@type": "PropertyValue", **_rest(item)} for item in facts["input_values"]]
    output_files = [{"@id": item["path"], "@type": "File", **{k: v for k, v in item.items() if k != "path"}}
                    for item in facts["output_files"]]
    output_values = [{"@id": item["@id"], "@type": "PropertyValue", **_rest(item)} for item in facts["output_values"]]
    result_file = {"@id": "result.json", "@type": "File", **facts["result_file"], "about": ref(action_id)}
    files = [{"@id": item.pop("@id"), "@type": "File", **item} for item in input_files]
    root = {"@id": "./", "@type": "Dataset", "datePublished": facts["root"].get("datePublished"),
            "hasPart": [ref(e["@id"]) for e in (*files, *output_files, result_file)],
            **{k: v for k, v in facts["root"].items() if k != "datePublished"},
            "conformsTo": ref(PROCESS_RUN_CRATE), "mentions": ref(action_id)}
    objects = [ref(e["@id"]) for e in (*files, *input_values)]
    results = [ref(e["@id"]) for e in (*output_files, *output_values, result_file)]
    graph = [
        root,
        {"@id": CRATE_FILE, "@type": "CreativeWork", "conformsTo": ref("https://w3id.org/ro/crate/1.1"),
         "about": ref("./")},
        {"@id": "#image", "@type": "SoftwareApplication", **facts["image"]},
        {"@id": PROCESS_RUN_CRATE, "@type": "CreativeWork", "name": "Process Run Crate", "version": "0.5"},
        *files, *input_values, *output_files, *output_values, result_file,
        {"@id": action_id, "@type": "CreateAction", **action, "instrument": ref("#image"),
         **({"object": objects} if objects else {}), "result": results},
    ]
    return {"@context": "https://w3id.org/ro/crate/1.1/context", "@graph": [_without_nulls(e) for e in graph]}


def _ref(identifier: str) -> dict[str, str]:
    return {"@id": identifier}


def _rest(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "@id"}


def crate_facts(document: dict[str, Any], plan: RunPlan, *, image_id: str | None = None,
                input_sha256: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Everything the crate says, as plain JSON values with every secret masked (``crate_document`` turns
    them into entities)."""
    mask = as_mask(plan.secret_values)
    run_id = document.get("run_id") or plan.run_id
    reference = (document.get("image") or {}).get("reference") or plan.image
    job = plan.manifest.job
    face = job.interface
    status = document.get("status")
    timings = document.get("timings") or {}

    input_files = []
    for name, path, record in host_files(plan):
        # The hash the run store took at the start, when there is one: an input is read once a run.
        known = (input_sha256 or {}).get(str(path))
        digest, size = (known, path.stat().st_size) if known else file_sha256(path)
        input_files.append({
            "@id": f"file://{quote(str(path))}", "name": record.get("file_name") or path.name,
            "description": f"input {name}", "sha256": digest, "contentSize": size,
            "encodingFormat": record.get("media_type") or guess_media_type(path.name)})
    job_inputs = (plan.input_metadata or {}).get("JOB") or {}
    input_values = [_property(f"#input-{spec.name}", spec.name, job_inputs[spec.name], "JSON input")
                    for spec in face.json_inputs if spec.name in job_inputs]
    input_values += [_property(f"#setting-{spec.name}", spec.name,
                               MASK if spec.secret else plan.environment[spec.variable], "setting")
                     for spec in face.settings if spec.variable in plan.environment]
    output_files = [{"path": f"outputs/{file['path']}", "name": Path(file["path"]).name,
                     "description": f"output {name}", "sha256": file["sha256"], "contentSize": file["size"],
                     "encodingFormat": file["media_type"]}
                    for name, output in sorted((document.get("outputs") or {}).items())
                    for file in output.get("files") or ()]
    output_values = [_property(f"#output-{name}", name, value, "JSON output")
                     for name, value in sorted((document.get("json_outputs") or {}).items())]
    action = {"@id": f"#run-{run_id}", "name": f"seed run {run_id} of {reference}",
              "actionStatus": ACTION_STATUS.get(status, FAILED), "description": f"status: {status}",
              "identifier": run_id, "startTime": timings.get("started"), "endTime": timings.get("finished")}
    if status != "succeeded":
        action["error"] = document.get("message") or (document.get("error") or {}).get("title") or status
    facts = {
        "image": {"name": reference, "identifier": image_id or None, "softwareVersion": job.package_version,
                  "alternateName": f"{job.name} {job.job_version}", "description": job.title},
        "input_files": input_files, "input_values": input_values,
        "output_files": output_files, "output_values": output_values,
        "result_file": {"name": "result document", "encodingFormat": "application/json",
                        "description": "the seed-runner result document of this run (schema: seed schema result)"},
        "action": action,
        "root": {"name": f"seed run {run_id}", "datePublished": timings.get("finished"),
                 "description": f"run {run_id} of the Seed job {job.name} {job.job_version} ({reference}): {status}"},
    }
    return _masked(_without_nulls(facts), mask)


# Members of the facts whose values come from the user or the job: masked whatever a secret's length. Every
# other value (ids, paths, hashes, types, names from the manifest, times) is ours: only a secret of
# ``SAFE_LENGTH`` or more is masked there, and no member name is ever rewritten (the crate's own structure).
_FREE = frozenset({"value", "error"})


def _masked(facts: dict[str, Any], mask: Any) -> dict[str, Any]:
    structural = mask.structural()

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: mask.value(item, names=False) if key in _FREE else walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return structural.value(value)

    return walk(facts)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _property(identifier: str, name: str, value: Any, kind: str) -> dict[str, Any]:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return {"@id": identifier, "name": name, "value": value, "description": kind}



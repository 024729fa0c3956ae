"""``run_pipeline`` and ``resume_pipeline``: the Python twins of ``seed pipeline run`` and ``seed pipeline resume``.

::

    result = seed_runner.run_pipeline("shout.yaml", inputs={"TEXT": "in.txt"})
    print(result.status, result.folder)          # succeeded, seed-runs/pipeline-shout-...

Before anything runs, every step's manifest is read from its image's label and the pipeline is checked
(``check.check``): a pipeline with an error, or an input missing, runs nothing (``refused``, exit status 2). Runs
take the result cache by default (``cache=False`` runs everything), so a pipeline run again reruns only what
changed.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import SeedRunnerError
from ..executors.base import RunOptions
from ..problems import Problem, error
from . import state as st
from .fitting import unfit
from .model import Pipeline
from .plan import MAX_FOR_EACH, fan_outs_too_large
from .running import Driver, PipelineResult, RunEvent


class PipelineRunError(SeedRunnerError):
    """A pipeline that cannot start (its file, its folder, a resume without its secrets): one line, exit 2."""

    exit_status = 2


def load(source: str | Path | Pipeline, job_types: Mapping[str, str] | None = None
         ) -> tuple[Pipeline, dict[str, Any]]:
    """The pipeline (a Scale recipe's job types mapped to images), and how pipeline.json records it: the
    pipeline's document (what resume reads back), and its file's path and text (the crate's copy)."""
    from .writing import to_document

    if isinstance(source, Pipeline):
        return with_job_types(source, job_types or {}), {"document": to_document(with_job_types(source,
                                                                                            job_types or {}))}
    path = Path(source)
    from .loading import PipelineError, load_pipeline

    try:
        pipeline = load_pipeline(path, job_types=job_types or None)
        text = path.read_text(encoding="utf-8")
    except PipelineError as exc:
        raise PipelineRunError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineRunError(f"cannot read the pipeline {path} ({exc})") from None
    return pipeline, {"path": str(path.absolute()), "text": text, "document": to_document(pipeline)}


def _reloaded(definition: Mapping[str, Any], folder: Path) -> Pipeline:
    """The pipeline as it was when it started (the document kept then, not the file now)."""
    import json

    from .loading import parse_pipeline

    document = definition.get("document")
    if not isinstance(document, dict):
        raise PipelineRunError(f"{folder / st.STATE_FILE} does not hold the pipeline; run it again")
    source = Path(definition["path"]) if definition.get("path") else None
    loaded = parse_pipeline(json.dumps(document), source=source)
    if loaded.pipeline is None:
        raise PipelineRunError(f"the pipeline kept in {folder / st.STATE_FILE} cannot be read again "
                               f"({'; '.join(p.message for p in loaded.problems[:3])})")
    return loaded.pipeline


def with_job_types(pipeline: Pipeline, job_types: Mapping[str, str]) -> Pipeline:
    """Scale recipe steps (``job_type`` NAME:VERSION) given their images (``--job-type NAME:VERSION=IMAGE``)."""
    if not job_types:
        return pipeline
    steps = {name: replace(step, image=job_types.get(step.job_type or "", step.image))
             for name, step in pipeline.steps.items()}
    return replace(pipeline, steps=steps)


def manifests_of(pipeline: Pipeline, options: RunOptions) -> tuple[dict[str, Any], list[Problem]]:
    """Each step's manifest, from its image's label (read once an image); a problem for each that cannot be."""
    from ..batches.start import _manifest

    found: dict[str, Any] = {}
    by_image: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, step in pipeline.steps.items():
        if not step.image:
            what = f"job type {step.job_type}: give its image with --job-type {step.job_type}=IMAGE" \
                if step.job_type else "give it an image"
            problems.append(error("no-image", f"$.steps.{name}", f"step {name} has no image; {what}"))
            continue
        if step.image not in by_image:
            try:
                by_image[step.image] = _manifest(step.image, replace(options, manifest=None))[0]
            except SeedRunnerError as exc:
                by_image[step.image] = exc
        got = by_image[step.image]
        if isinstance(got, SeedRunnerError):
            problems.append(error("image-unreadable", f"$.steps.{name}.image", f"step {name}: {got}"))
        else:
            found[name] = got
    return found, problems


def given_inputs(pipeline: Pipeline, files: Mapping[str, Any], values: Mapping[str, Any]
                 ) -> tuple[dict[str, Any], list[Problem]]:
    """The pipeline's inputs as pipeline.json keeps them, defaults filled in, every problem listed."""
    from ..runtime.json_inputs import JsonText, json_type_problem, parse_json_input

    given: dict[str, Any] = {}
    problems: list[Problem] = []
    known = set(pipeline.inputs)
    for name in [*files, *values]:
        if name not in known:
            problems.append(error("unknown-input", f"$.inputs.{name}", f"the pipeline has no input {name} "
                                  f"(its inputs: {', '.join(sorted(known)) or 'none'})"))
    for name, spec in pipeline.inputs.items():
        if spec.is_file and name in files:
            paths = files[name] if isinstance(files[name], (list, tuple)) else [files[name]]
            given[name] = {"files": [p if "://" in str(p) else str(Path(p).absolute()) for p in paths]}
            missing = [p for p in given[name]["files"] if "://" not in p and not Path(p).exists()]
            if missing:
                problems.append(error("missing-file", f"$.inputs.{name}", f"input {name}: no file {missing[0]}"))
        elif not spec.is_file and name in values:
            value = values[name]
            if isinstance(value, JsonText):
                try:
                    value = parse_json_input(value, spec.type)
                except ValueError as exc:
                    problems.append(error("invalid-json-input", f"$.inputs.{name}", f"input {name}: {exc}"))
                    continue
            why = json_type_problem(value, spec.type)
            if why:
                problems.append(error("json-input-type", f"$.inputs.{name}", f"input {name} {why}"))
                continue
            given[name] = {"value": value}
        elif name in files or name in values:
            flag = "-j NAME=VALUE" if spec.is_file else "-i NAME=PATH"
            problems.append(error("wrong-input-kind", f"$.inputs.{name}", f"input {name} is "
                                  f"{'a file' if spec.is_file else 'a JSON ' + spec.type}; not {flag}"))
        elif spec.has_default:
            given[name] = {"files": [spec.default]} if spec.is_file else {"value": spec.default}
        elif spec.required:
            flag = f"-i {name}=PATH" if spec.is_file else f"-j {name}=VALUE"
            problems.append(error("missing-input", f"$.inputs.{name}", f"input {name} is required: give it with "
                                  f"{flag}"))
    return given, problems


def step_settings(pipeline: Pipeline, manifests: Mapping[str, Any], settings: Mapping[str, str]
                  ) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Settings given at run time (``-e NAME=VALUE`` for every step that declares NAME, ``-e STEP.NAME=VALUE``
    for one), for the settings a step leaves open; a problem for each that nobody gave."""
    from ..manifest.names import normalize_name

    out: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for name, step in pipeline.steps.items():
        manifest = manifests.get(name)
        if manifest is None:
            continue
        fixed = {normalize_name(k) for k, v in step.settings.items() if v is not None}
        for spec in manifest.job.interface.settings:
            if normalize_name(spec.name) in fixed:
                continue
            value = _setting(settings, name, normalize_name(spec.name))
            if value is None:
                problems.append(error("missing-setting", f"$.steps.{name}.settings.{spec.name}",
                                      f"step {name}: setting {spec.name} has no value: give it with "
                                      f"-e {spec.name}=VALUE (or -e {name}.{spec.name}=VALUE)"))
                continue
            out.setdefault(name, {})[spec.name] = value
    return out, problems


def _setting(settings: Mapping[str, str], step: str, wanted: str) -> str | None:
    """``STEP.NAME``'s value, else ``NAME``'s (names in any case, '-' for '_')."""
    from ..manifest.names import normalize_name

    for key, value in settings.items():
        where, dot, name = key.rpartition(".")
        if dot and where == step and normalize_name(name) == wanted:
            return value
    for key, value in settings.items():
        if "." not in key and normalize_name(key) == wanted:
            return value
    return None


def _masked(pipeline: Pipeline, manifests: Mapping[str, Any], settings: Mapping[str, Mapping[str, str]]
            ) -> dict[str, dict[str, str]]:
    from ..store.recording import MASK

    out = {}
    for step, values in settings.items():
        secret = {s.name for s in manifests[step].job.interface.settings if s.secret}
        out[step] = {k: MASK if k in secret else v for k, v in values.items()}
    return out


def _executor(executor: Any, parallel: int | None) -> tuple[Any, bool]:
    if executor is not None:
        return executor, False
    from ..executors.local import LocalExecutor

    return LocalExecutor(parallel=parallel), True


def run_pipeline(source: str | Path | Pipeline, *, inputs: Mapping[str, Any] | None = None,
                 json_inputs: Mapping[str, Any] | None = None, settings: Mapping[str, str] | None = None,
                 folder: str | Path | None = None, executor: Any = None, parallel: int | None = None,
                 keep_going: bool = False, cache: bool = True, retries: int = 0, backoff: float = 1.0,
                 job_types: Mapping[str, str] | None = None, options: RunOptions | None = None,
                 on_start: Callable[[Path, str], None] | None = None,
                 on_event: Callable[[RunEvent], None] | None = None, max_items: int = MAX_FOR_EACH) -> PipelineResult:
    """Run a pipeline (a file, or a ``Pipeline`` built in Python) and return how it ended.

    ``inputs`` maps a file input to a path or URL (or a list), ``json_inputs`` a JSON input to its value.
    ``settings``: ``NAME`` (every step declaring it) or ``STEP.NAME`` to a value. Raises PipelineRunError for a
    pipeline that cannot be read or a folder that cannot be used; a refused pipeline's problems are in the
    result (nothing ran, no folder). ``max_items``: the most runs one ``forEach`` may make (a fan-out past it is
    refused before anything runs when its size is known then, else its step fails with that reason).
    """
    pipeline, definition = load(source, job_types)
    options = replace(options or RunOptions(), cache=cache)
    manifests, problems = manifests_of(pipeline, options)
    warnings: list[Problem] = []
    if not problems:
        from .check import check

        found = check(pipeline, manifests)
        problems += [p for p in found if p.severity == "error"]
        warnings = [p for p in found if p.severity != "error"]
    given, more = given_inputs(pipeline, inputs or {}, json_inputs or {})
    secrets, unset = step_settings(pipeline, manifests, settings or {})
    problems += more + unset
    runner, owned = _executor(executor, parallel)
    try:
        problems += unfit(pipeline, manifests, runner) if not problems else []
        problems += [error("too-many-items", f"$.steps.{name}.forEach", line)
                     for name, line in fan_outs_too_large(pipeline, given, max_items)]
        if problems:
            return PipelineResult(None, None, "refused", problems=problems)
        return _start(pipeline, definition, manifests, given, secrets, folder, runner, options, keep_going,
                      cache, retries, backoff, job_types, warnings, on_start, on_event, max_items)
    finally:
        if owned:
            runner.close(cancel=True)


def _start(pipeline: Pipeline, definition: dict[str, Any], manifests: Mapping[str, Any], given: dict[str, Any],
           secrets: Mapping[str, Mapping[str, str]], folder: str | Path | None, executor: Any,
           options: RunOptions, keep_going: bool, cache: bool, retries: int, backoff: float,
           job_types: Mapping[str, str] | None, warnings: list[Problem],
           on_start: Callable[[Path, str], None] | None, on_event: Callable[[RunEvent], None] | None,
           max_items: int = MAX_FOR_EACH) -> PipelineResult:
    """Claim the folder, write the state, run (``executor`` made already: the refusal above needed it)."""
    pipeline_id = os.urandom(6).hex()
    try:
        where = st.claim(Path(folder) if folder else st.default_folder(pipeline.name, pipeline_id))
    except st.PipelineFolderError as exc:
        raise PipelineRunError(str(exc)) from None
    state = st.PipelineState(pipeline_id, pipeline.name, where, definition, given,
                             _masked(pipeline, manifests, secrets),
                             {"cache": cache, "keep_going": keep_going, "retries": retries, "backoff": backoff,
                              "pull": options.pull, "strict": options.strict, "job_types": dict(job_types or {}),
                              "max_items": max_items},
                             {name: st.StepState() for name in pipeline.steps})
    with st.hold(where):
        st.write(state)  # a folder is a pipeline folder from the start: a Ctrl-C from here on can be resumed
        result = _drive(pipeline, manifests, state, executor, None, options, keep_going, retries, backoff,
                        secrets, on_start, on_event)
        result.problems = warnings  # the check's warnings: the pipeline ran anyway
        return result


def _drive(pipeline: Pipeline, manifests: Mapping[str, Any], state: st.PipelineState, executor: Any,
           parallel: int | None, options: RunOptions, keep_going: bool, retries: int, backoff: float,
           secrets: Mapping[str, Mapping[str, str]], on_start: Callable[[Path, str], None] | None,
           on_event: Callable[[RunEvent], None] | None) -> PipelineResult:
    from .lineage import finish, record_pipeline

    runner, owned = _executor(executor, parallel)
    try:
        state.status = "running"
        record_pipeline(state)
        if on_start is not None:
            on_start(state.folder, state.pipeline_id)
        driver = Driver(pipeline, manifests, state, runner, options, keep_going=keep_going, retries=retries,
                        backoff=backoff, secrets=secrets, on_event=on_event,
                        max_items=int(state.options.get("max_items") or MAX_FOR_EACH))
        status = driver.run()
        finish(pipeline, manifests, state)
        return PipelineResult(state.pipeline_id, state.folder, status, state.to_dict())
    finally:
        if owned:
            runner.close(cancel=True)


def find_pipeline(pipeline: str | Path) -> Path:
    """The folder of a pipeline given by its folder, or by its id (or a unique prefix) as the store knows it."""
    where = Path(pipeline)
    text = str(pipeline)
    if where.is_dir() or not text or any(c not in "0123456789abcdef" for c in text.lower()):
        return where.absolute()
    from ..store.runstore import RunStore, StoreError

    try:
        with RunStore.open(create=False) as store:
            found = store.pipelines(text)
    except StoreError as exc:
        raise PipelineRunError(f"no pipeline folder {text} here, and the run store cannot say where pipeline "
                               f"{text} is ({exc})") from None
    if len(found) > 1:
        raise PipelineRunError(f"pipeline id {text!r} is ambiguous ({', '.join(r['id'] for r in found[:5])}); "
                               "give more digits")
    if not found:
        raise PipelineRunError(f"no pipeline folder {text} here, and no pipeline {text!r} in the run store")
    return Path(found[0]["folder"])


def resume_pipeline(pipeline: str | Path, *, settings: Mapping[str, str] | None = None, executor: Any = None,
                    parallel: int | None = None, keep_going: bool | None = None, retries: int | None = None,
                    on_start: Callable[[Path, str], None] | None = None,
                    on_event: Callable[[RunEvent], None] | None = None,
                    max_items: int | None = None) -> PipelineResult:
    """Go on with a stopped pipeline (its folder, or its id): every run that succeeded is kept (from
    pipeline.json, and from the run folders and the store for the runs it had not recorded as ended); the
    rest is decided and run again. Secret settings were never written: give them again in ``settings``.
    ``max_items``: default, the pipeline's (a step failed for a larger fan-out runs when it is raised)."""
    where = find_pipeline(pipeline)
    try:
        st.load(where)  # a pipeline folder at all, before its lock file is made
        with st.hold(where):
            state = st.load(where)
            if max_items is not None:
                state.options["max_items"] = max_items
            return _resume(state, settings or {}, executor, parallel, keep_going, retries, on_start, on_event)
    except st.PipelineFolderError as exc:
        raise PipelineRunError(str(exc)) from None


def _resume(state: st.PipelineState, settings: Mapping[str, str], executor: Any, parallel: int | None,
            keep_going: bool | None, retries: int | None, on_start: Callable[[Path, str], None] | None,
            on_event: Callable[[RunEvent], None] | None) -> PipelineResult:
    from .lineage import reconcile

    recorded = state.options
    pipeline = _reloaded(state.definition, state.folder)
    options = RunOptions(cache=recorded.get("cache", True), pull=recorded.get("pull", False),
                         strict=recorded.get("strict", False))
    manifests, problems = manifests_of(pipeline, options)
    given = {f"{step}.{name}": value for step, values in state.settings.items() for name, value in values.items()
             if value != "****"}
    given.update({f"{step}.{k}": v for step in pipeline.steps for k, v in settings.items() if "." not in k})
    given.update({k: v for k, v in settings.items() if "." in k})
    secrets, unset = step_settings(pipeline, manifests, given)
    if problems or unset:
        return PipelineResult(state.pipeline_id, state.folder, "refused", problems=problems + unset)
    reconcile(state)
    for step in state.steps.values():
        if step.state in ("running", "failed", "stopped"):
            step.state, step.reason = "pending", None
    keep_going = recorded.get("keep_going", False) if keep_going is None else keep_going
    retries = recorded.get("retries", 0) if retries is None else retries
    return _drive(pipeline, manifests, state, executor, parallel, options, keep_going, retries,
                  recorded.get("backoff", 1.0), secrets, on_start, on_event)


run = run_pipeline
"""``seed_runner.pipelines.run(...)``: the short name."""

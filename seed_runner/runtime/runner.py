"""`seed run` as a library: plan, stage, execute on the engine, decide the outcome, write the result.

The run folder (``-o DIR``, by default a new ``seed-runs/<image repository>-<time>-<id>``) holds::

    outputs/                 OUTPUT_DIR, mounted read-write at /seed/outputs
    logs/stdout.log          the job's output, secrets masked, bytes as written
    logs/stderr.log
    work/input-metadata.json the INPUT_METADATA file (read-only in the container)
    work/inputs/<INPUT>/     multiple inputs built from several files (hard links, else copies)
    result.json              the result document, written last and atomically, in every case
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, Callable

from .. import __version__
from ..errors import EngineUnavailableError, ImageNotFoundError, InvalidManifestError, SeedRunnerError
from ..engine.client import EngineError
from ..problems import Problem, error
from ..manifest.model import Manifest
from .outcome import NOT_REMOVED, Outcome, decide, system_failure, with_leftovers
from .cancellation import Cancellation, RunCancelled
from .plan import PlanError, RunPlan, RunRequest, make_plan
from .run_folder import RunFolderError, claim_run_dir, default_run_dir, name_hint, release_run_dir  # noqa: F401
from .run_result import RunResult

# 2: `problems` are problem objects {severity, code, path, message} (were strings); `warnings` and
# `capture_failures` carry `severity` too.
RESULT_VERSION = 3  # 3: error category request (refusals); schemas/seed-runner.result.schema.json
RESULT_FILE = "result.json"
_STOPPED = {"cancelled": "cancelled by its executor; nothing is left running",
            "interrupted": "stopped by a signal; nothing is left running"}


def run(request: RunRequest, *, manifest: Manifest | None = None, pull: bool = False, strict: bool = False,
        echo_stdout: BinaryIO | None = None, echo_stderr: BinaryIO | None = None,
        engine: Any = None, on_plan: Callable[[RunPlan], None] | None = None,
        cancel: Cancellation | None = None, cache: bool = False) -> RunResult:
    """Run one job and return its result; the result document is also written to the run folder.

    ``request.run_dir`` None (the default) picks a new folder ``./seed-runs/JOB-STAMP-RUNID``, whose suffix is the
    run's id (``""`` and ``"."`` still mean that too). After the container ends, the
    outputs are harvested (``seed_runner.outputs``); ``strict`` makes an invalid metadata side-car a failure.
    Problems the user can fix (bad inputs, missing image) and engine failures become the outcome, never
    exceptions; only an interrupt (KeyboardInterrupt) propagates, after the container is removed and the result
    written. A container that could not be removed is a ``container-not-removed`` warning, and a success then an
    error. A run refused before anything started (``rejected``) leaves no folder (``run_dir`` None); the document
    says why. ``cancel``, cancelled from another thread, stops the run: before its container starts nothing
    starts; while it runs the container is stopped and removed; the status is the token's reason (``cancelled``,
    or ``interrupted`` for a batch's Ctrl-C). ``cache``: an earlier success with the same cache key gives its
    outputs and no container starts (``seed_runner.store.result_cache``; the document's ``cached_from``).
    """
    run_id = request.run_id or os.urandom(6).hex()
    request = replace(request, run_id=run_id)
    context: dict[str, Any] = {"image": {"reference": request.image}, "run_id": run_id, "engine_warnings": [],
                               "cache": cache, "choices": {"manifest": dict(manifest.data) if manifest else None,
                                                           "strict": strict, "pull": pull}}  # for a rerun
    try:
        run_dir, created = claim_run_dir(request.run_dir, manifest.job.name if manifest else name_hint(request.image),
                                         run_id)
    except RunFolderError as exc:  # a folder that is not ours to write in: say so, write nothing
        return _finish(None, context, system_failure("run-folder-unavailable", str(exc)))
    request = replace(request, run_dir=run_dir)
    try:
        result = _run_in(run_dir, request, context, manifest=manifest, pull=pull, strict=strict,
                         echo_stdout=echo_stdout, echo_stderr=echo_stderr, engine=engine, on_plan=on_plan,
                         cancel=cancel)
        if not context.pop("no_image", False) and (context.get("staged") or result.outcome.status != "rejected"):
            return result  # a system failure keeps its folder and result.json: something to look into
        # Refused before anything started, or the image is not there (a typo): nothing is left behind (the
        # document still says why).
        release_run_dir(run_dir, created)
        result.document.update(run_dir=None, outputs_dir=None)
        return replace(result, run_dir=None)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM/SIGHUP turned into it by the CLI: the container is gone
        _finish(run_dir, context, system_failure("interrupted", "stopped by a signal; nothing is left running"),
                plan=context.get("plan"))
        raise
    except Exception as exc:  # noqa: BLE001 - a bug of ours (or a callback's) still ends in an outcome
        return _finish(run_dir, context, system_failure("runner-failure", f"{type(exc).__name__}: {exc}"),
                       plan=context.get("plan"))


def _run_in(run_dir: Path, request: RunRequest, context: dict[str, Any], *, manifest: Manifest | None,
            pull: bool, strict: bool, echo_stdout: BinaryIO | None, echo_stderr: BinaryIO | None, engine: Any,
            on_plan: Callable[[RunPlan], None] | None, cancel: Cancellation | None = None) -> RunResult:
    from ..engine import containers, images
    from .system_errors import engine_failure, folder_hint, not_an_image
    from ..inputs import resolve_url_inputs

    if message := not_an_image(request.image):
        return _finish(run_dir, context, system_failure("invalid-request", message),
                       problems=[error("not-an-image", "$.image", message)])
    try:
        engine = engine or images.connect(timeout=None)
        containers.cleanup_leftovers(engine)
        if pull:
            containers.pull_image(engine, request.image)
        image = images.inspect_image(engine, request.image)
        context["image_id"] = image.id  # the image's digest, for the provenance crate
        if manifest is None:
            manifest = label_manifest(image)
        context["job"] = _job(manifest)
        sources = context["input_sources"] = {}  # URLs become cached local files (seed_runner.inputs), or PlanError
        request = resolve_url_inputs(request, sources=sources)
        plan = make_plan(manifest, request, image_env=image.env, image_entrypoint=getattr(image, "entrypoint", None),
                         known_media_types={path: source["media_type"] for path, source in sources.items()})
    except PlanError as exc:
        return _finish(run_dir, context, system_failure("invalid-request", "; ".join(p.message for p in exc.problems)),
                       problems=list(exc.problems))
    except ImageNotFoundError as exc:  # still exit 4, but nothing was run: no folder, no record (run() releases it)
        context["no_image"] = True
        return _finish(None, context, system_failure("image-not-found", f"{exc}{folder_hint(request.image)}"))
    except (EngineUnavailableError, EngineError) as exc:
        return _finish(run_dir, context, engine_failure(exc))
    except InvalidManifestError as exc:  # the label is missing or invalid, or --manifest is
        return _finish(run_dir, context, system_failure("invalid-manifest", str(exc)), problems=list(exc.findings))
    except SeedRunnerError as exc:
        return _finish(run_dir, context, system_failure("invalid-request", str(exc)))

    if on_plan:
        on_plan(plan)
    context["plan"] = plan
    context.update(_plan_facts(plan))
    context["staged"] = True  # from here on the folder holds the run, whatever happens
    from ..store import recording
    recording.started(context, request, plan, image)  # recorded while the container is made; never raises
    if context["cache"]:
        from ..store import result_cache

        recording.settle(context)  # the lookup reads the store the start is written to
        if (hit := result_cache.reuse(context, plan)) is not None:  # the outputs of an earlier run
            context.update(hit)
            return _finish(run_dir, context, decide(plan.manifest, exit_code=0), plan=plan)
    try:
        _stage(plan)
        logs = Path(plan.run_dir) / "logs"
        with open(logs / "stdout.log", "wb") as out, open(logs / "stderr.log", "wb") as err:
            recording.begin(context)  # the start recorded in a thread, while the engine creates the container
            execution = containers.execute(plan, out, err, echo_stdout=echo_stdout, echo_stderr=echo_stderr,
                                           engine=engine, warnings=context["engine_warnings"], cancel=cancel,
                                           before_start=lambda: recording.settle(context))  # recorded first
    except RunCancelled as stop:  # the container, if it was made, is stopped and gone
        return _finish(run_dir, context, system_failure(stop.reason, _STOPPED[stop.reason]), plan=plan)
    except containers.ContainerError as exc:
        return _finish(run_dir, context, system_failure("docker-launch", str(exc)), plan=plan)
    except (EngineUnavailableError, EngineError) as exc:
        return _finish(run_dir, context, engine_failure(exc), plan=plan)
    except OSError as exc:
        return _finish(run_dir, context, system_failure("runner-failure", f"{exc.strerror}: {exc.filename}"),
                       plan=plan)
    except Exception as exc:  # noqa: BLE001 - a bug of ours still ends in a written result
        return _finish(run_dir, context, system_failure("runner-failure", f"{type(exc).__name__}: {exc}"),
                       plan=plan)
    context["execution"] = execution
    _give_back_outputs(plan)
    from ..outputs.harvesting import HarvestError, harvest

    try:
        harvested = harvest(plan.manifest, plan.output_dir, strict=strict, disk_mib=plan.disk_mib,
                            secrets=plan.secret_values)  # masked at the source: excerpts too
    except HarvestError as exc:
        return _finish(run_dir, context, system_failure("runner-failure", str(exc)), plan=plan)
    except Exception as exc:  # noqa: BLE001 - the job's files must never take the runner down
        return _finish(run_dir, context, system_failure("runner-failure", f"harvest: {type(exc).__name__}: {exc}"),
                       plan=plan)
    context["harvest"] = harvested.to_dict()
    failure = harvested.failure
    outcome = decide(plan.manifest, exit_code=execution.exit_code, timed_out=execution.timed_out,
                     oom_killed=execution.oom_killed, timeout=plan.timeout,
                     capture_error=failure.code if failure else None,
                     capture_message=failure.message if failure else None,
                     killed_externally=execution.killed_externally)
    return _finish(run_dir, context, outcome, plan=plan)


def stopped_before_start(request: RunRequest, reason: str = "cancelled") -> RunResult:
    """The result of a run cancelled (or interrupted) before it started: no folder, no record; an executor
    gives it for a run it never began, so that every run asked for has a result."""
    context = {"image": {"reference": request.image}, "run_id": request.run_id}
    message = "cancelled before it started" if reason == "cancelled" else "interrupted before it started"
    return _finish(None, context, system_failure(reason, message))


def harvest_folder(manifest: Manifest, output_dir: str | Path, *, strict: bool = False,
                   disk_mib: float | None = None, result_file: str | Path | None = None,
                   secrets: frozenset[str] = frozenset()) -> RunResult:
    """`seed harvest`: capture the outputs of a folder produced elsewhere (a scheduler's post step, a CI check).

    The result document has the same shape as a run's, without the execution parts; the outcome is
    ``succeeded`` or ``failed`` (a capture failure); ``secrets`` are masked as in a run. Raises HarvestError
    when the folder cannot be read.
    """
    from ..outputs.harvesting import harvest

    harvested = harvest(manifest, output_dir, strict=strict, disk_mib=disk_mib, secrets=secrets)
    failure = harvested.failure
    outcome = decide(manifest, exit_code=0, capture_error=failure.code if failure else None,
                     capture_message=failure.message if failure else None)
    context = {"run_id": None, "image": None, "job": _job(manifest), "harvest": harvested.to_dict(),
               "outputs_dir": str(Path(output_dir).absolute())}
    result = _finish(None, context, outcome)
    if result_file is not None:
        _write_atomically(Path(result_file), result.document)
    return result


def label_manifest(image: Any) -> Manifest:
    """The manifest in the image's label (validated, unless this exact label passed before)."""
    from ..manifest.label import decode_label
    from ..manifest.loading import manifest_from_text
    from ..manifest.names import LABEL

    label = image.manifest_label
    if label is None:
        raise InvalidManifestError(image.reference, [error(
            "missing-label", "$", f"image {image.reference!r} has no {LABEL} label, so it is not a Seed image; "
                                  "give its manifest with --manifest, or build it with the label")])
    return manifest_from_text(label, source=f"the label of {image.reference}", image_env=image.env,
                              decode=decode_label)


def _job(manifest: Manifest) -> dict[str, str]:
    job = manifest.job
    return {"name": job.name, "jobVersion": job.job_version, "packageVersion": job.package_version,
            "title": job.title}


def _plan_facts(plan: RunPlan) -> dict[str, Any]:
    return {
        "command": None if plan.display_command is None else list(plan.display_command),
        "environment": plan.masked_environment,
        "resources": dict(plan.allocations),
        "timeout_seconds": plan.timeout,
        "user": plan.user,
    }


def _stage(plan: RunPlan) -> None:
    """Create the run folder, the input-metadata file and the multiple-input directories."""
    run_dir = Path(plan.run_dir)
    for sub in ("outputs", "logs", "work"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    if _foreign_user(plan):
        # The job runs as someone else (the image's user, or an explicit --user): let it write the outputs;
        # _give_back_outputs returns the files to the invoking user afterwards.
        os.chmod(run_dir / "outputs", 0o777)
    metadata = Path(plan.input_metadata_file)
    metadata.write_text(json.dumps(dict(plan.input_metadata), indent=2), encoding="utf-8")
    metadata.chmod(0o444)
    for staged in plan.staged:
        directory = Path(staged.directory)
        directory.mkdir(parents=True, exist_ok=True)
        for source in staged.files:
            target = directory / Path(source).name.replace("/", "_")
            try:
                os.link(source, target)
            except OSError:  # another file system, or links not allowed: copy instead
                shutil.copy2(source, target)
        for name in staged.placeholders:
            (directory / name).touch()


def _foreign_user(plan: RunPlan) -> bool:
    return plan.user is None or plan.user.split(":")[0] != str(os.getuid())


def _give_back_outputs(plan: RunPlan) -> None:
    """Files a foreign user wrote become the invoking user's (possible only when the runner is root)."""
    if not _foreign_user(plan) or os.geteuid() != 0:
        return
    uid, gid = os.getuid(), os.getgid()
    for directory, subdirs, files in os.walk(plan.output_dir):
        for name in subdirs + files:
            try:
                os.lchown(os.path.join(directory, name), uid, gid)
            except OSError:
                pass
    os.chmod(plan.output_dir, 0o755)


def _finish(run_dir: Path | None, context: dict[str, Any], outcome: Outcome, *, plan: RunPlan | None = None,
            problems: list[Problem] | None = None) -> RunResult:
    if "store_start" in context or "store_writing" in context:  # the run ended before its container started:
        from ..store import recording  # the start's recording holds the input records the result names

        recording.settle(context)
    execution = context.get("execution")
    harvested = context.get("harvest") or {}
    engine_warnings: list[Problem] = context.get("engine_warnings") or []
    outcome = with_leftovers(outcome, [w.message for w in engine_warnings if w.code == NOT_REMOVED])
    warnings = [problem.to_dict() for problem in (plan.warnings if plan else ())]
    warnings += harvested.get("warnings", [])
    warnings += [problem.to_dict() for problem in engine_warnings] + context.get("cache_warnings", [])
    document: dict[str, Any] = {
        "result_version": RESULT_VERSION,
        "seed_runner": __version__,
        "run_id": context["run_id"],
        "status": outcome.status,
        "image": context["image"],
        "job": context.get("job"),
        "exit_code": getattr(execution, "exit_code", None),
        "error": outcome.error.to_dict() if outcome.error else None,
        "message": outcome.message,
        "timed_out": getattr(execution, "timed_out", False),
        "oom_killed": getattr(execution, "oom_killed", False),
        "timings": None if execution is None else {
            "created": execution.created, "started": execution.started, "finished": execution.finished,
            "duration_seconds": None if execution.duration_seconds is None else round(execution.duration_seconds, 3),
        },
        "resources": context.get("resources"),
        "timeout_seconds": context.get("timeout_seconds"),
        "user": context.get("user"),
        "command": context.get("command"),
        "environment": context.get("environment"),
        "run_dir": str(run_dir) if run_dir else None,
        "outputs_dir": str(run_dir / "outputs") if run_dir and plan else context.get("outputs_dir"),
        "logs": None if execution is None else {
            "stdout": "logs/stdout.log", "stderr": "logs/stderr.log",
            "stdout_bytes": execution.stdout_bytes, "stderr_bytes": execution.stderr_bytes},
        "container_id": getattr(execution, "container_id", None),
        "cached_from": context.get("cached_from"),
        "inputs": context.get("inputs"),
        "outputs": harvested.get("outputs"),
        "json_outputs": harvested.get("json_outputs"),
        "input_metadata": harvested.get("input_metadata"),
        "capture_failures": harvested.get("failures", []),
        "problems": [problem.to_dict() for problem in problems or ()],
        "warnings": warnings,
    }
    if plan is not None:
        from .masking import mask_result

        mask_result(document, plan.secret_values)
    if run_dir is not None and plan is not None:  # a run that started: its provenance, before result.json
        from .provenance import write_crate
        if (problem := write_crate(run_dir, document, plan, image_id=context.get("image_id"),
                                   input_sha256=context.get("input_sha256"))) is not None:
            document["warnings"].append(problem.to_dict())
    if run_dir is not None and context.get("run_id"):
        from ..store import recording
        recording.finished(context, document)  # never raises: a failure is a run-not-recorded warning
    write_error = None
    if run_dir is not None:
        try:
            _write_atomically(run_dir / RESULT_FILE, document)
        except OSError as exc:
            write_error = f"could not write {run_dir / RESULT_FILE} ({exc.strerror})"
    return RunResult(outcome, document, run_dir, plan, write_error)


def _write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write to a temporary file and rename: a reader never sees half a result.

    ASCII-only JSON: a file name that is not UTF-8 (a job can write one) still gives a valid document.
    """
    from .atomic import write_text_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(document, indent=2) + "\n", encoding="ascii")

"""Executors for tests/test_conformance.py: one that runs containers its own way and conforms, and broken ones,
each breaking one part of the runtime contract (`seed conformance` must fail exactly the tests of that part).

``DockerCliExecutor`` is what a scheduler plug-in does with seed-runner's pure pieces: ``make_plan`` decides the
run, the docker CLI runs it (``docker run``, ``docker stop`` at the timeout), ``harvest`` and ``decide`` make the
result. Its keyword options (``seed conformance --executor-class ... --executor-option KEY=VALUE``) break it:

- ``read_only_inputs=false``: the inputs are mounted read-write;
- ``memory_limit=false``: no memory limit;
- ``json_indent=2``: object and array JSON inputs are pretty-printed instead of compact.

The LocalExecutor subclasses break it otherwise: ``NoTimeoutExecutor`` never stops a run (the request's
timeout set to 0), ``QuotedStringsExecutor`` wraps string JSON inputs in quotes. ``RefusingExecutor`` refuses
every run, ``StuckExecutor`` never finishes one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Iterator

from seed_runner.executors.base import DoesNotFit, RunFuture, RunOptions, as_completed, with_run_id
from seed_runner.executors.local import LocalExecutor
from seed_runner.runtime.plan import RunPlan, RunRequest


class NoTimeoutExecutor(LocalExecutor):
    """Runs every job without its timeout (as seed-cli does)."""

    def submit(self, request: RunRequest, options: RunOptions = RunOptions(), **kwargs: Any) -> RunFuture:
        return super().submit(replace(request, timeout=0), options, **kwargs)


class QuotedStringsExecutor(LocalExecutor):
    """Hands string JSON inputs to the job as JSON text, quotes included."""

    def submit(self, request: RunRequest, options: RunOptions = RunOptions(), **kwargs: Any) -> RunFuture:
        quoted = {k: json.dumps(v) if isinstance(v, str) else v for k, v in request.json_inputs.items()}
        return super().submit(replace(request, json_inputs=quoted), options, **kwargs)


class RefusingExecutor(LocalExecutor):
    """Refuses every run at submit, as an executor too small for any of them would."""

    def submit(self, request: RunRequest, options: RunOptions = RunOptions(), **kwargs: Any) -> RunFuture:
        raise DoesNotFit("no room for any run here")


class StuckExecutor(LocalExecutor):
    """Takes every run and never ends one."""

    def submit(self, request: RunRequest, options: RunOptions = RunOptions(), **kwargs: Any) -> RunFuture:
        return RunFuture(with_run_id(request), options)


class DockerCliExecutor:
    """Runs each request with the docker CLI (see the module's doc); ``parallel`` runs at a time."""

    def __init__(self, *, parallel: int = 2, read_only_inputs: bool = True, memory_limit: bool = True,
                 json_indent: int | None = None) -> None:
        self.read_only_inputs = read_only_inputs
        self.memory_limit = memory_limit
        self.json_indent = json_indent
        self._pool = ThreadPoolExecutor(parallel, thread_name_prefix="docker-cli-run")

    def submit(self, request: RunRequest, options: RunOptions = RunOptions()) -> RunFuture:
        future = RunFuture(with_run_id(request), options)
        self._pool.submit(self._settle, future)
        return future

    def as_completed(self, futures: Iterable[RunFuture], timeout: float | None = None) -> Iterator[RunFuture]:
        return as_completed(futures, timeout)

    def close(self, *, cancel: bool = False, reason: str = "cancelled") -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)

    def _settle(self, future: RunFuture) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self._run(future.request))
        except BaseException as exc:  # noqa: BLE001 - the future carries it
            future.set_exception(exc)

    # -- one run ---------------------------------------------------------------------------------------------

    def _run(self, request: RunRequest) -> Any:
        from seed_runner.api import load_manifest
        from seed_runner.runtime.plan import make_plan
        from seed_runner.runtime.runner import RunResult

        image = json.loads(_docker("image", "inspect", request.image).stdout)[0]["Config"]
        env = dict(item.split("=", 1) for item in image.get("Env") or [])
        manifest = load_manifest(request.image)
        plan = make_plan(manifest, request, image_env=env, image_entrypoint=image.get("Entrypoint"))
        _stage(plan)
        name = f"conformance-cli-{plan.run_id}"
        started = time.monotonic()
        timed_out = False
        logs = Path(plan.run_dir) / "logs"
        try:
            with open(logs / "stdout.log", "wb") as out, open(logs / "stderr.log", "wb") as err:
                process = subprocess.Popen(self._argv(plan, name), stdout=out, stderr=err,
                                           env={**os.environ, **self._environment(plan)})
                try:
                    process.wait(timeout=plan.timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    _docker("stop", "-t", f"{plan.grace_period:.0f}", name)
                    process.wait()
            state = json.loads(_docker("container", "inspect", name).stdout)[0]["State"]
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
        return RunResult(*_result(plan, state, timed_out, time.monotonic() - started))

    def _argv(self, plan: RunPlan, name: str) -> list[str]:
        argv = ["docker", "run", "--name", name, "--init", "--network", "none"]
        if plan.user:
            argv += ["--user", plan.user]
        argv += [arg for variable in plan.environment for arg in ("-e", variable)]  # values from our environment
        for mount in plan.mounts:
            read_only = mount.read_only and (self.read_only_inputs or not mount.target.startswith("/seed/inputs"))
            argv += ["--mount", f"type=bind,source={mount.source},target={mount.target}"
                                f"{',readonly' if read_only else ''}"]
        if plan.nano_cpus:
            argv += ["--cpus", f"{plan.nano_cpus / 1e9:g}"]
        if plan.memory_bytes and self.memory_limit:
            argv += ["--memory", f"{plan.memory_bytes}b", "--memory-swap", f"{plan.memory_bytes}b"]
        if plan.shm_bytes:
            argv += ["--shm-size", f"{plan.shm_bytes}b"]
        if plan.command == ():
            entrypoint = list(plan.entrypoint or ())
            return argv + ["--entrypoint", entrypoint[0], plan.image, *entrypoint[1:]]
        return argv + [plan.image, *(plan.command or ())]

    def _environment(self, plan: RunPlan) -> dict[str, str]:
        environment = dict(plan.environment)
        if self.json_indent is not None:
            for spec in plan.manifest.job.interface.json_inputs:
                if spec.type in ("object", "array") and spec.variable in environment:
                    environment[spec.variable] = json.dumps(json.loads(environment[spec.variable]),
                                                            indent=self.json_indent)
        return environment


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=True)


def _stage(plan: RunPlan) -> None:
    """The run folder, the INPUT_METADATA file and the staged input folders (as the runner makes them)."""
    run_dir = Path(plan.run_dir)
    for sub in ("outputs", "logs", "work"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    Path(plan.input_metadata_file).write_text(json.dumps(dict(plan.input_metadata)), encoding="utf-8")
    for staged in plan.staged:
        folder = Path(staged.directory)
        folder.mkdir(parents=True, exist_ok=True)
        for source in staged.files:
            shutil.copy2(source, folder / Path(source).name)
        for placeholder in staged.placeholders:
            (folder / placeholder).touch()


def _result(plan: RunPlan, state: dict[str, Any], timed_out: bool, seconds: float) -> tuple[Any, ...]:
    """(outcome, document, run folder) as seed_runner.run would give them, from the container's final state."""
    from seed_runner.outputs.harvesting import harvest
    from seed_runner.runtime.outcome import decide

    harvested = harvest(plan.manifest, plan.output_dir, disk_mib=plan.disk_mib, secrets=plan.secret_values)
    failure = harvested.failure
    exit_code = state.get("ExitCode")
    outcome = decide(plan.manifest, exit_code=exit_code, timed_out=timed_out, oom_killed=bool(state.get("OOMKilled")),
                     timeout=plan.timeout, capture_error=failure.code if failure else None,
                     capture_message=failure.message if failure else None)
    fragment = harvested.to_dict()
    document = {
        "run_id": plan.run_id, "status": outcome.status, "exit_code": exit_code,
        "error": outcome.error.to_dict() if outcome.error else None, "message": outcome.message,
        "timed_out": timed_out, "oom_killed": bool(state.get("OOMKilled")),
        "timings": {"duration_seconds": round(seconds, 3)}, "environment": plan.masked_environment,
        "run_dir": plan.run_dir, "outputs_dir": plan.output_dir, "outputs": fragment["outputs"],
        "json_outputs": fragment["json_outputs"], "capture_failures": fragment["failures"],
        "warnings": [w.to_dict() for w in plan.warnings] + fragment["warnings"],
    }
    return outcome, document, Path(plan.run_dir)

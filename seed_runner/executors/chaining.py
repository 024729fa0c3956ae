"""Workflows as code: a run's input may be the output of another run, finished or still to come.

::

    with LocalExecutor() as executor:
        split = executor.submit(RunRequest("text-split-1.0.0-seed:1.0.0", file_inputs={"TEXT": ["in.txt"]}))
        join = executor.submit(RunRequest("text-join-1.0.0-seed:1.0.0",
                                          file_inputs={"PARTS": [split.output("PARTS")]}))
        print(join.result().document["status"])

``future.output(NAME)`` (or ``OutputRef(result, NAME)`` for a ``RunResult`` in hand) stands for the files of a
file output, or the value of a JSON output, in a request's ``file_inputs`` (among paths) or ``json_inputs``.
``submit`` returns at once; the run is submitted when every run it reads has ended, with the files in place of
the references, and names those runs (``RunRequest.input_runs``: the run store keeps them, the lineage). A run
whose source did not succeed, or has no such output, never starts: it ends ``cancelled`` with a message saying
which run and output. Cancelling it before then, or closing the executor, also ends it unstarted.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .base import OutputRef, RunFuture, RunOptions, unstarted, with_run_id

if TYPE_CHECKING:
    from ..runtime.plan import RunRequest


class SourceFailed(ValueError):
    """The run an input comes from did not succeed, or gave no such output (one line)."""


def references(request: "RunRequest") -> list[OutputRef]:
    found = [v for values in request.file_inputs.values() for v in values if isinstance(v, OutputRef)]
    found += [v for v in request.json_inputs.values() if isinstance(v, OutputRef)]
    return found


def resolved(request: "RunRequest") -> "RunRequest":
    """The request with every reference replaced by what its run gave; raises SourceFailed."""
    from ..manifest.names import normalize_name

    sources: list[str] = []

    def output(ref: OutputRef) -> tuple[list[str], Any, bool]:
        document = ref.result().document
        run_id = document.get("run_id")
        if document.get("status") != "succeeded":
            raise SourceFailed(f"input {ref.name}: run {run_id} ended {document.get('status')}, not succeeded")
        sources.append(run_id)
        wanted = normalize_name(ref.name)
        run_dir = Path(document.get("run_dir") or "")
        for name, out in (document.get("outputs") or {}).items():
            if normalize_name(name) == wanted:
                return [str(run_dir / "outputs" / f["path"]) for f in out.get("files") or ()], None, True
        for name, value in (document.get("json_outputs") or {}).items():
            if normalize_name(name) == wanted:
                return [], value, False
        raise SourceFailed(f"run {run_id} has no output {ref.name}")

    files: dict[str, list[Any]] = {}
    for name, values in request.file_inputs.items():
        files[name] = []
        for value in values:
            if isinstance(value, OutputRef):
                paths, _, is_files = output(value)
                if not is_files:
                    raise SourceFailed(f"input {name}: output {value.name} is a JSON output, not files")
                files[name] += paths
            else:
                files[name].append(value)
    jsons = {}
    for name, value in request.json_inputs.items():
        if isinstance(value, OutputRef):
            _, got, is_files = output(value)
            if is_files:
                raise SourceFailed(f"input {name}: output {value.name} is a file output, not a JSON value")
            value = got
        jsons[name] = value
    return replace(request, file_inputs=files, json_inputs=jsons,
                   input_runs=tuple(dict.fromkeys([*request.input_runs, *sources])))


def submit_when_ready(request: "RunRequest", options: RunOptions,
                      submit: Callable[["RunRequest", RunOptions], RunFuture]) -> RunFuture:
    """A future at once; the run is given to ``submit`` once every run it reads has ended."""
    request = with_run_id(request)
    proxy = RunFuture(request, options)
    waiting = {id(r.source): r.source for r in references(request) if isinstance(r.source, RunFuture)}
    lock = threading.Lock()
    inner: list[RunFuture] = []

    def finish_unstarted(message: str | None) -> None:
        if proxy.done() or not proxy.set_running_or_notify_cancel():
            return
        result = unstarted(request, proxy.cancellation.reason or "cancelled")
        if message:
            result.document["message"] = message
        proxy.set_result(result)

    def go(_: Any = None) -> None:
        with lock:
            if inner or proxy.done() or not all(f.done() for f in waiting.values()):
                return
            if proxy.cancellation.cancelled:
                finish_unstarted(None)
                return
            try:
                ready = resolved(request)
                started = submit(ready, options)
            except SourceFailed as exc:
                finish_unstarted(f"not started: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - the executor closed, or refused it: the run never starts
                finish_unstarted(f"not started: {exc}")
                return
            inner.append(started)
        started.add_done_callback(lambda f: _forward(f, proxy))

    def cancelled(_: RunFuture) -> None:
        with lock:
            running = inner[0] if inner else None
        if running is not None:
            running.cancel(proxy.cancellation.reason)
        else:
            finish_unstarted(None)

    proxy.on_cancel = cancelled
    for source in waiting.values():
        source.add_done_callback(go)
    go()
    return proxy


def _forward(done: RunFuture, proxy: RunFuture) -> None:
    if proxy.done() or not proxy.set_running_or_notify_cancel():
        return
    try:
        proxy.set_result(done.result())
    except BaseException as exc:  # noqa: BLE001 - the executor's own failure, passed on as it came
        proxy.set_exception(exc)

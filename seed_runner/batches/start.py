"""``run_batch`` and ``resume_batch``: the Python twins of ``seed batch`` and ``seed batch resume``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import SeedRunnerError
from ..executors.base import Footprint, RunOptions
from ..problems import Problem, error
from ..runtime.plan import RunRequest
from . import folder as bf
from .rows import Row, RowsError, each_rows, read_table, row_path, table_rows
from .running import BatchResult, Progress, _Drive

Announce = Callable[[Path, str], None]


class BatchError(SeedRunnerError):
    """A batch that cannot start (its table, its folder, a resume without its secrets): one line, exit 2."""

    exit_status = 2


def _manifest(image: str, options: RunOptions) -> tuple[Any, Any]:
    """(manifest, image environment): --manifest's, else the image's label on the local engine. With ``pull``
    the image is pulled first, so that its label can be read (each run still pulls: on Dask, onto its
    worker's engine)."""
    if options.manifest is not None:
        return options.manifest, None
    from ..engine.containers import pull_image
    from ..engine.images import connect, inspect_image
    from ..runtime.runner import label_manifest

    engine = connect(timeout=None)
    if options.pull:
        pull_image(engine, image)
    info = inspect_image(engine, image)
    return label_manifest(info), info.env


_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _check_batch_id(batch_id: str | None) -> None:
    if batch_id is not None and not _BATCH_ID.fullmatch(batch_id):
        raise BatchError(f"{batch_id!r} is not a batch id: give 1 to 64 letters, digits, '.', '_' or '-' "
                         "(--batch-id)")


def _executor(executor: Any, parallel: int | None, cpus: float | None, mem: float | None, gpus: float | None
              ) -> tuple[Any, bool]:
    if executor is not None:
        return executor, False
    from ..executors.local import LocalExecutor

    return LocalExecutor(parallel=parallel, cpus=cpus, mem=mem, gpus=gpus), True


def _sizes(executor: Any, manifest: Any, runs: Sequence[Any], image_env: Any) -> tuple[dict[int, Footprint],
                                                                                        list[Problem]]:
    """Each run's footprint, and a problem for each that could never fit where the executor runs things."""
    from ..executors.sizing import footprint
    from .requests import once_for_all

    sizes: dict[int, Footprint] = {}
    problems: list[Problem] = []
    same: dict[tuple[Any, ...], Footprint] = {}  # one Footprint for the rows of one size, not one a row
    for run in runs:
        # The check planned each row already: its allocations are the run's (a URL input's size included).
        need = Footprint.of(run.allocations) if run.allocations is not None else \
            footprint(manifest, run.request, image_env)
        need = same.setdefault((need.cpus, need.mem, need.gpus, tuple(sorted(need.extra.items()))), need)
        sizes[run.row] = need
        try:
            executor.check_fits(need)
        except SeedRunnerError as exc:
            problems.append(error("does-not-fit", row_path(run.row), f"row {run.row}: {exc}"))
    return sizes, once_for_all(problems, {run.row for run in runs})  # a cap too small for all: one line


def run_batch(image: str, *, table: str | Path | None = None, each: Sequence[tuple[str, str]] = (),
              product: bool = False, rows: Sequence[Row] | None = None, template: RunRequest | None = None,
              options: RunOptions = RunOptions(), folder: str | Path | None = None, batch_id: str | None = None,
              executor: Any = None, parallel: int | None = None, cpus: float | None = None,
              mem: float | None = None, gpus: float | None = None, retries: int | None = None,
              backoff: float = 1.0, on_start: Announce | None = None,
              on_finished: Callable[[bf.RunEntry], None] | None = None,
              on_progress: Callable[[Progress], None] | None = None) -> BatchResult:
    """Run ``image`` once per row (``table``, ``each`` patterns, or ``rows``), every row first checked.

    ``template`` holds what every run shares (inputs, settings, mounts, resources, timeout...). The executor
    defaults to a LocalExecutor (``parallel``, ``cpus``, ``mem``, ``gpus``). A batch with any problem runs
    nothing: the result is ``refused`` with every problem, each naming its row. ``batch_id`` of a batch already
    in ``folder`` resumes it (with the batch's own ``retries`` unless given). Raises BatchError for a table or
    folder that cannot be used, and the engine's errors when the image's manifest cannot be read.
    """
    _check_batch_id(batch_id)
    if batch_id and folder and (Path(folder) / bf.BATCH_FILE).exists():
        if _loaded(Path(folder)).get("batch_id") == batch_id:
            return resume_batch(folder, settings=template.settings if template else None, executor=executor,
                                parallel=parallel, cpus=cpus, mem=mem, gpus=gpus, retries=retries,
                                backoff=backoff, on_start=on_start, on_finished=on_finished,
                                on_progress=on_progress)
    retries = 0 if retries is None else retries
    template = RunRequest(image=image) if template is None else template
    try:
        if rows is None:
            if table is not None and each:
                raise RowsError("give a table (--table) or patterns (--each), not both")
            found, problems = table_rows(table) if table is not None else each_rows(list(each), product=product)
        else:
            found, problems = iter(rows), []
    except RowsError as exc:
        raise BatchError(str(exc)) from None
    manifest, image_env = _manifest(image, options)
    from ..inputs import resolve_url_inputs
    from .checking import check_batch

    runner, owned = _executor(executor, parallel, cpus, mem, gpus)
    try:
        checked = check_batch(manifest, found, template, runner, image_env=image_env, resolve=resolve_url_inputs)
        del found
        if problems:  # the table's own (no rows: they say why, not "the batch has no rows")
            return BatchResult(None, None, "refused", problems=problems + [p for p in checked.problems
                                                                            if p.code != "no-rows"])
        if checked.problems or checked.unfit:  # whether a row fits is said once every row is fine
            return BatchResult(None, None, "refused", problems=checked.problems or checked.unfit)
        batch_id = batch_id or os.urandom(6).hex()
        try:  # where the executor can hold it, checked before anything is written
            target = _placed(runner, Path(folder) if folder else None,
                             bf.default_folder(manifest.job.name, batch_id))
            where = bf.claim(target)
        except (bf.BatchFolderError, SeedRunnerError) as exc:
            raise BatchError(str(exc)) from None
        job = manifest.job
        header = {"batch_id": batch_id, "image": image, "job": {"name": job.name, "jobVersion": job.job_version,
                                                                "packageVersion": job.package_version},
                  "created": bf.now_text(),
                  "options": {**_recorded_options(options, retries, backoff), "executor": _described(runner)}}
        drive = _Drive(runner, where, header, checked.entries, options, checked.sizes, retries=retries,
                       backoff=backoff, on_finished=on_finished, on_progress=on_progress)
        drive.requests, drive.remade, drive.secrets = checked.kept, True, checked.secrets
        entries = checked.entries
        del checked
        with bf.hold(where):  # a resume in another process waits for this one to end
            status = drive.run(entries, on_start=on_start)
            return BatchResult(batch_id, where, status, drive.summary(status, force=True, full=True))
    finally:
        if owned:
            runner.close(cancel=True)


def _placed(runner: Any, given: Path | None, default: Path) -> Path:
    """The batch folder: ``given``, or the default; an executor that makes run folders elsewhere (Dask's shared
    folder) places it, and refuses a folder its workers would not see."""
    place = getattr(runner, "batch_folder", None)
    if place is None:
        return given if given is not None else default
    return Path(place(given, default.name))


def _described(runner: Any) -> dict[str, Any] | None:
    """What batch.json keeps of the executor (resume makes the same one); None for one of the caller's own."""
    describe = getattr(runner, "description", None)
    try:
        found = describe() if describe is not None else None
    except Exception:  # noqa: BLE001 - a description is a convenience for resume, never a reason to stop
        return None
    return found if isinstance(found, dict) and found.get("kind") in ("local", "dask", "slurm") else None


def _recorded_executor(recorded: dict[str, Any] | None, parallel: int | None, cpus: float | None,
                       mem: float | None, gpus: float | None) -> tuple[Any, bool]:
    """The executor batch.json describes (the caps given override its own); a LocalExecutor when it names none."""
    recorded = recorded or {"kind": "local"}
    if recorded.get("kind") == "dask":
        try:
            from ..executors.dask import DaskExecutor
        except ImportError as exc:
            raise BatchError(f"the batch ran on Dask, which is not installed here ({exc})") from None
        if not recorded.get("scheduler"):
            raise BatchError("the batch ran on Dask, but batch.json does not say where its scheduler is; give "
                             "--executor dask --scheduler tcp://HOST:8786")
        return DaskExecutor(recorded["scheduler"], shared_dir=recorded.get("shared_dir"),
                            outputs_to=recorded.get("outputs_to")), True

    if recorded.get("kind") == "slurm":
        from ..executors.slurm import SlurmExecutor

        return SlurmExecutor(shared_dir=recorded.get("shared_dir"), partition=recorded.get("partition"),
                             account=recorded.get("account"), qos=recorded.get("qos"),
                             sbatch_options=recorded.get("sbatch_options") or (),
                             python=recorded.get("python")), True

    def kept(given: Any, name: str) -> Any:
        return given if given is not None else recorded.get(name)

    from ..executors.local import LocalExecutor

    return LocalExecutor(parallel=kept(parallel, "parallel"), cpus=kept(cpus, "cpus"), mem=kept(mem, "mem"),
                         gpus=kept(gpus, "gpus")), True


def _loaded(folder: Path) -> dict[str, Any]:
    try:
        return bf.load(folder)
    except bf.BatchFolderError as exc:
        raise BatchError(str(exc)) from None


def _recorded_options(options: RunOptions, retries: int, backoff: float) -> dict[str, Any]:
    """What resume repeats; a --manifest is kept whole (the file may change or move)."""
    manifest = dict(options.manifest.data) if options.manifest is not None else None
    return {"pull": options.pull, "strict": options.strict, "cache": options.cache, "retries": retries,
            "backoff": backoff, "manifest": manifest}


def find_batch(batch: str | Path) -> Path:
    """The folder of a batch given by its folder, or by its id (or a unique prefix) as the run store knows it:
    the folder its recorded runs are in (``<batch folder>/runs/<run>``)."""
    where = Path(batch)
    text = str(batch)
    if where.is_dir() or not text or any(c not in "0123456789abcdef" for c in text.lower()):
        return where.absolute()
    from ..store.history import runs
    from ..store.runstore import StoreError

    try:
        records = runs(batch=text)
    except StoreError as exc:
        raise BatchError(f"no batch folder {text} here, and the run store cannot say where batch {text} is "
                         f"({exc})") from None
    ids = {r["batch_id"] for r in records}
    if len(ids) > 1:
        raise BatchError(f"batch id {text!r} is ambiguous ({', '.join(sorted(ids)[:5])}); give more digits")
    folders = {Path(r["run_dir"]).parent.parent for r in records if r.get("run_dir")}
    if not folders:
        raise BatchError(f"no batch folder {text} here, and no run of a batch {text!r} in the run store; "
                         "give the batch folder")
    return sorted(folders)[0]


def resume_batch(batch: str | Path, *, settings: dict[str, str] | None = None, executor: Any = None,
                 parallel: int | None = None, cpus: float | None = None, mem: float | None = None,
                 gpus: float | None = None, retries: int | None = None, backoff: float | None = None,
                 options: RunOptions | None = None, on_start: Announce | None = None,
                 on_finished: Callable[[bf.RunEntry], None] | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 table: str | Path | None = None, file_inputs: dict[str, list[str]] | None = None) -> BatchResult:
    """Run again the rows of the batch ``batch`` (its folder, or its id: ``find_batch``) whose last attempt did
    not succeed (or whose run
    folder is gone); the others are kept. What the run folders say beats batch.json (a run that ended after
    batch.json was last written is not run again). Secret settings and URL credentials were never written: give
    the batch's ``table`` again (each row's own values), or the settings in ``settings`` and the URLs in
    ``file_inputs`` (any case, one value for every row). Without ``executor`` the batch's own is made again (batch.json keeps it; ``parallel``,
    ``cpus``, ``mem``, ``gpus`` override its caps). A batch still running in another process is refused (its
    folder's lock, ``batch.lock``)."""
    where = find_batch(batch)
    _loaded(where)  # a batch folder at all, before its lock file is made
    try:
        with bf.hold(where):
            return _resume(where, _loaded(where), settings or {}, executor, parallel, cpus, mem, gpus, retries,
                           backoff, options, on_start, on_finished, on_progress, table, file_inputs or {})
    except bf.BatchFolderError as exc:
        raise BatchError(str(exc)) from None


def _resume(where: Path, document: dict[str, Any], settings: dict[str, str], executor: Any, parallel: int | None,
            cpus: float | None, mem: float | None, gpus: float | None, retries: int | None,
            backoff: float | None, options: RunOptions | None, on_start: Announce | None,
            on_finished: Callable[[bf.RunEntry], None] | None,
            on_progress: Callable[[Progress], None] | None, table: str | Path | None,
            file_inputs: dict[str, list[str]]) -> BatchResult:
    from ..manifest.names import normalize_name
    from .reconcile import given_again, masked_urls, reconcile
    from ..store.history import rerun_request
    from ..store.runstore import StoreError

    header = {k: document[k] for k in ("batch_id", "image", "job", "created", "options") if k in document}
    recorded = header.get("options") or {}
    retries = recorded.get("retries", 0) if retries is None else retries
    backoff = recorded.get("backoff", 1.0) if backoff is None else backoff
    if options is None:
        options = RunOptions(pull=recorded.get("pull", False), strict=recorded.get("strict", False),
                             cache=recorded.get("cache", False), manifest=_load_manifest(recorded.get("manifest")))
    entries = bf.entries_of(document, where)
    reconcile(where, entries)  # the run folders beat a batch.json written before its runs' ends
    todo = [e for e in entries if e.status not in ("succeeded", "cached")
            or not (e.last and e.last.get("run_dir") and Path(e.last["run_dir"]).is_dir())]
    rows = _table_rows(table) if table is not None else {}
    requests: dict[int, RunRequest] = {}
    for entry in todo:
        if table is not None and entry.row not in rows:
            raise BatchError(f"row {entry.row} of the batch is not in {table}; give the table the batch was run with")
        asked = entry.request  # parsed once: it is kept as text
        masked = masked_urls(asked)
        files, per_row = given_again(asked, rows.get(entry.row))
        shared = {normalize_name(n): v for n, v in file_inputs.items()}  # -i NAME=URL: the same for every row
        files.update({name: list(shared[normalize_name(name)]) for name in masked
                      if name not in files and normalize_name(name) in shared})
        unrestored = [name for name in masked if name not in files]
        if unrestored:
            raise BatchError(f"row {entry.row}: the URL of input {unrestored[0]} held credentials (user:password@ "
                             "or query values), which were not written down; give the table again (--table FILE), "
                             f"or the URL for every row (-i {unrestored[0]}=URL)")
        recorded_names = {normalize_name(n): n for n in asked.get("settings") or {}}
        given = {recorded_names.get(normalize_name(n), n): v for n, v in settings.items()}  # -e token: TOKEN
        request = {**asked, "file_inputs": {**asked["file_inputs"], **files}}
        try:
            requests[entry.row] = rerun_request({"id": f"row {entry.row}", "request": request},
                                                settings={**per_row, **given})[0]
        except StoreError as exc:
            raise BatchError(f"row {entry.row}: {exc}") from None
        except (KeyError, TypeError, AttributeError):
            raise BatchError(f"{where / bf.BATCH_FILE} is damaged (the request of row {entry.row} is incomplete); "
                             "run the batch again in a new folder") from None
    manifest, image_env = _manifest(header["image"], options)
    if executor is not None:
        runner, owned = executor, False
    else:
        runner, owned = _recorded_executor(recorded.get("executor"), parallel, cpus, mem, gpus)
    header["options"] = {**recorded, "executor": _described(runner) or recorded.get("executor")}
    try:
        from .requests import BatchRun

        sizes, unfit = _sizes(runner, manifest, [BatchRun(r, q) for r, q in requests.items()], image_env)
        if unfit:
            return BatchResult(header["batch_id"], where, "refused", problems=unfit)
        drive = _Drive(runner, where, header, entries, options, sizes, retries=retries, backoff=backoff,
                       on_finished=on_finished, on_progress=on_progress)
        drive.requests = requests
        status = drive.run(todo, on_start=on_start)
        return BatchResult(header["batch_id"], where, status, drive.summary(status, force=True, full=True))
    finally:
        if owned:
            runner.close(cancel=True)


def _table_rows(table: str | Path) -> dict[int, Row]:
    """The rows of the table given again at resume, by number."""
    try:
        found, problems = read_table(table)
    except RowsError as exc:
        raise BatchError(str(exc)) from None
    if problems:
        raise BatchError(f"{table}: {problems[0].message}")
    return {row.number: row for row in found}


def _load_manifest(document: dict[str, Any] | None) -> Any:
    """The --manifest kept in batch.json, validated again (an edited one is refused, never half-used)."""
    if not document:
        return None
    from ..api import load_manifest
    from ..errors import InvalidManifestError

    try:
        return load_manifest(document)
    except InvalidManifestError as exc:
        raise BatchError(f"the manifest kept in batch.json is no longer valid ({exc}); run the batch again in a "
                         "new folder") from None


batch = run_batch
"""``seed_runner.batch(...)``: the name the package exports."""

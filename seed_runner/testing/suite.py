"""`seed test` as a library: find the image and the cases, run every case through the normal runner, compare.

``test_job("path/to/job")`` validates the folder's ``seed.manifest.json``, tests the image `seed build` makes of
it (``<name>-<jobVersion>-seed:<packageVersion>``, or ``image``) with the cases of ``tests/`` (or ``cases``);
``test_job(image="name-1.0.0-seed:1.0.0", cases="dir")`` tests an image, whose cases must come from a folder
since images do not carry them. Every case runs with ``seed_runner.runtime.runner.run`` exactly as `seed run`
would (never from a result cache) into its own run folder ``<output_dir>/<case>``; ``parallel`` runs them side by
side in threads (the runner is thread-safe). Problems of the whole suite (no cases, an invalid manifest, the
image not on the engine) raise ``SuiteError`` with the `seed test` exit status; a case that cannot run is an
``error`` outcome in the report, never an exception.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import EngineUnavailableError, ImageNotFoundError, InvalidManifestError, SeedRunnerError
from ..problems import Problem
from .cases import CASE_FILE, Case, CaseError, discover, load_case, manifest_problems, showable
from ..runtime.masking import as_mask
from .expectations import Mismatch, compare, got_summary
from .report import CaseOutcome, TestReport
from .selection import patterns_of, select_by_name

__all__ = ["SuiteError", "SuitePlan", "test_job", "select_cases", "DEFAULT_OUTPUT_BASE"]

DEFAULT_OUTPUT_BASE = "seed-tests"
EXIT_INVALID, EXIT_USAGE, EXIT_SYSTEM = 1, 2, 4


class SuiteError(SeedRunnerError):
    """The suite cannot run at all; one line, ``exit_status`` (1 invalid manifest, 2 usage, 4 engine or image),
    and for an invalid manifest every finding."""

    def __init__(self, message: str, exit_status: int = EXIT_USAGE, findings: Sequence[Problem] = ()):
        super().__init__(message)
        self.exit_status = exit_status
        self.findings = tuple(findings)


@dataclass(frozen=True)
class SuitePlan:
    """What is about to run (handed to ``on_start`` before the first case)."""

    target: str
    image: str
    job: str
    cases_dir: Path
    output_dir: Path
    case_files: tuple[Path, ...]
    deselected: int
    warnings: tuple[str, ...]
    roots: tuple[Path, ...] = ()
    """The folders a case may reach (``containment.job_roots``)."""
    trust_mounts: bool = False
    """`--trust-mounts`: a case's host mounts may lie anywhere and get the mode the manifest declares."""


def test_job(target: str | Path | None = None, *, image: str | None = None, cases: str | Path | None = None,
             output_dir: str | Path | None = None, select: str | Iterable[str] | None = None, parallel: int = 1,
             on_start: Callable[[SuitePlan], None] | None = None,
             on_case: Callable[[CaseOutcome], None] | None = None, trust_mounts: bool = False) -> TestReport:
    """Run a job's test cases and return the report (also written to ``<output_dir>/report.json``).

    ``target``: a job folder, or an image reference; ``image`` overrides the folder's image; ``cases``: the
    cases folder (default ``<folder>/tests``; required for an image). ``output_dir``: new or empty (default a
    new ``seed-tests/<job>-<time>-<id>``). ``select``: ``-k``, one pattern or several: only the cases whose name
    one of them matches (a glob of the whole name, else a part of it, ignoring case: ``selection.matches``).
    ``on_case`` is called as each case ends (from the thread that ran it).

    Every path a case names must resolve (links followed) inside the job folder (``containment``), and its host
    mounts are read-only; ``trust_mounts`` (`--trust-mounts`, for cases you trust) lets its mounts lie anywhere
    and get the mode the manifest declares.
    """
    if parallel < 1:
        raise SuiteError(f"--parallel must be at least 1, not {parallel}")
    started = time.time()
    plan, manifest = _prepare(target, image=image, cases=cases, output_dir=output_dir, select=select)
    plan = replace(plan, trust_mounts=trust_mounts)
    if on_start:
        on_start(plan)
    clock = time.monotonic()
    outcomes = _run_all(plan, manifest, parallel, on_case)
    report = TestReport(target=plan.target, image=plan.image, job=plan.job, cases_dir=str(plan.cases_dir),
                        output_dir=str(plan.output_dir), outcomes=tuple(outcomes),
                        seconds=time.monotonic() - clock,
                        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                        deselected=plan.deselected, warnings=plan.warnings)
    import json

    try:
        (plan.output_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass  # the report is returned (and printed) all the same; the run folders hold the results
    return report


test_job.__test__ = False  # type: ignore[attr-defined]  # a library function, not a pytest test


def select_cases(files: Sequence[Path], select: str | Iterable[str] | None) -> list[Path]:
    """``-k``: the case files whose case name (their folder's) a pattern of ``select`` matches
    (``seed_runner.testing.selection``: a glob of the whole name, else a part of it, ignoring case)."""
    return select_by_name(files, select, lambda file: file.parent.name)


# -- before the first case ---------------------------------------------------------------------------------


def _prepare(target: str | Path | None, *, image: str | None, cases: str | Path | None,
             output_dir: str | Path | None, select: str | Iterable[str] | None) -> tuple[SuitePlan, Any]:
    from ..api import validate

    warnings: list[str] = []
    folder_manifest = None
    if target is not None and _on_disk(target, folder=True):
        folder = Path(target)
        if not (folder / "seed.manifest.json").is_file():
            raise SuiteError(f"{folder} has no seed.manifest.json; give a job folder (or an image with --cases)")
        result = validate(folder)
        if result.manifest is None or not result.valid:
            first = next((f for f in result.findings if f.is_error), None)
            detail = f"{first.path}: {first.message}" if first else "invalid"
            raise SuiteError(f"{folder / 'seed.manifest.json'} is not a valid Seed manifest: {detail}",
                             EXIT_INVALID, result.findings)
        folder_manifest = result.manifest
        image = image or folder_manifest.image_name
        cases_dir = Path(cases) if cases is not None else folder / "tests"
    else:
        if target is not None:
            text = str(target)
            if _on_disk(text, folder=False):
                raise SuiteError(f"{text} is a file; give a job folder, or an image with --cases DIR")
            if text.startswith((".", "/", "~")) or text.endswith("/"):
                raise SuiteError(f"no such folder {text}; give a job folder, or an image with --cases DIR")
            image = image or text
        if image is None:
            raise SuiteError("give a job folder or an image (seed test DIR, seed test IMAGE --cases DIR)")
        if cases is None:
            raise SuiteError(f"an image carries no test cases; give them with --cases DIR (tests/<case>/{CASE_FILE})")
        cases_dir = Path(cases)
    if not cases_dir.is_dir():
        raise SuiteError(f"no cases folder {cases_dir}: add {cases_dir}/<case>/{CASE_FILE} (`seed schema test-case` "
                         "prints its format)")
    try:
        found = discover(cases_dir)
    except OSError as exc:
        raise SuiteError(f"cannot list the cases in {cases_dir} ({exc.strerror})") from None
    if not found:
        raise SuiteError(f"no cases in {cases_dir}: a case is a folder with a {CASE_FILE} "
                         "(`seed schema test-case` prints its format)")
    chosen = select_cases(found, select)
    if not chosen:
        names = ", ".join(file.parent.name for file in found[:8]) + (", ..." if len(found) > 8 else "")
        given = " ".join(f"-k {pattern!r}" for pattern in patterns_of(select))
        raise SuiteError(f"{given} selects none of the {len(found)} cases ({names})")
    try:
        manifest = _image_manifest(image)
    except (EngineUnavailableError, ImageNotFoundError) as exc:
        hint = f"; build it with `seed build {target}`" if folder_manifest is not None and \
            isinstance(exc, ImageNotFoundError) else ""
        raise SuiteError(f"{exc}{hint}", EXIT_SYSTEM) from None
    except InvalidManifestError as exc:
        raise SuiteError(str(exc), EXIT_INVALID, exc.findings) from None
    except SeedRunnerError as exc:
        raise SuiteError(str(exc), EXIT_USAGE) from None
    if folder_manifest is not None and folder_manifest.data != manifest.data:
        warnings.append(f"the manifest in the image {image} differs from {Path(str(target)) / 'seed.manifest.json'}"
                        f"; the cases run the image as built: rebuild it with `seed build {target}`")
    from .containment import job_roots

    out = _claim_output_dir(output_dir, manifest.job.name)
    plan = SuitePlan(target=str(target if target is not None else image), image=image, job=manifest.job.name,
                     cases_dir=cases_dir, output_dir=out, case_files=tuple(chosen),
                     deselected=len(found) - len(chosen), warnings=tuple(warnings),
                     roots=job_roots(cases_dir, Path(target) if folder_manifest is not None else None))
    return plan, manifest


def _on_disk(target: str | Path, *, folder: bool) -> bool:
    """Whether ``target`` is a folder (``folder``), or anything at all, on this machine."""
    try:
        return Path(target).is_dir() if folder else Path(target).exists()
    except (OSError, ValueError):  # a NUL, a name too long: not a folder (then perhaps an image)
        return False


def _image_manifest(image: str) -> Any:
    """The manifest in the image's label, read as `seed run` reads it (so a case runs what `seed run` would);
    the image's own naming is `seed validate IMAGE`'s business, not a test's."""
    from ..engine import images
    from ..runtime.runner import label_manifest  # the runner's own reading of a label

    return label_manifest(images.inspect_image(images.connect(timeout=None), image))


def _claim_output_dir(given: str | Path | None, job: str) -> Path:
    from ..runtime.run_folder import default_run_dir, shown_path

    out = (Path(given) if given else default_run_dir(job, DEFAULT_OUTPUT_BASE)).absolute()
    try:
        taken = out.exists() and (not out.is_dir() or any(out.iterdir()))
    except (OSError, ValueError) as exc:  # a name too long (ENAMETOOLONG), a NUL: no folder can have it
        raise SuiteError(f"cannot use the test folder {shown_path(out)} "
                         f"({getattr(exc, 'strerror', None) or exc}); give another with -o") from None
    if taken:
        raise SuiteError(f"the test folder {out} is {'not empty' if out.is_dir() else 'a file'}; give a new or "
                         "empty one with -o, or leave -o out for a fresh folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SuiteError(f"cannot create the test folder {shown_path(out)} ({exc.strerror}); give another with -o"
                         ) from None
    return out


# -- the cases ---------------------------------------------------------------------------------------------


def _run_all(plan: SuitePlan, manifest: Any, parallel: int,
             on_case: Callable[[CaseOutcome], None] | None) -> list[CaseOutcome]:
    """Every case, ``parallel`` at a time, in case order. Ctrl-C cancels the runs in flight (each container is
    stopped and removed by its own thread) and the cases not started, then propagates."""
    from ..runtime.cancellation import Cancellation

    token = Cancellation()

    def one(file: Path) -> CaseOutcome:
        outcome = _run_case(file, plan, manifest, token)
        if on_case:
            on_case(outcome)
        return outcome

    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="seed-test")
    futures: list[Future[CaseOutcome]] = []
    try:
        futures = [pool.submit(one, file) for file in plan.case_files]
        return [future.result() for future in futures]
    except BaseException:
        token.cancel("interrupted")
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_case(file: Path, plan: SuitePlan, manifest: Any, token: Any) -> CaseOutcome:
    clock = time.monotonic()
    name = showable(file.parent.name)

    def error(message: str, kind: str = "case", expected: str = "?", **more: Any) -> CaseOutcome:
        return CaseOutcome(name, "error", expected, more.pop("got", None), time.monotonic() - clock, message,
                           error_kind=kind, case_file=showable(str(file)), **more)  # type: ignore[arg-type]

    if name != file.parent.name:  # its run folder, table row, JSON and JUnit would all carry the name
        return error(f"{showable(str(file))}: the case's folder name holds a control character or bytes that are "
                     "not UTF-8, which no report can show as they are; rename the folder")
    try:
        case = load_case(file, name)
    except CaseError as exc:
        return error(str(exc))
    expected = case.expect.describe()
    if case.skip:
        return CaseOutcome(name, "skipped", expected, None, 0.0, case.skip, case_file=str(file),
                           description=case.description)
    from .containment import containment_problem

    if (reach := containment_problem(case, plan.roots, mounts_anywhere=plan.trust_mounts)) is not None:
        from ..problems import json_path

        return error(f"{file}: {json_path(reach[0])}: {reach[1]}", expected=expected)
    problems = manifest_problems(case, manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return error(f"{file}: {problems[0]}{more}", expected=expected)
    try:
        request = _request(case, plan)
    except CaseError as exc:
        return error(str(exc), expected=expected)
    from ..runtime.runner import run

    try:
        result = run(request, cancel=token, cache=False)  # never from the result cache: a test runs the job
    except Exception as exc:  # noqa: BLE001 - a bug of the runner's must not take the other cases down
        return error(f"the runner failed: {type(exc).__name__}: {exc}", "system", expected)
    document = result.document
    got = got_summary(document)
    run_dir = document.get("run_dir")
    status = document.get("status")
    if status == "rejected":
        reasons = "; ".join(p.get("message", "") for p in document.get("problems") or []) or document.get("message")
        return error(f"{file}: the runner refused the request: {reasons}", "case", expected, got=got,
                     run_dir=run_dir)
    if status not in ("succeeded", "failed", "timed-out"):  # error, interrupted, cancelled: not the job's doing
        return error(f"the run ended in {got}: {document.get('message')}", "system", expected, got=got,
                     run_dir=run_dir)
    # A mismatch may quote an output file, which the runner keeps as the job wrote it: secrets masked here too.
    mask = as_mask(_secret_values(request, manifest))
    mismatches = tuple(Mismatch(m.where, mask.text(m.message))
                       for m in compare(case.expect, document, seconds=time.monotonic() - clock))
    return CaseOutcome(name, "failed" if mismatches else "passed", expected, got, time.monotonic() - clock,
                       mismatches[0].line() if mismatches else None, mismatches, case_file=str(file),
                       run_dir=run_dir, description=case.description)


def _secret_values(request: Any, manifest: Any) -> list[str]:
    from ..manifest.names import normalize_name

    secret = {normalize_name(setting.name) for setting in manifest.job.interface.settings if setting.secret}
    return [value for name, value in request.settings.items() if normalize_name(name) in secret and value]


def _request(case: Case, plan: SuitePlan) -> Any:
    """The run request of a case: paths made absolute, settings from the environment, empty mount folders."""
    from ..problems import json_path
    from ..runtime.plan import RunRequest

    settings = {}
    for name, value in case.request.settings.items():
        if isinstance(value, str):
            settings[name] = value
            continue
        variable = value["env"]
        if variable not in os.environ:
            raise CaseError(f"{case.file}: {json_path(('request', 'settings', name))}: the environment variable "
                            f"{variable} is not set; set it for seed test (it holds the setting's value)")
        settings[name] = os.environ[variable]
    mounts = {}
    for name, relative in case.request.mounts.items():
        if relative is None:  # a new empty folder, outside the run folder (which must be new)
            folder = plan.output_dir / ".mounts" / case.name / name
            folder.mkdir(parents=True, exist_ok=True)
            mounts[name] = str(folder)
        else:
            mounts[name] = str(case.path(relative).absolute())
    inputs = {name: [str(case.path(p).absolute()) for p in paths] for name, paths in case.request.inputs.items()}
    return RunRequest(image=plan.image, file_inputs=inputs, json_inputs=dict(case.request.json), settings=settings,
                      mounts=mounts, resources=dict(case.request.resources), run_dir=plan.output_dir / case.name,
                      timeout=case.request.timeout, label=f"seed test {plan.job}: {case.name}",
                      read_only_mounts=() if plan.trust_mounts else tuple(
                          name for name, relative in case.request.mounts.items() if relative is not None))

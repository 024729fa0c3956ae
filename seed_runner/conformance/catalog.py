"""The conformance tests: each an id, a one-line description, the rule it comes from, and where its verdict is
made (pure data; the table of docs/how-to/conformance.md is generated from it and held to it by a test).

A test is judged either from inside the container (``judge=None``: the probe's TAP lines that name the test's id,
``probes/<probe>/probe.sh``) or on the host, from the run's result document (``judge``: a function of
``judges.py``). Every test belongs to one run of one probe (``probe``, ``run``: see ``recipes.py``); a run serves
several tests, and the suite runs each needed run once.

A rule is ``spec n.m`` (the Seed specification's requirements, numbered by topic: 3 the manifest, 4 the runtime
environment, 5 output capture, 6 errors) or ``contract: X``, the section X of the runtime-contract page
(docs/explanation/runtime-contract.md), where the specification leaves the choice open and this project settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..testing.selection import select_by_name


@dataclass(frozen=True)
class ConformanceTest:
    id: str
    description: str
    rule: str
    probe: str
    run: str = "main"
    judge: str | None = None
    """The host judge's name in ``judges.JUDGES``; None: the probe's own TAP lines decide."""

    @property
    def where(self) -> str:
        """``container`` (the probe checks it) or ``host`` (the result document is judged)."""
        return "container" if self.judge is None else "host"


_ENV = "spec 4.2"
_JSON = "spec 4.4; contract: Environment injection"
_LAYOUT = "spec 4.3; contract: Container layout"
_ALLOC = "spec 4.7; contract: Environment injection"
_LIMITS = "spec 4.7; contract: Environment injection (Docker mapping)"
_FILES = "spec 5.1; contract: Outputs"

T = ConformanceTest
TESTS: tuple[ConformanceTest, ...] = (
    # -- the variables the job sees (probe env) -----------------------------------------------------------------
    T("env.output-dir", "OUTPUT_DIR is the absolute path of a directory", _ENV, "env"),
    T("env.name-normalization", "a name is upper-cased with '-' as '_' (retry-Count is RETRY_COUNT)",
      "spec 4.1", "env"),
    T("env.file-input", "a single file input is the absolute path of the readable file", "spec 4.2, 4.3",
      "env"),
    T("env.multiple-input", "a multiple input is a flat directory of exactly its files (from three folders)",
      "spec 4.2, 4.3", "env"),
    T("env.optional-unset", "optional file and JSON inputs not given are unset, not empty", _ENV, "env"),
    T("env.json-string", "a string JSON input is the raw text, without quotes", _JSON, "env"),
    T("env.json-integer", "an integer JSON input is its literal (42)", _JSON, "env"),
    T("env.json-number", "a number JSON input is its literal (2.5)", _JSON, "env"),
    T("env.json-boolean", "a boolean JSON input is its literal (false)", _JSON, "env"),
    T("env.json-object", "an object JSON input is compact JSON text", _JSON, "env"),
    T("env.json-array", "an array JSON input is compact JSON text", _JSON, "env"),
    T("env.settings", "every setting is its value verbatim ($, quotes and * untouched)", "spec 4.5", "env"),
    T("env.secret-setting", "a secret setting reaches the job intact", "spec 4.5", "env"),
    T("env.input-metadata", "INPUT_METADATA names a JSON file with JOB: the inputs given, file records",
      "contract: Environment injection (INPUT_METADATA)", "env"),
    T("command.expansion", "the command is expanded with Bash rules: splitting, quotes, ${V/#/p}, ${V:-w}",
      "spec 4.8; contract: Command", "env"),
    T("settings.secret-masked", "the secret's value appears nowhere in the result document", "spec 4.5",
      "env", judge="secret_masked"),
    # -- the file system (probe fs) -----------------------------------------------------------------------------
    T("fs.output-dir-writable", "files and folders can be created in OUTPUT_DIR", "spec 4.9", "fs"),
    T("fs.inputs-read-only", "input files cannot be written (read-only mounts)", _LAYOUT, "fs"),
    T("fs.input-folders-read-only", "nothing can be created in the inputs' folders", _LAYOUT, "fs"),
    T("fs.input-metadata-read-only", "the INPUT_METADATA file cannot be written", _LAYOUT, "fs"),
    T("fs.mount-ro", "a ro mount shows its files and cannot be written", "spec 4.6", "fs"),
    T("fs.mount-rw", "a rw mount shows its files and can be written", "spec 4.6", "fs"),
    T("fs.mount-default-ro", "a mount without a mode is read-only", "spec 3.10, 4.6", "fs"),
    # -- resources and limits (probes resources, oom) -----------------------------------------------------------
    T("resources.allocated-cpus", "ALLOCATED_CPUS has six decimals (0.500000)", _ALLOC, "resources"),
    T("resources.allocated-mem", "ALLOCATED_MEM is ceil(value + inputMultiplier x input MiB), an integer", _ALLOC,
      "resources"),
    T("resources.allocated-sharedmem", "ALLOCATED_SHAREDMEM is an integer (80)", _ALLOC, "resources"),
    T("resources.allocated-disk", "ALLOCATED_DISK is value + inputMultiplier x input MiB, six decimals", _ALLOC,
      "resources"),
    T("limits.memory", "the cgroup memory limit is ALLOCATED_MEM MiB", _LIMITS, "resources"),
    T("limits.no-extra-swap", "no swap beyond the memory limit", _LIMITS, "resources"),
    T("limits.cpu", "the cgroup CPU quota / period is ALLOCATED_CPUS", _LIMITS, "resources"),
    T("limits.shared-memory", "/dev/shm holds ALLOCATED_SHAREDMEM MiB (more than Docker's 64 MiB default)",
      "spec 4.7 (sharedMem)", "resources"),
    T("limits.out-of-memory", "a job past its memory is killed and the result says out-of-memory",
      "contract: Outcome", "oom", judge="out_of_memory"),
    # -- the timeout (probe timeout) ----------------------------------------------------------------------------
    T("timeout.enforced", "a job past its timeout is stopped and the result says timed-out",
      "spec 4.10; contract: Outcome", "timeout", judge="timed_out"),
    T("timeout.sigterm-first", "the job gets SIGTERM before SIGKILL, and its outputs are still captured",
      "contract: Outcome", "timeout", judge="sigterm_first"),
    # -- exit codes and errors (probe errors) -------------------------------------------------------------------
    T("errors.declared-exit-code", "a declared exit code fails the run with that error (name, title, category)",
      "spec 6, 3.12", "errors", "declared", judge="declared_error"),
    T("errors.default-category", "a declared error without a category is category job", "spec 3.12, 6",
      "errors", "default-category", judge="default_category"),
    T("errors.undeclared-exit-code", "an undeclared exit code fails the run with algorithm-unknown (job)",
      "spec 6; contract: Outcome", "errors", "undeclared", judge="undeclared_error"),
    T("errors.exit-code-before-capture", "a non-zero exit wins over a missing required output",
      "spec 6; contract: Outcome", "errors", "precedence", judge="exit_before_capture"),
    # -- output capture (probes outputs, capture) ---------------------------------------------------------------
    T("outputs.pattern-glob", "patterns are glob(7) relative to OUTPUT_DIR; a leading dot is not matched by *",
      _FILES, "outputs", judge="pattern_glob"),
    T("outputs.file-records", "each captured file has its size, sha256 and media type", _FILES, "outputs",
      judge="file_records"),
    T("outputs.multiple", "a multiple output captures every match, sorted", _FILES, "outputs", judge="multiple"),
    T("outputs.regular-files-only", "a directory that matches a pattern is not captured", _FILES, "outputs",
      judge="regular_files_only"),
    T("outputs.sidecars-not-outputs", "a *.metadata.json that matches a pattern is not captured as an output",
      _FILES, "outputs", judge="sidecars_not_outputs"),
    T("outputs.not-recursive", "* does not reach into subfolders; sub/*.dat does", _FILES, "outputs",
      judge="not_recursive"),
    T("outputs.optional-missing", "an optional output without a match is no failure", _FILES, "outputs",
      judge="optional_missing"),
    T("outputs.json-outputs", "seed.outputs.json members by key, typed; extra ones ignored, optional ones absent",
      "spec 5.2; contract: Outputs", "outputs", judge="json_outputs"),
    T("outputs.sidecar", "<file>.metadata.json is attached to its file as GeoJSON metadata",
      "spec 5.3; contract: Metadata sidecars", "outputs", judge="sidecar"),
    T("outputs.invalid-sidecar", "an invalid side-car is a warning naming it, not a failure",
      "spec 5.3; contract: Metadata sidecars", "outputs", judge="invalid_sidecar"),
    T("capture.missing-required-output", "a required output without a match fails the run "
      "(missing-required-output)", "spec 5.1, 6; contract: Outcome", "capture", "missing",
      judge="missing_required_output"),
    T("capture.unexpected-multiple-outputs", "two files for a single output fail the run "
      "(unexpected-multiple-outputs)", "spec 5.1, 6; contract: Outcome", "capture", "many",
      judge="unexpected_multiple_outputs"),
    T("capture.outputs-json-missing", "no seed.outputs.json with a required JSON output fails the run "
      "(invalid-outputs-json)", "spec 5.2; contract: Outcome", "capture", "nojson",
      judge="outputs_json_missing"),
    T("capture.outputs-json-wrong-type", "a JSON output of the wrong type fails the run (invalid-outputs-json)",
      "spec 5.2; contract: Outcome", "capture", "wrongtype", judge="outputs_json_wrong_type"),
)
del T

BY_ID = {test.id: test for test in TESTS}


def select(patterns: str | Iterable[str] | None = None) -> tuple[ConformanceTest, ...]:
    """The tests whose id matches any of ``patterns`` (all of them for None or none given): ``-k`` as `seed test`
    has it (``seed_runner.testing.selection``): a glob of the whole id (``env.json-*``), else a part of it."""
    return tuple(select_by_name(TESTS, patterns, lambda test: test.id))


def runs_of(tests: Iterable[ConformanceTest]) -> list[tuple[str, str]]:
    """The (probe, run) pairs the tests need, each once, in the catalog's order."""
    seen: dict[tuple[str, str], None] = {}
    for test in tests:
        seen.setdefault((test.probe, test.run), None)
    return list(seen)


def markdown_table(tests: Iterable[ConformanceTest] = TESTS) -> str:
    """The docs' table of the tests (docs/how-to/conformance.md) (one row each: id, what it checks, where, rule)."""
    rows = ["| id | checks | judged | rule |", "|---|---|---|---|"]
    rows += [f"| `{t.id}` | {t.description.replace('|', '/')} | {t.where} | {t.rule} |" for t in tests]
    return "\n".join(rows)

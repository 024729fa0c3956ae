"""Slurm's own commands, run for the Slurm executor: ``sbatch``, ``squeue``, ``scontrol``, ``scancel``.

Why the commands and not a library: they are what every Slurm cluster has, at the version its daemons speak
(pyslurm must be built against the cluster's own headers and changes with each Slurm release; the REST daemon
slurmrestd is often not run). Each call is one short process; the executor makes few of them (one ``sbatch``
for a whole batch of alike runs, one ``squeue`` every few seconds for every job it watches).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Iterable, Sequence

from ..errors import SeedRunnerError
from .slurm_parse import job_id, node_sizes_of, scontrol_fields, squeue_states

if TYPE_CHECKING:
    from .base import Footprint

COMMAND_SECONDS = 60.0
"""A Slurm command that takes longer than this is given up (a controller that does not answer)."""


class SlurmError(SeedRunnerError):
    """Slurm cannot be reached, or refused what was asked (a command failed): one line, exit 4."""

    exit_status = 4


class SlurmRefused(SlurmError):
    """sbatch refused the job as asked (a partition that does not exist, more than any node has): usage."""

    exit_status = 2


def _run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = COMMAND_SECONDS) -> str:
    if shutil.which(argv[0]) is None:
        raise SlurmError(f"{argv[0]} is not on the PATH: run on a machine of the Slurm cluster (a login node), or "
                         "install Slurm's client commands (Debian: slurm-client)")
    try:
        done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "SLURM_TIME_FORMAT": "standard"})
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{argv[0]} did not answer within {timeout:g} s; is slurmctld running? (sinfo)") from None
    except OSError as exc:
        raise SlurmError(f"cannot run {argv[0]} ({exc.strerror})") from None
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout).split())[:400]
        raise SlurmError(f"{argv[0]} failed (exit status {done.returncode}){': ' + said if said else ''}")
    return done.stdout


def sbatch(options: Sequence[str], script: str) -> str:
    """Submit ``script`` (given on sbatch's standard input: no script file is left anywhere) with ``options``;
    returns the job id. A refusal of the request itself (an unknown partition, resources no node has) is a
    ``SlurmRefused``."""
    try:
        return job_id(_run(["sbatch", "--parsable", *options], stdin=script))
    except SlurmRefused:
        raise
    except SlurmError as exc:
        text = str(exc)
        if any(word in text for word in ("Invalid", "invalid", "not available", "Requested node configuration",
                                          "More processors", "Memory specification", "does not exist")):
            raise SlurmRefused(text) from None
        raise


def sbatch_wait(options: Sequence[str], script: str, timeout: float) -> None:
    """Submit ``script`` and wait for the job to end (``sbatch --wait``); SlurmError when it fails or is not
    done within ``timeout`` s (it is then cancelled)."""
    _run(["sbatch", "--wait", "--quiet", *options], stdin=script, timeout=timeout)


def squeue(jobs: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The state and reason of each task of these jobs that Slurm still knows (ended ones too, for
    ``MinJobAge`` seconds); a job it forgot is absent."""
    wanted = sorted(set(jobs))
    if not wanted:
        return {}
    states: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 500):  # the command line stays short
        chunk = ",".join(wanted[start:start + 500])
        try:
            text = _run(["squeue", "-h", "-r", "--states=all", "-j", chunk, "-o", "%i|%T|%r"])
        except SlurmError as exc:
            if "Invalid job id" in str(exc):  # every job of the chunk forgotten
                continue
            raise
        states.update(squeue_states(text))
    return states


def show_job(job: str) -> dict[str, str] | None:
    """``scontrol show job`` of one job (or array task ``JOB_TASK``) as {key: value}; None when Slurm forgot it."""
    try:
        return scontrol_fields(_run(["scontrol", "-o", "show", "job", job]))
    except SlurmError as exc:
        if "Invalid job id" in str(exc):
            return None
        raise


def scancel(jobs: Iterable[str]) -> None:
    """Cancel these jobs (or array tasks); one that has ended meanwhile is no error."""
    wanted = sorted(set(jobs))
    for start in range(0, len(wanted), 500):
        try:
            _run(["scancel", *wanted[start:start + 500]])
        except SlurmError as exc:
            if "Invalid job id" not in str(exc) and "already completing or completed" not in str(exc):
                raise


def max_array_size() -> int:
    """The cluster's ``MaxArraySize`` (an array's indexes are below it); 1001, Slurm's default, when unknown."""
    try:
        for line in _run(["scontrol", "show", "config"]).splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "MaxArraySize" and value.strip().isdigit():
                return max(1, int(value.strip()))
    except SlurmError:
        pass
    return 1001


def sbatch_test(options: Sequence[str]) -> None:
    """Ask sbatch whether it would take a job with ``options`` (``--test-only``: nothing is submitted); Slurm
    not answering is a SlurmError, options it refuses (an unknown partition, account or QOS) SlurmRefused."""
    try:
        _run(["sbatch", "--test-only", "--job-name=seed-runner-test", *options], stdin="#!/bin/sh\ntrue\n")
    except SlurmError as exc:
        if "(exit status 1)" in str(exc) and "error" in str(exc).lower() and "Unable to contact" not in str(exc):
            raise SlurmRefused(str(exc)) from None
        raise


def node_sizes(options: Sequence[str]) -> dict[str, "Footprint"]:
    """{node: what it has} for the nodes of the partition the options name (every node's when none)."""
    partition = next((o.split("=", 1)[1] for o in options if o.startswith("--partition=")), None)
    argv = ["sinfo", "-h", "-N", "-o", "%N|%c|%m|%G", *([f"--partition={partition}"] if partition else [])]
    from .base import Footprint

    return {node: Footprint(*size) for node, size in node_sizes_of(_run(argv)).items()}

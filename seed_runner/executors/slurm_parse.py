"""What the Slurm executor says to Slurm and reads back from it, as text: pure (no command is run here).

- ``sbatch_resources``: a run's ``sbatch`` options from what it declares (``--cpus-per-task``, ``--mem``,
  ``--gres=gpu:N``) and its timeout (``--time``, with a margin for the set-up and the harvest);
- ``job_id``: the job id ``sbatch --parsable`` prints;
- ``squeue_states``: ``squeue -h -r -o '%i|%T|%r'`` as {job id: (state, reason)}, array tasks as ``JOB_TASK``;
- ``scontrol_fields``: one ``scontrol -o show job`` record as {key: value};
- ``verdict``: what a job's end state means for its run (a state Slurm ended it with, named with its reason).

Every parser takes hostile text (a command's output on a cluster we do not control) and either understands it or
raises ``SlurmParseError``, a one-line error; never anything else.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Mapping

from ..errors import SeedRunnerError

MIN_MARGIN_SECONDS = 120.0
"""What a job's time limit adds to the run's own timeout at least: the wrapper's start, the image check, the
harvest and the result's writing."""

ENDED = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
                   "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED"})
"""Job states after which nothing of the job runs any more."""
KILLED = {
    "TIMEOUT": "its time limit ran out",
    "NODE_FAIL": "its node failed (slurmd stopped answering)",
    "PREEMPTED": "it was preempted",
    "BOOT_FAIL": "its node failed to boot",
    "DEADLINE": "its deadline passed",
    "OUT_OF_MEMORY": "it ran out of the memory Slurm gave it",
    "REVOKED": "it was revoked (a federated sibling started)",
}
"""End states in which Slurm, not the run, ended the job: the run is lost (a system error, retried)."""

_ID = re.compile(r"[0-9]+(?:_[0-9]+)?")
_STATE = re.compile(r"[A-Z_]+")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9/:_.]*=")


class SlurmParseError(SeedRunnerError):
    """A Slurm command printed something the executor does not understand."""

    exit_status = 4


def time_limit(timeout: float | None, margin: float | None = None) -> str | None:
    """``--time`` for a run with ``timeout`` seconds (None or 0: no limit, so none asked: the partition's
    default applies), in whole minutes (Slurm's unit) rounded up, with ``margin`` seconds more (default: a
    tenth of the timeout, at least ``MIN_MARGIN_SECONDS``)."""
    if timeout is None or not timeout > 0 or math.isinf(timeout):
        return None
    extra = max(MIN_MARGIN_SECONDS, timeout / 10) if margin is None else max(0.0, margin)
    return str(max(1, math.ceil((timeout + extra) / 60)))


def sbatch_resources(cpus: float, mem: float, gpus: float, timeout: float | None,
                     margin: float | None = None) -> list[str]:
    """The resource options of a run's job: whole CPUs (at least 1), MiB of memory (when declared), whole
    GPUs (when declared), and the time limit (when the run has a timeout)."""
    options = [f"--cpus-per-task={max(1, math.ceil(cpus - 1e-9))}"]
    if mem > 0:
        options.append(f"--mem={max(1, math.ceil(mem - 1e-9))}M")
    if gpus > 0:
        options.append(f"--gres=gpu:{math.ceil(gpus - 1e-9)}")
    limit = time_limit(timeout, margin)
    if limit is not None:
        options.append(f"--time={limit}")
    return options


def job_id(text: str) -> str:
    """The job id in ``sbatch --parsable``'s output (``ID`` or ``ID;CLUSTER``)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = lines[-1].split(";")[0].strip() if lines else ""
    if not first.isdigit() or not first.isascii():
        raise SlurmParseError(f"sbatch printed no job id ({_shown(text)})")
    return first


def squeue_states(text: str) -> dict[str, tuple[str, str]]:
    """{job id (``JOB`` or ``JOB_TASK``): (state, reason)} from ``squeue -h -r -o '%i|%T|%r'``. A pending
    array's line that squeue folds (``12_[3-9]``) is skipped: its tasks are pending, which is what the executor
    assumes of a task it does not see."""
    states: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.strip().split("|")
        if len(parts) < 2:
            raise SlurmParseError(f"squeue printed a line that is not ID|STATE|REASON ({_shown(line)})")
        ident, state = parts[0].strip(), parts[1].strip()
        if "[" in ident:  # the pending rest of an array, folded: said of the array itself
            states.setdefault(ident.split("_")[0], (state, "|".join(parts[2:]).strip()))
            continue
        if not _ID.fullmatch(ident) or not _STATE.fullmatch(state):
            raise SlurmParseError(f"squeue printed a line that is not ID|STATE|REASON ({_shown(line)})")
        states[ident] = (state, "|".join(parts[2:]).strip())
    return states


def node_sizes_of(text: str) -> dict[str, tuple[float, float, float]]:
    """{node: its CPUs, memory (MiB) and GPUs} from ``sinfo -h -N -o '%N|%c|%m|%G'`` (a node in several
    partitions is listed once a partition: the same size)."""
    nodes: dict[str, tuple[float, float, float]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.strip().split("|")
        if len(parts) != 4 or not parts[1].strip().isdigit() or not parts[2].strip().rstrip("+").isdigit():
            raise SlurmParseError(f"sinfo printed a line that is not NODE|CPUS|MEMORY|GRES ({_shown(line)})")
        gpus = 0
        for gres in parts[3].split(","):
            fields = gres.split("(")[0].split(":")
            if fields[0] == "gpu" and len(fields) > 1 and fields[-1].isdigit():
                gpus += int(fields[-1])
        nodes[parts[0].strip()] = (float(parts[1]), float(parts[2].strip().rstrip("+")), float(gpus))
    return nodes


def scontrol_fields(text: str) -> dict[str, str]:
    """One ``scontrol -o show job`` record as {key: value}; a value may hold spaces (``Command=a b``)."""
    line = next((item for item in text.splitlines() if item.strip()), "").strip()
    fields: dict[str, str] = {}
    key: str | None = None
    for token in line.split(" "):
        match = _KEY.match(token)
        if match:
            key = match.group()[:-1]
            fields[key] = token[match.end():]
        elif key is not None:
            fields[key] += " " + token
        elif token:
            raise SlurmParseError(f"scontrol printed a record that is not KEY=VALUE ... ({_shown(line)})")
    if "JobState" not in fields:
        raise SlurmParseError(f"scontrol printed no job state ({_shown(line)})")
    return fields


def verdict(job: str, state: str, reason: str = "") -> str | None:
    """The message of a run whose job Slurm ended (``KILLED``), naming Slurm's state and reason; None for any
    other state."""
    base = state.split()[0] if state else ""
    why = KILLED.get(base)
    if why is None:
        return None
    said = f", {reason}" if reason and reason not in ("None", "(null)", base) else ""
    return f"Slurm ended job {job} ({base}{said}): {why}; the run did not finish"


def exported(names: Iterable[str], environment: Mapping[str, str]) -> str:
    """``--export``'s value: the names of the variables the job needs that are set here (only names: Slurm
    reads their values from sbatch's environment). Never ALL: a secret in this environment stays out of the
    job's record."""
    chosen = [name for name in dict.fromkeys(names) if name in environment and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*",
                                                                                          name)]
    return ",".join(chosen) or "NONE"


def _shown(text: str, limit: int = 120) -> str:
    text = text.strip().replace("\n", " | ")
    return repr(text if len(text) <= limit else text[:limit] + "...")

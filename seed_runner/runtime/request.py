"""What a user asks for: the run request, as `seed run`'s options give it (pure data; ``plan.make_plan`` checks it
against a manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

DEFAULT_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class RunRequest:
    """What the user asks for (`seed run`'s options); names may be written in any case or with '-' (they are
    normalized). Only ``image`` is required::

        RunRequest("image-watermark-0.1.0-seed:0.1.0", file_inputs={"INPUT_IMAGE": ["input.png"]})
    """

    image: str
    """The job's image reference (its manifest is read from its label)."""
    file_inputs: Mapping[str, Sequence[str | Path]] = field(default_factory=dict)
    """File inputs by name: a list of paths (or URLs) each; more than one for a ``multiple`` input."""
    json_inputs: Mapping[str, Any] = field(default_factory=dict)
    """Parsed JSON values (use ``parse_json_input`` for command-line text)."""
    settings: Mapping[str, str] = field(default_factory=dict)
    """Setting values by name (secret ones are masked in everything written)."""
    mounts: Mapping[str, str | Path] = field(default_factory=dict)
    """Host folders by mount name."""
    resources: Mapping[str, float] = field(default_factory=dict)
    """Overrides of the final allocation, by resource name."""
    run_dir: str | Path | None = None
    """The run folder: None (default) for a new one, ``./seed-runs/JOB-STAMP-RUNID`` (its suffix is the run's id);
    else this folder, which must be new or empty. (``""`` and ``"."`` also mean a new one, as they did before.)"""
    timeout: float | None = None
    """Seconds; None: the manifest's. 0: no limit."""
    grace_period: float = DEFAULT_GRACE_SECONDS
    user: str | None = "invoker"
    """"invoker" (this process's uid:gid), "image" (the image's own user), or "UID[:GID]"."""
    network: str | None = None
    run_id: str | None = None
    label: str | None = None
    """A name given by the user (`seed run --name`), kept in the run store."""
    batch_id: str | None = None
    """The batch this run belongs to (`seed batch`), kept in the run store."""
    pipeline_id: str | None = None
    """The pipeline this run belongs to (`seed pipeline run`), kept in the run store."""
    input_runs: tuple[str, ...] = ()
    """The runs whose outputs this run reads (a pipeline's, or a future's), kept in the run store."""
    executor_job: str | None = None
    """Where an executor placed this run (``slurm:JOB_TASK``), kept in the run store from the run's start, so
    that `seed runs` shows it while the run goes; executors set it, users need not."""
    read_only_mounts: Sequence[str] = ()
    """Mounts (by name) given read-only whatever mode the manifest declares: `seed test` mounts a case's host
    folders so, since a case file may come from a stranger."""

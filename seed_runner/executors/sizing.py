"""How much of a machine a run holds (its declared allocations), and how much a machine has.

The allocations are the plan's (``make_plan``: the manifest's scalars, ``inputMultiplier`` times the inputs'
size, the request's overrides), so the packing counts exactly what the engine is told to limit. A request the
plan refuses counts as nothing: the run itself is refused with the plan's problems.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .base import Footprint

if TYPE_CHECKING:
    from ..manifest.model import Manifest
    from ..runtime.plan import RunRequest

_MIB = 1048576


def footprint(manifest: "Manifest", request: "RunRequest", image_env: Any = None) -> Footprint:
    from ..runtime.plan import PlanError, make_plan

    try:  # the run folder is not touched by planning; any path does
        plan = make_plan(manifest, replace(request, run_dir="/seed-runner-sizing"), image_env=image_env)
    except PlanError:
        return Footprint()
    return Footprint.of(plan.allocations)


def host_capacity(engine: Any) -> Footprint:
    """The engine's host: its CPUs and memory (``GET /info``); no GPUs unless told (``--gpus``)."""
    info = engine.info()
    return Footprint(cpus=float(info.get("NCPU") or 0), mem=float(info.get("MemTotal") or 0) / _MIB)


class ManifestCache:
    """The manifest of each image an executor is given (its label, read once an image; thread-safe)."""

    def __init__(self, engine_factory: Any) -> None:
        self._engine_factory = engine_factory
        self._lock = threading.Lock()
        self._known: dict[str, tuple["Manifest", Any]] = {}

    def get(self, reference: str) -> tuple["Manifest", Any] | None:
        """(manifest, image environment), or None when the image or its label cannot be read (the run says
        why)."""
        with self._lock:
            if reference in self._known:
                return self._known[reference]
        from ..errors import SeedRunnerError
        from ..runtime.runner import label_manifest
        from ..engine.images import inspect_image

        try:
            image = inspect_image(self._engine_factory(), reference)
            found = (label_manifest(image), image.env)
        except SeedRunnerError:
            return None
        with self._lock:
            self._known[reference] = found
        return found

"""Removing the containers of a run whose runner died (a server killed while its jobs ran)."""

from __future__ import annotations

import logging

log = logging.getLogger("seed_runner.service")


def remove_containers(run_id: str, attempts: int = 3) -> bool:
    """Remove the container of a run whose runner died (the engine's, found by its run label); True when none is
    left. A slow engine (a loaded machine) is given several tries; what is still there is logged, and `seed
    cleanup` removes it later."""
    try:
        from ..engine.images import connect
        from ..engine.runner_identity import RUN_LABEL

        engine = connect(timeout=60)
        for _ in range(attempts):
            left = engine.list_containers(f"{RUN_LABEL}={run_id}")
            if not left:
                return True
            for container in left:
                try:
                    engine.remove(container["Id"], limit=60)  # force: a running container is killed first
                except Exception:  # noqa: BLE001 - gone meanwhile, or the engine was slow: listed again
                    pass
        if not engine.list_containers(f"{RUN_LABEL}={run_id}"):
            return True
    except Exception as exc:  # noqa: BLE001 - no engine: `seed cleanup` removes it later
        log.warning("the container of run %s could not be removed (%s); seed cleanup removes it", run_id,
                    type(exc).__name__)
        return False
    log.warning("the container of run %s could not be removed; seed cleanup removes it", run_id)
    return False

"""Removing the containers of a run whose runner died (a server killed while its jobs ran)."""

from __future__ import annotations


def remove_containers(run_id: str) -> None:
    """Remove the container of a run whose runner died (the engine's, found by its run label)."""
    try:
        from ..engine.images import connect
        from ..engine.runner_identity import RUN_LABEL

        engine = connect(timeout=30)
        for container in engine.list_containers(f"{RUN_LABEL}={run_id}"):
            try:
                engine.remove(container["Id"], limit=30)  # force: a running container is killed first
            except Exception:  # noqa: BLE001 - gone meanwhile
                pass
    except Exception:  # noqa: BLE001 - no engine: `seed cleanup` removes it later
        pass

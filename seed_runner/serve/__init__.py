"""`seed serve` as a library: ``create_app(settings)`` is the ASGI application (mount it in any ASGI server),
``ServeSettings`` its configuration, ``read_config`` the server's configuration file (settings and mounts by
process). Needs the serve extra: ``pip install 'seed-runner[serve]'``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..service.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app", "read_config"]


def read_config(path: str | Path) -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """``{"processes": {"ID": {"settings": {"NAME": "value"}, "mounts": {"NAME": "/host/path"}}}}``: what each
    process's jobs get (secrets stay here: no response, page or log shows them). ValueError naming the problem."""
    try:
        document: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    processes = document.get("processes") if isinstance(document, dict) else None
    if not isinstance(processes, dict):
        raise ValueError(f"{path}: write {{\"processes\": {{\"ID\": {{\"settings\": {{...}}, \"mounts\": {{...}}}}}}}}")
    for process_id, entry in processes.items():
        if not isinstance(entry, dict) or set(entry) - {"settings", "mounts"}:
            raise ValueError(f"{path}: process {process_id}: only \"settings\" and \"mounts\" are taken")
        for kind in ("settings", "mounts"):
            values = entry.get(kind) or {}
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise ValueError(f"{path}: process {process_id}: {kind} must map names to texts")
    return processes

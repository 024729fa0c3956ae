"""The run store: every `seed run` recorded in an embedded SQLite database (WAL) that indexes run folders.

``RunStore.open(path=None)`` (default ``$SEED_HOME/runs.sqlite3``, else the user's data folder), ``list``,
``get`` (an id or a unique prefix), ``remove``, ``prune``; ``recording`` is the runner's side (start and end of
a run, never raising); ``history`` the views of the records (a dead runner's run, logs, rerun).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runstore import RunNotFound, RunStore, StoreError, default_path

__all__ = ["RunNotFound", "RunStore", "StoreError", "default_path"]


def __getattr__(name: str) -> Any:
    """The names of ``runstore``, imported on first use: `seed run` imports ``recording`` on its way to the
    container, and the store itself only in the thread that records the start."""
    if name in __all__:
        from . import runstore

        return getattr(runstore, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

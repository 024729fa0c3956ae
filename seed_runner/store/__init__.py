"""The run store: every `seed run` recorded in an embedded SQLite database (WAL) that indexes run folders.

``RunStore.open(path=None)`` (default ``$SEED_HOME/runs.sqlite3``, else the user's data folder), ``list``,
``get`` (an id or a unique prefix), ``remove``, ``prune``; ``recording`` is the runner's side (start and end of
a run, never raising); ``history`` the views of the records (a dead runner's run, logs, rerun).
"""

from .runstore import RunNotFound, RunStore, StoreError, default_path

__all__ = ["RunNotFound", "RunStore", "StoreError", "default_path"]

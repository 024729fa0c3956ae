"""RunStore: the run history, an embedded SQLite database (WAL) that indexes run folders.

The run folder stays the source of truth for outputs and logs; a row holds what a listing, a filter and a rerun
need. Every write is one short transaction; readers never block writers (WAL), writers wait for each other
(busy_timeout). sqlite3 is imported only when a store is opened.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import SeedRunnerError

SCHEMA_VERSION = 3  # 2: cache_key and cached_from (the result cache), the meta table (the secret salt)
# 3: executor_job (where an executor ran the run: "slurm:JOB_TASK")
STORE_FILE = "runs.sqlite3"
BUSY_TIMEOUT_MS = 10000  # 20 runners ending at once wait a few ms (more on a loaded CI machine); a stuck lock
# holds a run 10 s at most, then the run says it was not recorded

_COLUMNS = (
    "id", "label", "image", "digest", "job_name", "job_version", "package_version", "status", "exit_code",
    "error_name", "error_category", "created", "started", "finished", "duration", "run_dir", "inputs",
    "json_inputs", "settings", "resources", "request", "batch_id", "runner_pid", "runner_host", "runner_boot",
    "runner_lock", "runner_start", "runner_pidns", "recorded_at", "cache_key", "cached_from", "executor_job",
)
_BRIEF = ("id", "label", "image", "job_name", "job_version", "status", "duration", "run_dir", "recorded_at",
          "runner_pid", "runner_boot", "runner_lock", "runner_start", "runner_pidns", "cached_from", "executor_job")
_JSON_COLUMNS = ("inputs", "json_inputs", "settings", "resources", "request")
_CACHE_SCHEMA = """
CREATE INDEX IF NOT EXISTS runs_cache ON runs (cache_key, recorded_at) WHERE cache_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, label TEXT, image TEXT, digest TEXT, job_name TEXT, job_version TEXT,
    package_version TEXT, status TEXT NOT NULL, exit_code INTEGER, error_name TEXT, error_category TEXT,
    created TEXT, started TEXT, finished TEXT, duration REAL, run_dir TEXT, inputs TEXT, json_inputs TEXT,
    settings TEXT, resources TEXT, request TEXT, batch_id TEXT, runner_pid INTEGER, runner_host TEXT,
    runner_boot TEXT, runner_lock TEXT, runner_start TEXT, runner_pidns TEXT, recorded_at REAL NOT NULL,
    cache_key TEXT, cached_from TEXT, executor_job TEXT
);
CREATE INDEX IF NOT EXISTS runs_recorded ON runs (recorded_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, recorded_at);
{_CACHE_SCHEMA}
"""
# How a store of each older version becomes the current one (in one transaction, with user_version).
_MIGRATIONS = {
    1: "ALTER TABLE runs ADD COLUMN cache_key TEXT; ALTER TABLE runs ADD COLUMN cached_from TEXT;" + _CACHE_SCHEMA,
    2: "ALTER TABLE runs ADD COLUMN executor_job TEXT;",
}
SALT_NAME = "secret-salt"
assert len(_COLUMNS) == 32


class StoreError(SeedRunnerError):
    """The run store is missing, locked, corrupt or of a newer version: one line saying which."""

    exit_status = 4


class RunNotFound(StoreError):
    exit_status = 2


def default_path() -> Path:
    """``$SEED_HOME/runs.sqlite3``, else the user's data folder (platformdirs) for seed-runner."""
    home = os.environ.get("SEED_HOME")
    if home:
        return Path(home) / STORE_FILE
    if sys.platform == "linux":  # platformdirs' own rule there, without its import on every run (~5 ms)
        data = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
        return Path(data) / "seed-runner" / STORE_FILE
    from platformdirs import user_data_dir

    return Path(user_data_dir("seed-runner", appauthor=False)) / STORE_FILE


def _describe(exc: Exception, path: Path) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the run store {path} is locked by another process ({text})"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"the run store {path} is corrupt ({text}); move it away to start a new one"
    return f"the run store {path} cannot be used ({text})"


class RunStore:
    """One SQLite file of run records. ``RunStore.open(path)``; ``path`` None: the default (``SEED_HOME``)."""

    def __init__(self, path: Path, connection: Any) -> None:
        self.path = path
        self._db = connection

    # -- opening ------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path | None = None, *, create: bool = True, timeout_ms: int = BUSY_TIMEOUT_MS
             ) -> "RunStore":
        import sqlite3

        path = Path(path) if path is not None else default_path()
        if not create and not path.exists():
            raise StoreError(f"no run store at {path} yet: no run has been recorded")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # the owner's alone (its -wal and -shm files take the same mode)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            db = sqlite3.connect(str(path), timeout=timeout_ms / 1000, isolation_level=None,
                                 check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(_describe(exc, path)) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"the run store {path} is of a newer seed-runner (schema {version}); upgrade")
            if version < SCHEMA_VERSION:
                db.execute("BEGIN IMMEDIATE")
                try:
                    version = db.execute("PRAGMA user_version").fetchone()[0]  # another runner may have done it
                    steps = [_SCHEMA] if version == 0 else [_MIGRATIONS[v] for v in range(version, SCHEMA_VERSION)]
                    for statement in filter(str.strip, ";".join(steps).split(";")):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            _ensure_wal(db, timeout_ms)
            db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(_describe(exc, path)) from None
        except BaseException:
            db.close()
            raise
        return cls(path, db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        import sqlite3

        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                count = self._db.execute(sql, tuple(params)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return count
        except sqlite3.Error as exc:
            raise StoreError(_describe(exc, self.path)) from None

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        import sqlite3

        try:
            cursor = self._db.execute(sql, tuple(params))
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except sqlite3.Error as exc:
            raise StoreError(_describe(exc, self.path)) from None
        records = []
        for row in rows:
            record = dict(zip(names, row))
            for name in _JSON_COLUMNS:
                if isinstance(record.get(name), str):
                    record[name] = json.loads(record[name])
            records.append(record)
        return records

    # -- writing ------------------------------------------------------------------------------------------

    def record_started(self, record: dict[str, Any]) -> None:
        """A run about to start its container: status ``running``, with its runner's identity."""
        values = {name: record.get(name) for name in _COLUMNS}
        values["status"] = values["status"] or "running"
        values["recorded_at"] = values["recorded_at"] or time.time()
        for name in _JSON_COLUMNS:
            if values[name] is not None:
                values[name] = json.dumps(values[name], sort_keys=True)
        self._write(f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                    values.values())

    def record_finished(self, document: dict[str, Any], started: dict[str, Any] | None = None) -> None:
        """The end of a run, from its result document (inserts the whole row when no start was recorded)."""
        timings = document.get("timings") or {}
        error = document.get("error") or {}
        finish = {
            "status": document.get("status"), "exit_code": document.get("exit_code"),
            "error_name": error.get("name") or error.get("code"), "error_category": error.get("category"),
            "created": timings.get("created"), "started": timings.get("started"),
            "finished": timings.get("finished"), "duration": timings.get("duration_seconds"),
            "cached_from": document.get("cached_from"),
        }
        if started is None:
            job = document.get("job") or {}
            started = {"id": document.get("run_id"), "image": (document.get("image") or {}).get("reference"),
                       "job_name": job.get("name"), "job_version": job.get("jobVersion"),
                       "package_version": job.get("packageVersion"), "run_dir": document.get("run_dir"),
                       "resources": document.get("resources")}
            self.record_started({**started, **finish})
            return
        sets = ", ".join(f"{name} = ?" for name in finish)
        if not self._write(f"UPDATE runs SET {sets} WHERE id = ?", [*finish.values(), document.get("run_id")]):
            self.record_started({**started, **finish})

    # -- reading ------------------------------------------------------------------------------------------

    def list(self, *, status: str | None = None, job: str | None = None, since: float | None = None,
             limit: int | None = None, brief: bool = False, batch: str | None = None) -> list[dict[str, Any]]:
        """Records, newest first; ``since`` is a Unix time; ``job`` matches the job name or the image; ``batch``
        a batch id (or a unique prefix of one, as run ids);
        ``status`` ``cached`` the successes taken from the result cache (``succeeded`` the others);
        ``brief``: only the members a listing shows (and that judge a running record), not the JSON ones."""
        return self._read(*self.query(", ".join(_BRIEF) if brief else "*", status=status, job=job, since=since,
                                      limit=limit, batch=batch))

    @staticmethod
    def query(columns: str, *, status: str | None = None, job: str | None = None, since: float | None = None,
              limit: int | None = None, batch: str | None = None) -> tuple[str, list[Any]]:
        """(SQL, parameters) selecting ``columns`` of the records that match, newest first."""
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append("succeeded" if status == "cached" else status)
            if status in ("succeeded", "cached"):  # a cached run is shown as such, and only as such
                where.append(f"cached_from IS {'NOT ' if status == 'cached' else ''}NULL")
        if job:
            where.append("(job_name = ? OR image = ?)")
            params += [job, job]
        if since is not None:
            where.append("recorded_at >= ?")
            params.append(since)
        if batch:  # a prefix, as run ids are abbreviated: a range, so the comparison stays exact
            where.append("batch_id >= ? AND batch_id < ?")
            params += [batch.lower(), batch.lower() + "\uffff"]
        sql = f"SELECT {columns} FROM runs"
        sql += " WHERE " + " AND ".join(where) if where else ""
        sql += " ORDER BY recorded_at DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return sql, params

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Raw rows of a query (``query``), nothing decoded: for listings that pass the stored text through."""
        import sqlite3

        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(_describe(exc, self.path)) from None

    def cache_origins(self, key: str, limit: int = 5) -> list[dict[str, Any]]:
        """The newest runs with this cache key that succeeded by running (never a cached run itself)."""
        return self._read("SELECT id, run_dir FROM runs WHERE cache_key = ? AND status = 'succeeded' AND "
                          "cached_from IS NULL ORDER BY recorded_at DESC LIMIT ?", [key, limit])

    def secret_salt(self) -> bytes:
        """This store's random salt for hashing secret values into cache keys (made on first use; never leaves
        the store, so a key made here says nothing about a secret to anyone without the store)."""
        rows = self._read("SELECT value FROM meta WHERE name = ?", [SALT_NAME])
        if not rows:
            self._write("INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", [SALT_NAME, os.urandom(32).hex()])
            rows = self._read("SELECT value FROM meta WHERE name = ?", [SALT_NAME])
        return bytes.fromhex(rows[0]["value"])

    def get(self, prefix: str) -> dict[str, Any]:
        """The record whose id starts with ``prefix`` (as git abbreviates); RunNotFound when none or several."""
        prefix = prefix.strip().lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            raise RunNotFound(f"{prefix!r} is not a run id (hexadecimal digits)")
        rows = self._read("SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 11",
                          [prefix, prefix + "g"])
        if not rows:
            raise RunNotFound(f"no run {prefix!r} in the run store {self.path}")
        if len(rows) > 1:
            shown = ", ".join(r["id"] for r in rows[:10])
            raise RunNotFound(f"run id {prefix!r} is ambiguous: {shown}{', ...' if len(rows) > 10 else ''}; "
                              "give more digits")
        return rows[0]

    def count(self) -> int:
        return self._read("SELECT count(*) AS n FROM runs")[0]["n"]

    # -- removing -----------------------------------------------------------------------------------------

    def remove(self, run_id: str, *, folder: bool = True) -> None:
        """The record, and (``folder``) its run folder."""
        record = self._read("SELECT id, run_dir FROM runs WHERE id = ?", [run_id])
        if folder and record and record[0]["run_dir"]:
            run_dir = Path(record[0]["run_dir"])
            if run_dir.is_dir() and not run_dir.is_symlink():
                shutil.rmtree(run_dir)
        self._write("DELETE FROM runs WHERE id = ?", [run_id])

    def prune(self, older_than_seconds: float, *, keep_failed: bool = False, now: float | None = None
              ) -> list[dict[str, Any]]:
        """Remove the runs recorded more than ``older_than_seconds`` ago (never a running one); returns them."""
        cutoff = (now if now is not None else time.time()) - older_than_seconds
        sql = "SELECT id, run_dir, status FROM runs WHERE recorded_at < ? AND status != 'running'"
        if keep_failed:
            sql += " AND status = 'succeeded'"
        removed = self._read(sql, [cutoff])
        for record in removed:
            self.remove(record["id"])
        return removed


def _ensure_wal(db: Any, timeout_ms: int) -> None:
    """Switch a new store to WAL (it stays so in the file). The switch takes no busy handler: when several
    runners open a new store at once, the losers see "database is locked" at once, so retry until the winner's
    switch shows, within the busy timeout."""
    import sqlite3

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)

"""RunStore: the run history, an embedded SQLite database (WAL) that indexes run folders.

The run folder stays the source of truth for outputs and logs; a row holds what a listing, a filter and a rerun
need. Every write is one short transaction; readers never block writers (WAL), writers wait for each other
(busy_timeout). sqlite3 is imported only when a store is opened.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import SeedRunnerError
from .schema import _BRIEF, _COLUMNS, _JSON_COLUMNS, _MIGRATIONS, _SCHEMA, SCHEMA_VERSION

STORE_FILE = "runs.sqlite3"
BUSY_TIMEOUT_MS = 10000  # 20 runners ending at once wait a few ms (more on a loaded CI machine); a stuck lock
# holds a run 10 s at most, then the run says it was not recorded
SALT_NAME = "secret-salt"
_ADDED_COLUMN = re.compile(r"\s*ALTER TABLE runs ADD COLUMN (\w+)")


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
    if "readonly" in text or "read-only" in text:
        return f"the run store {path} is read-only here ({text}); only listing it works (seed runs, runs show)"
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
        if not create and not _writable(path):  # a store on a read-only disk, or another user's: read it as it is
            return cls(path, _open_read_only(path))
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
                    # A column already there (a store a build with other step numbers touched) is not added twice.
                    present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
                    for statement in filter(str.strip, ";".join(steps).split(";")):
                        added = _ADDED_COLUMN.match(statement)
                        if added is None or added[1] not in present:
                            db.execute(statement)
                    present = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
                    for name in (n for n in _COLUMNS if n not in present):  # a step another build numbered past
                        db.execute(f"ALTER TABLE runs ADD COLUMN {name} TEXT")
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

    def record_finished(self, document: dict[str, Any], started: dict[str, Any] | None = None,
                        cache_record: dict[str, Any] | None = None) -> None:
        """The end of a run, from its result document (inserts the whole row when no start was recorded);
        ``cache_record``: what the result cache checks when this run is an origin (``result_cache``)."""
        timings = document.get("timings") or {}
        error = document.get("error") or {}
        finish = {
            "status": document.get("status"), "exit_code": document.get("exit_code"),
            "error_name": error.get("name") or error.get("code"), "error_category": error.get("category"),
            "created": timings.get("created"), "started": timings.get("started"),
            "finished": timings.get("finished"), "duration": timings.get("duration_seconds"),
            "cached_from": document.get("cached_from"),
        }
        if cache_record is not None:
            finish["cache_record"] = cache_record
        if started is None:
            job = document.get("job") or {}
            started = {"id": document.get("run_id"), "image": (document.get("image") or {}).get("reference"),
                       "job_name": job.get("name"), "job_version": job.get("jobVersion"),
                       "package_version": job.get("packageVersion"), "run_dir": document.get("run_dir"),
                       "resources": document.get("resources")}
            self.record_started({**started, **finish})
            return
        sets = ", ".join(f"{name} = ?" for name in finish)
        values = [json.dumps(v, sort_keys=True) if k in _JSON_COLUMNS else v for k, v in finish.items()]
        if not self._write(f"UPDATE runs SET {sets} WHERE id = ?", [*values, document.get("run_id")]):
            self.record_started({**started, **finish})

    # -- reading ------------------------------------------------------------------------------------------

    def list(self, *, status: str | None = None, job: str | None = None, since: float | None = None,
             limit: int | None = None, brief: bool = False, batch: str | None = None,
             pipeline: str | None = None) -> list[dict[str, Any]]:
        """Records, newest first; ``since`` is a Unix time; ``job`` matches the job name or the image; ``batch``
        a batch id (or a unique prefix of one, as run ids);
        ``status`` ``cached`` the successes taken from the result cache (``succeeded`` the others);
        ``brief``: only the members a listing shows (and that judge a running record), not the JSON ones."""
        return self._read(*self.query(", ".join(_BRIEF) if brief else "*", status=status, job=job, since=since,
                                      limit=limit, batch=batch, pipeline=pipeline))

    @staticmethod
    def query(columns: str, *, status: str | None = None, job: str | None = None, since: float | None = None,
              limit: int | None = None, batch: str | None = None, pipeline: str | None = None
              ) -> tuple[str, list[Any]]:
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
        if pipeline:  # a prefix too
            where.append("pipeline_id >= ? AND pipeline_id < ?")
            params += [pipeline.lower(), pipeline.lower() + "\uffff"]
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
        return self._read("SELECT id, run_dir, exit_code, cache_record FROM runs WHERE cache_key = ? AND "
                          "status = 'succeeded' AND "
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

    def record_pipeline(self, record: dict[str, Any]) -> None:
        """A pipeline run's row (``seed pipelines``): id, name, folder, status, created, updated, counts."""
        values = [record.get(k) for k in ("id", "name", "folder", "status", "created", "updated")]
        self._write("INSERT OR REPLACE INTO pipelines (id, name, folder, status, created, updated, counts, "
                    "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [*values, json.dumps(record.get("counts") or {}), time.time()])

    def pipelines(self, prefix: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Pipeline runs, newest first; ``prefix``: those whose id starts with it."""
        sql, params = "SELECT * FROM pipelines", []
        if prefix:
            sql += " WHERE id >= ? AND id < ?"
            params = [prefix.lower(), prefix.lower() + "\uffff"]
        rows = self._read(sql + " ORDER BY recorded_at DESC" + (f" LIMIT {int(limit)}" if limit else ""), params)
        for row in rows:
            row["counts"] = json.loads(row["counts"] or "{}")
        return rows

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


def _writable(path: Path) -> bool:
    """Whether this process may write the store (its file, and its folder for the -wal and -shm files)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _open_read_only(path: Path) -> Any:
    """A connection that only reads a store this process cannot write (`seed runs` of a read-only SEED_HOME).

    Why two tries: a WAL store is read through its -shm file, which a read-only folder cannot hold; then the
    file is opened as immutable (no other process can be writing where this one may not either)."""
    import sqlite3
    from urllib.parse import quote

    uri = "file:" + quote(str(path.absolute()))
    last: Exception | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"{uri}?{options}", uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            last = exc
            continue
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute("SELECT count(*) FROM runs").fetchone()
        except sqlite3.Error as exc:
            db.close()
            last = exc
            continue
        if version != SCHEMA_VERSION:
            db.close()
            raise StoreError(f"the run store {path} is read-only and of schema {version}, not {SCHEMA_VERSION}: "
                             "open it once with write access (any `seed run`) to bring it up to date")
        return db
    raise StoreError(_describe(last or OSError("cannot be opened"), path))


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

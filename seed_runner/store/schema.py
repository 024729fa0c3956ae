"""The run store's SQLite schema: its tables, the columns of a run, and how each older version becomes the
current one. Data only; ``runstore.RunStore`` applies it."""

from __future__ import annotations

SCHEMA_VERSION = 5  # 2: cache_key and cached_from (the result cache), the meta table (the secret salt);
# 3: cache_record (what a cache hit checks an origin's files against, and repeats of its result);
# 4: pipeline_id and input_runs (pipelines: a run's pipeline and the runs it read), the pipelines table;
# 5: executor_job (where an executor ran the run: "slurm:JOB_TASK")

_COLUMNS = (
    "id", "label", "image", "digest", "job_name", "job_version", "package_version", "status", "exit_code",
    "error_name", "error_category", "created", "started", "finished", "duration", "run_dir", "inputs",
    "json_inputs", "settings", "resources", "request", "batch_id", "runner_pid", "runner_host", "runner_boot",
    "runner_lock", "runner_start", "runner_pidns", "recorded_at", "cache_key", "cached_from", "cache_record",
    "pipeline_id", "input_runs", "executor_job",
)
_BRIEF = ("id", "label", "image", "job_name", "job_version", "status", "duration", "run_dir", "recorded_at",
          "runner_pid", "runner_boot", "runner_lock", "runner_start", "runner_pidns", "cached_from", "batch_id",
          "executor_job")
_JSON_COLUMNS = ("inputs", "json_inputs", "settings", "resources", "request", "cache_record", "input_runs")
_CACHE_SCHEMA = """
CREATE INDEX IF NOT EXISTS runs_cache ON runs (cache_key, recorded_at) WHERE cache_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_PIPELINE_SCHEMA = """
CREATE INDEX IF NOT EXISTS runs_pipeline ON runs (pipeline_id) WHERE pipeline_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS pipelines (
    id TEXT PRIMARY KEY, name TEXT, folder TEXT, status TEXT NOT NULL, created TEXT, updated TEXT,
    counts TEXT, recorded_at REAL NOT NULL
);
"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, label TEXT, image TEXT, digest TEXT, job_name TEXT, job_version TEXT,
    package_version TEXT, status TEXT NOT NULL, exit_code INTEGER, error_name TEXT, error_category TEXT,
    created TEXT, started TEXT, finished TEXT, duration REAL, run_dir TEXT, inputs TEXT, json_inputs TEXT,
    settings TEXT, resources TEXT, request TEXT, batch_id TEXT, runner_pid INTEGER, runner_host TEXT,
    runner_boot TEXT, runner_lock TEXT, runner_start TEXT, runner_pidns TEXT, recorded_at REAL NOT NULL,
    cache_key TEXT, cached_from TEXT, cache_record TEXT, pipeline_id TEXT, input_runs TEXT, executor_job TEXT
);
CREATE INDEX IF NOT EXISTS runs_recorded ON runs (recorded_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, recorded_at);
{_CACHE_SCHEMA}
{_PIPELINE_SCHEMA}
"""
# How a store of each older version becomes the current one (in one transaction, with user_version).
_MIGRATIONS = {
    1: "ALTER TABLE runs ADD COLUMN cache_key TEXT; ALTER TABLE runs ADD COLUMN cached_from TEXT;" + _CACHE_SCHEMA,
    2: "ALTER TABLE runs ADD COLUMN cache_record TEXT;",  # older rows have none: never a cache origin again
    3: "ALTER TABLE runs ADD COLUMN pipeline_id TEXT; ALTER TABLE runs ADD COLUMN input_runs TEXT;" + _PIPELINE_SCHEMA,
    4: "ALTER TABLE runs ADD COLUMN executor_job TEXT;",
}
assert len(_COLUMNS) == 35

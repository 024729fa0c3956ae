"""The result cache (`seed run --cache`): a hit starts no container and links the origin's outputs, byte for
byte; what changes the outputs misses (input content, a secret's value, JSON inputs, a rebuilt image under the
same tag, an origin whose folder is gone); secrets never reach the store; `SEED_CACHE` and `--no-cache`. Also the
store's migration from schema 1 (a real file written by seed-runner's schema-1 code) and `seed runs --json`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seed_runner import load_manifest
from seed_runner.manifest.names import LABEL
from seed_runner.runtime.input_records import input_records
from seed_runner.runtime.plan import RunRequest, make_plan
from seed_runner.runtime.runner import run
from seed_runner.store import RunStore
from seed_runner.store.listing import write_json
from seed_runner.store.result_cache import cache_key, default_enabled, key_document

from .conftest import BUSYBOX_IMAGE, check_result

SEED = str(Path(sys.executable).with_name("seed"))
V1_STORE = Path(__file__).parent / "data" / "runs-v1.sqlite3"
SECRET, OTHER_SECRET = "c4che-s3cret-alpha", "c4che-s3cret-bravo"

# The output holds a fresh random id: two runs that really ran never write the same bytes.
COMMAND = "sh -c 'cat ${INPUT_FILE} > ${OUTPUT_DIR}/result.txt; cat /proc/sys/kernel/random/uuid >> " \
          "${OUTPUT_DIR}/result.txt; echo ran ${COUNT}'"


def manifest_document(name: str = "cache-test") -> dict[str, Any]:
    return {"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 60,
        "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 32}]},
        "interface": {
            "command": COMMAND,
            "inputs": {"files": [{"name": "INPUT_FILE"}], "json": [{"name": "COUNT", "type": "integer"}]},
            "outputs": {"files": [{"name": "RESULT", "pattern": "result.txt"}]},
            "settings": [{"name": "TOKEN", "secret": True}, {"name": "MODE"}]}}}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SEED_HOME", str(home))
    monkeypatch.delenv("SEED_CACHE", raising=False)
    return home


@pytest.fixture(scope="module")
def cache_job(build_image: Callable[..., str]) -> str:
    document = manifest_document(f"cache-{uuid.uuid4().hex[:8]}")
    return build_image(f"{document['job']['name']}-1.0.0-seed:1.0.0", labels={LABEL: json.dumps(document)})


def seed(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEED, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def run_job(image: str, data: Path, out: Path, *extra: str, secret: str = SECRET, count: int = 3,
            env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = seed("run", image, "-i", f"INPUT_FILE={data}", "-j", f"COUNT={count}", "-e", f"TOKEN={secret}",
                "-e", "MODE=fast", "--json", "-q", "-o", str(out), *extra, env=env)
    assert proc.returncode == 0, proc.stderr
    return check_result(json.loads(proc.stdout))


def container_creations(docker_client: Any, run_id: str, since: float) -> list[dict[str, Any]]:
    """The engine's own record of containers created for a run (its events), not ours."""
    events = docker_client.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "create",
                                           "label": f"io.seed-runner.run-id={run_id}"})
    return list(events)


def store_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("runs.sqlite3*"))


def folder_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


# -- on the engine ----------------------------------------------------------------------------------------------


@pytest.mark.engine
def test_a_hit_links_the_outputs_and_starts_no_container(cache_job: str, tmp_path: Path, home: Path,
                                                         docker_client: Any) -> None:
    data = tmp_path / "in.txt"
    data.write_text("hello\n")
    since = time.time()
    origin = run_job(cache_job, data, tmp_path / "origin", "--cache")
    assert origin["cached_from"] is None and origin["container_id"]  # a miss runs, and records its key
    hit = run_job(cache_job, data, tmp_path / "hit", "--cache")

    assert hit["status"] == "succeeded" and hit["exit_code"] == 0 and hit["cached_from"] == origin["run_id"]
    assert hit["container_id"] is None and hit["run_id"] != origin["run_id"]
    assert len(container_creations(docker_client, origin["run_id"], since)) == 1  # the check can see one
    assert container_creations(docker_client, hit["run_id"], since) == []
    written = (tmp_path / "origin/outputs/result.txt").read_bytes()
    assert written.startswith(b"hello\n") and (tmp_path / "hit/outputs/result.txt").read_bytes() == written
    assert hit["outputs"] == origin["outputs"] and hit["outputs_dir"] == str(tmp_path / "hit/outputs")
    assert hit["inputs"] == origin["inputs"] and hit["inputs"]["INPUT_FILE"][0]["path"] == str(data)
    assert (tmp_path / "hit/logs/stdout.log").read_text() == "ran 3\n"
    assert (tmp_path / "hit/ro-crate-metadata.json").is_file()

    listing = json.loads(seed("runs", "--json").stdout)["runs"]
    assert [(r["id"], r["state"], r["status"], r["cached_from"]) for r in listing] == [
        (hit["run_id"], "cached", "succeeded", origin["run_id"]), (origin["run_id"], "succeeded", "succeeded", None)]
    assert listing[0]["cache_key"] == listing[1]["cache_key"] and len(listing[0]["cache_key"]) == 64
    assert "cached" in seed("runs").stdout.splitlines()[0]
    assert seed("runs", "--status", "cached").stdout.startswith(hit["run_id"][:12])
    assert hit["run_id"][:12] not in seed("runs", "--status", "succeeded").stdout
    assert seed("logs", hit["run_id"]).stdout == "ran 3\n"

    again = run_job(cache_job, data, tmp_path / "forced", "--cache", "--no-cache")  # the last word wins
    assert again["cached_from"] is None and again["container_id"]
    assert (tmp_path / "forced/outputs/result.txt").read_bytes() != written  # it really ran: a new random id


@pytest.mark.engine
def test_seed_cache_is_the_default_and_no_cache_forces_a_run(cache_job: str, tmp_path: Path, home: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("env\n")
    origin = run_job(cache_job, data, tmp_path / "a")
    assert run_job(cache_job, data, tmp_path / "b", env={"SEED_CACHE": "1"})["cached_from"] == origin["run_id"]
    assert run_job(cache_job, data, tmp_path / "c", "--no-cache", env={"SEED_CACHE": "1"})["cached_from"] is None
    assert run_job(cache_job, data, tmp_path / "d", env={"SEED_CACHE": "0"})["cached_from"] is None
    bad = seed("run", cache_job, "-o", str(tmp_path / "e"), env={"SEED_CACHE": "maybe"})
    assert bad.returncode == 2 and "SEED_CACHE='maybe' is not 1 or 0" in bad.stderr
    assert not (tmp_path / "e").exists()


@pytest.mark.engine
def test_what_changes_the_outputs_misses_and_secrets_are_never_stored(cache_job: str, tmp_path: Path,
                                                                       home: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("one\n")
    first = run_job(cache_job, data, tmp_path / "r1", "--cache")
    other_secret = run_job(cache_job, data, tmp_path / "r2", "--cache", secret=OTHER_SECRET)
    other_json = run_job(cache_job, data, tmp_path / "r3", "--cache", count=4)
    data.write_text("two\n")  # same path, new content
    other_content = run_job(cache_job, data, tmp_path / "r4", "--cache")
    for document in (first, other_secret, other_json, other_content):
        assert document["cached_from"] is None and document["container_id"]
    assert (tmp_path / "r4/outputs/result.txt").read_text().startswith("two\n")
    data.write_text("one\n")  # the first content again: the first run is the origin once more
    assert run_job(cache_job, data, tmp_path / "r5", "--cache")["cached_from"] == first["run_id"]
    assert run_job(cache_job, data, tmp_path / "r6", "--cache", secret=OTHER_SECRET
                   )["cached_from"] == other_secret["run_id"]

    keys = {r["cache_key"] for r in RunStore.open().list()}
    assert len(keys) == 4  # r1/r5, r2/r6, r3, r4
    stored = store_bytes(home)
    for secret in (SECRET, OTHER_SECRET):
        assert secret.encode() not in stored
        assert secret.encode() not in folder_bytes(tmp_path / "r1") + folder_bytes(tmp_path / "r6")


@pytest.mark.engine
def test_an_origin_whose_folder_is_gone_is_a_miss(cache_job: str, tmp_path: Path, home: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("gone\n")
    manifest = load_manifest(manifest_document())  # the Python twin, with --manifest's manifest
    request = RunRequest(image=cache_job, file_inputs={"INPUT_FILE": [str(data)]}, json_inputs={"COUNT": 1},
                         settings={"TOKEN": SECRET, "MODE": "m"})
    origin = run(replace(request, run_dir=tmp_path / "o1"), manifest=manifest, cache=True)
    hit = run(replace(request, run_dir=tmp_path / "o2"), manifest=manifest, cache=True)
    assert hit.document["cached_from"] == origin.document["run_id"] and hit.exit_status == 0
    assert hit.document["container_id"] is None

    (tmp_path / "o1/outputs/result.txt").write_text("changed")  # an output that is not what was captured
    shutil.rmtree(tmp_path / "o2")  # and the cached run is gone too (a cached run is never an origin anyway)
    miss = run(replace(request, run_dir=tmp_path / "o3"), manifest=manifest, cache=True)
    assert miss.document["cached_from"] is None and miss.document["container_id"]
    shutil.rmtree(tmp_path / "o1")
    assert run(replace(request, run_dir=tmp_path / "o4"), manifest=manifest, cache=True
               ).document["cached_from"] == miss.document["run_id"]
    shutil.rmtree(tmp_path / "o3")
    last = run(replace(request, run_dir=tmp_path / "o5"), manifest=manifest, cache=True)
    assert last.document["cached_from"] is None and last.document["container_id"]
    assert (tmp_path / "o5/outputs/result.txt").read_text().startswith("gone\n")


def _build_with_file(client: Any, tag: str, content: bytes) -> str:
    document = manifest_document("cache-rebuilt")
    dockerfile = f"FROM {BUSYBOX_IMAGE}\nCOPY data.txt /data.txt\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("data.txt", content)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    image, _ = client.images.build(fileobj=buffer, custom_context=True, tag=tag, rm=True,
                                   labels={LABEL: json.dumps(document)})
    return image.id


@pytest.mark.engine
def test_a_rebuilt_image_never_hits_an_old_entry(docker_client: Any, busybox_image: str, tmp_path: Path,
                                                 home: Path) -> None:
    tag = f"seed-runner-test/cache-rebuilt-{uuid.uuid4().hex[:8]}:1"
    data = tmp_path / "in.txt"
    data.write_text("same\n")
    built = [_build_with_file(docker_client, tag, b"first build\n")]
    try:
        first = run_job(tag, data, tmp_path / "b1", "--cache")
        built.append(_build_with_file(docker_client, tag, b"second build\n"))  # same tag, another image
        assert built[0] != built[1]
        second = run_job(tag, data, tmp_path / "b2", "--cache")
        assert second["cached_from"] is None and second["container_id"]
        records = {r["id"]: r for r in RunStore.open().list()}
        assert records[first["run_id"]]["digest"] == built[0] and records[second["run_id"]]["digest"] == built[1]
        assert records[first["run_id"]]["cache_key"] != records[second["run_id"]]["cache_key"]
        assert run_job(tag, data, tmp_path / "b3", "--cache")["cached_from"] == second["run_id"]
    finally:
        for image_id in built:
            try:
                docker_client.images.remove(image_id, force=True)
            except Exception:  # noqa: BLE001 - already gone
                pass


# -- without an engine ------------------------------------------------------------------------------------------


def _plan(tmp_path: Path, data: Path, settings: dict[str, str], count: int = 1) -> Any:
    manifest = load_manifest(manifest_document())
    return make_plan(manifest, RunRequest(image="x", file_inputs={"INPUT_FILE": [str(data)]},
                                          json_inputs={"COUNT": count}, settings=settings, run_dir=tmp_path / "r"))


def test_the_key_holds_a_secret_only_as_a_salted_hmac(tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_text("x\n")
    salt, other_salt = os.urandom(32), os.urandom(32)

    def key(settings: dict[str, str], image: str = "sha256:aa", salt: bytes = salt, count: int = 1,
            strict: bool = False) -> str:
        plan = _plan(tmp_path, data, settings, count)
        document = key_document(plan, input_records(plan), image, salt, strict)
        assert SECRET not in json.dumps(document, default=dict) and OTHER_SECRET not in json.dumps(document, default=dict)
        return cache_key(document)

    base = key({"TOKEN": SECRET, "MODE": "m"})
    assert key({"TOKEN": SECRET, "MODE": "m"}) == base and len(base) == 64
    changed = [key({"TOKEN": OTHER_SECRET, "MODE": "m"}), key({"TOKEN": SECRET, "MODE": "n"}),
               key({"TOKEN": SECRET, "MODE": "m"}, image="sha256:bb"),
               key({"TOKEN": SECRET, "MODE": "m"}, salt=other_salt), key({"TOKEN": SECRET, "MODE": "m"}, count=2),
               key({"TOKEN": SECRET, "MODE": "m"}, strict=True)]
    assert len(set(changed + [base])) == 7
    data.write_text("y\n")
    assert key({"TOKEN": SECRET, "MODE": "m"}) != base


@given(st.text(max_size=12))
def test_seed_cache_is_yes_no_or_refused(value: str) -> None:
    try:
        answer = default_enabled({"SEED_CACHE": value})
    except ValueError as exc:
        assert "SEED_CACHE=" in str(exc) and value.strip().lower() not in ("1", "0", "true", "false", "")
    else:
        assert answer is (value.strip().lower() in ("1", "true", "yes", "on"))
    assert default_enabled({}) is False


def test_a_schema_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    shutil.copy(V1_STORE, path)  # written by seed-runner's schema-1 code: two runs, one failed
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 1
    old_rows = before.execute("SELECT * FROM runs ORDER BY id").fetchall()
    before.close()
    with RunStore.open(path) as store:
        records = store.list()
        assert [(r["status"], r["label"], r["cache_key"], r["cached_from"]) for r in records] == [
            ("failed", None, None, None), ("succeeded", "v1-first", None, None)]
        assert records[1]["settings"] == {"MODE": "fast", "TOKEN": "****"}
        salt = store.secret_salt()
        store.record_started({"id": "feedface0001", "status": "succeeded", "cache_key": "k" * 64,
                              "cached_from": records[1]["id"]})
    after = sqlite3.connect(path)
    assert after.execute("PRAGMA user_version").fetchone()[0] == 3  # 3: executor_job (the Slurm job)
    assert after.execute("SELECT * FROM runs WHERE id != 'feedface0001' ORDER BY id").fetchall() == \
        [row + (None, None, None) for row in old_rows]
    assert {"runs_cache"} <= {r[0] for r in after.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    after.close()
    with RunStore.open(path) as store:  # opened again: nothing to migrate, the same salt
        assert store.secret_salt() == salt and len(salt) == 32
        assert store.list(status="cached")[0]["id"] == "feedface0001"
        assert [r["id"] for r in store.list(status="succeeded")] == [records[1]["id"]]


def test_the_json_listing_is_the_records(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "s.db") as store:
        now = time.time()
        for i, (status, cached) in enumerate((("succeeded", None), ("failed", None), ("succeeded", "abc"),
                                              ("running", None))):
            store.record_started({"id": f"{i:012x}", "status": status, "cached_from": cached, "label": "ünï \"q\"",
                                  "recorded_at": now - i * 0.1 + 1e-7, "duration": 0.123 * i,
                                  "inputs": {"A": [{"path": "/x", "sha256": "ab", "url": None}]},
                                  "settings": {"S": "****", "N": "1.5e300"}, "resources": {"mem": 64.0},
                                  "json_inputs": {"J": {"value": [1, 2.5, {"k": None}]}}, "runner_pid": 2 ** 22 + 7,
                                  "runner_boot": "not-this-boot"})
        expected = store.list()
        for record in expected:
            record.pop("request")
        from seed_runner.store.history import state

        for status in (None, "succeeded", "cached", "failed", "runner gone", "running"):
            out = io.BytesIO()
            write_json(store, out, status=status)
            listed = json.loads(out.getvalue())
            assert listed["store"] == str(store.path)
            want = [{**r, "state": state(r)} for r in expected]
            want = [r for r in want if status is None or r["state"] == status]
            assert listed["runs"] == want, status
        out = io.BytesIO()
        write_json(store, out, limit=2)
        assert [r["id"] for r in json.loads(out.getvalue())["runs"]] == ["000000000000", "000000000001"]

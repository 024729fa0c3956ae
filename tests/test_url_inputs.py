"""File inputs given as URLs: fetched before anything starts into the download cache, against a real HTTP
server on loopback that misbehaves in every way the runner must report (one line, exit 2, no credentials)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest

from seed_runner.inputs import resolve_url_inputs
from seed_runner.inputs.download_cache import DownloadCache
from seed_runner.inputs.urls import file_name, parse_size, redact
from seed_runner.runtime.plan import PlanError, RunRequest

from .loopback import serving

REPO = Path(__file__).resolve().parents[1]
SEED = str(Path(sys.executable).with_name("seed"))
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
PNG = (REPO / "sample_jobs/watermark/example/input.png").read_bytes()
USER, PASSWORD, TOKEN = "alice", "pw-s3cr3t-9f1c", "tok-7d2e9a41b6"
BIG = b"x" * (2 * 1024 * 1024)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counts: Counter = Counter()

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, body: bytes, content_type: str = "application/octet-stream", *, length: int | None = None,
              status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.partition("?")[0]
        self.counts[path] += 1
        if path in ("/input.png", "/dir/in%20put.png", "/render"):  # /render: a type by Content-Type alone
            self._send(PNG, "image/png")
        elif path == "/plain.bin":
            self._send(b"plain\n", "text/plain; charset=utf-8")
        elif path == "/untyped.txt":
            self._send(b"untyped\n", "application/octet-stream")
        elif path == "/data.txt":
            self._send(b"hello\n", "text/plain; charset=utf-8")
        elif path == "/loop":
            self._redirect("/loop2")
        elif path == "/loop2":
            self._redirect(f"/loop?token={TOKEN}")
        elif path == "/to-file":
            self._redirect("file:///etc/passwd")
        elif path == "/slow":
            time.sleep(3)
            self._send(b"late")
        elif path == "/truncated":
            self._send(b"only a part", length=1000)
        elif path == "/big":
            self._send(BIG)
        elif path == "/big-unsized":  # no Content-Length: the limit must hold while streaming
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BIG)
            self.close_connection = True
        elif path == "/private.png":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != expected or f"token={TOKEN}" not in self.path:
                self._send(b"no", "text/plain", status=401)
            else:
                self._send(PNG, "image/png")
        else:
            self._send(b"not found", "text/plain", status=404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def seed_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "seed-home"
    monkeypatch.setenv("SEED_HOME", str(home))
    monkeypatch.delenv("SEED_MAX_DOWNLOAD", raising=False)
    monkeypatch.delenv("SEED_DOWNLOAD_TIMEOUT", raising=False)
    return home


def _resolve(url: str, **kwargs: object) -> Path:
    request = resolve_url_inputs(RunRequest(image="x", file_inputs={"INPUT": [url]}), progress=False, **kwargs)
    return Path(request.file_inputs["INPUT"][0])


def _refusal(url: str, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(PlanError) as caught:
        _resolve(url, **kwargs)
    (problem,) = caught.value.problems
    assert problem.path == "$.file_inputs.INPUT"
    assert "\n" not in problem.message
    return problem.code, problem.message


def test_a_download_lands_in_the_cache_under_its_url_name(server: str, seed_home: Path) -> None:
    path = _resolve(f"{server}/dir/in%20put.png")
    assert path.name == "in put.png" and path.read_bytes() == PNG
    assert seed_home / "cache" / "downloads" in path.parents
    (entry,) = DownloadCache().entries()
    assert entry.sha256 == hashlib.sha256(PNG).hexdigest() and entry.content_type == "image/png"
    assert entry.size == len(PNG)


def test_the_cache_is_reused(server: str) -> None:
    before = _Handler.counts["/data.txt"]
    first = _resolve(f"{server}/data.txt")
    second = _resolve(f"{server}/data.txt")
    assert first == second and first.read_bytes() == b"hello\n"
    assert _Handler.counts["/data.txt"] == before + 1


@pytest.mark.parametrize(("path", "kwargs", "code", "words"), [
    ("/missing", {}, "input-download-failed", "HTTP 404"),
    ("/loop", {}, "input-download-failed", "redirect"),
    ("/to-file", {}, "input-download-failed", "another scheme"),
    ("/slow", {"timeout": 1.0}, "input-download-failed", "timed out"),
    ("/truncated", {}, "input-download-failed", "truncated: 11 of 1000 bytes"),
    ("/big", {"max_bytes": 1024 * 1024}, "input-download-too-large", "download limit"),
    ("/big-unsized", {"max_bytes": 1024 * 1024}, "input-download-too-large", "download limit"),
])
def test_each_failure_is_one_line(server: str, path: str, kwargs: dict, code: str, words: str,
                                  seed_home: Path) -> None:
    got_code, message = _refusal(f"{server}{path}", **kwargs)
    assert got_code == code and words in message, message
    assert f"{server}{path}" in message
    assert not DownloadCache().entries()
    assert not any((seed_home / "cache/downloads/tmp").iterdir())  # no partial download is left


def test_a_refused_connection(server: str) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, message = _refusal(f"http://127.0.0.1:{port}/x")
    assert code == "input-download-failed" and "refused" in message.lower()


def test_pins(server: str) -> None:
    good = hashlib.sha256(PNG).hexdigest()
    assert _resolve(f"{server}/input.png#sha256={good}").read_bytes() == PNG
    code, message = _refusal(f"{server}/data.txt#sha256={'0' * 64}")
    assert code == "input-hash-mismatch" and hashlib.sha256(b"hello\n").hexdigest() in message
    assert _refusal(f"{server}/data.txt#sha256=abc")[0] == "input-bad-url"
    code, message = _refusal(f"http://{USER}:{PASSWORD}@[::1/x?token={TOKEN}")
    assert code == "input-bad-url" and PASSWORD not in message and TOKEN not in message


def test_file_urls(tmp_path: Path) -> None:
    source = tmp_path / "local.csv"
    source.write_text("a,b\n")
    path = _resolve(source.as_uri())
    assert path.name == "local.csv" and path.read_text() == "a,b\n"
    assert _refusal((tmp_path / "nope.csv").as_uri())[0] == "input-download-failed"


def test_credentials_are_never_shown_or_stored(server: str, seed_home: Path) -> None:
    host = server.removeprefix("http://")
    url = f"http://{USER}:{PASSWORD}@{host}/private.png?token={TOKEN}&v=2"
    assert _resolve(url).read_bytes() == PNG
    _, message = _refusal(f"http://{USER}:{PASSWORD}@{host}/missing?api_key={TOKEN}")
    _, loop = _refusal(f"{server}/loop")
    for text in (message, loop):
        assert PASSWORD not in text and TOKEN not in text and USER not in text
    stored = b"".join(p.read_bytes() for p in seed_home.rglob("*") if p.is_file() and "blobs" not in p.parts)
    assert PASSWORD.encode() not in stored and TOKEN.encode() not in stored
    (entry,) = DownloadCache().entries()
    assert entry.url == f"http://****@{host}/private.png?token=****&v=****"  # every query value, by default


def test_url_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEED_PUBLIC_QUERY_PARAMS", raising=False)
    assert redact("https://u:p@h/x?X-Amz-Signature=abc&part=1") == "https://****@h/x?X-Amz-Signature=****&part=****"
    assert redact("https://h/x?jwt=a.b.c&pass=p") == "https://h/x?jwt=****&pass=****"
    monkeypatch.setenv("SEED_PUBLIC_QUERY_PARAMS", "part, PASS_THROUGH")  # shown, but never a credential's name
    assert redact("https://h/x?part=1&token=t&pass_through=2") == "https://h/x?part=1&token=****&pass_through=2"
    monkeypatch.setenv("SEED_PUBLIC_QUERY_PARAMS", "*")
    assert redact("https://h/x?part=1&api_key=k") == "https://h/x?part=1&api_key=****"
    assert file_name("/a/b/") == "b" and file_name("/") == "download" and file_name("/..%2F..%2Fetc") == "_.._etc"
    assert parse_size("10G") == 10 * 1024 ** 3 and parse_size("512") == 512


def test_cache_ls_and_prune(server: str, seed_home: Path) -> None:
    _resolve(f"{server}/data.txt?token={TOKEN}")
    env = {**os.environ, "SEED_HOME": str(seed_home)}
    listed = subprocess.run([SEED, "cache", "ls", "--json"], capture_output=True, env=env, timeout=60)
    assert listed.returncode == 0
    (entry,) = json.loads(listed.stdout)["entries"]
    assert entry["url"].endswith("/data.txt?token=****") and TOKEN.encode() not in listed.stdout
    kept = subprocess.run([SEED, "cache", "prune"], capture_output=True, env=env, timeout=60)
    assert kept.returncode == 0 and DownloadCache().entries()
    pruned = subprocess.run([SEED, "cache", "prune", "--all"], capture_output=True, env=env, timeout=60)
    assert pruned.returncode == 0 and b"removed 1 entry" in pruned.stdout
    assert not DownloadCache().entries() and not any((seed_home / "cache/downloads/blobs").iterdir())
    bad = subprocess.run([SEED, "cache", "prune", "--older-than", "soon"], capture_output=True, env=env, timeout=60)
    assert bad.returncode == 2


def _seed(*args: str, home: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([SEED, *args], capture_output=True, timeout=300,
                          env={**os.environ, "SEED_HOME": str(home)})


@pytest.mark.engine
def test_seed_run_with_a_url_input(server: str, seed_home: Path, tmp_path: Path) -> None:
    before = _Handler.counts["/input.png"]
    run = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={server}/input.png", "-o", str(tmp_path / "run"),
                home=seed_home)
    assert run.returncode == 0, run.stderr.decode()
    assert (tmp_path / "run/outputs/input_watermark.png").read_bytes().startswith(b"\x89PNG")
    metadata = json.loads((tmp_path / "run/work/input-metadata.json").read_text())
    assert "input.png" in json.dumps(metadata)
    again = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={server}/input.png", "-o", str(tmp_path / "again"),
                  home=seed_home)
    assert again.returncode == 0, again.stderr.decode()
    assert _Handler.counts["/input.png"] == before + 1  # the second run downloaded nothing


@pytest.mark.engine
def test_seed_run_keeps_credentials_out_of_everything(server: str, seed_home: Path, tmp_path: Path) -> None:
    host = server.removeprefix("http://")
    url = f"http://{USER}:{PASSWORD}@{host}/private.png?token={TOKEN}"
    run = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={url}", "--json", "-o", str(tmp_path / "run"), home=seed_home)
    assert run.returncode == 0, run.stderr.decode()
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "blobs" not in p.parts)
    for secret in (PASSWORD, TOKEN):
        assert secret.encode() not in run.stdout + run.stderr + written


@pytest.mark.engine
@pytest.mark.parametrize(("path", "code"), [("/missing", "input-download-failed"),
                                            ("/data.txt#sha256=" + "1" * 64, "input-hash-mismatch")])
def test_seed_run_refuses_a_failed_download(server: str, seed_home: Path, tmp_path: Path, path: str,
                                            code: str) -> None:
    host = server.removeprefix("http://")
    url = f"http://{USER}:{PASSWORD}@{host}{path.replace('#', f'?token={TOKEN}#')}"
    run = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={url}", "--json", "-o", str(tmp_path / "run"), home=seed_home)
    assert run.returncode == 2, run.stderr.decode()
    document = json.loads(run.stdout)
    assert document["status"] == "rejected" and document["run_dir"] is None
    assert [p["code"] for p in document["problems"]] == [code]
    assert document["problems"][0]["path"] == "$.file_inputs.INPUT_IMAGE"
    assert not (tmp_path / "run").exists()
    for secret in (PASSWORD, TOKEN):
        assert secret.encode() not in run.stdout + run.stderr


@pytest.mark.engine
def test_seed_run_max_download(server: str, seed_home: Path, tmp_path: Path) -> None:
    run = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={server}/big", "--max-download", "1M", "-o",
                str(tmp_path / "run"), home=seed_home)
    assert run.returncode == 2 and b"download limit" in run.stderr, run.stderr.decode()
    bad = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={server}/big", "--max-download", "lots", home=seed_home)
    assert bad.returncode == 2


def test_concurrent_downloads_of_one_url_share_one_transfer(server: str) -> None:
    before = _Handler.counts["/input.png"]
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(_resolve(f"{server}/input.png?n=concurrent")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1 and results[0].read_bytes() == PNG
    assert len(DownloadCache().entries()) == 1
    assert _Handler.counts["/input.png"] == before + 1


def test_a_bad_limit_is_a_refusal(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEED_MAX_DOWNLOAD", "lots")
    with pytest.raises(PlanError) as caught:
        resolve_url_inputs(RunRequest(image="x", file_inputs={"INPUT": [f"{server}/data.txt"]}), progress=False)
    assert caught.value.problems[0].code == "input-download-settings"


def _planned(server: str, paths: list[str], media_types: list[str] | None) -> tuple[list[str], list[str], dict]:
    """(the media types the job is told, the warnings' codes, the sources) of one input given as URLs."""
    from seed_runner import load_manifest
    from seed_runner.runtime.plan import make_plan

    spec = {"name": "INPUT", "multiple": True, **({"mediaTypes": media_types} if media_types else {})}
    manifest = load_manifest({"seedVersion": "1.0.0", "job": {
        "name": "types", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "t", "description": "d",
        "maintainer": {"name": "n", "email": "e"}, "timeout": 10,
        "interface": {"inputs": {"files": [spec]}}}})
    sources: dict = {}
    request = resolve_url_inputs(RunRequest(image="x", file_inputs={"INPUT": [f"{server}{p}" for p in paths]}),
                                 progress=False, sources=sources)
    plan = make_plan(manifest, request, known_media_types={k: v["media_type"] for k, v in sources.items()})
    files = plan.input_metadata["JOB"]["INPUT"]
    return [f["media_type"] for f in files], [w.code for w in plan.warnings], sources


def test_the_media_type_comes_from_the_server_when_the_input_allows_it(server: str) -> None:
    # /render has no extension: only its Content-Type says it is a PNG
    assert _planned(server, ["/render"], ["image/png"])[:2] == (["image/png"], [])
    assert _planned(server, ["/render"], None)[:2] == (["image/png"], [])  # no list: any type is allowed
    # not among the input's types: the name decides (and the usual warning says so)
    assert _planned(server, ["/render"], ["text/plain"])[:2] == (["application/octet-stream"], ["input-media-type"])
    # parameters are not part of the type; a generic type never hides what the name says
    assert _planned(server, ["/plain.bin", "/untyped.txt"], None)[0] == ["text/plain", "text/plain"]
    _, _, sources = _planned(server, ["/render?token=" + TOKEN], None)
    ((path, source),) = sources.items()
    assert source == {"url": f"{server}/render?token=****", "media_type": "image/png"} and Path(path).is_file()


@pytest.mark.engine
def test_the_url_is_recorded_in_the_store_and_the_result(server: str, seed_home: Path, tmp_path: Path) -> None:
    url = f"{server}/render?token={TOKEN}"
    run = _seed("run", WATERMARK, "-i", f"INPUT_IMAGE={url}", "--json", "-q", "-o", str(tmp_path / "run"),
                home=seed_home)
    assert run.returncode == 0, run.stderr.decode()
    document = json.loads(run.stdout)
    shown = f"{server}/render?token=****"
    (record,) = document["inputs"]["INPUT_IMAGE"]
    assert record["url"] == shown and record["media_type"] == "image/png" and record["file_name"] == "render"
    assert record["sha256"] == hashlib.sha256(PNG).hexdigest() and record["size"] == len(PNG)
    assert Path(record["path"]).read_bytes() == PNG  # the file in the download cache
    assert "input-media-type" not in [w["code"] for w in document["warnings"]]
    metadata = json.loads((tmp_path / "run/work/input-metadata.json").read_text())
    assert metadata["JOB"]["INPUT_IMAGE"][0]["media_type"] == "image/png"
    listing = _seed("runs", "--json", home=seed_home)
    (stored,) = json.loads(listing.stdout)["runs"][0]["inputs"]["INPUT_IMAGE"]
    assert stored["url"] == shown and stored["sha256"] == record["sha256"]
    everything = run.stdout + listing.stdout + b"".join(
        p.read_bytes() for p in [*seed_home.glob("runs.sqlite3*"), *(tmp_path / "run").rglob("*")] if p.is_file())
    assert TOKEN.encode() not in everything

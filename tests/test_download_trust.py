"""What a URL input trusts: a cached download is read again on every use (against its pin, else the hash taken
when it was fetched), and ``SEED_DOWNLOAD_TIMEOUT`` is one deadline over the whole download, headers included.
Against a real HTTP server on loopback that trickles its answer; each trickle outlasts its deadline many times."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seed_runner.inputs.download_cache import DownloadCache
from seed_runner.runtime.plan import PlanError

from .loopback import serving
from .test_url_inputs import _resolve, seed_home  # noqa: F401 - seed_home: autouse, a store of the test's own

SEED = str(Path(sys.executable).with_name("seed"))
WATERMARK = "image-watermark-0.1.0-seed:0.1.0"
BODY = b"the real bytes\n"
TRICKLE_SECONDS = 20.0  # how long a trickle would go on: many times every deadline below
DEADLINE = 1.5


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counts: Counter = Counter()

    def log_message(self, *args: object) -> None:
        pass

    def _trickle(self, data: bytes, every: float) -> None:
        """Write ``data`` a byte at a time, ``every`` seconds apart, until TRICKLE_SECONDS have passed."""
        end = time.monotonic() + TRICKLE_SECONDS
        for byte in data:
            if time.monotonic() > end:
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(every)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.partition("?")[0]
        self.counts[path] += 1
        try:
            if path == "/body.txt":
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)
            elif path == "/trickle-body":  # a Content-Length, and a body that comes a byte at a time
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self._trickle(b"x" * 1000, 0.05)
            elif path == "/trickle-chunked":  # chunked: every chunk on time, the whole far too late
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                end = time.monotonic() + TRICKLE_SECONDS
                while time.monotonic() < end:
                    self.wfile.write(b"1\r\nx\r\n")
                    self.wfile.flush()
                    time.sleep(0.05)
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/trickle-headers":  # headers without end, each on time
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                end = time.monotonic() + TRICKLE_SECONDS
                n = 0
                while time.monotonic() < end:
                    self.wfile.write(f"X-Slow-{n}: {n}\r\n".encode())
                    self.wfile.flush()
                    n += 1
                    time.sleep(0.02)
            elif path == "/trickle-status":  # the status line itself a byte at a time
                self._trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0.2)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
        except OSError:  # the client gave up: expected
            pass
        self.close_connection = True


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as port:
        yield f"http://127.0.0.1:{port}"


def _overwrite(path: Path, data: bytes) -> None:
    """Overwrite a cached file in place (the same inode), as its owner can."""
    path.chmod(0o644)
    with open(path, "r+b") as file:
        file.write(data)


# -- the download cache is read again on every use --------------------------------------------------------------


@pytest.mark.parametrize("pinned", [True, False])
def test_a_cached_file_overwritten_at_the_same_size_is_fetched_again(server: str, seed_home: Path,
                                                                    pinned: bool) -> None:
    pin = f"#sha256={hashlib.sha256(BODY).hexdigest()}" if pinned else ""
    url = f"{server}/body.txt?pinned={pinned}{pin}"
    first = _resolve(url)
    assert first.read_bytes() == BODY
    before = _Handler.counts["/body.txt"]
    _overwrite(first, b"X" * len(BODY))  # the blob and its named link are one inode: both change
    again = _resolve(url)
    assert again.read_bytes() == BODY  # what reaches the job is what the URL (and its pin) gave
    assert _Handler.counts["/body.txt"] == before + 1  # fetched again
    assert _resolve(url).read_bytes() == BODY and _Handler.counts["/body.txt"] == before + 1  # and kept


def test_a_named_file_replaced_by_another_file_is_made_again(server: str, seed_home: Path) -> None:
    url = f"{server}/body.txt?named"
    first = _resolve(url)
    before = _Handler.counts["/body.txt"]
    first.unlink()
    first.write_bytes(b"Y" * len(BODY))  # a new file under the name the job sees, the blob untouched
    again = _resolve(url)
    assert again == first and again.read_bytes() == BODY
    assert _Handler.counts["/body.txt"] == before  # the blob was intact: nothing fetched
    first.unlink()
    first.symlink_to("/etc/hostname")  # a link somewhere else
    assert _resolve(url).read_bytes() == BODY and not first.is_symlink()


def test_an_index_entry_edited_to_leave_the_cache_is_no_entry(server: str, seed_home: Path) -> None:
    url = f"{server}/body.txt?index"
    _resolve(url)
    (index,) = (seed_home / "cache/downloads/index").glob("*.json")
    entry = json.loads(index.read_text())
    before = _Handler.counts["/body.txt"]
    for forged in ({"sha256": "../../../../etc/passwd"}, {"name": "../../escape"}):
        index.write_text(json.dumps({**entry, **forged}))
        path = _resolve(url)
        assert path.read_bytes() == BODY and seed_home / "cache/downloads/named" in path.parents
    assert _Handler.counts["/body.txt"] == before + 2


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(["key", "url", "sha256", "size", "name", "content_type", "fetched",
                                        "last_used"]),
                       st.none() | st.integers() | st.text(max_size=70) | st.floats(allow_nan=False)))
def test_a_hostile_index_file_is_no_entry_never_a_crash(fields: dict) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        cache = DownloadCache(Path(root))
        key = cache.key("https://example.invalid/x")
        (cache.root / "index").mkdir(parents=True)
        (cache.root / "index" / f"{key}.json").write_text(json.dumps(fields))
        entry = cache.lookup(key)  # no blob: never an entry; and no exception whatever the fields
        assert entry is None


# -- one deadline over the whole download -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-chunked", "/trickle-headers", "/trickle-status"])
def test_a_trickle_ends_at_the_deadline(server: str, seed_home: Path, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(PlanError) as caught:
        _resolve(f"{server}{path}", timeout=DEADLINE)
    took = time.monotonic() - started
    (problem,) = caught.value.problems
    assert problem.code == "input-download-failed" and "\n" not in problem.message
    assert f"timed out after {DEADLINE:g} s" in problem.message, problem.message
    assert took < DEADLINE + 3.0, took  # the old code went on for the whole trickle (20 s here)
    assert not DownloadCache().entries()
    assert not any((seed_home / "cache/downloads/tmp").iterdir())


def test_headers_without_end_within_the_deadline_are_one_line_too(server: str) -> None:
    # a generous deadline: the header parser's own limit (100 headers) ends it first, as a refusal
    with pytest.raises(PlanError) as caught:
        _resolve(f"{server}/trickle-headers", timeout=30.0)
    (problem,) = caught.value.problems
    assert problem.code == "input-download-failed" and "not HTTP" in problem.message, problem.message


@pytest.mark.engine
def test_seed_run_refuses_a_trickling_download_with_exit_2_and_no_folder(server: str, seed_home: Path,
                                                                        tmp_path: Path) -> None:
    for path in ("/trickle-headers", "/trickle-chunked"):
        started = time.monotonic()
        run = subprocess.run([SEED, "run", WATERMARK, "-i", f"INPUT_IMAGE={server}{path}", "--json",
                              "-o", str(tmp_path / "run")], capture_output=True, timeout=120,
                             env={**os.environ, "SEED_HOME": str(seed_home), "SEED_DOWNLOAD_TIMEOUT": "1"})
        assert run.returncode == 2, run.stderr.decode()
        document = json.loads(run.stdout)
        assert document["status"] == "rejected" and document["run_dir"] is None
        assert [p["code"] for p in document["problems"]] == ["input-download-failed"]
        assert "timed out after 1 s" in document["problems"][0]["message"]
        assert not (tmp_path / "run").exists()
        assert time.monotonic() - started < 15.0  # the trickle would go on for 20 s

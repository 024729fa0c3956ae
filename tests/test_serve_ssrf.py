"""References a server fetches go only to public addresses unless allowed (SSRF): real HTTP servers on loopback,
the fetching code `seed run` uses, a test resolver for names."""

from __future__ import annotations

import http.server
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.inputs import resolve_url_inputs
from seed_runner.inputs.address_policy import AddressPolicy, RefusedAddress
from seed_runner.inputs.guarded import Guard
from seed_runner.runtime.plan import PlanError, RunRequest

sys.path.insert(0, str(Path(__file__).parent))


class _Handler(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.target)
            self.end_headers()
            return
        body = b"secret bytes\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(host: str) -> tuple[http.server.HTTPServer, int]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(http.server.ThreadingHTTPServer):
        address_family = family

    server = Server((host, 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SEED_HOME", str(tmp_path / "home"))
    inner, inner_port = _serve("127.0.0.1")
    outer, outer_port = _serve("127.0.0.2")
    six, six_port = _serve("::1")
    _Handler.target = f"http://127.0.0.1:{inner_port}/secret"
    yield {"inner": inner_port, "outer": outer_port, "six": six_port}
    for server in (inner, outer, six):
        server.shutdown()


def _fetch(url: str, guard: Guard) -> Any:
    request = RunRequest(image="x", file_inputs={"INPUT": [url]})
    return resolve_url_inputs(request, progress=False, guard=guard)


def _refused(url: str, guard: Guard, words: str) -> None:
    with pytest.raises(PlanError) as caught:
        _fetch(url, guard)
    problem = caught.value.problems[0]
    assert problem.code == "input-refused-url" and words in problem.message, problem.message


@pytest.mark.parametrize("host, words", [
    ("127.0.0.1", "loopback"), ("2130706433", "loopback"), ("0177.0.0.1", "loopback"), ("0x7f.1", "loopback"),
    ("[::1]", "loopback"), ("[::ffff:127.0.0.1]", "loopback"), ("localhost", "loopback"),
])
def test_loopback_in_every_spelling_is_refused(servers: dict[str, int], host: str, words: str) -> None:
    port = servers["six"] if host == "[::1]" else servers["inner"]
    _refused(f"http://{host}:{port}/secret", Guard(AddressPolicy()), words)


@pytest.mark.parametrize("url, words", [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.1.2.3/x", "private"), ("http://192.168.0.1/x", "private"), ("http://[fe80::1]/x", "link-local"),
    ("file:///etc/passwd", "only http:// and https://"), ("ftp://example.org/x", "only http:// and https://"),
])
def test_private_link_local_and_other_schemes_are_refused_without_connecting(servers: dict[str, int], url: str,
                                                                             words: str) -> None:
    _refused(url, Guard(AddressPolicy()), words)


def test_a_redirect_to_loopback_is_refused_after_an_allowed_first_hop(servers: dict[str, int]) -> None:
    guard = Guard(AddressPolicy(("127.0.0.2/32",)))
    fetched = _fetch(f"http://127.0.0.2:{servers['outer']}/plain", guard)  # the control: the first hop works
    assert Path(fetched.file_inputs["INPUT"][0]).read_bytes() == b"secret bytes\n"
    _refused(f"http://127.0.0.2:{servers['outer']}/redirect", guard, "loopback")


def test_a_name_is_resolved_once_and_the_checked_address_is_connected_to(servers: dict[str, int]) -> None:
    answers = {"evil.example": "127.0.0.1", "fine.example": "127.0.0.2"}
    asked: list[str] = []

    def resolve(host: str, port: int, *rest: Any) -> list[tuple[Any, ...]]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    guard = Guard(AddressPolicy(("127.0.0.2",)), resolve)
    _refused(f"http://evil.example:{servers['inner']}/secret", guard, "evil.example is 127.0.0.1, a loopback")
    # fine.example exists in no DNS: the fetch works only because the checked answer is what is connected to
    fetched = _fetch(f"http://fine.example:{servers['outer']}/plain", guard)
    assert Path(fetched.file_inputs["INPUT"][0]).read_bytes() == b"secret bytes\n"
    assert asked == ["evil.example", "fine.example"]


def test_an_allow_list_of_names_and_networks() -> None:
    policy = AddressPolicy(("*.internal.example", "10.0.0.0/8"))
    assert policy.host_allowed("data.internal.example") and not policy.host_allowed("internal.example.org")
    policy.check_address("x", "10.2.3.4")
    policy.check_address("x", "93.184.216.34")
    for address in ("127.0.0.1", "172.16.0.1", "::1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "100.64.0.1"):
        with pytest.raises(RefusedAddress):
            policy.check_address("x", address)

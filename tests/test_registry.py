"""The registry client (seed_runner.registry.client) against a real registry: catalog pages, manifests, config blobs
without layers, manifest lists, basic auth, credentials from the Docker config, a registry that is down; and
the bearer-token and redirect handling against a small local stand-in (no registry here issues tokens)."""

from __future__ import annotations

import base64
import http.server
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.registry.publishing import search
from seed_runner.registry.client import (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, Credentials, RegistryAuthError,
                                  RegistryClient, RegistryUnavailableError, docker_config_credentials,
                                  parse_registry, resolve_credentials)

from .registry_fixture import LABEL, RegistryServer, free_port, push, seed_manifest, unique_name

pytestmark = pytest.mark.engine


# -- addresses and credentials (no registry needed) ---------------------------------------------------------


def test_registry_addresses() -> None:
    assert parse_registry("127.0.0.1:5000").base_url == "http://127.0.0.1:5000"
    assert parse_registry("localhost:5000").scheme == "http"
    assert parse_registry("[::1]:5000").scheme == "http"
    assert parse_registry("registry.example.com").base_url == "https://registry.example.com"
    assert parse_registry("http://registry.example.com:5000/").base_url == "http://registry.example.com:5000"
    assert parse_registry("https://127.0.0.1:5443").scheme == "https"
    for bad in ("127.0.0.1:5000/org", "", "host name", "ftp://x", "a:b:c"):
        with pytest.raises(ValueError):
            parse_registry(bad)


def _write_config(directory: Path, document: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(document))
    return directory


def test_credentials_come_from_the_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = base64.b64encode(b"alice:pa:ss").decode()
    config = _write_config(tmp_path / "docker", {"auths": {
        "http://127.0.0.1:5000/v1/": {"auth": auth},
        "other.example.com": {"username": "bob", "password": "b0b"}}})
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    found = docker_config_credentials("127.0.0.1:5000")
    assert (found.username, found.password) == ("alice", "pa:ss")
    assert found.source == str(config / "config.json")
    assert "pa:ss" not in repr(found)
    assert docker_config_credentials("https://other.example.com").username == "bob"
    assert docker_config_credentials("127.0.0.1:5001") is None
    # options win over the config
    assert resolve_credentials("127.0.0.1:5000", ("carol", "c")).username == "carol"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nowhere"))
    assert resolve_credentials("127.0.0.1:5000") is None


def test_credentials_from_a_credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = tmp_path / "bin" / "docker-credential-fake"
    helper.parent.mkdir()
    helper.write_text('#!/bin/sh\nread server\n[ "$server" = "127.0.0.1:5000" ] || exit 1\n'
                      'printf \'{"ServerURL":"%s","Username":"dave","Secret":"d4ve"}\' "$server"\n')
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_CONFIG", str(_write_config(tmp_path / "docker", {"credsStore": "fake"})))
    found = docker_config_credentials("127.0.0.1:5000")
    assert (found.username, found.password) == ("dave", "d4ve")
    assert docker_config_credentials("127.0.0.1:5999") is None


# -- a real registry ----------------------------------------------------------------------------------------


def test_the_catalog_is_read_page_by_page(registry: RegistryServer, seed_image: Any, docker_client: Any) -> None:
    local = seed_image()
    names = sorted(f"{unique_name('page')}-1.0.0-seed" for _ in range(5))
    for name in names:
        push(docker_client, registry, local, name, "1.0.0")
    mark = registry.log_mark()
    client = RegistryClient(registry.host)
    repositories = list(client.catalog(page_size=2))
    assert set(names) <= set(repositories)
    assert len(repositories) == len(set(repositories))
    catalog_requests = [path for method, path, _ in registry.requests(mark) if path.startswith("/v2/_catalog")]
    assert len(catalog_requests) >= 3 and all("n=2" in path for path in catalog_requests)
    assert any("last=" in path for path in catalog_requests)


def test_the_label_comes_from_the_config_blob_and_no_layer_is_fetched(
        registry: RegistryServer, seed_image: Any, docker_client: Any) -> None:
    local = seed_image()
    repository = local.split(":")[0]
    digest = push(docker_client, registry, local, repository, "1.0.0")
    local_label = docker_client.images.get(local).labels[LABEL]

    mark = registry.log_mark()
    client = RegistryClient(registry.host)
    label, manifest_digest = client.seed_label(repository, "1.0.0")
    assert label == local_label and manifest_digest == digest

    _, manifest, _ = client.manifest(repository, "1.0.0")
    config_digest = manifest["config"]["digest"]
    layers = {layer["digest"] for layer in manifest["layers"]}
    assert layers and config_digest == docker_client.images.get(local).id
    blob_requests = [path.rsplit("/", 1)[1] for _, path, _ in registry.requests(mark) if "/blobs/" in path]
    assert blob_requests == [config_digest], blob_requests  # the config, once; never a layer
    assert not layers & {path.rsplit("/", 1)[-1] for _, path in client.requests}


def test_tags_and_manifest_existence(registry: RegistryServer, seed_image: Any, docker_client: Any) -> None:
    local = seed_image()
    repository = local.split(":")[0]
    digests = {tag: push(docker_client, registry, local, repository, tag) for tag in ("1.0.0", "1.0.1")}
    client = RegistryClient(f"http://{registry.host}")
    assert sorted(client.tags(repository)) == ["1.0.0", "1.0.1"]
    assert client.manifest_digest(repository, "1.0.1") == digests["1.0.1"]
    assert client.manifest_digest(repository, "9.9.9") is None
    assert client.manifest_digest(f"{unique_name()}-1.0.0-seed", "1.0.0") is None
    with pytest.raises(ValueError):
        client.manifest_digest("Bad/../name", "1.0.0")


@pytest.mark.parametrize("index_type", [DOCKER_MANIFEST_LIST, OCI_INDEX])
def test_a_manifest_list_resolves_to_linux_amd64(registry: RegistryServer, seed_image: Any, docker_client: Any,
                                                 index_type: str) -> None:
    name = unique_name("multi")
    arm = seed_image(seed_manifest(name, title="the arm64 one"), tag=f"{name}-arm:1")
    amd = seed_image(seed_manifest(name, title="the amd64 one"), tag=f"{name}-amd:1")
    repository = f"{name}-1.0.0-seed"
    entries = []
    for local, arch in ((arm, "arm64"), (amd, "amd64")):
        digest = push(docker_client, registry, local, repository, arch)
        client = RegistryClient(registry.host)
        body = client.request("GET", f"/v2/{repository}/manifests/{arch}", accept=DOCKER_MANIFEST).body
        entries.append({"mediaType": DOCKER_MANIFEST, "digest": digest, "size": len(body),
                        "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": entries}).encode()
    import urllib.request

    request = urllib.request.Request(f"{registry.url}/v2/{repository}/manifests/1.0.0", data=index, method="PUT",
                                     headers={"Content-Type": index_type})
    urllib.request.urlopen(request).close()

    label, _ = RegistryClient(registry.host).seed_label(repository, "1.0.0")
    assert json.loads(label)["job"]["title"] == "the amd64 one"
    assert docker_client.images.get(amd).labels[LABEL] == label


def test_basic_auth_missing_wrong_and_right(auth_registry: RegistryServer) -> None:
    with pytest.raises(RegistryAuthError, match="requires credentials"):
        RegistryClient(auth_registry.host).ping()
    wrong = Credentials(auth_registry.username, auth_registry.password + "x")
    with pytest.raises(RegistryAuthError, match="rejected the credentials") as caught:
        RegistryClient(auth_registry.host, wrong).ping()
    assert auth_registry.password not in str(caught.value) and auth_registry.username not in str(caught.value)
    client = RegistryClient(auth_registry.host, Credentials(*auth_registry.credentials))
    client.ping()
    assert isinstance(list(client.catalog()), list)


def test_a_registry_that_is_down_is_unavailable() -> None:
    port = free_port()
    with pytest.raises(RegistryUnavailableError, match=f"127.0.0.1:{port} does not answer"):
        RegistryClient(f"127.0.0.1:{port}").ping()


# -- bearer tokens and redirects: a local stand-in ------------------------------------------------------------


class _StandIn(http.server.BaseHTTPRequestHandler):
    """/token issues a token for basic credentials; /v2/ wants it; a blob redirects to another host."""

    seen: list[tuple[str, str, str | None]] = []
    other_port = 0

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        auth = self.headers.get("Authorization")
        self.seen.append((self.server.server_port, self.path, auth))
        host = f"127.0.0.1:{self.server.server_port}"
        if self.path.startswith("/token"):
            good = "Basic " + base64.b64encode(b"erin:s3cr3t").decode()
            if auth != good:
                return self._send(401)
            return self._send(200, json.dumps({"token": "tok-123"}).encode())
        if self.path.startswith("/elsewhere/"):
            return self._send(200, b"{}")
        if auth != "Bearer tok-123":
            challenge = f'Bearer realm="http://{host}/token",service="stand-in",scope="repository:x:pull"'
            return self._send(401, b"{}", {"WWW-Authenticate": challenge})
        if self.path.startswith("/v2/x/blobs/"):
            return self._send(307, b"", {"Location": f"http://127.0.0.1:{self.other_port}/elsewhere/blob"})
        return self._send(200, b"{}", {"Content-Type": "application/json"})


@pytest.fixture
def stand_in() -> Iterator[tuple[str, str]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandIn) for _ in range(2)]
    _StandIn.seen = []
    _StandIn.other_port = servers[1].server_port
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield tuple(f"127.0.0.1:{s.server_port}" for s in servers)
    for server in servers:
        server.shutdown()
        server.server_close()


def test_bearer_tokens_and_redirects_drop_credentials(stand_in: tuple[str, str]) -> None:
    host, other = stand_in
    with pytest.raises(RegistryAuthError, match="rejected"):
        RegistryClient(host, Credentials("erin", "wrong")).ping()
    client = RegistryClient(host, Credentials("erin", "s3cr3t"))
    client.ping()
    digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # of b"{}"
    assert client.blob("x", digest) == b"{}"
    redirected = [auth for port, path, auth in _StandIn.seen if path.startswith("/elsewhere/")]
    assert redirected == [None]  # the Authorization header never leaves the registry's host
    assert any(auth == "Bearer tok-123" for _, path, auth in _StandIn.seen if path.startswith("/v2/x/blobs/"))


# -- addresses with credentials, names with a trailing newline ----------------------------------------------


def test_credentials_in_the_address_are_refused_without_echoing_them() -> None:
    from seed_runner.registry.client import parse_registry

    for text in ("http://me:hunter2@127.0.0.1:5000", "me:hunter2@host:5000", "https://me:hun/ter2@host",
                 "http://me:hunter2@host/v2/x"):
        with pytest.raises(ValueError) as caught:
            parse_registry(text)
        assert "hunter2" not in str(caught.value) and "credentials" in str(caught.value)
    for text in ("http://127.0.0.1:5000/v2", "127.0.0.1:5000/v2/", "127.0.0.1:5000/"):
        assert parse_registry(text).host == "127.0.0.1:5000"
    with pytest.raises(ValueError, match="--org"):
        parse_registry("127.0.0.1:5000/org")


def test_names_with_a_trailing_newline_are_invalid() -> None:
    from seed_runner.registry.client import check_reference, check_repository

    assert check_repository("a/b-seed") == "a/b-seed"
    assert check_reference("1.0.0") == "1.0.0"
    for bad in ("a-seed\n", "a\n/b"):
        with pytest.raises(ValueError):
            check_repository(bad)
    for bad in ("1.0.0\n", "sha256:abc\n", "../../x"):
        with pytest.raises(ValueError):
            check_reference(bad)


# -- registry answers of the wrong shape: a fake registry -----------------------------------------------------


class _Fake(http.server.BaseHTTPRequestHandler):
    """Answers GET from ``routes`` (path without query -> JSON document or (status, bytes))."""

    routes: dict[str, Any] = {}
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, with_body: bool) -> None:
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            status, body = 404, b'{"errors": [{"message": "unknown"}]}'
        elif isinstance(route, tuple):
            status, body = route
        else:
            status, body = 200, json.dumps(route).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)


def _image_routes(repository: str, tag: str, label: str | None) -> dict[str, Any]:
    """Routes serving one image (manifest + config blob) with ``label``."""
    import hashlib

    config = json.dumps({"config": {"Labels": {LABEL: label} if label else {}}}).encode()
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": digest,
                           "size": len(config)}, "layers": []}
    return {f"/v2/{repository}/manifests/{tag}": manifest, f"/v2/{repository}/blobs/{digest}": (200, config)}


@pytest.fixture
def fake_registry() -> Iterator[tuple[str, dict[str, Any]]]:
    routes: dict[str, Any] = {"/v2/": {}}
    handler = type("Handler", (_Fake,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}", routes
    server.shutdown()
    server.server_close()


def _seed_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Any:
    import subprocess
    import sys

    seed = str(Path(sys.executable).with_name("seed"))
    return subprocess.run([seed, *args], capture_output=True, text=True, timeout=120, input=stdin,
                          env={**os.environ, **(env or {})})


def _good_label(name: str) -> str:
    return json.dumps({"seedVersion": "1.0.0", "job": {"name": name, "jobVersion": "1.0.0",
                                                        "packageVersion": "1.0.0", "title": "Good"}})


def test_a_catalog_that_is_a_list_is_a_registry_error(fake_registry: tuple[str, dict[str, Any]]) -> None:
    host, routes = fake_registry
    routes["/v2/_catalog"] = ["good-1.0.0-seed"]
    proc = _seed_cli("search", "-r", host)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "--org" not in proc.stderr
    assert "GET /v2/_catalog" in proc.stderr
    routes["/v2/_catalog"] = (200, b"<html>not json</html>")
    proc = _seed_cli("search", "-r", host)
    assert proc.returncode == 1 and "GET /v2/_catalog" in proc.stderr and "not JSON" in proc.stderr, proc.stderr


def test_malformed_registry_entries_are_skipped_and_good_ones_found(
        fake_registry: tuple[str, dict[str, Any]]) -> None:
    host, routes = fake_registry
    routes["/v2/_catalog"] = {"repositories": [7, None, {"x": 1}, "Bad-Name-seed", "bad\n-seed", "good-1.0.0-seed",
                                               "index-1.0.0-seed", "shape-1.0.0-seed"]}
    routes["/v2/good-1.0.0-seed/tags/list"] = {"name": "good-1.0.0-seed",
                                               "tags": ["1.0.0", "../../x", 3, "1.0.1\n", None]}
    routes.update(_image_routes("good-1.0.0-seed", "1.0.0", _good_label("good")))
    # an index whose entries are not objects, then one whose digest is a path
    routes["/v2/index-1.0.0-seed/tags/list"] = {"tags": ["1.0.0", "2.0.0"]}
    routes["/v2/index-1.0.0-seed/manifests/1.0.0"] = {
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": ["nope", 5, None]}
    routes["/v2/index-1.0.0-seed/manifests/2.0.0"] = {
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"digest": "../../x", "platform": {"os": "linux", "architecture": "amd64"}}]}
    routes["/v2/shape-1.0.0-seed/tags/list"] = ["1.0.0"]  # a tag list of the wrong shape

    skipped: list[tuple[str, str]] = []
    hits = search(host, on_skip=lambda ref, why: skipped.append((ref, why)))
    assert [h.reference for h in hits] == [f"{host}/good-1.0.0-seed:1.0.0"]
    reasons = "\n".join(f"{ref} {why}" for ref, why in skipped)
    assert "not a valid repository name" in reasons and "not a valid tag" in reasons
    assert "index-1.0.0-seed:1.0.0" in reasons and "index-1.0.0-seed:2.0.0" in reasons
    assert "shape-1.0.0-seed" in reasons

    proc = _seed_cli("search", "-r", host, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "seed: warning:" in proc.stderr
    assert [r["reference"] for r in json.loads(proc.stdout)["results"]] == [f"{host}/good-1.0.0-seed:1.0.0"]


def test_a_token_answer_of_the_wrong_shape_is_an_auth_error(fake_registry: tuple[str, dict[str, Any]]) -> None:
    host, routes = fake_registry
    client = RegistryClient(host)
    routes["/token"] = ["tok"]
    with pytest.raises(RegistryAuthError, match="gave no token"):
        client._fetch_token({"realm": f"http://{host}/token"}, "")
    client.close()


def test_the_client_closes_every_connection_it_opened(fake_registry: tuple[str, dict[str, Any]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    host, routes = fake_registry
    routes["/v2/_catalog"] = {"repositories": []}
    with RegistryClient(host) as client:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: client.ping(), range(16)))
        opened = list(client._opened)
        assert opened and any(c.sock is not None for c in opened)
    assert all(c.sock is None for c in opened)
    assert client._opened == []


def test_search_leaves_no_socket_open(fake_registry: tuple[str, dict[str, Any]]) -> None:
    """Run a search in a child with ResourceWarning as an error: an unclosed socket fails it."""
    import subprocess
    import sys

    host, routes = fake_registry
    routes["/v2/_catalog"] = {"repositories": ["good-1.0.0-seed"]}
    routes["/v2/good-1.0.0-seed/tags/list"] = {"tags": ["1.0.0"]}
    routes.update(_image_routes("good-1.0.0-seed", "1.0.0", _good_label("good")))
    code = ("import gc, warnings\n"
            "from seed_runner.registry.publishing import search\n"
            f"hits = search({host!r})\n"
            "assert len(hits) == 1, hits\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    gc.collect()\n"
            "bad = [w for w in caught if issubclass(w.category, ResourceWarning)]\n"
            "assert not bad, [str(w.message) for w in bad]\n")
    proc = subprocess.run([sys.executable, "-X", "dev", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ResourceWarning" not in proc.stderr


def test_credentials_are_never_sent_to_a_plain_http_token_service_of_an_https_registry() -> None:
    from seed_runner.registry.client import Credentials, RegistryAddress, RegistryAuthError, RegistryClient

    client = RegistryClient(RegistryAddress("https", "registry.invalid"), Credentials("me", "pw-not-sent"))
    with pytest.raises(RegistryAuthError, match="not HTTPS") as info:
        client._fetch_token({"realm": "http://tokens.invalid/token", "service": "s"}, "repository:x:pull")
    assert "pw-not-sent" not in str(info.value)

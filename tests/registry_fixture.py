"""A pytest plugin: real Docker registries (Debian's docker-registry) on 127.0.0.1 for the publish/pull/search tests.

Two session fixtures, ``registry`` (no authentication) and ``auth_registry`` (htpasswd basic authentication over
plain HTTP, which both the registry and the Docker daemon accept for loopback addresses), each a
``/usr/bin/docker-registry serve CONFIG`` on a free port with its storage in a temporary folder, removed at the
end. ``seed_image`` builds labelled Seed test images and removes them, and everything the engine holds under
the registries' names, at the end.

Load it with ``pytest_plugins = ["tests.registry_fixture"]`` in tests/conftest.py; a test module may also import
the fixtures itself: a registry is started once per session however many times its fixture is registered.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
LABEL = "com.ngageoint.seed.manifest"
BUSYBOX_IMAGE = "seed-runner/busybox:1"
_ACCESS_LINE = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d{3})')


@dataclass
class RegistryServer:
    """A running registry: ``host`` is ``127.0.0.1:PORT`` as image references use it."""

    host: str
    root: Path
    process: subprocess.Popen
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    @property
    def log_file(self) -> Path:
        return self.root / "registry.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def credentials(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None

    def log_mark(self) -> int:
        """The log's current size: pass it to ``requests(since=)`` to see only what follows."""
        return self.log_file.stat().st_size

    def requests(self, since: int = 0) -> list[tuple[str, str, int]]:
        """(method, path with query, status) of every request in the registry's access log after ``since``."""
        with open(self.log_file, "rb") as fh:
            fh.seek(since)
            text = fh.read().decode("utf-8", "replace")
        return [(m[1], m[2], int(m[3])) for m in _ACCESS_LINE.finditer(text)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _htpasswd(path: Path, username: str, password: str) -> None:
    try:
        import bcrypt  # the registry reads bcrypt entries only
    except ImportError:
        pytest.fail("the bcrypt package is missing: install the test extras (pip install -e '.[test]')",
                    pytrace=False)

    path.write_text(f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6)).decode()}\n")


def start_registry(root: Path, *, auth: bool = False, timeout: float = 20.0) -> RegistryServer:
    """Start a registry in ``root`` on a free loopback port and wait until ``GET /v2/`` answers."""
    if not REGISTRY_BINARY.exists():
        pytest.fail(f"{REGISTRY_BINARY} is missing: run scripts/ensure-registry.sh (Debian's docker-registry)",
                    pytrace=False)
    root.mkdir(parents=True, exist_ok=True)
    username = password = None
    auth_section = ""
    if auth:
        username, password = "seed-tester", "pw-" + secrets.token_urlsafe(16)
        _htpasswd(root / "htpasswd", username, password)
        auth_section = f"auth:\n  htpasswd:\n    realm: seed-runner-tests\n    path: {root / 'htpasswd'}\n"
    for _attempt in range(3):  # another process may take the free port before the registry binds it
        port = free_port()
        (root / "config.yml").write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
            + auth_section)
        with open(root / "registry.log", "ab") as log:
            process = subprocess.Popen([str(REGISTRY_BINARY), "serve", str(root / "config.yml")], stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        server = RegistryServer(f"127.0.0.1:{port}", root, process, username, password)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(f"{server.url}/v2/", timeout=2).close()
                return server
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and auth:
                    return server
            except OSError:
                pass
            time.sleep(0.05)
        stop_registry(server)
        if "address already in use" not in server.log_file.read_text(errors="replace"):
            break
    tail = "\n".join(server.log_file.read_text(errors="replace").splitlines()[-15:])
    pytest.fail(f"the registry did not answer on {server.host}; its log ends:\n{tail}", pytrace=False)


def stop_registry(server: RegistryServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


# One server per kind per session, even when the fixtures are registered by several modules.
_servers: dict[str, tuple[RegistryServer, int]] = {}


def _shared_registry(kind: str, factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    if kind in _servers:
        server, users = _servers[kind]
        _servers[kind] = (server, users + 1)
    else:
        server = start_registry(factory.mktemp(f"registry-{kind}"), auth=kind == "auth")
        _servers[kind] = (server, 1)
    try:
        yield server
    finally:
        server, users = _servers[kind]
        if users > 1:
            _servers[kind] = (server, users - 1)
        else:
            del _servers[kind]
            stop_registry(server)
            _remove_local_images(server.host)
            shutil.rmtree(server.root, ignore_errors=True)  # the storage: every blob and manifest pushed


def _remove_local_images(host: str) -> None:
    """Remove every local tag under ``host/`` (pushed or pulled images), best effort."""
    try:
        import docker

        client = docker.from_env()
        for image in client.images.list():
            for tag in image.tags:
                if tag.startswith(f"{host}/"):
                    try:
                        client.images.remove(tag, force=True)
                    except docker.errors.APIError:
                        pass
    except Exception:  # noqa: BLE001 - no engine: nothing to clean
        pass


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry without authentication on 127.0.0.1 (plain HTTP)."""
    yield from _shared_registry("open", tmp_path_factory)


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with htpasswd basic authentication; ``.credentials`` is (user, password)."""
    yield from _shared_registry("auth", tmp_path_factory)


# -- Seed test images --------------------------------------------------------------------------------


def seed_manifest(name: str, job_version: str = "1.0.0", package_version: str = "1.0.0", *,
                  title: str = "Registry test job", description: str = "A job the registry tests publish.",
                  tags: list[str] | None = None) -> dict[str, Any]:
    """A minimal valid Seed manifest (no findings)."""
    return {"seedVersion": "1.0.0", "job": {
        "name": name, "jobVersion": job_version, "packageVersion": package_version, "title": title,
        "description": description, "tags": tags if tags is not None else ["test"],
        "maintainer": {"name": "Test", "email": "test@example.com"}, "timeout": 30,
        "resources": {"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 64},
                                 {"name": "disk", "value": 1}]},
        "interface": {"command": "echo hello"}}}


def unique_name(prefix: str = "regtest") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def build_labelled(client: Any, tag: str, labels: dict[str, str]) -> str:
    """Build ``FROM seed-runner/busybox:1`` with labels, plus a unique one so that the image never shares its id
    with another (removing it then never touches the base); returns the id."""
    labels = {**labels, "io.seed-runner.test": uuid.uuid4().hex}
    dockerfile = f"FROM {BUSYBOX_IMAGE}\n".encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buffer.seek(0)
    image, _ = client.images.build(fileobj=buffer, custom_context=True, tag=tag, labels=labels, rm=True)
    return image.id


@pytest.fixture(scope="session")
def seed_image(docker_client: Any, busybox_image: str) -> Iterator[Callable[..., str]]:
    """``seed_image(manifest=None, tag=None, label=True)`` builds a local Seed image (its manifest compact in
    the label, tagged ``<name>-<jobVersion>-seed:<packageVersion>``) and returns the tag; ``label=False``
    builds one without the Seed label. Every image built is removed (by id, with all its tags) at the end of
    the session."""
    made: list[str] = []

    def build(manifest: dict[str, Any] | None = None, tag: str | None = None, label: bool = True) -> str:
        manifest = manifest or seed_manifest(unique_name())
        job = manifest["job"]
        tag = tag or f"{job['name']}-{job['jobVersion']}-seed:{job['packageVersion']}"
        labels = {LABEL: json.dumps(manifest, separators=(",", ":"))} if label else {}
        made.append(build_labelled(docker_client, tag, labels))
        return tag

    yield build
    for image_id in made:  # by id: also an image a rebuild under the same tag left without a name
        try:
            docker_client.images.remove(image_id, force=True)
        except Exception:  # noqa: BLE001 - already removed by the test
            pass


def push(client: Any, server: RegistryServer, local: str, repository: str, tag: str) -> str:
    """Push a local image as ``server/repository:tag`` with the docker SDK (independently of seed_runner) and
    return the manifest digest; the registry tag is removed locally afterwards."""
    target = f"{server.host}/{repository}"
    client.images.get(local).tag(target, tag)
    try:
        auth = {"username": server.username, "password": server.password} if server.credentials else None
        digest = None
        for line in client.api.push(target, tag=tag, stream=True, decode=True, auth_config=auth):
            if line.get("error") or line.get("errorDetail"):
                raise AssertionError(f"pushing {target}:{tag} failed: {line.get('error') or line['errorDetail']}")
            digest = (line.get("aux") or {}).get("Digest") or digest
        assert digest, f"pushing {target}:{tag} reported no digest"
        return digest
    finally:
        client.images.remove(f"{target}:{tag}")

"""Where the engine is (``seed_runner.engine.endpoint``), decided as the docker CLI decides it, without an engine.

DOCKER_HOST and its TLS variables, docker contexts written as the CLI stores them, the order between them, the
messages that name the endpoint and its source, and the connection failures that need no engine (TLS files
that cannot be used, a port nobody listens on). tests/test_remote_engines.py holds the same against real
engines (a TLS dockerd, an sshd) and checks the context store against the docker CLI itself.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any, Iterator

import pytest

from seed_runner.engine import ssh
from seed_runner.engine.client import Engine
from seed_runner.engine.endpoint import DEFAULT_SOCKET, Endpoint, endpoint_from_host, resolve_endpoint
from seed_runner.errors import EngineUnavailableError


def write_context(config: Path, name: str, host: str | None, *, skip_verify: bool = False,
                  tls: dict[str, bytes] | None = None) -> Path:
    """A context as `docker context create` stores it; returns its TLS folder."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    docker: dict[str, Any] = {"SkipTLSVerify": skip_verify}
    if host is not None:
        docker["Host"] = host
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": docker}}))
    folder = config / "contexts" / "tls" / digest / "docker"
    for part, data in (tls or {}).items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{part}.pem").write_bytes(data)
    return folder


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    """An environment with a private docker config folder and HOME."""
    return {"HOME": str(tmp_path / "home"), "DOCKER_CONFIG": str(tmp_path / "config"), **values}


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts connections (into the backlog) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


# -- DOCKER_HOST ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, kind, host, port, path, user, url", [
    ("unix:///run/other.sock", "unix", "", None, "/run/other.sock", None, "unix:///run/other.sock"),
    ("unix://", "unix", "", None, DEFAULT_SOCKET, None, f"unix://{DEFAULT_SOCKET}"),
    ("tcp://10.0.0.5:2375", "tcp", "10.0.0.5", 2375, "", None, "tcp://10.0.0.5:2375"),
    ("tcp://engine.example", "tcp", "engine.example", 2375, "", None, "tcp://engine.example:2375"),
    ("engine.example:4243", "tcp", "engine.example", 4243, "", None, "tcp://engine.example:4243"),
    ("http://engine.example:80", "tcp", "engine.example", 80, "", None, "tcp://engine.example:80"),
    ("tcp://[::1]:2375", "tcp", "::1", 2375, "", None, "tcp://[::1]:2375"),
    ("tcp://:2375", "tcp", "localhost", 2375, "", None, "tcp://localhost:2375"),
    ("ssh://me@build-host:2222", "ssh", "build-host", 2222, "", "me", "ssh://me@build-host:2222"),
    ("ssh://build-host", "ssh", "build-host", None, "", None, "ssh://build-host"),
    ("ssh://me@build-host/run/user/1000/docker.sock", "ssh", "build-host", None, "/run/user/1000/docker.sock",
     "me", "ssh://me@build-host/run/user/1000/docker.sock"),
])
def test_docker_host_addresses(tmp_path: Path, value: str, kind: str, host: str, port: int | None, path: str,
                               user: str | None, url: str) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_HOST=value))
    assert (endpoint.kind, endpoint.host, endpoint.port, endpoint.path, endpoint.user) == (kind, host, port, path,
                                                                                           user)
    assert endpoint.url == url and endpoint.address == value and endpoint.origin == "DOCKER_HOST"
    assert not endpoint.tls and endpoint.context is None
    assert (endpoint.described, endpoint.source) == (f"DOCKER_HOST={value}", "DOCKER_HOST")


def test_tls_verify_takes_the_files_of_the_cert_path(tmp_path: Path) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_HOST="tcp://engine.example", DOCKER_TLS_VERIFY="1",
                                    DOCKER_CERT_PATH="/certs"))
    assert (endpoint.tls, endpoint.verify, endpoint.port) == (True, True, 2376)  # docker's TLS port by default
    assert (endpoint.ca, endpoint.cert, endpoint.key) == ("/certs/ca.pem", "/certs/cert.pem", "/certs/key.pem")
    assert endpoint.tls_source == "DOCKER_CERT_PATH=/certs"


@pytest.mark.parametrize("variables, tls, verify", [
    ({"DOCKER_TLS_VERIFY": "1"}, True, True),
    ({"DOCKER_TLS_VERIFY": "0"}, True, True),  # docker: any value but the empty one
    ({"DOCKER_TLS_VERIFY": ""}, False, False),
    ({"DOCKER_TLS": "1"}, True, False),  # TLS without verification, as `docker --tls`
    ({"DOCKER_TLS": "1", "DOCKER_TLS_VERIFY": "1"}, True, True),
    ({"DOCKER_CERT_PATH": "/certs"}, False, False),  # the docker SDK would use TLS here; the CLI does not
    ({}, False, False),
])
def test_the_tls_variables_as_the_docker_cli_reads_them(tmp_path: Path, variables: dict[str, str], tls: bool,
                                                         verify: bool) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_HOST="tcp://127.0.0.1:2376", **variables))
    assert (endpoint.tls, endpoint.verify) == (tls, verify)


def test_the_cert_path_defaults_to_the_docker_config_folder(tmp_path: Path) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_HOST="tcp://h:1", DOCKER_TLS_VERIFY="1"))
    assert endpoint.ca == str(tmp_path / "config" / "ca.pem")
    environment = env(tmp_path, DOCKER_HOST="tcp://h:1", DOCKER_TLS_VERIFY="1")
    del environment["DOCKER_CONFIG"]
    assert resolve_endpoint(environment).cert == str(tmp_path / "home" / ".docker" / "cert.pem")


def test_https_is_tls_verified_against_the_system_cas(tmp_path: Path) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_HOST="https://engine.example"))
    assert (endpoint.kind, endpoint.tls, endpoint.verify, endpoint.port, endpoint.ca) == ("tcp", True, True, 2376, None)


@pytest.mark.parametrize("host", ["unix:///run/x.sock", "ssh://me@h"])
def test_tls_variables_do_not_apply_to_sockets_and_ssh(tmp_path: Path, host: str) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_HOST=host, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH="/c"))
    assert not endpoint.tls and endpoint.ca is None


def test_docker_host_reads_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A context that would be chosen without DOCKER_HOST, and a config naming another one: neither is read.
    environment = env(tmp_path, DOCKER_HOST="tcp://127.0.0.1:2376", DOCKER_TLS_VERIFY="1", DOCKER_CONTEXT="ci")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a file was read: {args}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(os, "stat", refuse)
    monkeypatch.setattr(os, "listdir", refuse)
    assert resolve_endpoint(environment).address == "tcp://127.0.0.1:2376"


@pytest.mark.parametrize("value, problem", [
    ("tcp://localhost:99999", "Port out of range"), ("tcp://[::1", "Invalid IPv6 URL"),
    ("fd://3", "fd:// is not supported"), ("npipe:////./pipe/docker_engine", "npipe:// is not supported"),
    ("ssh://me:secret@h", "holds a password"), ("ssh://", "no host"), ("ssh://h?x=1", "no ?query"),
])
def test_an_address_that_cannot_be_used_is_named(tmp_path: Path, value: str, problem: str) -> None:
    with pytest.raises(EngineUnavailableError, match=r"^DOCKER_HOST=.*") as caught:
        resolve_endpoint(env(tmp_path, DOCKER_HOST=value))
    message = str(caught.value)
    shown = value.replace(":secret@", ":****@")  # a password is never repeated
    assert message.startswith(f"DOCKER_HOST={shown} ") and problem in message and "\n" not in message
    assert "secret" not in message


# -- docker contexts --------------------------------------------------------------------------------------


def test_a_context_with_tls_material(tmp_path: Path) -> None:
    folder = write_context(tmp_path / "config", "ci", "tcp://10.1.2.3:2376",
                           tls={"ca": b"CA", "cert": b"CERT", "key": b"KEY"})
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="ci"))
    assert (endpoint.kind, endpoint.host, endpoint.port, endpoint.tls, endpoint.verify) == (
        "tcp", "10.1.2.3", 2376, True, True)
    assert (endpoint.ca, endpoint.cert, endpoint.key) == tuple(str(folder / f"{p}.pem") for p in ("ca", "cert", "key"))
    assert (endpoint.context, endpoint.origin) == ("ci", "DOCKER_CONTEXT")
    assert endpoint.described == "context ci (tcp://10.1.2.3:2376; DOCKER_CONTEXT=ci)"
    assert endpoint.source == "context ci, DOCKER_CONTEXT=ci"
    assert "docker context inspect ci" in endpoint.advice


def test_a_context_with_a_ca_only_verifies_without_a_client_certificate(tmp_path: Path) -> None:
    write_context(tmp_path / "config", "ca-only", "tcp://h:2376", tls={"ca": b"CA"})
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="ca-only"))
    assert endpoint.tls and endpoint.verify and endpoint.ca and endpoint.cert is None and endpoint.key is None


def test_skip_tls_verify_means_tls_without_verification(tmp_path: Path) -> None:
    write_context(tmp_path / "config", "insecure", "tcp://h:2376", skip_verify=True)
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="insecure"))
    assert (endpoint.tls, endpoint.verify, endpoint.ca) == (True, False, None)


def test_a_context_without_tls_material_is_plain(tmp_path: Path) -> None:
    write_context(tmp_path / "config", "plain", "tcp://h:2375")
    assert not resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="plain")).tls


@pytest.mark.parametrize("host, kind", [("ssh://me@h", "ssh"), ("unix:///run/x.sock", "unix"), (None, "unix")])
def test_contexts_of_other_kinds(tmp_path: Path, host: str | None, kind: str) -> None:
    write_context(tmp_path / "config", "other", host)
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="other"))
    assert endpoint.kind == kind and endpoint.context == "other"
    if host is None:  # no docker host: the local socket
        assert endpoint.path == DEFAULT_SOCKET


def test_the_current_context_of_the_config_file(tmp_path: Path) -> None:
    write_context(tmp_path / "config", "ci", "tcp://10.1.2.3:2375")
    (tmp_path / "config" / "config.json").write_text(json.dumps({"auths": {}, "currentContext": "ci"}))
    endpoint = resolve_endpoint(env(tmp_path))
    config = str(tmp_path / "config" / "config.json")
    assert (endpoint.address, endpoint.context, endpoint.origin) == ("tcp://10.1.2.3:2375", "ci", config)
    assert endpoint.described == f"context ci (tcp://10.1.2.3:2375; the current context in {config})"


def test_the_order_docker_host_then_docker_context_then_the_current_context(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_context(config, "current", "tcp://current:2375")
    write_context(config, "chosen", "tcp://chosen:2375")
    (config / "config.json").write_text(json.dumps({"currentContext": "current"}))
    assert resolve_endpoint(env(tmp_path)).host == "current"
    assert resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="chosen")).host == "chosen"
    assert resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="chosen", DOCKER_HOST="tcp://env:1")).host == "env"
    assert resolve_endpoint(env(tmp_path, DOCKER_HOST="")).host == "current"  # empty is unset, as in docker


@pytest.mark.parametrize("config", [None, "{}", '{"currentContext": ""}', '{"currentContext": "default"}',
                                    "not json", '["a list"]', '{"currentContext": 5}'])
def test_no_context_is_the_local_socket(tmp_path: Path, config: str | None) -> None:
    if config is not None:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "config.json").write_text(config)
    endpoint = resolve_endpoint(env(tmp_path))
    assert (endpoint.kind, endpoint.path, endpoint.address) == ("unix", DEFAULT_SOCKET, f"unix://{DEFAULT_SOCKET}")
    if config and "default" in config:  # named: said so
        assert endpoint.described.startswith(f"context default (unix://{DEFAULT_SOCKET}; the current context in ")
    else:
        assert (endpoint.described, endpoint.source) == (f"unix://{DEFAULT_SOCKET}", "")
    assert "scripts/ensure-engine.sh" in endpoint.advice


def test_the_default_context_by_name_is_the_local_socket(tmp_path: Path) -> None:
    endpoint = resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="default"))
    assert (endpoint.kind, endpoint.path, endpoint.context) == ("unix", DEFAULT_SOCKET, "default")


@pytest.mark.parametrize("chosen_by", ["DOCKER_CONTEXT", "config"])
def test_a_context_that_does_not_exist(tmp_path: Path, chosen_by: str) -> None:
    environment = env(tmp_path)
    if chosen_by == "DOCKER_CONTEXT":
        environment["DOCKER_CONTEXT"] = "gone"
    else:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "config.json").write_text('{"currentContext": "gone"}')
    with pytest.raises(EngineUnavailableError) as caught:
        resolve_endpoint(environment)
    message = str(caught.value)
    where = "DOCKER_CONTEXT=gone" if chosen_by == "DOCKER_CONTEXT" else "the current context in"
    assert message.startswith(f"context gone ({where}") and "does not exist" in message
    assert "docker context create gone" in message and "\n" not in message


@pytest.mark.parametrize("meta, problem", [
    (b"{not json", "cannot be read"), (b'{"Endpoints": {"docker": {"Host": 5}}}', "not text"),
])
def test_a_broken_context(tmp_path: Path, meta: bytes, problem: str) -> None:
    write_context(tmp_path / "config", "broken", "tcp://h:1")
    digest = hashlib.sha256(b"broken").hexdigest()
    (tmp_path / "config" / "contexts" / "meta" / digest / "meta.json").write_bytes(meta)
    with pytest.raises(EngineUnavailableError, match=f"^context broken .*{problem}"):
        resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="broken"))


def test_a_context_with_an_address_that_cannot_be_used(tmp_path: Path) -> None:
    write_context(tmp_path / "config", "bad", "tcp://h:99999")
    with pytest.raises(EngineUnavailableError, match=r"^the host tcp://h:99999 of context bad \(DOCKER_CONTEXT=bad\) "
                                                     r"is not a valid engine address \(Port out of range"):
        resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="bad"))


# -- the endpoint as a value, the client, ssh --------------------------------------------------------------


def test_an_endpoint_is_an_immutable_value() -> None:
    one, two = endpoint_from_host("tcp://h:1"), endpoint_from_host("tcp://h:1")
    assert one == two and hash(one) == hash(two) and one != endpoint_from_host("tcp://h:2")
    assert "host='h'" in repr(one) and one.origin == "argument"
    with pytest.raises(AttributeError):
        one.host = "other"  # type: ignore[misc]


def test_the_client_uses_the_resolved_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_context(tmp_path / "config", "ci", "tcp://10.1.2.3:2375")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("DOCKER_CONTEXT", "ci")
    engine = Engine()
    assert engine.endpoint == resolve_endpoint() and engine.host == "tcp://10.1.2.3:2375"
    assert Engine("unix:///x.sock").endpoint.path == "/x.sock"


def test_the_ssh_command_is_the_docker_clis() -> None:
    assert ssh.command(endpoint_from_host("ssh://me@build-host:2222")) == [
        "ssh", "-o", "ConnectTimeout=30", "-T", "-l", "me", "-p", "2222", "--", "build-host",
        "docker", "system", "dial-stdio"]
    assert ssh.command(endpoint_from_host("ssh://h/run/my docker.sock"))[-5:] == [
        "docker", "--host", "'unix:///run/my docker.sock'", "system", "dial-stdio"]


def test_a_port_nobody_listens_on_names_the_endpoint_and_its_source(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nobody listens there now
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
    with pytest.raises(EngineUnavailableError) as caught:
        Engine().ping()
    assert str(caught.value).startswith(f"the Docker engine does not answer at DOCKER_HOST=tcp://127.0.0.1:{port} (")
    assert str(caught.value).endswith("; check that the engine runs and listens there, or change DOCKER_HOST")
    write_context(tmp_path / "config", "ci", f"tcp://127.0.0.1:{port}")
    with pytest.raises(EngineUnavailableError, match=r"^the Docker engine does not answer at context ci \("):
        Engine(endpoint=resolve_endpoint(env(tmp_path, DOCKER_CONTEXT="ci"))).ping()


def test_an_engine_that_never_answers_is_named_with_its_source(listening_port: int,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{listening_port}")
    with pytest.raises(EngineUnavailableError) as caught:
        Engine(call_timeout=0.3).ping()
    assert str(caught.value).startswith(f"the Docker engine at tcp://127.0.0.1:{listening_port} (DOCKER_HOST) ")
    assert str(caught.value).endswith("or change DOCKER_HOST")


# -- TLS files that cannot be used (no engine needed: the files are read before the handshake) -------------


def tls_env(tmp_path: Path, port: int, **values: str) -> Endpoint:
    return resolve_endpoint(env(tmp_path, DOCKER_HOST=f"tcp://127.0.0.1:{port}", **values))


def test_a_cert_path_without_a_ca(tmp_path: Path, listening_port: int) -> None:
    endpoint = tls_env(tmp_path, listening_port, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(tmp_path / "none"))
    with pytest.raises(EngineUnavailableError) as caught:
        Engine(endpoint=endpoint, call_timeout=5).ping()
    assert str(caught.value) == (
        f"cannot use the CA certificate {tmp_path}/none/ca.pem for DOCKER_HOST=tcp://127.0.0.1:{listening_port} "
        f"(No such file or directory); check DOCKER_CERT_PATH={tmp_path}/none: it should hold ca.pem, cert.pem "
        "and key.pem")


def test_a_ca_that_is_not_pem(tmp_path: Path, listening_port: int) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("not a certificate")
    endpoint = tls_env(tmp_path, listening_port, DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=str(tmp_path / "certs"))
    with pytest.raises(EngineUnavailableError, match=r"^cannot use the CA certificate .*/certs/ca.pem for DOCKER_HOST"):
        Engine(endpoint=endpoint, call_timeout=5).ping()


def test_a_client_certificate_without_its_key(tmp_path: Path, listening_port: int) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "cert.pem").write_text("a certificate")
    endpoint = tls_env(tmp_path, listening_port, DOCKER_TLS="1", DOCKER_CERT_PATH=str(tmp_path / "certs"))
    with pytest.raises(EngineUnavailableError, match=r"has .*/certs/cert.pem but not .*/certs/key.pem; a client "
                                                     r"certificate needs both"):
        Engine(endpoint=endpoint, call_timeout=5).ping()


def test_a_password_in_a_tcp_address_is_refused_and_never_shown(monkeypatch) -> None:
    from seed_runner.engine.endpoint import resolve_endpoint
    from seed_runner.errors import EngineUnavailableError

    monkeypatch.setenv("DOCKER_HOST", "tcp://bob:s3cret-pw@127.0.0.1:2375")
    try:
        resolve_endpoint()
    except EngineUnavailableError as exc:
        assert "s3cret-pw" not in str(exc) and "user name or password" in str(exc)
    else:
        raise AssertionError("a tcp address with a password was accepted")

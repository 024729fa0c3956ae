"""Where the Docker engine is, decided the way the docker CLI decides it, as one immutable ``Endpoint``.

Order (docker CLI's ``resolveContextName``):

1. ``DOCKER_HOST`` (``unix://PATH``, ``tcp://HOST[:PORT]``, ``ssh://[USER@]HOST[:PORT][/SOCKET]``; a bare
   ``HOST:PORT`` is tcp; ``http://`` is plain tcp, ``https://`` tcp with TLS). TLS as the CLI's flags default
   from the environment: ``DOCKER_TLS_VERIFY`` (any value but empty) uses TLS and verifies the engine against
   ``ca.pem``; ``DOCKER_TLS`` alone uses TLS without verifying; the files are ``ca.pem``, ``cert.pem``,
   ``key.pem`` in ``DOCKER_CERT_PATH`` (default: the docker config folder). Nothing is read from disk here.
2. ``DOCKER_CONTEXT``, else ``currentContext`` of ``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json``):
   the context's ``contexts/meta/<sha256 of name>/meta.json`` gives the host and ``SkipTLSVerify``,
   ``contexts/tls/<sha256>/docker/{ca,cert,key}.pem`` the TLS material (TLS is on when there is some, or when
   ``SkipTLSVerify`` is set, as in the CLI's ``context/docker`` loader). The context ``default`` is step 3.
3. The local socket ``unix:///var/run/docker.sock``.

Only ``os`` and what the client already imports are used on the way to a local socket; hashlib is imported for
contexts only. Certificates are read when a TLS connection is made (``transport``), not here.
"""

from __future__ import annotations

import os
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from ..errors import EngineUnavailableError

__all__ = ["DEFAULT_SOCKET", "Endpoint", "config_dir", "endpoint_from_host", "resolve_endpoint"]

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_CONTEXT = "default"
TCP_PORT, TLS_PORT = 2375, 2376  # docker's defaults for tcp:// without a port
_FORMS = "use unix:///path/to/docker.sock, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT]"


class Endpoint:
    """One engine address and how to reach it; immutable, compared and hashed by value.

    A slotted class rather than a dataclass: making a frozen dataclass of this size costs about 1 ms at
    import, on the path of every `seed run`.

    - ``kind``: ``unix``, ``tcp`` or ``ssh``;
    - ``address``: as written where it came from (DOCKER_HOST's value, the context's host), or the default
      socket URL;
    - ``host``: tcp and ssh: the host name or IP address (IPv6 without brackets); ``port``: tcp: always set,
      ssh: None for ssh's own default;
    - ``path``: unix: the socket; ssh: the engine's socket on the remote machine ('' for its default);
    - ``user``: ssh: the login name (None for ssh's default);
    - ``tls``; ``verify``: check the engine's certificate (against ``ca``, else the system's CAs) and its host
      name; ``ca``, ``cert``, ``key``: PEM files; ``tls_source``: where they come from, for messages
      ("DOCKER_CERT_PATH=/certs", "context ci: /root/.docker/contexts/tls/...");
    - ``context``: the docker context it came from (``default`` included), or None;
    - ``origin``: ``DOCKER_HOST``, ``DOCKER_CONTEXT``, the config.json that names the current context,
      ``argument`` (an address given to the client), or ``default``.
    """

    __slots__ = ("kind", "address", "host", "port", "path", "user", "tls", "verify", "ca", "cert", "key",
                 "tls_source", "context", "origin")
    kind: str
    address: str
    host: str
    port: int | None
    path: str
    user: str | None
    tls: bool
    verify: bool
    ca: str | None
    cert: str | None
    key: str | None
    tls_source: str
    context: str | None
    origin: str

    def __init__(self, kind: str, address: str, *, host: str = "", port: int | None = None, path: str = "",
                 user: str | None = None, tls: bool = False, verify: bool = False, ca: str | None = None,
                 cert: str | None = None, key: str | None = None, tls_source: str = "",
                 context: str | None = None, origin: str = "default"):
        values = (kind, address, host, port, path, user, tls, verify, ca, cert, key, tls_source, context, origin)
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"an Endpoint is immutable (cannot set {name})")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Endpoint({fields})"

    @property
    def url(self) -> str:
        """The canonical address: ``unix:///path``, ``tcp://host:port``, ``ssh://user@host:port/path``."""
        if self.kind == "unix":
            return f"unix://{self.path}"
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.kind}://{user}{self.netloc_host}{port}{self.path}"

    @property
    def netloc_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def described(self) -> str:
        """The endpoint and where it came from, for messages: "DOCKER_HOST=tcp://...", "context ci (tcp://...;
        DOCKER_CONTEXT=ci)", or the address alone (the default socket, an address given to the client)."""
        if self.origin == "DOCKER_HOST":
            return f"DOCKER_HOST={self.address}"
        if self.context is not None:
            return f"context {self.context} ({self.address}; {self._chosen})"
        return self.address

    @property
    def source(self) -> str:
        """Where the endpoint came from, to follow its address: "DOCKER_HOST", "context ci, DOCKER_CONTEXT=ci",
        or '' (the default socket, an address given to the client)."""
        if self.origin == "DOCKER_HOST":
            return "DOCKER_HOST"
        return f"context {self.context}, {self._chosen}" if self.context is not None else ""

    @property
    def _chosen(self) -> str:
        if self.origin == "DOCKER_CONTEXT":
            return f"DOCKER_CONTEXT={self.context}"
        return f"the current context in {self.origin}"

    @property
    def advice(self) -> str:
        """What to check when the engine does not answer."""
        if self.origin == "default":
            return "start it (scripts/ensure-engine.sh), or point DOCKER_HOST or DOCKER_CONTEXT at another engine"
        if self.kind == "ssh":
            port = f"-p {self.port} " if self.port is not None else ""
            user = f"{self.user}@" if self.user else ""
            check = f"check that `ssh {port}{user}{self.host} docker version` works"
        elif self.tls:
            check = f"check that the engine runs and listens there, and the TLS files ({self.tls_source})"
        else:
            check = "check that the engine runs and listens there"
        if self.context not in (None, DEFAULT_CONTEXT):
            return (f"{check}, or the context (`docker context inspect {self.context}`), or choose another "
                    "(DOCKER_CONTEXT, `docker context use`)")
        if self.origin == "DOCKER_HOST":
            return f"{check}, or change DOCKER_HOST"
        if self.context == DEFAULT_CONTEXT:
            return f"{check}; start it (scripts/ensure-engine.sh), or choose another context"
        return check


def config_dir(environ: Mapping[str, str] | None = None) -> str:
    """The docker CLI's configuration folder: ``DOCKER_CONFIG``, else ``~/.docker``."""
    env = os.environ if environ is None else environ
    home = env.get("HOME") or os.path.expanduser("~")
    return env.get("DOCKER_CONFIG") or os.path.join(home, ".docker")


def resolve_endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The engine the docker CLI would talk to in this environment (default: ``os.environ``).

    Raises EngineUnavailableError, naming the variable or context at fault, for an address that cannot be
    parsed, a context that does not exist or cannot be read.
    """
    env = os.environ if environ is None else environ
    host = env.get("DOCKER_HOST")
    if host:
        return _from_docker_host(host, env)
    name, origin = env.get("DOCKER_CONTEXT") or "", "DOCKER_CONTEXT"
    if not name:
        origin = os.path.join(config_dir(env), "config.json")
        name = _current_context(origin)
    if not name or name == DEFAULT_CONTEXT:
        return Endpoint("unix", f"unix://{DEFAULT_SOCKET}", path=DEFAULT_SOCKET, context=name or None,
                        origin=origin if name else "default")
    return _from_context(name, origin, env)


def endpoint_from_host(host: str, *, origin: str = "argument") -> Endpoint:
    """An endpoint for one address, without TLS unless it is ``https://`` (then verified against the system's
    CAs)."""
    return _parse(host, origin=origin, where=host, tls=False, verify=True)


# -- DOCKER_HOST ------------------------------------------------------------------------------------------


def _from_docker_host(host: str, env: Mapping[str, str]) -> Endpoint:
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    tls = verify or bool(env.get("DOCKER_TLS"))
    if env.get("DOCKER_CERT_PATH"):
        cert_dir = env["DOCKER_CERT_PATH"]
        source = f"DOCKER_CERT_PATH={cert_dir}"
    else:
        cert_dir = config_dir(env)
        source = f"{cert_dir}, as DOCKER_CERT_PATH is unset"
    if not tls:  # https:// asks for TLS by itself: verified against the system's CAs, no client certificate
        return _parse(host, origin="DOCKER_HOST", where=f"DOCKER_HOST={host}", tls=False, verify=True,
                      tls_source="the system's CAs, as DOCKER_TLS_VERIFY is unset")
    return _parse(host, origin="DOCKER_HOST", where=f"DOCKER_HOST={host}", tls=True, verify=verify,
                  ca=os.path.join(cert_dir, "ca.pem"), cert=os.path.join(cert_dir, "cert.pem"),
                  key=os.path.join(cert_dir, "key.pem"), tls_source=source)


def _parse(address: str, *, origin: str, where: str, tls: bool, verify: bool, ca: str | None = None,
           cert: str | None = None, key: str | None = None, tls_source: str = "",
           context: str | None = None) -> Endpoint:
    """Split one engine address; ``where`` names it in messages ("DOCKER_HOST=...", "the host of context ci")."""
    scheme, sep, rest = address.partition("://")
    if not sep:  # docker: a bare HOST:PORT is tcp
        scheme, rest = "tcp", address
    common: dict[str, Any] = {"context": context, "origin": origin}
    if scheme == "unix":
        return Endpoint("unix", address, path=rest or DEFAULT_SOCKET, **common)
    if scheme not in ("tcp", "http", "https", "ssh"):
        raise EngineUnavailableError(f"{where} is not an engine address seed-runner can reach ({scheme}:// is not "
                                     f"supported); {_FORMS}")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise EngineUnavailableError(f"{where} is not a valid engine address ({exc}); {_FORMS}") from None
    host = parts.hostname or ""
    if scheme == "ssh":
        if not host:
            raise EngineUnavailableError(f"{where} is not a valid engine address (no host); {_FORMS}")
        if parts.password is not None:
            shown = where.replace(f":{parts.password}@", ":****@")
            raise EngineUnavailableError(f"{shown} holds a password, which ssh cannot take from an address; remove "
                                         "it and use an ssh key or agent")
        if parts.query or parts.fragment:
            raise EngineUnavailableError(f"{where} is not a valid engine address (an ssh address takes no ?query or "
                                         f"#fragment); {_FORMS}")
        user = unquote(parts.username) if parts.username else None
        return Endpoint("ssh", address, host=host, port=port, path=parts.path, user=user, **common)
    if parts.username is not None or parts.password is not None:  # docker takes none; never echo a password
        shown = where.replace(f":{parts.password}@", ":****@") if parts.password else where
        raise EngineUnavailableError(f"{shown} holds a user name or password, which a tcp:// engine address cannot "
                                     "carry; remove it (a TLS engine authenticates with DOCKER_CERT_PATH)")
    tls = tls or scheme == "https"
    return Endpoint("tcp", address, host=host or "localhost", port=port or (TLS_PORT if tls else TCP_PORT),
                    tls=tls, verify=tls and verify, ca=ca if tls else None, cert=cert if tls else None,
                    key=key if tls else None, tls_source=tls_source if tls else "", **common)


# -- docker contexts -----------------------------------------------------------------------------------


def _current_context(config_file: str) -> str:
    """``currentContext`` of the docker CLI's config.json, or '' (no file, or one the CLI would also ignore)."""
    import json

    try:
        with open(config_file, "rb") as handle:
            config = json.loads(handle.read())
    except (OSError, ValueError):  # the CLI warns about an unreadable config file and goes on without it
        return ""
    name = config.get("currentContext") if isinstance(config, dict) else None
    return name if isinstance(name, str) else ""


def context_dirs(name: str, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The folders of context ``name`` in the docker CLI's store: (meta folder, TLS folder of its docker
    endpoint)."""
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()
    store = os.path.join(config_dir(environ), "contexts")
    return os.path.join(store, "meta", digest), os.path.join(store, "tls", digest, "docker")


def _from_context(name: str, origin: str, env: Mapping[str, str]) -> Endpoint:
    import json

    chosen = f"DOCKER_CONTEXT={name}" if origin == "DOCKER_CONTEXT" else f"the current context in {origin}"
    meta_dir, tls_dir = context_dirs(name, env)
    meta_file = os.path.join(meta_dir, "meta.json")
    try:
        with open(meta_file, "rb") as handle:
            meta = json.loads(handle.read())
    except FileNotFoundError:
        raise EngineUnavailableError(
            f"context {name} ({chosen}) does not exist: there is no {meta_file}; create it (`docker context create "
            f"{name} --docker host=...`) or choose another (`docker context ls`)") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise EngineUnavailableError(f"context {name} ({chosen}) cannot be read: {meta_file}: {reason}; recreate "
                                     f"it with `docker context create {name}`") from None
    endpoints = meta.get("Endpoints") if isinstance(meta, dict) else None
    docker = endpoints.get("docker") if isinstance(endpoints, dict) else None
    docker = docker if isinstance(docker, dict) else {}
    host = docker.get("Host") or f"unix://{DEFAULT_SOCKET}"
    if not isinstance(host, str):
        raise EngineUnavailableError(f"context {name} ({chosen}) has a docker host that is not text in {meta_file}; "
                                     f"recreate it with `docker context create {name}`")
    skip = bool(docker.get("SkipTLSVerify"))
    files = {part: os.path.join(tls_dir, f"{part}.pem") for part in ("ca", "cert", "key")}
    files = {part: path for part, path in files.items() if os.path.isfile(path)}
    return _parse(host, origin=origin, where=f"the host {host} of context {name} ({chosen})",
                  tls=bool(files) or skip, verify=not skip, ca=files.get("ca"), cert=files.get("cert"),
                  key=files.get("key"), tls_source=f"context {name}: {tls_dir}", context=name)

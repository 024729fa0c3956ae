"""A small Docker Registry HTTP API v2 client (standard library only): ping, catalog, tags, manifests, blobs.

Enough to discover Seed images without pulling them (SEED-RULES 8): the catalog filtered to ``-seed``
repositories, each tag's image manifest (a manifest list or OCI index resolves to its linux/amd64 entry), and the
config blob, whose ``config.Labels["com.ngageoint.seed.manifest"]`` holds the Seed manifest. Layers are never
fetched.

Authentication: HTTP basic (htpasswd registries) and bearer tokens from the ``WWW-Authenticate`` challenge's
realm. Credentials come from the caller or the Docker config (``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``: ``auths[host].auth``, or a credential helper); they are never printed, logged, or put
in an exception or a result.

Scheme: ``http://`` or ``https://`` when the address says so; otherwise plain HTTP for loopback hosts (as the
Docker daemon treats 127.0.0.0/8 as insecure by default) and HTTPS for any other host, with
``/etc/docker/certs.d/<host>/ca.crt`` trusted when it exists.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import os
import re
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import SeedRunnerError
from ..manifest.names import DIGEST, LABEL, REPOSITORY, TAG

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # manifests and config blobs (the registry caps manifests at 4 MiB)
DEFAULT_PLATFORM = ("linux", "amd64")



class RegistryError(SeedRunnerError):
    """The registry refused or failed a request (exit status 1 in the CLI)."""


class RegistryUnavailableError(RegistryError):
    """The registry does not answer, or answers with a server error (exit status 4 in the CLI)."""


class RegistryAuthError(RegistryError):
    """Credentials are missing or were rejected (401/403)."""


class RegistryNotFoundError(RegistryError):
    """A repository, tag or blob the registry does not have (404)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password for one registry; the password never shows in a repr."""

    username: str
    password: str = field(repr=False)
    source: str = "options"
    """Where they came from, for messages: "options", or the Docker config file / helper."""

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"

    def auth_config(self) -> dict[str, str]:
        """The docker SDK's ``auth_config`` for push and pull."""
        return {"username": self.username, "password": self.password}


@dataclass(frozen=True, slots=True)
class RegistryAddress:
    scheme: str
    host: str
    """``host[:port]`` as it appears in image references."""

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def __str__(self) -> str:
        return self.host


CREDENTIALS_IN_ADDRESS = ("credentials in the registry address are not supported; use --username and "
                          "--password-stdin")


def parse_registry(text: str) -> RegistryAddress:
    """``HOST[:PORT]``, optionally with ``http://`` or ``https://`` and a trailing ``/`` or ``/v2``; raises
    ValueError for anything else. Credentials (``user:password@``) are refused, and the message then never
    repeats the address."""
    value = text.strip()
    if "@" in value:  # user[:password]@ (a password may hold / ? #, so look at the whole text): never echoed
        raise ValueError(CREDENTIALS_IN_ADDRESS)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        if "://" in value:
            raise ValueError("the registry address must start with http:// or https://, or give HOST[:PORT]")
        value = "//" + value
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        raise ValueError("the registry address is not HOST[:PORT] (e.g. 127.0.0.1:5000)") from None
    scheme = parts.scheme.lower() or None
    if scheme not in (None, "http", "https"):
        raise ValueError(f"{parts.scheme!r} is not a registry scheme: give http:// or https://, or no scheme")
    shown = (f"{scheme}://" if scheme else "") + parts.netloc + parts.path
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"{shown!r} is not a registry address HOST[:PORT] (e.g. 127.0.0.1:5000)")
    if parts.path.rstrip("/") not in ("", "/v2"):
        raise ValueError(f"{shown!r} is not HOST[:PORT]: give the organization with --org, not in the address")
    value = parts.netloc
    match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?", value)
    if not match:
        raise ValueError(f"{shown!r} is not a registry address HOST[:PORT] (e.g. 127.0.0.1:5000)")
    host = match.group(1)
    if scheme is None:
        scheme = "http" if is_loopback(host) else "https"
    return RegistryAddress(scheme, value)


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _as_address(registry: str | RegistryAddress) -> RegistryAddress:
    return registry if isinstance(registry, RegistryAddress) else parse_registry(registry)


# -- credentials ----------------------------------------------------------------------------------------


def docker_config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(directory) / "config.json"


def _config_key_host(key: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000``."""
    key = re.sub(r"^[a-z]+://", "", key.strip(), flags=re.IGNORECASE)
    return key.split("/", 1)[0].lower()


def docker_config_credentials(registry: str | RegistryAddress, config: str | Path | None = None
                              ) -> Credentials | None:
    """Credentials for ``registry`` from the Docker config: ``auths[host].auth`` (base64 user:password) or
    ``username``/``password``, else a credential helper (``credHelpers[host]`` or ``credsStore``). None when
    there are none or the file cannot be read."""
    host = _as_address(registry).host.lower()
    path = Path(config) if config else docker_config_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    for key, entry in (document.get("auths") or {}).items():
        if _config_key_host(key) != host or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                username, sep, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            if sep and username:
                return Credentials(username, password, source=str(path))
        if entry.get("username") and "password" in entry:
            return Credentials(entry["username"], entry["password"], source=str(path))
    helper = (document.get("credHelpers") or {}).get(host) or document.get("credsStore")
    return _helper_credentials(helper, host) if helper else None


def _helper_credentials(helper: str, host: str) -> Credentials | None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", helper):
        return None
    program = f"docker-credential-{helper}"
    for server in (host, f"https://{host}", f"http://{host}"):
        try:
            done = subprocess.run([program, "get"], input=server.encode(), capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            continue
        try:
            answer = json.loads(done.stdout)
        except ValueError:
            return None
        username, secret = answer.get("Username"), answer.get("Secret")
        if username and secret is not None and username != "<token>":
            return Credentials(username, secret, source=f"credential helper {program}")
    return None


def resolve_credentials(registry: str | RegistryAddress, credentials: Credentials | tuple[str, str] | None = None
                        ) -> Credentials | None:
    """The caller's credentials when given (a Credentials or a (username, password) pair), else the Docker
    config's for this registry, else None (anonymous)."""
    if isinstance(credentials, Credentials):
        return credentials
    if credentials is not None:
        username, password = credentials
        return Credentials(username, password)
    return docker_config_credentials(registry)


def scrub(text: str, credentials: Credentials | None) -> str:
    """``text`` with the password (and its basic-auth encoding) replaced by ``****``."""
    if credentials and credentials.password:
        text = text.replace(credentials.password, "****")
        text = text.replace(credentials.basic_header().split(" ", 1)[1], "****")
    return text


# -- the client -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Any  # http.client.HTTPMessage
    body: bytes
    request: str = ""
    """``METHOD /path`` (no query) of the request this answers, for messages."""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            about = f" to {self.request}" if self.request else ""
            raise RegistryError(f"the registry's answer{about} is not JSON") from None

    def json_object(self) -> dict[str, Any]:
        document = self.json()
        if not isinstance(document, dict):
            about = f" to {self.request}" if self.request else ""
            raise RegistryError(f"the registry's answer{about} is not a JSON object")
        return document


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


def _scope(path: str) -> str:
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = re.match(r"^/v2/(.+?)/(?:manifests|blobs|tags)/", path)
    return f"repository:{match.group(1)}:pull" if match else ""


def valid_repository(repository: Any) -> bool:
    return isinstance(repository, str) and REPOSITORY.fullmatch(repository) is not None


def valid_reference(reference: Any) -> bool:
    return isinstance(reference, str) and (TAG.fullmatch(reference) or DIGEST.fullmatch(reference)) is not None


def check_repository(repository: str) -> str:
    """``repository`` when it is a valid repository name; ValueError (a usage error) otherwise."""
    if not valid_repository(repository):
        raise ValueError(f"{repository!r} is not a valid repository name (lowercase letters, digits, . _ - and /)")
    return repository


def check_reference(reference: str) -> str:
    """``reference`` when it is a valid tag or digest; ValueError (a usage error) otherwise."""
    if not valid_reference(reference):
        raise ValueError(f"{reference!r} is not a valid tag or digest")
    return reference


def _from_registry(value: Any, valid: Any, what: str, where: str) -> str:
    """A name the registry sent, checked: RegistryError (the registry's fault, not a usage error) if bad."""
    if not valid(value):
        raise RegistryError(f"the registry sent {ascii(value)[:80]} as {what} in {where}, which is not valid")
    return value


class RegistryClient:
    """One registry; thread-safe (one keep-alive connection per thread). A context manager: ``close()``
    (or leaving the ``with``) closes every connection it opened, in whichever thread.

    ``requests`` records (method, path) of every request sent, for tests and diagnostics (never headers).
    """

    def __init__(self, registry: str | RegistryAddress, credentials: Credentials | None = None, *,
                 timeout: float = 30.0):
        self.address = _as_address(registry)
        self.credentials = credentials
        self.timeout = timeout
        self.requests: list[tuple[str, str]] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._basic = False  # the registry asked for basic auth: send it with every request
        self._tokens: dict[str, str] = {}
        self._opened: list[http.client.HTTPConnection] = []

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # connection handling

    def _connection(self, scheme: str, netloc: str, fresh: bool = False) -> http.client.HTTPConnection:
        pool = self._local.__dict__.setdefault("pool", {})
        key = (scheme, netloc)
        if fresh and key in pool:
            old = pool.pop(key)
            old.close()
            with self._lock:
                if old in self._opened:
                    self._opened.remove(old)
        if key not in pool:
            if scheme == "https":
                context = ssl.create_default_context()
                ca = Path("/etc/docker/certs.d") / netloc / "ca.crt"
                if ca.is_file():
                    context.load_verify_locations(cafile=str(ca))
                connection = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=context)
            else:
                connection = http.client.HTTPConnection(netloc, timeout=self.timeout)
            with self._lock:
                self._opened.append(connection)
            pool[key] = connection
        return pool[key]

    def close(self) -> None:
        """Close every connection this client opened (in any thread); the client stays usable."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def _raw(self, method: str, url: str, headers: dict[str, str], max_bytes: int) -> Response:
        parts = urllib.parse.urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            self.requests.append((method, target))
        for attempt in (0, 1):
            connection = self._connection(parts.scheme, parts.netloc, fresh=attempt == 1)
            try:
                connection.request(method, target, headers=headers)
                reply = connection.getresponse()
                body = reply.read(max_bytes + 1)  # b"" for HEAD; reading it keeps the connection usable
                if len(body) > max_bytes:
                    connection.close()
                    raise RegistryError(f"the registry's answer to {method} {parts.path} is larger than "
                                        f"{max_bytes // (1024 * 1024)} MiB")
                if reply.will_close:
                    connection.close()
                return Response(reply.status, reply.headers, body, f"{method} {parts.path}")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                if attempt:
                    raise RegistryUnavailableError(
                        f"the registry {self.address} closed the connection; is it a Docker registry?") from None
            except (ssl.SSLError, ssl.CertificateError) as exc:
                connection.close()
                raise RegistryUnavailableError(
                    f"TLS with {parts.netloc} failed ({exc.__class__.__name__}: {exc.args[-1] if exc.args else ''});"
                    f" for a plain-HTTP registry write --registry http://{parts.netloc}") from None
            except http.client.HTTPException as exc:
                connection.close()
                raise RegistryUnavailableError(
                    f"the registry {self.address} did not speak HTTP as expected ({exc.__class__.__name__})"
                ) from None
            except OSError as exc:
                connection.close()
                reason = exc.strerror or exc.__class__.__name__
                if isinstance(exc, TimeoutError):
                    reason = f"no answer within {self.timeout:g} s"
                raise RegistryUnavailableError(
                    f"the registry {self.address} does not answer ({reason}); is it running, and is "
                    "--registry right?") from None
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, *, accept: str | None = None,
                max_bytes: int = MAX_DOCUMENT_BYTES) -> Response:
        """Send a request to ``/v2/...``, answering auth challenges and following redirects (the
        Authorization header is dropped when a redirect leaves the registry's host)."""
        url = self.address.base_url + path
        scope = _scope(path)
        refreshed = False
        for _ in range(8):
            headers = {"User-Agent": "seed-runner"}
            if accept:
                headers["Accept"] = accept
            sent_auth = None
            if urllib.parse.urlsplit(url).netloc == self.address.host:
                if scope in self._tokens:
                    sent_auth = headers["Authorization"] = f"Bearer {self._tokens[scope]}"
                elif self._basic and self.credentials:
                    sent_auth = headers["Authorization"] = self.credentials.basic_header()
            reply = self._raw(method, url, headers, max_bytes)
            if reply.status == 401:
                if sent_auth and sent_auth.startswith("Bearer ") and not refreshed:
                    refreshed = True  # the token may have expired: ask for a new one, once
                    self._tokens.pop(scope, None)
                    sent_auth = None
                self._answer_challenge(reply, scope, sent_auth)
                continue
            if reply.status in (301, 302, 303, 307, 308) and reply.headers.get("Location"):
                url = urllib.parse.urljoin(url, reply.headers["Location"])
                continue
            if reply.status == 403:
                raise RegistryAuthError(f"the registry {self.address} denied access to {path.split('?')[0]}"
                                        f"{self._whose()}")
            if reply.status >= 500:
                raise RegistryUnavailableError(f"the registry {self.address} failed: HTTP {reply.status} for "
                                               f"{method} {path.split('?')[0]}")
            return reply
        raise RegistryError(f"the registry {self.address} sent too many redirects or challenges for {path}")

    def _whose(self) -> str:
        return f" (credentials from {self.credentials.source})" if self.credentials else ""

    def _answer_challenge(self, reply: Response, scope: str, sent_auth: str | None) -> None:
        scheme, params = _challenge(reply.headers.get("WWW-Authenticate", ""))
        if sent_auth:
            raise RegistryAuthError(f"the registry {self.address} rejected the credentials{self._whose()}: "
                                    "check the user name and password")
        if scheme == "basic":
            if not self.credentials:
                raise RegistryAuthError(
                    f"the registry {self.address} requires credentials: give --username and --password-stdin, "
                    "or log in with docker login")
            self._basic = True
            return
        if scheme == "bearer" and params.get("realm"):
            self._tokens[scope] = self._fetch_token(params, scope)
            return
        raise RegistryAuthError(f"the registry {self.address} requires an authentication scheme seed-runner "
                                f"does not support ({scheme or 'none given'})")

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        query = {"service": params["service"]} if params.get("service") else {}
        if params.get("scope") or scope:
            query["scope"] = params.get("scope") or scope
        realm = params["realm"]
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        headers = {"User-Agent": "seed-runner"}
        if self.credentials:
            # The password goes to the token service the registry names; never over plain HTTP when the
            # registry itself is spoken to over HTTPS (a downgrade would show it to anyone on the path).
            if self.address.scheme == "https" and urllib.parse.urlsplit(realm).scheme != "https":
                raise RegistryAuthError(f"the registry {self.address} names a token service that is not HTTPS; "
                                        "seed-runner does not send credentials there")
            headers["Authorization"] = self.credentials.basic_header()
        reply = self._raw("GET", url, headers, 1024 * 1024)
        if reply.status in (401, 403):
            if self.credentials:
                raise RegistryAuthError(f"the token service of {self.address} rejected the credentials"
                                        f"{self._whose()}")
            raise RegistryAuthError(f"the token service of {self.address} requires credentials: give --username "
                                    "and --password-stdin, or log in with docker login")
        token = None
        if reply.status == 200:
            answer = reply.json()
            if isinstance(answer, dict):
                token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token or not re.fullmatch(r"[\x21-\x7e]+", token):
            raise RegistryAuthError(f"the token service of {self.address} gave no token (HTTP {reply.status})")
        return token

    def _check(self, reply: Response, what: str) -> Response:
        if reply.status == 404:
            raise RegistryNotFoundError(f"{what} is not in the registry {self.address}")
        if reply.status >= 300:
            raise RegistryError(f"the registry {self.address} refused {what}: HTTP {reply.status} "
                                f"{_error_message(reply)}".rstrip())
        return reply

    # the API

    def ping(self) -> None:
        """``GET /v2/``: the registry answers and accepts our credentials (or needs none)."""
        reply = self.request("GET", "/v2/")
        if reply.status != 200:
            raise RegistryError(f"{self.address} does not look like a Docker registry (GET /v2/ answered HTTP "
                                f"{reply.status})")

    def _pages(self, path: str, member: str, page_size: int) -> Iterator[Any]:
        """The items of ``member`` on every page (not type-checked: the caller does); RegistryError when a
        page is not a JSON object whose ``member`` is a list (or null)."""
        sep = "&" if "?" in path else "?"
        next_path: str | None = f"{path}{sep}n={page_size}"
        seen = set()
        while next_path and next_path not in seen:
            seen.add(next_path)
            reply = self._check(self.request("GET", next_path), path.split("?")[0])
            items = reply.json_object().get(member)
            if items is not None and not isinstance(items, list):
                raise RegistryError(f"the registry's answer to GET {path.split('?')[0]} has no list of {member}")
            yield from items or ()
            next_path = _next_link(reply.headers.get("Link"), self.address)

    def catalog(self, page_size: int = 100, on_skip: Any = None) -> Iterator[str]:
        """Every repository, following the ``Link`` header page by page. Entries that are not valid
        repository names are left out; ``on_skip(entry, reason)`` hears about each."""
        for repository in self._pages("/v2/_catalog", "repositories", page_size):
            if valid_repository(repository):
                yield repository
            elif on_skip:
                on_skip(f"{self.address.host}/{ascii(repository)[:80]}",
                        "the catalog lists it, but it is not a valid repository name")

    def tags(self, repository: str, page_size: int = 1000, on_skip: Any = None) -> list[str]:
        """The repository's tags. Entries that are not valid tags are left out; ``on_skip(reference, reason)``
        hears about each."""
        check_repository(repository)
        try:
            found = []
            for tag in self._pages(f"/v2/{repository}/tags/list", "tags", page_size):
                if isinstance(tag, str) and TAG.fullmatch(tag):
                    found.append(tag)
                elif on_skip:
                    on_skip(f"{self.address.host}/{repository}:{ascii(tag)[:80]}",
                            "the registry lists it, but it is not a valid tag")
            return found
        except RegistryNotFoundError:
            raise RegistryNotFoundError(f"the repository {repository} is not in the registry {self.address}"
                                        ) from None

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """``HEAD`` a manifest: its digest, or None when the tag does not exist."""
        path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
        reply = self.request("HEAD", path, accept=", ".join(MANIFEST_TYPES))
        if reply.status == 404:
            return None
        self._check(reply, f"{repository}:{reference}")
        return reply.headers.get("Docker-Content-Digest") or ""

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any], str]:
        """(media type, document, digest) of a manifest as stored (a list or index is not resolved)."""
        path = f"/v2/{check_repository(repository)}/manifests/{check_reference(reference)}"
        reply = self._check(self.request("GET", path, accept=", ".join(MANIFEST_TYPES)),
                            f"{repository}{'@' if ':' in reference else ':'}{reference}")
        document = reply.json()
        if not isinstance(document, dict):
            raise RegistryError(f"the manifest of {repository}:{reference} is not a JSON object")
        media_type = (reply.headers.get("Content-Type") or "").split(";")[0].strip() or document.get("mediaType", "")
        digest = reply.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(reply.body).hexdigest()
        return media_type, document, digest

    def image_manifest(self, repository: str, reference: str, platform: tuple[str, str] = DEFAULT_PLATFORM
                       ) -> tuple[dict[str, Any], str]:
        """The single-image manifest of a tag and its digest; a manifest list / OCI index resolves to its
        ``platform`` entry."""
        media_type, document, digest = self.manifest(repository, reference)
        if media_type in INDEX_TYPES or "manifests" in document:
            entries = document.get("manifests")
            if not isinstance(entries, list):
                raise RegistryError(f"the index of {repository}:{reference} has no list of manifests")
            entries = [e for e in entries if isinstance(e, dict) and isinstance(e.get("platform"), dict)]
            chosen = next((e for e in entries if e["platform"].get("os") == platform[0]
                           and e["platform"].get("architecture") == platform[1]), None)
            if chosen is None:
                raise RegistryNotFoundError(f"{repository}:{reference} has no {'/'.join(platform)} image")
            entry_digest = _from_registry(chosen.get("digest"), lambda d: isinstance(d, str) and DIGEST.fullmatch(d),
                                          "a manifest digest", f"the index of {repository}:{reference}")
            media_type, document, digest = self.manifest(repository, entry_digest)
        if not isinstance(document.get("config"), dict) or "digest" not in document["config"]:
            raise RegistryError(f"{repository}:{reference} has a manifest without a config "
                                f"({media_type or 'schema 1?'}); push it again with a current Docker")
        _from_registry(document["config"]["digest"], lambda d: isinstance(d, str) and DIGEST.fullmatch(d),
                       "the config digest", f"the manifest of {repository}:{reference}")
        if not isinstance(digest, str):
            digest = ""
        return document, digest

    def blob(self, repository: str, digest: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> bytes:
        """A blob, checked against its sha256 digest."""
        path = f"/v2/{check_repository(repository)}/blobs/{check_reference(digest)}"
        reply = self._check(self.request("GET", path, max_bytes=max_bytes), f"blob {digest} of {repository}")
        algorithm, _, expected = digest.partition(":")
        if algorithm == "sha256" and hashlib.sha256(reply.body).hexdigest() != expected:
            raise RegistryError(f"blob {digest} of {repository} does not match its digest")
        return reply.body

    def image_config(self, repository: str, reference: str) -> tuple[dict[str, Any], str]:
        """(image config document, manifest digest) of a tag: two or three small requests, no layer."""
        manifest, digest = self.image_manifest(repository, reference)
        try:
            config = json.loads(self.blob(repository, manifest["config"]["digest"]))
        except ValueError:
            raise RegistryError(f"the config blob of {repository}:{reference} is not JSON") from None
        return (config if isinstance(config, dict) else {}), digest

    def seed_label(self, repository: str, reference: str) -> tuple[str | None, str]:
        """(the ``com.ngageoint.seed.manifest`` label or None, manifest digest), read from the config blob."""
        config, digest = self.image_config(repository, reference)
        inner = config.get("config")
        labels = inner.get("Labels") if isinstance(inner, dict) else None
        label = labels.get(LABEL) if isinstance(labels, dict) else None
        if label is not None and not isinstance(label, str):
            raise RegistryError(f"the {LABEL} label of {repository}:{reference} is not a string")
        return label, digest


def _error_message(reply: Response) -> str:
    try:
        errors = json.loads(reply.body).get("errors") or []
        return "; ".join(str(e.get("message", "")) for e in errors)[:200]
    except (ValueError, AttributeError):
        return ""


def _next_link(header: str | None, address: RegistryAddress) -> str | None:
    """The ``rel="next"`` target of a Link header, as a path on the same registry."""
    if not header:
        return None
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', header)
    if not match:
        return None
    target = urllib.parse.urlsplit(match.group(1))
    if target.netloc and target.netloc != address.host:
        return None
    return target.path + (f"?{target.query}" if target.query else "")

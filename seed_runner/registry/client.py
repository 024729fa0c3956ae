"""A small Docker Registry HTTP API v2 client (standard library only): ping, catalog, tags, manifests, blobs.

Enough to discover Seed images without pulling them (SEED-RULES 8): the catalog filtered to ``-seed``
repositories, each tag's image manifest (a manifest list or OCI index resolves to its linux/amd64 entry), and the
config blob, whose ``config.Labels["com.ngageoint.seed.manifest"]`` holds the Seed manifest. Layers are never
fetched.

The client sends the requests, keeps the connections and follows redirects and pages; addresses and name checks
are ``registry.address``'s, credentials and challenges ``registry.auth``'s (basic and bearer tokens), answers
``registry.response``'s and the exceptions ``registry.errors``'s. Names other code imports from here still are.
Over HTTPS, ``/etc/docker/certs.d/<host>/ca.crt`` is trusted when it exists.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import ssl
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

from ..manifest.names import DIGEST, LABEL, TAG
# Addresses, credentials, answers and exceptions: also importable from here.
from .address import (CREDENTIALS_IN_ADDRESS, RegistryAddress, as_address, check_reference, check_repository,
                      is_loopback, parse_registry, valid_reference, valid_repository)
from .auth import (Credentials, answer_challenge, docker_config_credentials, docker_config_path, fetch_token,
                   resolve_credentials, scrub, token_scope, whose)
from .errors import RegistryAuthError, RegistryError, RegistryNotFoundError, RegistryUnavailableError
from .response import Response, error_message

__all__ = ["DOCKER_MANIFEST", "DOCKER_MANIFEST_LIST", "OCI_MANIFEST", "OCI_INDEX", "MANIFEST_TYPES", "INDEX_TYPES",
           "MAX_DOCUMENT_BYTES", "DEFAULT_PLATFORM", "RegistryClient", "Response",
           "RegistryError", "RegistryUnavailableError", "RegistryAuthError", "RegistryNotFoundError",
           "Credentials", "docker_config_path", "docker_config_credentials", "resolve_credentials", "scrub",
           "RegistryAddress", "CREDENTIALS_IN_ADDRESS", "parse_registry", "is_loopback", "valid_repository",
           "valid_reference", "check_repository", "check_reference"]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX)
INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # manifests and config blobs (the registry caps manifests at 4 MiB)
DEFAULT_PLATFORM = ("linux", "amd64")


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
        self.address = as_address(registry)
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
        scope = token_scope(path)
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
        return whose(self.credentials)

    def _answer_challenge(self, reply: Response, scope: str, sent_auth: str | None) -> None:
        token = answer_challenge(reply, scope, sent_auth, address=self.address, credentials=self.credentials,
                                 send=self._raw)
        if token is None:
            self._basic = True  # the registry asked for basic auth: send it with every request
        else:
            self._tokens[scope] = token

    def _fetch_token(self, params: dict[str, str], scope: str) -> str:
        return fetch_token(params, scope, address=self.address, credentials=self.credentials, send=self._raw)

    def _check(self, reply: Response, what: str) -> Response:
        if reply.status == 404:
            raise RegistryNotFoundError(f"{what} is not in the registry {self.address}")
        if reply.status >= 300:
            raise RegistryError(f"the registry {self.address} refused {what}: HTTP {reply.status} "
                                f"{error_message(reply)}".rstrip())
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

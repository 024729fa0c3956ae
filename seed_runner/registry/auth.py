"""Authenticating to a registry: where credentials come from, and how a 401 challenge is answered.

Credentials come from the caller or the Docker config (``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``: ``auths[host].auth``, or a credential helper); they are never printed, logged, or put
in an exception or a result (``scrub`` takes them out of engine messages). A challenge is answered with HTTP
basic (htpasswd registries) or a bearer token fetched from the ``WWW-Authenticate`` challenge's realm.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .address import RegistryAddress, as_address
from .errors import RegistryAuthError
from .response import Response

__all__ = ["Credentials", "docker_config_path", "docker_config_credentials", "resolve_credentials", "scrub",
           "Send", "parse_challenge", "token_scope", "whose", "answer_challenge", "fetch_token"]


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
    host = as_address(registry).host.lower()
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


# -- challenges and tokens ------------------------------------------------------------------------------

Send = Callable[[str, str, dict[str, str], int], Response]
"""``send(method, url, headers, max_bytes)``: one request as it is (no challenge answered, no redirect
followed), as ``RegistryClient`` sends it."""


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """(scheme in lowercase, parameters) of a ``WWW-Authenticate`` header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


def token_scope(path: str) -> str:
    """The token scope a request to ``path`` needs ("" when it needs none in particular)."""
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = re.match(r"^/v2/(.+?)/(?:manifests|blobs|tags)/", path)
    return f"repository:{match.group(1)}:pull" if match else ""


def whose(credentials: Credentials | None) -> str:
    """Where the credentials came from, for a message ("" when there are none)."""
    return f" (credentials from {credentials.source})" if credentials else ""


def answer_challenge(reply: Response, scope: str, sent_auth: str | None, *, address: RegistryAddress,
                     credentials: Credentials | None, send: Send) -> str | None:
    """Meet the challenge of a 401 ``reply``: None when the registry asks for basic auth (to be sent with every
    request from now on), else a bearer token for ``scope``. RegistryAuthError when the request already carried
    an Authorization (``sent_auth``), credentials are needed and missing, or the scheme is not supported."""
    scheme, params = parse_challenge(reply.headers.get("WWW-Authenticate", ""))
    if sent_auth:
        raise RegistryAuthError(f"the registry {address} rejected the credentials{whose(credentials)}: "
                                "check the user name and password")
    if scheme == "basic":
        if not credentials:
            raise RegistryAuthError(
                f"the registry {address} requires credentials: give --username and --password-stdin, "
                "or log in with docker login")
        return None
    if scheme == "bearer" and params.get("realm"):
        return fetch_token(params, scope, address=address, credentials=credentials, send=send)
    raise RegistryAuthError(f"the registry {address} requires an authentication scheme seed-runner "
                            f"does not support ({scheme or 'none given'})")


def fetch_token(params: dict[str, str], scope: str, *, address: RegistryAddress, credentials: Credentials | None,
                send: Send) -> str:
    """A bearer token from the token service a challenge's ``params`` name (``realm``, ``service``, ``scope``)."""
    query = {"service": params["service"]} if params.get("service") else {}
    if params.get("scope") or scope:
        query["scope"] = params.get("scope") or scope
    realm = params["realm"]
    url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
    headers = {"User-Agent": "seed-runner"}
    if credentials:
        # The password goes to the token service the registry names; never over plain HTTP when the
        # registry itself is spoken to over HTTPS (a downgrade would show it to anyone on the path).
        if address.scheme == "https" and urllib.parse.urlsplit(realm).scheme != "https":
            raise RegistryAuthError(f"the registry {address} names a token service that is not HTTPS; "
                                    "seed-runner does not send credentials there")
        headers["Authorization"] = credentials.basic_header()
    reply = send("GET", url, headers, 1024 * 1024)
    if reply.status in (401, 403):
        if credentials:
            raise RegistryAuthError(f"the token service of {address} rejected the credentials"
                                    f"{whose(credentials)}")
        raise RegistryAuthError(f"the token service of {address} requires credentials: give --username "
                                "and --password-stdin, or log in with docker login")
    token = None
    if reply.status == 200:
        answer = reply.json()
        if isinstance(answer, dict):
            token = answer.get("token") or answer.get("access_token")
    if not isinstance(token, str) or not token or not re.fullmatch(r"[\x21-\x7e]+", token):
        raise RegistryAuthError(f"the token service of {address} gave no token (HTTP {reply.status})")
    return token

"""URL inputs as text: which values are URLs, the URL without its credentials, the pin, the file's name."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

# Anything with a scheme of two letters or more (one letter is a Windows drive, C:\...).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
MASK = "****"
PUBLIC_QUERY_ENV = "SEED_PUBLIC_QUERY_PARAMS"
"""Every query value is masked in what is shown or written, but for the parameters this variable names
(comma-separated, any case; ``*``: every one), and never for names that look like credentials (below)."""
# Query parameters whose value is a credential: masked even when SEED_PUBLIC_QUERY_PARAMS names them.
_SECRET_PARAM = re.compile(r"token|key|sig|secret|password|passwd|pwd|auth|credential|session|signature|jwt|^pass$|^pw$|"
                           r"^x-amz-|^x-goog-|^sv$|^se$|^sp$|^code$", re.IGNORECASE)
_PIN = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "mib": 1024 ** 2,
          "g": 1024 ** 3, "gb": 1024 ** 3, "gib": 1024 ** 3, "t": 1024 ** 4, "tb": 1024 ** 4, "tib": 1024 ** 4}


def is_url(value: object) -> bool:
    return isinstance(value, str) and bool(_URL.match(value))


@dataclass(frozen=True)
class InputUrl:
    """A URL given for a file input: ``fetch`` is what is fetched (credentials included, never shown),
    ``shown`` the same without them, ``pin`` the expected sha256 (``URL#sha256=...``), ``name`` the file's
    name in the container."""

    fetch: str
    shown: str
    scheme: str
    pin: str | None
    name: str
    username: str | None = None
    password: str | None = None


class BadUrl(ValueError):
    """A URL that cannot be used; its message never holds the URL's credentials."""


def parse_input_url(value: str) -> InputUrl:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise BadUrl(f"{redact(value)}: not a valid URL") from None
    scheme = parts.scheme.lower()
    pin = None
    if parts.fragment:
        match = _PIN.match(parts.fragment)
        if not match:
            raise BadUrl(f"{redact(value)}: the fragment must be #sha256=<64 hex digits> (a pin), or nothing")
        pin = match.group(1).lower()
    try:
        username, password = parts.username, parts.password
    except ValueError:
        username = password = None
    fetch = urlunsplit((parts.scheme, _netloc(parts), parts.path, parts.query, ""))
    if username is not None and scheme not in ("http", "https"):  # other schemes take them in the URL as given
        fetch = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    return InputUrl(fetch=fetch, shown=redact(value), scheme=scheme, pin=pin, name=file_name(parts.path),
                    username=None if username is None else unquote(username),
                    password=None if password is None else unquote(password))


def _netloc(parts) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port is None else f"{host}:{port}"


def _public_params() -> frozenset[str]:
    return frozenset(n.strip().lower() for n in os.environ.get(PUBLIC_QUERY_ENV, "").split(",") if n.strip())


def redact(url: str) -> str:
    """The URL as it may be shown or written: ``user:password@`` as ``****@``, every query value as ``****``
    (but those of the parameters SEED_PUBLIC_QUERY_PARAMS names that do not look like credentials); the
    fragment's pin is kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a URL that cannot be parsed>"
    netloc = parts.netloc.rpartition("@")[2]
    if "@" in parts.netloc:
        netloc = f"{MASK}@{netloc}"
    query = parts.query
    if query:
        public = _public_params()
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, v if (k.lower() in public or "*" in public) and not _SECRET_PARAM.search(k)
                            else MASK) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def holds_credentials(url: str) -> bool:
    """Whether ``redact`` hides something of ``url`` (so that it cannot be fetched again from what was written)."""
    return MASK in redact(url).rpartition("#")[0 if "#" in redact(url) else 2] if is_url(url) else False


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (a message that quotes a URL)."""
    return re.sub(r"[A-Za-z][A-Za-z0-9+.-]+://[^\s'\"<>]+", lambda m: redact(m.group()), text)


def file_name(path: str) -> str:
    """The last segment of a URL path as a safe file name (no '/', no control characters, no leading dot run,
    at most 200 characters); ``download`` when nothing is left."""
    name = unquote(path.rstrip("/").rpartition("/")[2])
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name).strip().lstrip(".")
    return name[:200] or "download"


def parse_size(text: str) -> int:
    """``10G``, ``500MiB``, ``1048576`` as bytes; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 500M, 10G, or bytes)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])

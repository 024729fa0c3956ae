"""Pushes and pulls on the engine, as the registry wing sees them: following the engine's progress stream
(``follow_stream``) and turning an engine's failure message into the registry wing's exception for it
(``engine_failure``, credentials scrubbed)."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from ..errors import SeedRunnerError
from .address import RegistryAddress
from .auth import Credentials, scrub
from .errors import PublishError, RegistryAuthError, RegistryUnavailableError

__all__ = ["Progress", "follow_stream", "engine_failure"]

Progress = Callable[[str], None]


def follow_stream(lines: Iterable[dict[str, Any]], progress: Progress | None) -> tuple[str | None, str | None]:
    """Follow a push or pull stream: (error message or None, digest or None); progress gets one line per
    layer state change."""
    error = digest = None
    last: dict[str, str] = {}
    for line in lines:
        if not isinstance(line, dict):
            continue
        if line.get("error") or line.get("errorDetail"):
            error = line.get("error") or (line.get("errorDetail") or {}).get("message") or "unknown error"
            continue
        aux = line.get("aux") or {}
        digest = aux.get("Digest") or digest
        status = line.get("status")
        if not status:
            continue
        match = re.search(r"digest: (sha256:[0-9a-f]{64})", status)
        digest = match.group(1) if match else digest
        if not progress:
            continue
        key = line.get("id") or ""
        if last.get(key) != status:
            last[key] = status
            progress(f"{key}: {status}" if key else status)
    return error, digest


def engine_failure(message: str, what: str, address: RegistryAddress, credentials: Credentials | None
                   ) -> SeedRunnerError:
    """The exception for an engine's push or pull failure ``message`` about ``what`` (credentials scrubbed):
    RegistryAuthError, RegistryUnavailableError, or PublishError."""
    message = scrub(message, credentials)
    lowered = message.lower()
    if any(s in lowered for s in ("unauthorized", "authentication required", "no basic auth credentials",
                                  "denied")):
        return RegistryAuthError(f"{what} failed: the registry {address} refused the credentials "
                                 f"({message})")
    if any(s in lowered for s in ("connection refused", "no such host", "i/o timeout", "connection reset")):
        return RegistryUnavailableError(f"{what} failed: the engine cannot reach the registry {address} "
                                        f"({message})")
    if "server gave http response to https client" in lowered:
        return RegistryUnavailableError(f"{what} failed: the engine speaks HTTPS to {address}; add it to the "
                                        f"daemon's insecure-registries ({message})")
    return PublishError(f"{what} failed: {message}")

"""Registry addresses and names: ``parse_registry`` turns ``HOST[:PORT]`` (optionally with a scheme) into a
RegistryAddress, and the checks here tell valid repository names, tags and digests from invalid ones.

Scheme: ``http://`` or ``https://`` when the address says so; otherwise plain HTTP for loopback hosts (as the
Docker daemon treats 127.0.0.0/8 as insecure by default) and HTTPS for any other host.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ..manifest.names import DIGEST, REPOSITORY, TAG

__all__ = ["RegistryAddress", "CREDENTIALS_IN_ADDRESS", "parse_registry", "is_loopback", "as_address",
           "valid_repository", "valid_reference", "check_repository", "check_reference"]


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


def as_address(registry: str | RegistryAddress) -> RegistryAddress:
    """``registry`` as a RegistryAddress (a string is parsed with ``parse_registry``)."""
    return registry if isinstance(registry, RegistryAddress) else parse_registry(registry)


# -- names ----------------------------------------------------------------------------------------------


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

"""Which addresses a server may fetch references from (SSRF): public unicast addresses only, unless an
allow-list names the host or a network. Pure: the resolving and connecting is ``inputs.guarded``'s.

An allow pattern is a host name (``data.example.org``, ``*.example.org``) or a network (``10.0.0.0/8``,
``127.0.0.1``, ``::1``)."""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass


class RefusedAddress(ValueError):
    """A reference the policy refuses: its message names the host and why, never credentials."""


@dataclass(frozen=True)
class AddressPolicy:
    allow: tuple[str, ...] = ()

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        found = []
        for pattern in self.allow:
            try:
                found.append(ipaddress.ip_network(pattern, strict=False))
            except ValueError:
                continue
        return found

    def host_allowed(self, host: str) -> bool:
        """The host name itself is on the allow-list (its addresses are then not judged)."""
        host = host.lower().rstrip(".")
        return any("/" not in p and fnmatch.fnmatchcase(host, p.lower()) for p in self.allow
                   if not _is_address(p))

    def check_address(self, host: str, address: str) -> None:
        """Raise RefusedAddress unless ``address`` (one of ``host``'s) may be connected to."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self._networks()):
            return
        if not ip.is_global or ip.is_multicast:
            kind = ("loopback" if ip.is_loopback else "link-local" if ip.is_link_local else
                    "private" if ip.is_private else "not a public")
            raise RefusedAddress(f"{host} is {address}, a {kind} address; the server fetches only from public "
                                 "addresses (--allow-url to allow it)")


def _is_address(pattern: str) -> bool:
    try:
        ipaddress.ip_network(pattern, strict=False)
        return True
    except ValueError:
        return False

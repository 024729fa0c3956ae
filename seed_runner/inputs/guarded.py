"""http(s) connections that only reach the addresses an ``AddressPolicy`` allows (SSRF): the host is resolved
once, every address it resolves to is checked, and the connection goes to the checked address (no second lookup
an attacker's DNS could answer differently). Redirects open new connections, so they are checked the same way.
Proxies from the environment are not used (they would connect for us, unchecked)."""

from __future__ import annotations

import http.client
import socket
import urllib.request
from typing import Any, Callable

from .address_policy import AddressPolicy, RefusedAddress

Resolver = Callable[..., list[tuple[Any, ...]]]


class Guard:
    """The policy and the resolver (``socket.getaddrinfo``; tests give their own) of guarded connections."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver | None = None) -> None:
        self.policy = policy
        self.resolve = resolve or socket.getaddrinfo

    def create_connection(self, address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,
                          source_address: Any = None) -> socket.socket:
        host, port = address
        try:
            infos = self.resolve(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OSError(f"{host}: cannot be resolved ({exc})") from None
        if not infos:
            raise OSError(f"{host}: resolves to no address")
        if not self.policy.host_allowed(host):
            for info in infos:
                self.policy.check_address(host, info[4][0])  # every answer: none may be private
        family, kind, proto, _, checked = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(checked[:2] if family == socket.AF_INET else checked)
        except BaseException:
            sock.close()
            raise
        return sock

    def handlers(self) -> list[urllib.request.BaseHandler]:
        guard = self

        class _HTTPConnection(http.client.HTTPConnection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._create_connection = guard.create_connection

        class _HTTPSConnection(http.client.HTTPSConnection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._create_connection = guard.create_connection

        class _HTTP(urllib.request.HTTPHandler):
            def http_open(self, req: Any) -> Any:
                return self.do_open(_HTTPConnection, req)

        class _HTTPS(urllib.request.HTTPSHandler):
            def https_open(self, req: Any) -> Any:
                return self.do_open(_HTTPSConnection, req, context=self._context)

        return [urllib.request.ProxyHandler({}), _HTTP(), _HTTPS()]


__all__ = ["Guard", "RefusedAddress"]

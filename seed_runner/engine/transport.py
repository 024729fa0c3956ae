"""One connection to an engine ``Endpoint``, as a socket the client speaks HTTP/1.1 on.

- unix: the socket itself;
- tcp: a TCP connection; with TLS it is wrapped by the standard ``ssl`` module (imported only then): the
  engine's certificate is verified against the endpoint's CA (else the system's) and its host name, and the
  client certificate is presented when there is one; ``verify`` False (``DOCKER_TLS`` without
  ``DOCKER_TLS_VERIFY``, a context with ``SkipTLSVerify``) checks nothing, as docker does;
- ssh: ``seed_runner.engine.ssh`` (the docker CLI's ``ssh HOST docker system dial-stdio``).

Failures to reach the engine are OSError (the caller names the endpoint); TLS files that cannot be used and a
certificate that fails verification are EngineUnavailableError with a message saying what to check.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from ..errors import EngineUnavailableError
from .endpoint import Endpoint

__all__ = ["open_socket", "failure_detail", "tls_context"]

_TLS_CONTEXTS: dict[Endpoint, Any] = {}


def open_socket(endpoint: Endpoint, timeout: float | None) -> socket.socket:
    """A connected socket (``timeout`` bounds connecting and the TLS handshake, and is left set on it)."""
    if endpoint.kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(endpoint.path)
        except BaseException:
            sock.close()
            raise
        return sock
    if endpoint.kind == "ssh":
        from .ssh import dial

        return dial(endpoint, timeout)
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)  # IPv4 or IPv6
    if not endpoint.tls:
        return sock
    try:
        return _handshake(sock, endpoint)
    except BaseException:
        sock.close()
        raise


def failure_detail(sock: socket.socket | None) -> str:
    """What the connection's helper process said when it failed (ssh's stderr), or ''."""
    detail = getattr(sock, "failure_detail", None)
    return detail() if callable(detail) else ""


def tls_context(endpoint: Endpoint) -> Any:
    """The ``ssl.SSLContext`` of a TLS endpoint (made once per endpoint), or EngineUnavailableError naming the
    file that cannot be used."""
    context = _TLS_CONTEXTS.get(endpoint)
    if context is not None:
        return context
    import ssl

    what = f"the CA certificate {endpoint.ca}" if endpoint.ca else "the system's CA certificates"
    try:
        if not endpoint.verify:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif endpoint.ca:
            context = ssl.create_default_context(cafile=endpoint.ca)  # this CA only
        else:
            context = ssl.create_default_context()
        cert, key = client_certificate(endpoint)
        if cert and key:
            what = f"the client certificate {cert} and key {key}"
            context.load_cert_chain(cert, key)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: a file that is not PEM, a key that does not fit
        raise EngineUnavailableError(f"cannot use {what} for {endpoint.described} ({_reason(exc)}); check "
                                     f"{endpoint.tls_source}: it should hold ca.pem, cert.pem and key.pem") from None
    _TLS_CONTEXTS[endpoint] = context
    return context


def client_certificate(endpoint: Endpoint) -> tuple[str | None, str | None]:
    """The client certificate and key to present: both, or neither when the files do not exist (the docker CLI
    drops the default ``cert.pem``/``key.pem`` when they are missing); one without the other is an error."""
    cert = endpoint.cert if endpoint.cert and os.path.isfile(endpoint.cert) else None
    key = endpoint.key if endpoint.key and os.path.isfile(endpoint.key) else None
    if (cert is None) != (key is None):
        present, missing = (cert, endpoint.key) if cert else (key, endpoint.cert)
        raise EngineUnavailableError(f"{endpoint.described} has {present} but not {missing}; a client certificate "
                                     f"needs both (check {endpoint.tls_source})")
    return cert, key


def _handshake(sock: socket.socket, endpoint: Endpoint) -> socket.socket:
    import ssl

    context = tls_context(endpoint)
    try:
        return context.wrap_socket(sock, server_hostname=endpoint.host)
    except ssl.SSLCertVerificationError as exc:
        ca = endpoint.ca or "the system's CAs"
        raise EngineUnavailableError(
            f"the Docker engine at {endpoint.described} failed TLS verification ({exc.verify_message}); check that "
            f"{ca} is the CA that signed the engine's certificate and that the certificate names {endpoint.host} "
            f"({endpoint.tls_source})") from None


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)

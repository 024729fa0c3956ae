"""The docker SDK's client (build, publish, pull, list, inspect) for the same ``Endpoint`` as ``seed run``.

``docker.from_env()`` decides where the engine is by rules of its own (no contexts, TLS as soon as
DOCKER_CERT_PATH is set, ssh only through paramiko): here the SDK gets the address and the TLS material the
docker CLI's rules chose (``endpoint.resolve_endpoint``), so every command talks to the same engine. When the
SDK cannot reach it, our own client is asked why, so that the message is the one `seed run` gives.
"""

from __future__ import annotations

from typing import Any

from ..errors import EngineUnavailableError
from .endpoint import Endpoint, resolve_endpoint

__all__ = ["connect_sdk", "sdk_client"]


def sdk_client(endpoint: Endpoint) -> Any:
    """A ``docker.DockerClient`` for ``endpoint``, at the newest API version both it and the engine speak (it
    asks the engine, so this raises when the engine does not answer)."""
    if endpoint.kind == "unix":
        return _client(f"unix://{endpoint.path}")
    if endpoint.kind == "ssh":
        from .ssh import relay

        return _client(f"unix://{relay(endpoint)}")
    base_url = f"tcp://{endpoint.netloc_host}:{endpoint.port}"
    if not endpoint.tls:
        return _client(base_url)
    from docker.tls import TLSConfig

    from .transport import client_certificate, tls_context

    tls_context(endpoint)  # the files are readable and fit, or EngineUnavailableError says which is not
    cert, key = client_certificate(endpoint)
    if not endpoint.verify:
        import warnings

        from urllib3.exceptions import InsecureRequestWarning

        # Asked for (DOCKER_TLS without DOCKER_TLS_VERIFY, SkipTLSVerify): the docker CLI does not warn either.
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
    tls = TLSConfig(client_cert=(cert, key) if cert and key else None,
                    ca_cert=endpoint.ca if endpoint.verify else None, verify=endpoint.verify)
    return _client(base_url, tls)


def _client(base_url: str, tls: Any = False) -> Any:
    """The SDK's client, deaf to the environment as our own client is: requests would otherwise let
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE replace the endpoint's CA (psf/requests#3829), and send the engine's
    traffic through HTTP(S)_PROXY. The API version is negotiated as ``docker.from_env`` does (which asks before
    the environment could be switched off, hence the probe)."""
    import docker
    from docker.constants import DEFAULT_DOCKER_API_VERSION, MINIMUM_DOCKER_API_VERSION
    from docker.utils import version_lt

    probe = docker.APIClient(base_url=base_url, tls=tls, version=MINIMUM_DOCKER_API_VERSION)
    probe.trust_env = False
    try:
        server = str(probe.version(api_version=False).get("ApiVersion") or DEFAULT_DOCKER_API_VERSION)
    finally:
        probe.close()
    version = server if version_lt(server, DEFAULT_DOCKER_API_VERSION) else DEFAULT_DOCKER_API_VERSION
    client = docker.DockerClient(base_url=base_url, tls=tls, version=version)
    client.api.trust_env = False
    return client


def connect_sdk(endpoint: Endpoint | None = None) -> Any:
    """A ``docker.DockerClient`` for ``endpoint`` (default: the one the environment names) that answered a
    ping; else EngineUnavailableError naming the endpoint, where it came from and what to check."""
    endpoint = endpoint or resolve_endpoint()
    from .images import connect

    # Our client first: its ping is bounded as a whole (CALL_TIMEOUT), where the SDK's timeout is per read, so
    # an engine that trickles or hangs is given up in the time `seed run` gives it, with `seed run`'s words.
    connect(endpoint=endpoint)
    try:
        client = sdk_client(endpoint)
        client.ping()
        return client
    except EngineUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - DockerException, requests' errors, TLSParameterError, ...
        failure = exc
    # Our client says why in the words `seed run` uses (TLS verification, ssh's own message, ...).
    try:
        connect(endpoint=endpoint, call_timeout=30)
    except EngineUnavailableError:
        raise
    except Exception:  # noqa: BLE001 - it answered ours but not the SDK: report the SDK's failure
        pass
    raise EngineUnavailableError(f"the Docker engine does not answer at {endpoint.described} ({_short(failure)}); "
                                 f"{endpoint.advice}")


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."

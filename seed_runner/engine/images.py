"""Reading Seed images on the engine: the one way to connect (``connect``) and to inspect an image
(``inspect_image``). The image itself, as data, is ``seed_runner.manifest.image.ImageInfo``.

The engine client is imported only when an image is asked for, so that validating files starts fast.
"""

from __future__ import annotations

import threading
from typing import Callable

from ..errors import EngineUnavailableError, ImageNotFoundError
from ..manifest.image import ImageInfo, image_info
from .client import Engine, EngineError, NotFoundError
from .endpoint import Endpoint

__all__ = ["ImageInfo", "connect", "image_info", "inspect_image", "image_reader"]


def connect(timeout: float | None = None, *, call_timeout: float | None = None,
            endpoint: Endpoint | None = None) -> Engine:
    """The engine (``endpoint``, else the one the environment names: ``endpoint.resolve_endpoint``), checked
    to answer (raises EngineUnavailableError naming the endpoint, where it came from and what to check).

    ``timeout`` bounds the calls that last as long as a job (wait, attach; None: no bound); every other call
    is bounded by ``call_timeout`` (None: ``client.CALL_TIMEOUT``), whatever ``timeout`` is.
    """
    engine = Engine(timeout=timeout, call_timeout=call_timeout, endpoint=endpoint)
    try:
        engine.ping()
    except EngineError as exc:  # something answers, but not as an engine does
        place = engine.endpoint
        hint = ("it speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (or use a context with its "
                "certificates)" if "HTTPS" in str(exc) and not place.tls else place.advice)
        raise EngineUnavailableError(f"the Docker engine does not answer at {place.described} (its first call "
                                     f"was refused: {exc.status} {exc}); {hint}") from None
    return engine


def inspect_image(engine: Engine | None, reference: str) -> ImageInfo:
    """Labels, tags, environment and entrypoint of a local image; never pulls.

    Raises ImageNotFoundError when the engine has no such image, EngineUnavailableError for any other
    failure of the engine. ``engine`` None connects to the one the environment names (``connect``).
    """
    engine = engine or connect()
    try:
        attrs = engine.inspect_image(reference)
    except NotFoundError:
        raise ImageNotFoundError(f"image {reference!r} is not on the local engine; build it (`seed build` or "
                                 f"`docker build`) or pull it (`seed run --pull` or `docker pull`) first") from None
    except EngineError as exc:
        raise EngineUnavailableError(f"the engine could not inspect {reference!r}: {exc}") from None
    return image_info(reference, attrs)


def image_reader(engine: Engine | None = None) -> Callable[[str], ImageInfo]:
    """``reference -> ImageInfo`` for validation: connects to the engine once, on first use.

    File-only validation never connects, nor imports more than this module. A failed connection is
    remembered: every later image then gets the same EngineUnavailableError at once instead of waiting
    for the engine again.
    """
    state: dict[str, object] = {"engine": engine}
    lock = threading.Lock()

    def read(reference: str) -> ImageInfo:
        with lock:
            if state["engine"] is None and "failure" not in state:
                try:
                    state["engine"] = connect()
                except EngineUnavailableError as exc:
                    state["failure"] = str(exc)
            if state["engine"] is None:
                raise EngineUnavailableError(str(state["failure"]))
            current = state["engine"]
        return inspect_image(current, reference)  # type: ignore[arg-type]

    return read

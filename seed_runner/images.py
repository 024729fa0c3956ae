"""Reading Seed images on the local engine: labels, names, environment, entrypoint.

The engine client is imported only when an image is asked for, so that validating files starts fast. This
module holds the one way to reach the engine through engine_api (``connect``) and to inspect an image
(``inspect_image``); ``docker_engine`` re-exports both for `seed run`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine_api import Engine, EngineError, NotFoundError
from .errors import EngineUnavailableError, ImageNotFoundError
from .names import LABEL


@dataclass(frozen=True, slots=True)
class ImageInfo:
    reference: str
    id: str
    repo_tags: tuple[str, ...]
    labels: dict[str, str]
    env: dict[str, str]
    entrypoint: tuple[str, ...] | None = None
    """The image's ENTRYPOINT (() for none); None when not known (an image listing does not carry it)."""

    @property
    def manifest_label(self) -> str | None:
        return self.labels.get(LABEL)


def connect(timeout: float | None = None, *, call_timeout: float | None = None) -> Engine:
    """The engine at DOCKER_HOST, checked to answer (raises EngineUnavailableError).

    ``timeout`` bounds the calls that last as long as a job (wait, attach; None: no bound); every other call
    is bounded by ``call_timeout`` (None: ``engine_api.CALL_TIMEOUT``), whatever ``timeout`` is.
    """
    engine = Engine(timeout=timeout, call_timeout=call_timeout)
    engine.ping()
    return engine


def inspect_image(engine: Engine | None, reference: str) -> ImageInfo:
    """Labels, tags, environment and entrypoint of a local image; never pulls.

    Raises ImageNotFoundError when the engine has no such image, EngineUnavailableError for any other
    failure of the engine. ``engine`` None connects to the one at DOCKER_HOST.
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


def image_info(reference: str, attrs: dict) -> ImageInfo:
    """ImageInfo from the engine's image inspection document."""
    config = attrs.get("Config") or {}
    env = {}
    for item in config.get("Env") or ():
        name, _, value = str(item).partition("=")
        env[name] = value
    return ImageInfo(reference=reference, id=str(attrs.get("Id", "")), repo_tags=tuple(attrs.get("RepoTags") or ()),
                     labels=dict(config.get("Labels") or {}), env=env,
                     entrypoint=tuple(str(word) for word in config.get("Entrypoint") or ()))

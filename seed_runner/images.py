"""Reading Seed images on the local engine: labels, names, environment.

The engine client is imported only when an image is asked for, so that validating files starts fast.
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

    @property
    def manifest_label(self) -> str | None:
        return self.labels.get(LABEL)


def connect_engine() -> Engine:
    """The engine at DOCKER_HOST, checked to answer (raises EngineUnavailableError)."""
    engine = Engine()
    engine.ping()
    return engine


def inspect_image(reference: str, engine: Engine | None = None) -> ImageInfo:
    """Labels, tags and environment of a local image; never pulls."""
    engine = engine or connect_engine()
    try:
        attrs = engine.inspect_image(reference)
    except NotFoundError:
        raise ImageNotFoundError(
            f"image {reference!r} is not on the local engine; build it (seed build) or pull it "
            "(docker pull) first") from None
    except EngineError as exc:
        raise EngineUnavailableError(f"the engine could not inspect {reference!r}: {exc}") from None
    return image_info(reference, attrs)


def image_info(reference: str, attrs: dict) -> ImageInfo:
    """ImageInfo from the engine's image inspection document."""
    config = attrs.get("Config") or {}
    env = {}
    for item in config.get("Env") or ():
        name, _, value = item.partition("=")
        env[name] = value
    return ImageInfo(reference=reference, id=attrs.get("Id", ""), repo_tags=tuple(attrs.get("RepoTags") or ()),
                     labels=dict(config.get("Labels") or {}), env=env)

"""Reading Seed images on the local engine (labels, names, environment) through the docker SDK.

The SDK is imported only here and only when an image is asked for, so that validating files
starts fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def docker_client() -> Any:
    """A client for the local engine (DOCKER_HOST and friends are honoured)."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        raise EngineUnavailableError(
            f"the Docker engine does not answer ({_first_line(exc)}); start it (scripts/ensure-engine.sh) "
            "or set DOCKER_HOST") from None
    return client


def inspect_image(reference: str, client: Any | None = None) -> ImageInfo:
    """Labels, tags and environment of a local image; never pulls."""
    from docker.errors import APIError, ImageNotFound

    client = client or docker_client()
    try:
        attrs = client.api.inspect_image(reference)
    except ImageNotFound:
        raise ImageNotFoundError(
            f"image {reference!r} is not on the local engine; build it (seed build) or pull it "
            "(docker pull) first") from None
    except APIError as exc:
        raise EngineUnavailableError(f"the engine could not inspect {reference!r}: {_first_line(exc)}") from None
    config = attrs.get("Config") or {}
    env = {}
    for item in config.get("Env") or ():
        name, _, value = item.partition("=")
        env[name] = value
    return ImageInfo(reference=reference, id=attrs.get("Id", ""), repo_tags=tuple(attrs.get("RepoTags") or ()),
                     labels=dict(config.get("Labels") or {}), env=env)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

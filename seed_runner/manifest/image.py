"""A Seed image as data: its references, labels (the manifest label among them), environment and entrypoint.

Pure: built from the engine's image inspection document (``image_info``), so validation can check an image
without talking to an engine; ``seed_runner.engine.images`` fetches the document.
"""

from __future__ import annotations

from dataclasses import dataclass

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

"""The manifest of every step: from its ``manifest:`` file, else from its image's label (the engine is asked to
inspect the image; no container is made, nothing is pulled).

Impure (files, the engine). Each image is read once however many steps use it. A manifest that cannot be
had is a problem placed at the step (``manifest-unavailable``; ``engine-unavailable`` when the engine does not
answer, which makes the check's verdict incomplete: exit 4).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import EngineUnavailableError, ImageNotFoundError, InvalidManifestError, SeedRunnerError
from ..manifest.model import Manifest
from ..problems import Problem, error, json_path
from .model import Pipeline, Step

ImageReader = Callable[[str], Any]


def step_manifests(pipeline: Pipeline, *, read_image: ImageReader | None = None
                   ) -> tuple[dict[str, Manifest], list[Problem]]:
    """(step -> manifest, problems). ``read_image`` is ``reference -> ImageInfo`` (default: the local engine,
    connected on first use, so that a pipeline of manifest files never connects)."""
    reader = read_image
    found: dict[str, Manifest] = {}
    problems: list[Problem] = []
    cache: dict[tuple[str, str], Manifest | Problem] = {}
    for step in pipeline.steps.values():
        if step.manifest is not None:
            key, load = ("file", str(step.manifest)), (lambda s=step: _from_file(s.manifest))
        elif step.image is not None:
            if reader is None:
                from ..engine.images import image_reader

                reader = image_reader()
            key, load = ("image", step.image), (lambda s=step, r=reader: _from_image(r, s.image))
        else:
            continue  # a Scale job type with no mapping: the check reports it
        if key not in cache:
            try:
                cache[key] = load()
            except EngineUnavailableError as exc:
                cache[key] = error("engine-unavailable", None, str(exc))
            except (SeedRunnerError, OSError, ValueError) as exc:
                cache[key] = error("manifest-unavailable", None, _why(exc))
        outcome = cache[key]
        if isinstance(outcome, Manifest):
            found[step.name] = outcome
        else:
            problems.append(_placed(outcome, step, key[0]))
    return found, problems


def _placed(problem: Problem, step: Step, kind: str) -> Problem:
    where = "manifest" if kind == "file" else "image"
    place = step.place(where)
    message = f"step {step.name!r}: {problem.message}"
    placed = error(problem.code, json_path(("steps", step.name, where)), message)
    return placed.at(place.line, place.column) if place else placed


def _why(exc: BaseException) -> str:
    if isinstance(exc, InvalidManifestError):
        first = next((f for f in exc.findings if f.is_error), None)
        detail = f"{first.path}: {first.message}" if first else "invalid"
        return f"the manifest of {exc.source} is not valid ({detail}); run `seed validate {exc.source}`"
    if isinstance(exc, OSError):
        return f"cannot read {exc.filename or 'the manifest'}: {exc.strerror or exc}"
    return str(exc)


def _from_file(path: Path | None) -> Manifest:
    from ..api import load_manifest

    assert path is not None
    if not path.exists():
        raise FileNotFoundError(2, "no such file; check the path (relative to the pipeline file)", str(path))
    return load_manifest(path)


def _from_image(read: ImageReader, reference: str | None) -> Manifest:
    from ..manifest.label import decode_label
    from ..manifest.loading import manifest_from_text

    assert reference is not None
    info = read(reference)
    label = info.manifest_label
    if label is None:
        raise ImageNotFoundError(f"image {reference!r} has no com.ngageoint.seed.manifest label: it is not a Seed "
                                 "image (seed build labels one)")
    return manifest_from_text(label, source=reference, image_env=info.env,
                              decode=decode_label)


def manifests_by_image(manifests: Mapping[str, Manifest]) -> dict[str, str]:
    """Step -> the image name its manifest gives (for messages and pictures)."""
    return {step: manifest.image_name for step, manifest in manifests.items()}

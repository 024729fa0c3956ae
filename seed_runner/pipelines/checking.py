"""``check_pipeline(path)``: the Python twin of ``seed pipeline check FILE``.

Reads the file (a pipeline, or a Scale recipe with ``job_types``), every step's manifest (files, or image labels
through the engine: no container), and checks; every problem is in the result, each with its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..problems import Problem, has_errors
from .model import Pipeline


@dataclass
class PipelineCheck:
    """What ``check_pipeline`` found."""

    file: str
    pipeline: Pipeline | None
    problems: list[Problem] = field(default_factory=list)
    kind: str = "pipeline"

    @property
    def engine_unavailable(self) -> bool:
        """The engine did not answer: some manifests could not be read, so the verdict is incomplete."""
        return any(p.code == "engine-unavailable" for p in self.problems)

    def is_valid(self, *, strict: bool = False) -> bool:
        return not has_errors(self.problems, strict=strict)


def check_pipeline(path: str | Path, *, job_types: Mapping[str, str] | None = None,
                   read_image: object | None = None) -> PipelineCheck:
    """Check a pipeline file (or a Scale recipe, ``job_types`` mapping ``NAME:VERSION`` to an image or to
    ``manifest:PATH``). ``read_image``: ``reference -> ImageInfo`` (default: the local engine, on first use)."""
    from .check import check
    from .loading import read_pipeline
    from .manifests import step_manifests

    loaded = read_pipeline(path, job_types=job_types)
    problems = list(loaded.problems)
    if loaded.pipeline is not None:
        manifests, missing = step_manifests(loaded.pipeline, read_image=read_image)  # type: ignore[arg-type]
        found = missing + check(loaded.pipeline, manifests)
        if loaded.kind == "scale":  # name the recipe's members, not the converted pipeline's
            from dataclasses import replace

            from .scale import recipe_path

            found = [replace(p, path=recipe_path(p.path)) for p in found]
        problems += found
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return PipelineCheck(str(path), loaded.pipeline, problems, loaded.kind)

"""What went wrong outside the job, as an outcome or a message: an engine that did not answer, or answered
with a refusal or an answer the call does not expect, and an image argument that is a path."""

from __future__ import annotations

from pathlib import Path

from ..engine.client import EngineError, UnexpectedAnswerError
from ..errors import SeedRunnerError
from ..manifest.names import looks_like_path
from .outcome import Outcome, system_failure

__all__ = ["engine_failure", "folder_hint", "not_an_image"]


def engine_failure(exc: SeedRunnerError) -> Outcome:
    """No answer (``engine-unavailable``), or a refusal or an answer the call does not expect (``engine-error``),
    also when a wrapper turned the engine's answer into EngineUnavailableError (it is then the context)."""
    if isinstance(exc, EngineError) and not isinstance(exc, UnexpectedAnswerError):
        return system_failure("engine-error", f"the engine refused {exc.call or 'a call'} ({exc.status}): {exc}")
    answered = isinstance(exc, EngineError) or isinstance(exc.__context__, EngineError)
    return system_failure("engine-error" if answered else "engine-unavailable", str(exc))


def not_an_image(reference: str) -> str | None:
    """Why ``reference`` is a path and not an image name (told apart as `seed validate` does), or None."""
    if not looks_like_path(reference):
        return None
    path, fix = Path(reference).expanduser(), "`seed run` takes an image name (NAME:TAG)"
    if path.is_dir():
        return (f"{reference!r} is a folder, not an image: {fix}; build the job's image first (`seed build "
                f"{reference}`), or run an image with its manifest (`--manifest {path / 'seed.manifest.json'}`)")
    what = "file" if path.is_file() else "path"
    return f"{reference!r} is a {what}, not an image: {fix}; a manifest file is given with `--manifest FILE`"


def folder_hint(reference: str) -> str:
    """For an image the engine does not have: what to do when a folder here has that name, or ''."""
    if not Path(reference).is_dir():
        return ""
    return f"; {reference!r} is also a folder here: to run the job in it, build it first (`seed build {reference}`)"

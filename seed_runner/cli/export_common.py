"""What `seed export cwl` and `seed export kubernetes` share: the source argument, reading the job, writing the
document, one-line failures.

Exit status: 0 written; 1 the manifest is invalid, or the job uses what the target cannot express (one line
naming it); 2 usage (a bad option, a value that does not fit the manifest, no such file or image); 4 the engine
does not answer (an image given by reference)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

SourceArgument = Annotated[str, typer.Argument(
    help="The job: an image on the engine (its label is read), a seed.manifest.json, or its folder.")]
OutputOption = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Write the document to this file (default: standard output).")]


def _fail(message: str, status: int) -> NoReturn:
    typer.echo(f"seed: error: {message}", err=True)
    raise typer.Exit(status)


def _manifest_and_image(source: str) -> tuple[Any, str | None, dict[str, str]]:
    """The manifest, the image reference (None for a file) and the image's ENV."""
    from ..api import load_manifest
    from ..errors import EngineUnavailableError, ImageNotFoundError, InvalidManifestError, SourceNotFoundError

    try:
        manifest = load_manifest(source)
    except InvalidManifestError as exc:
        _fail(f"{source}: the manifest is invalid ({exc}); `seed validate {source}` lists every finding", 1)
    except (SourceNotFoundError, ImageNotFoundError) as exc:
        _fail(str(exc), 2)
    except EngineUnavailableError as exc:
        _fail(str(exc), 4)
    path = Path(source)
    try:
        is_file = path.is_file() or (path / "seed.manifest.json").is_file()
    except OSError:
        is_file = False
    if is_file:
        return manifest, None, {}
    from ..engine.images import inspect_image

    try:
        info = inspect_image(None, source)
    except (ImageNotFoundError, EngineUnavailableError) as exc:  # gone since the label was read
        _fail(str(exc), 4)
    return manifest, source, dict(getattr(info, "env", {}) or {})


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    from ..runtime.atomic import write_text_to_user_path

    try:
        write_text_to_user_path(output, text)
    except OSError as exc:
        _fail(f"cannot write {output} ({exc.strerror or exc})", 2)
    typer.echo(f"wrote {output}", err=True)



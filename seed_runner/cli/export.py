"""`seed export cwl|kubernetes`: a Seed job as a document another engine runs (seed_runner.export).

Exit status: 0 written; 1 the manifest is invalid, or the job uses what the target cannot express (one line
naming it); 2 usage (a bad option, a value that does not fit the manifest, no such file or image); 4 the engine
does not answer (an image given by reference)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

export_app = typer.Typer(name="export", help="Write a Seed job as a CWL CommandLineTool or a Kubernetes Job.",
                         no_args_is_help=True, add_completion=False)

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
    from ..runtime.atomic import write_text_atomically

    try:
        write_text_atomically(output, text)
    except OSError as exc:
        _fail(f"cannot write {output} ({exc.strerror})", 2)
    typer.echo(f"wrote {output}", err=True)


@export_app.command("cwl")
def export_cwl(
    source: SourceArgument,
    output: OutputOption = None,
    image: Annotated[Optional[str], typer.Option(
        help="The image the tool runs (default: the image given, or the manifest's name-version-seed:version).")
                     ] = None,
) -> None:
    """A CWL v1.2 CommandLineTool that runs the job under any CWL engine with the Seed runtime contract."""
    from ..export import UnsupportedCommand, cwl_tool
    from ..export.yaml_text import to_yaml

    manifest, reference, image_env = _manifest_and_image(source)
    try:
        tool = cwl_tool(manifest, image=image or reference, image_env=image_env)
    except UnsupportedCommand as exc:
        _fail(f"{source}: {exc}", 1)
    _write("#!/usr/bin/env cwl-runner\n" + to_yaml(tool), output)


def register(app: typer.Typer) -> None:
    from .export_kubernetes import export_kubernetes

    export_app.command("kubernetes")(export_kubernetes)
    app.add_typer(export_app)

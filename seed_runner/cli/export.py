"""`seed export cwl|kubernetes`: a Seed job as a document another engine runs (seed_runner.export).

A pipeline file (or a Scale recipe) exports as a CWL Workflow (cli/export_pipeline.py).

Exit status: 0 written; 1 the manifest (or pipeline) is invalid, or the job uses what the target cannot express (one line
naming it); 2 usage (a bad option, a value that does not fit the manifest, no such file or image); 4 the engine
does not answer (an image given by reference)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .export_common import OutputOption, SourceArgument, _fail, _manifest_and_image, _write

export_app = typer.Typer(name="export", help="Write a Seed job as a CWL CommandLineTool or a Kubernetes Job.",
                         no_args_is_help=True, add_completion=False)


@export_app.command("cwl")
def export_cwl(
    source: SourceArgument,
    output: OutputOption = None,
    image: Annotated[Optional[str], typer.Option(
        help="The image the tool runs (default: the image given, or the manifest's name-version-seed:version).")
                     ] = None,
    job_types: Annotated[Optional[list[str]], typer.Option(
        "--job-type", "-t", metavar="NAME:VERSION=IMAGE",
        help="A pipeline that is a Scale recipe: its job type mapped to an image (or manifest:PATH); repeat.")
                         ] = None,
) -> None:
    """A CWL v1.2 CommandLineTool that runs the job under any CWL engine with the Seed runtime contract; or,
    given a pipeline file (or a Scale recipe), a CWL v1.2 Workflow of its steps' tools."""
    from ..export import UnsupportedCommand, cwl_tool
    from ..export.yaml_text import to_yaml
    from .export_pipeline import export_pipeline_cwl, is_pipeline_file

    if is_pipeline_file(source):
        if image:
            _fail("--image names the image of one job; a pipeline's steps name their own images", 2)
        from .pipeline_check import _job_types

        export_pipeline_cwl(source, _job_types(job_types), output)
        return
    if job_types:
        _fail(f"--job-type is for a pipeline (a Scale recipe); {source} is not one", 2)

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

"""The authoring commands of `seed`: init, build, list, inspect (each a thin skin over its library twin).

Only typer and the standard library are imported here: `seed` imports this module on every start, and
`seed validate` must start fast. Everything else is imported inside the commands.

Exit status (documented in docs/reference/authoring.md):
  0  success
  1  invalid: the manifest has errors, the build failed, the source holds no valid Seed manifest
  2  usage: bad options, a folder that is not empty, no such folder, manifest, Dockerfile, file or image
  4  system: the engine does not answer, a base image is not on the local engine
  130 interrupted
"""

from __future__ import annotations

import json
import shlex
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_SYSTEM = 4


class Language(str, Enum):
    shell = "shell"
    python = "python"


def _fail(exc: Exception, default: int = EXIT_INVALID) -> NoReturn:
    """One line on stderr and the error's exit status (``exit_status`` of seed-runner's errors)."""
    typer.echo(f"seed: error: {exc}", err=True)
    raise typer.Exit(getattr(exc, "exit_status", default))


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


# -- seed init --------------------------------------------------------------------------------------------


def init(
    directory: Annotated[Path, typer.Argument(help="The job folder: new, or empty (default: this folder).")
                         ] = Path("."),
    name: Annotated[Optional[str], typer.Option(
        "--name", "-n", help="The job's name (letters, digits, '-'); default: the folder's name, made valid.")] = None,
    title: Annotated[Optional[str], typer.Option(help="A short title; default: made from the name.")] = None,
    description: Annotated[Optional[str], typer.Option(help="What the job does.")] = None,
    inputs: Annotated[Optional[list[str]], typer.Option(
        "--input", "-i", metavar="NAME", help="A file input (repeatable); default: INPUT_FILE when no input "
                                              "at all is given.")] = None,
    json_inputs: Annotated[Optional[list[str]], typer.Option(
        "--json-input", "-j", metavar="NAME:TYPE",
        help="A JSON input (repeatable); TYPE: string (default), integer, number, boolean, object, array.")] = None,
    outputs: Annotated[Optional[list[str]], typer.Option(
        "--output", "-o", metavar="NAME[:PATTERN]",
        help="A file output and its glob pattern (repeatable; default pattern: name.txt); default: REPORT "
             "(report.txt) when no output at all is given.")] = None,
    json_outputs: Annotated[Optional[list[str]], typer.Option(
        "--json-output", metavar="NAME:TYPE", help="A member of seed.outputs.json (repeatable).")] = None,
    settings: Annotated[Optional[list[str]], typer.Option(
        "--setting", "-e", metavar="NAME", help="A setting (repeatable).")] = None,
    secrets: Annotated[Optional[list[str]], typer.Option(
        "--secret", metavar="NAME", help="A secret setting (repeatable): never shown by seed.")] = None,
    language: Annotated[Language, typer.Option(
        "--language", "-l", help="The entry script: run.sh (busybox sh) or run.py (Python 3, standard library).")
    ] = Language.shell,
    base_image: Annotated[Optional[str], typer.Option(
        help="The Dockerfile's default BASE_IMAGE; default: a public image for the language (busybox:stable, "
             "python:3.12-slim; seed build --pull fetches it).")] = None,
    maintainer: Annotated[Optional[str], typer.Option(help="The maintainer's name; default: your login.")] = None,
    email: Annotated[Optional[str], typer.Option(help="The maintainer's e-mail address.")] = None,
    job_version: Annotated[str, typer.Option(help="jobVersion: changes when the algorithm changes.")] = "0.1.0",
    package_version: Annotated[str, typer.Option(help="packageVersion: changes when only the packaging does.")
                               ] = "0.1.0",
    force: Annotated[bool, typer.Option("--force", "-f", help="Write into a folder that is not empty (the "
                                                              "scaffold's files are overwritten).")] = False,
) -> None:
    """Scaffold a Seed job: seed.manifest.json, Dockerfile, run.sh or run.py, README.md.

    The job validates with `seed validate --strict`, builds with `seed build --pull` (its base is a public image;
    offline, give a local one: --base-image, or seed build --build-arg BASE_IMAGE=...) and runs with `seed run`.
    Names are normalized (--input input-file declares INPUT_FILE).

    Exit status: 0 created, 1 a file could not be written, 2 refused (an invalid name or type, a folder that
    is not empty without --force).
    """
    from ..errors import SeedRunnerError
    from ..authoring.scaffold import init_job

    try:
        written = init_job(directory, name=name, title=title, description=description, inputs=inputs or (),
                           json_inputs=json_inputs or (), outputs=outputs or (), json_outputs=json_outputs or (),
                           settings=settings or (), secrets=secrets or (), language=language.value,
                           base_image=base_image, maintainer_name=maintainer, maintainer_email=email,
                           job_version=job_version, package_version=package_version, force=force)
    except SeedRunnerError as exc:
        _fail(exc, EXIT_USAGE)
    except OSError as exc:
        _fail(Exception(f"cannot write the job into {directory} ({exc.strerror}); check the folder's permissions"),
              EXIT_INVALID)
    from rich.markup import escape

    from ..api import load_manifest

    manifest = load_manifest(directory)
    console = _console()
    shown = escape(str(directory))
    console.print(f"[green]✔[/] created the job [bold]{escape(manifest.job.name)}[/] in {shown}: "
                  + ", ".join(escape(str(p.relative_to(directory))) for p in written))
    target = shlex.quote(str(directory))
    console.print(f"  next: seed validate --strict {target} && seed build {target} && seed test {target}",
                  markup=False)


# -- seed build -------------------------------------------------------------------------------------------


def parse_build_args(values: list[str] | None) -> dict[str, str]:
    """`--build-arg KEY=VALUE` values (seed build, and seed publish for a bump's rebuild)."""
    args = {}
    for value in values or ():
        key, sep, rest = value.partition("=")
        if not key or not sep:
            raise typer.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--build-arg")
        args[key] = rest
    return args


def _print_findings(findings: Any, console: Any) -> None:
    from .render import problem_line

    for finding in findings:
        console.print(f"  {problem_line(finding)}")


def build(
    directory: Annotated[Path, typer.Argument(help="The job folder (seed.manifest.json and Dockerfile), or its "
                                                   "manifest file.")] = Path("."),
    build_args: Annotated[Optional[list[str]], typer.Option(
        "--build-arg", metavar="KEY=VALUE", help="A Dockerfile ARG (repeatable), e.g. BASE_IMAGE=busybox:stable.")
    ] = None,
    tag: Annotated[Optional[str], typer.Option(
        "--tag", "-t", help="Tag the image with this instead of <name>-<jobVersion>-seed:<packageVersion>.")] = None,
    pull: Annotated[bool, typer.Option("--pull", help="Let the engine pull the base images (never done "
                                                      "otherwise).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not show the engine's build output.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print {image, imageId, warnings, run} on stdout.")
                       ] = False,
) -> None:
    """Validate a job and build its image, with the manifest as its com.ngageoint.seed.manifest label.

    The image is tagged <name>-<jobVersion>-seed:<packageVersion>. The build's output goes to stderr; at the
    end a `seed run` line to try the image is printed. Nothing is pulled unless --pull.

    Exit status: 0 built, 1 the manifest is invalid (its findings are printed), Docker cannot name the image,
    or the build failed (the engine's message is printed), 2 usage (no such folder, no seed.manifest.json, no
    Dockerfile, a bad --build-arg or --tag), 4 the engine does not answer or a base image is not local.
    """
    from ..authoring.build import BuildError, build_job
    from ..authoring.describe import run_line

    args = parse_build_args(build_args)
    err = _console(stderr=True)

    def progress(line: str) -> None:
        if not quiet:
            err.print(line, markup=False, highlight=False)

    try:
        result = build_job(directory, build_args=args, tag=tag, progress=progress, pull=pull)
    except BuildError as exc:
        if exc.validation is not None:
            err.print(f"[red]✘[/] {exc.validation.source}")
            _print_findings(exc.validation.findings, err)
        _fail(exc)
    command = run_line(result.manifest, result.image)
    if as_json:
        typer.echo(json.dumps({"image": result.image, "imageId": result.image_id,
                               "warnings": [f.to_dict() for f in result.warnings], "run": command}, indent=2))
        return
    if result.warnings:
        _print_findings(result.warnings, err)
    from rich.markup import escape

    out = _console()
    out.print(f"[green]✔[/] built [bold]{escape(result.image)}[/] [dim]({escape(result.image_id[:19])})[/]")
    out.print("  try it: " + command, markup=False)


# -- seed list --------------------------------------------------------------------------------------------


def list_images(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document: {reportVersion, seedRunner, "
                                                         "images: [...]}.")] = False,
) -> None:
    """List the Seed images on the local engine: name, versions, title, size, creation time, image names.

    Images with a -seed repository but no com.ngageoint.seed.manifest label are listed apart (they are not
    Seed images). Exit status: 0, or 4 when the engine does not answer.
    """
    from ..authoring.describe import image_list_document, list_seed_images, print_image_list
    from ..errors import SeedRunnerError

    try:
        images = list_seed_images()
    except SeedRunnerError as exc:
        _fail(exc, EXIT_SYSTEM)
    if as_json:
        typer.echo(json.dumps(image_list_document(images), indent=2, ensure_ascii=False))
    else:
        print_image_list(images)  # a table on a terminal, plain tab-separated lines otherwise


# -- seed inspect -----------------------------------------------------------------------------------------


def inspect(
    source: Annotated[str, typer.Argument(help="A local image, a job folder or a manifest file.",
                                          show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest itself (the label's content).")
                       ] = False,
    compact: Annotated[bool, typer.Option("--compact", help="Print the manifest as compact JSON, exactly as seed "
                                                            "build writes the label (implies --json).")] = False,
) -> None:
    """Show what a job takes, gives and needs, and a ready-to-edit `seed run` line.

    A source that exists on disk is a manifest file or job folder; anything else is a local image (never
    pulled), whose com.ngageoint.seed.manifest label is read.

    Exit status: 0 shown, 1 the source holds no valid Seed manifest (invalid, or an image without the label),
    2 no such file, folder or local image (a typo), or a folder without seed.manifest.json, 4 the engine does
    not answer.
    """
    from ..authoring.describe import describe, print_description
    from ..errors import SeedRunnerError

    try:
        description = describe(source)
    except SeedRunnerError as exc:
        _fail(exc)
    if as_json or compact:
        if compact:
            from ..manifest.label import encode_label

            typer.echo(encode_label(description.document))
        else:
            typer.echo(json.dumps(description.document, indent=2, ensure_ascii=False))
        return
    print_description(description, console=_console())


def register(app: typer.Typer) -> None:
    """Add init, build, list and inspect to the `seed` app."""
    for name, command in (("init", init), ("build", build), ("list", list_images), ("inspect", inspect)):
        app.command(name)(command)


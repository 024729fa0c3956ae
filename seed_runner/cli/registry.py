"""`seed publish`, `seed pull`, `seed search`: Seed images in a Docker registry
(library: seed_runner.registry.publishing).

Only typer and the standard library are imported here: `seed` imports this module on every start.

Exit status of the three commands:
  0  done (search: also when nothing matches)
  1  refused or failed: credentials missing or rejected, an existing tag without --force, an image not on the
     local engine or without the Seed label, an invalid manifest, a name not in the registry, a failed push,
     pull or rebuild
  2  usage error (bad option, bad --registry address, --force with a bump, --password-stdin without --username)
  4  system error: the registry or the Docker engine does not answer (connection refused, timeout, 5xx)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

EXIT_FAILED = 1
EXIT_SYSTEM = 4

RegistryOption = Annotated[str, typer.Option(
    "--registry", "-r", envvar="SEED_REGISTRY", metavar="HOST[:PORT]", show_default=False,
    help="The registry, e.g. 127.0.0.1:5000 (loopback hosts use http://, others https://; a scheme may be given). "
         "Default: $SEED_REGISTRY.")]
OrgOption = Annotated[Optional[str], typer.Option("--org", "-O", help="The organization (repository prefix).")]
UserOption = Annotated[Optional[str], typer.Option(
    "--username", "-u", help="Registry user; default: the Docker config's credentials for the registry.")]
PasswordOption = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (never from the command line).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines (they go to stderr).")]


def _credentials(username: str | None, password_stdin: bool) -> Any:
    from ..registry.client import Credentials

    if password_stdin and not username:
        raise typer.BadParameter("--password-stdin needs --username", param_hint="--password-stdin")
    if username is None:
        return None  # the Docker config's, if any
    if password_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, err=True)
    else:
        raise typer.BadParameter("give the password with --password-stdin", param_hint="--username")
    if not password:
        raise typer.BadParameter("the password is empty", param_hint="--password-stdin")
    return Credentials(username, password, source="--username/--password-stdin")


def _address(registry: str) -> Any:
    from ..registry.client import parse_registry

    try:
        return parse_registry(registry)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--registry") from None


def _fail(exc: Exception) -> NoReturn:
    """One line on stderr and the documented exit status (4: the registry or engine does not answer, or the image
    is not on the local engine, as for `seed run`)."""
    from ..errors import EngineUnavailableError, ImageNotFoundError
    from ..registry.client import RegistryUnavailableError

    typer.echo(f"seed: error: {exc}", err=True)
    system = (RegistryUnavailableError, EngineUnavailableError, ImageNotFoundError)
    raise typer.Exit(EXIT_SYSTEM if isinstance(exc, system) else EXIT_FAILED)


def _progress(quiet: bool) -> Any:
    return None if quiet else (lambda line: typer.echo(f"  {line}", err=True))


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def search(
    keyword: Annotated[Optional[str], typer.Argument(
        help="Matched case-insensitively in job names, titles, descriptions and tags; none: list all.")] = None,
    registry: RegistryOption = ...,  # type: ignore[assignment]
    org: OrgOption = None,
    username: UserOption = None,
    password_stdin: PasswordOption = False,
    as_json: JsonOption = False,
    page_size: Annotated[int, typer.Option("--page-size", min=1, hidden=True,
                                           help="Catalog page size (tests).")] = 100,
) -> None:
    """Find Seed images in a registry (nothing is pulled).

    Every tag of the catalog's -seed repositories is described by the manifest in its image label,
    read from the image's config blob.

    Exit status: 0 done, also when nothing matches; 1 credentials missing or rejected;
    2 usage error; 4 the registry does not answer.
    """
    from ..errors import SeedRunnerError
    from ..registry.publishing import search as search_registry

    address = _address(registry)
    credentials = _credentials(username, password_stdin)
    skipped: list[tuple[str, str]] = []
    try:
        hits = search_registry(address, keyword, org=org, credentials=credentials, page_size=page_size,
                               on_skip=lambda ref, why: skipped.append((ref, why)))
    except SeedRunnerError as exc:
        _fail(exc)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--org") from None
    for reference, why in skipped:
        typer.echo(f"seed: warning: {reference} skipped: {why}", err=True)
    if as_json:
        typer.echo(json.dumps({"registry": address.host, "org": org, "keyword": keyword,
                               "results": [h.to_dict() for h in hits]}, indent=2, ensure_ascii=False))
        return
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    about = f" matching {keyword!r}" if keyword else ""
    if not hits:
        console.print(f"no Seed images in {escape(address.host)}{escape(' under ' + org if org else '')}"
                      f"{escape(about)}")
        return
    from ..problems import one_line  # a registry's labels are a stranger's text: never raw on the terminal

    rows = [tuple(one_line(str(text or "")) for text in (hit.reference, hit.name, hit.job_version,
                                                          hit.package_version, hit.title)) for hit in hits]
    headers = ("image", "job", "job version", "package", "title")
    widths = [max(len(text) for text in column) for column in zip(headers, *rows)]
    if not console.is_terminal:  # piped: never cut a reference short, whatever the width
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=True, width=max(80, sum(widths) + 2 * len(widths)))
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for header, width in zip(headers[:-1], widths):
        table.add_column(header, no_wrap=True, min_width=width)
    table.add_column(headers[-1], overflow="fold")
    for row in rows:
        table.add_row(*(escape(text) for text in row))
    console.print(table)
    console.print(f"[dim]{len(hits)} Seed image{'s' * (len(hits) != 1)}{escape(about)}; pull one with: "
                  f"seed pull NAME --registry {escape(address.host)}[/]")


def pull(
    name: Annotated[str, typer.Argument(
        help="<name>-<jobVersion>-seed:<packageVersion>, a repository <name>-<jobVersion>-seed (its newest "
             "version), or a job name (its newest job version, then newest package version).",
        show_default=False)],
    registry: RegistryOption = ...,  # type: ignore[assignment]
    org: OrgOption = None,
    username: UserOption = None,
    password_stdin: PasswordOption = False,
    tag_local: Annotated[bool, typer.Option(
        "--tag-local/--no-tag-local",
        help="Also tag the image <name>-<jobVersion>-seed:<packageVersion> locally, for seed run.")] = True,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Pull a Seed image from a registry.

    Never `latest`: a job name resolves to its newest job version, a repository to its newest package
    version, by SemVer precedence.

    Exit status: 0 pulled; 1 refused or failed (credentials, not in the registry);
    2 usage error; 4 the registry or the Docker engine does not answer.
    """
    from ..errors import SeedRunnerError
    from ..registry.publishing import pull as pull_image

    address = _address(registry)
    credentials = _credentials(username, password_stdin)
    try:
        result = pull_image(name, address, org=org, credentials=credentials, tag_local=tag_local,
                            progress=_progress(quiet))
    except SeedRunnerError as exc:
        _fail(exc)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    for warning in result.warnings:
        typer.echo(f"seed: warning: {warning}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    from rich.markup import escape

    console = _console()
    job = result.job
    about = f" (job {job['name']} {job['jobVersion']}, package {job['packageVersion']})" if job else ""
    console.print(f"[green]✔[/] pulled {escape(result.reference)}{escape(about)}")
    local = result.local_name or result.reference
    if result.local_name:
        console.print(f"  tagged {escape(result.local_name)}")
    console.print(f"  [dim]run it with: seed run {escape(local)} ...[/]")


def publish(
    image: Annotated[Optional[str], typer.Argument(
        help="The local Seed image; default: the one DIR/seed.manifest.json names.", show_default=False)] = None,
    registry: RegistryOption = ...,  # type: ignore[assignment]
    org: OrgOption = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite the tag if the registry has it.")] = False,
    bump_package: Annotated[Optional[str], typer.Option(
        "--bump-package", metavar="major|minor|patch",
        help="If the tag exists: bump packageVersion in DIR/seed.manifest.json, rebuild, publish that.")] = None,
    bump_job: Annotated[Optional[str], typer.Option(
        "--bump-job", metavar="major|minor|patch",
        help="If the tag exists: bump jobVersion in DIR/seed.manifest.json, rebuild, publish that.")] = None,
    directory: Annotated[Path, typer.Option("--dir", "-d", help="The job folder (for a bump and a default IMAGE).")
                         ] = Path("."),
    build_args: Annotated[Optional[list[str]], typer.Option(
        "--build-arg", metavar="KEY=VALUE",
        help="A Dockerfile ARG for the rebuild after a bump (repeatable); give the ones the image was built "
             "with.")] = None,
    username: UserOption = None,
    password_stdin: PasswordOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Push a Seed image as REGISTRY/[ORG/]<name>-<jobVersion>-seed:<packageVersion>, named from its label.

    A tag the registry already has is refused unless --force (overwrite) or --bump-package/--bump-job:
    then the version in DIR/seed.manifest.json is bumped, the job rebuilt and the new version published
    (as seed-cli does, the manifest is only changed when the tag exists).

    A bump rebuilds with exactly the --build-arg values given here (the Dockerfile's ARG defaults
    otherwise), not those the original image was built with: repeat them, or the bumped version may be a
    different image (e.g. on another base).

    Exit status: 0 published; 1 refused or failed (the tag exists; the image has no Seed label or an invalid
    manifest; credentials missing or rejected; the push or rebuild failed); 2 usage error; 4 the registry or
    the Docker engine does not answer, or the image is not on the local engine.
    """
    from ..errors import SeedRunnerError
    from ..registry.publishing import BUMP_PARTS
    from ..registry.publishing import publish as publish_image

    for option, value in (("--bump-package", bump_package), ("--bump-job", bump_job)):
        if value is not None and value not in BUMP_PARTS:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(BUMP_PARTS)}", param_hint=option)
    if force and (bump_package or bump_job):
        raise typer.BadParameter("--force overwrites the existing tag and a bump publishes a new one: choose one",
                                 param_hint="--force")
    from .authoring import parse_build_args

    args = parse_build_args(build_args)
    address = _address(registry)
    credentials = _credentials(username, password_stdin)
    try:
        result = publish_image(image, address, org=org, force=force, bump_package=bump_package,
                               bump_job=bump_job, directory=directory, credentials=credentials,
                               progress=_progress(quiet), build_args=args)
    except SeedRunnerError as exc:
        _fail(exc)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    from rich.markup import escape

    console = _console()
    for key, (old, new) in (result.bumped or {}).items():
        console.print(f"  {key} {escape(old)} -> {escape(new)} in {escape(result.manifest_file or '')}")
    replaced = f", replacing {result.overwrote}" if result.overwrote else ""
    console.print(f"[green]✔[/] published {escape(result.reference)} ({escape(result.digest or '?')}"
                  f"{escape(replaced)})")
    short = result.reference.split("/", 1)[1]
    console.print(f"  [dim]pull it with: seed pull {escape(short)} --registry {escape(address.host)}[/]")


def register(app: typer.Typer) -> None:
    """Add `publish`, `pull` and `search` to the main app."""
    app.command()(publish)
    app.command()(pull)
    app.command()(search)

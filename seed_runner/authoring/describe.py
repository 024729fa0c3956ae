"""What a user of a Seed job needs to know: `seed inspect` (one job) and `seed list` (the local Seed images).

``describe(source)`` reads a manifest from a file, a job folder or a local image's label;
``print_description`` renders it (inputs, outputs, settings, mounts, resources, errors and a ready-to-edit
`seed run` line, the same ``run_line`` that `seed build` prints). ``list_seed_images()`` lists the images on the
local engine that carry the Seed label, and those with a ``-seed`` repository that do not.

Exit status of a failure (``DescribeError.exit_status``), as `seed inspect` uses them:
  1  the source holds no valid Seed manifest (invalid, or an image without a readable label)
  2  no such file, folder or local image (anything not on disk is taken for an image name), or a folder
     without a seed.manifest.json
  4  the engine does not answer (only asked when the source is an image)
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import EngineUnavailableError, ImageNotFoundError, SeedRunnerError
from ..problems import Finding, Severity

if TYPE_CHECKING:  # annotations only
    from ..manifest.model import Manifest

__all__ = ["JobDescription", "DescribeError", "SeedImage", "describe", "run_line", "json_example",
           "print_description", "list_seed_images", "image_list_document", "print_image_list"]

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_SYSTEM = 4

# The shape of `seed list --json`; bump on an incompatible change.
LIST_REPORT_VERSION = 1


class DescribeError(SeedRunnerError):
    """A source that cannot be described; one line, with ``exit_status`` (see the module docstring)."""

    def __init__(self, message: str, *, exit_status: int = EXIT_INVALID):
        super().__init__(message)
        self.exit_status = exit_status


@dataclass(frozen=True)
class JobDescription:
    """A job as `seed inspect` shows it."""

    source: str
    """The source as named: a path or an image reference."""
    kind: str
    """``file``, ``directory`` or ``image``."""
    manifest: "Manifest"
    document: Mapping[str, Any]
    """The manifest document itself: the file's content, or the image label's (what ``--json`` prints)."""
    image: str
    """The image to run: the reference named, or for a file the name ``seed build`` gives it."""
    warnings: tuple[Finding, ...] = ()


# -- the `seed run` line ----------------------------------------------------------------------------------

_JSON_EXAMPLES = {"string": "text", "integer": "1", "number": "1.5", "boolean": "true",
                  "object": '{"key": "value"}', "array": '["item"]'}


def json_example(json_type: str) -> str:
    """A value of a JSON input's type, as typed after ``-j NAME=`` (a string needs no quotes)."""
    return _JSON_EXAMPLES.get(json_type, "VALUE")


def run_line(manifest: "Manifest", image: str | None = None, *, optional: bool = False) -> str:
    """A ready-to-edit ``seed run`` command for the job: every required input, every setting and mount.

    ``-i NAME=PATH`` for each required file input (``DIR`` for a multiple one), ``-j NAME=VALUE`` with a typed
    example for each required JSON input, ``-e NAME=VALUE`` for each setting (a secret one bare, ``-e NAME``: its
    value then comes from the environment and stays out of the shell's history), ``-m NAME=HOST_PATH`` for each
    mount. ``optional`` adds the optional inputs too. Words are shell-quoted where needed.
    """
    face = manifest.job.interface
    words = ["seed", "run", image or manifest.image_name]
    for file_input in face.file_inputs:
        if file_input.required or optional:
            words += ["-i", f"{file_input.name}={'DIR' if file_input.multiple else 'PATH'}"]
    for json_input in face.json_inputs:
        if json_input.required or optional:
            words += ["-j", f"{json_input.name}={json_example(json_input.type)}"]
    for setting in face.settings:
        words += ["-e", setting.name if setting.secret else f"{setting.name}=VALUE"]
    for mount in face.mounts:
        words += ["-m", f"{mount.name}=HOST_PATH"]
    return shlex.join(words)


# -- seed inspect -----------------------------------------------------------------------------------------


def describe(source: str | Path, *, engine: Any = None) -> JobDescription:
    """Read the job a file, a job folder or a local image (its ``com.ngageoint.seed.manifest`` label) holds.

    A source that exists on disk is a file or folder; anything else is an image reference on the local engine
    (never pulled). The image's name is not checked against the manifest here (``seed validate IMAGE`` does):
    a retagged image is still described. Raises ``DescribeError`` with an ``exit_status``.
    """
    from ..manifest.sources import read_file, resolve
    from ..validation import validate_document

    text = str(source)
    if not text:
        raise DescribeError("the source is empty; name a manifest file, a job folder or a local image",
                            exit_status=EXIT_USAGE)
    located = resolve(text)[0]
    if located.problem is not None:  # a folder without a manifest
        raise DescribeError(located.problem.message, exit_status=EXIT_USAGE)
    if located.kind == "image":
        return _describe_image(text, engine)
    document, findings = read_file(located.path or Path(text), text)
    if document is None and any(f.code == "source-not-found" for f in findings):
        raise DescribeError(f"{text}: no such file or folder; check the path", exit_status=EXIT_USAGE)
    if document is not None:
        findings = [*findings, *validate_document(document)]
    return _description(text, located.kind, document, findings, image=None)


_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


def _reference_problems(reference: str) -> list[str]:
    """Why ``reference`` names no image (Docker's reference grammar; a name may end in ``@digest``), or []."""
    from .build import reference_problems

    name, at, digest = reference.partition("@")
    problems = reference_problems(name)
    if at and not _DIGEST.fullmatch(digest):
        problems.append(f"the digest {digest!r} is not algorithm:hex (such as sha256:...)")
    return problems


def _describe_image(reference: str, engine: Any) -> JobDescription:
    from ..engine.images import inspect_image
    from ..validation import validate_document
    from ..validation.image_rules import image_document

    problems = _reference_problems(reference)
    if problems:  # the engine would refuse it as a malformed reference (and seem unavailable)
        raise DescribeError(f"no such file, folder or local image: {reference!r} is not a file or folder and not an "
                            f"image name ({'; '.join(problems)}); check the name", exit_status=EXIT_USAGE)
    try:
        image = inspect_image(engine, reference)
    except ImageNotFoundError:
        raise DescribeError(f"no file, folder or local image named {reference!r}; check the name (`seed list` "
                            "shows the local Seed images) or build or pull the image first",
                            exit_status=EXIT_USAGE) from None
    except EngineUnavailableError as exc:
        raise DescribeError(str(exc), exit_status=EXIT_SYSTEM) from None
    document, findings = image_document(image)
    if document is not None:
        findings = [*findings, *validate_document(document, image_env=image.env)]
    return _description(reference, "image", document, findings, image=reference)


def _description(source: str, kind: str, document: Any, findings: list[Finding], *,
                 image: str | None) -> JobDescription:
    from ..problems import has_errors
    from ..manifest.model import Manifest

    if document is None or has_errors(findings):
        errors = [f for f in findings if f.severity is Severity.ERROR]
        first = errors[0].message if errors and errors[0].path == "$" else \
            f"{errors[0].path}: {errors[0].message}" if errors else "it cannot be read"
        more = f" (and {len(errors) - 1} more; `seed validate {shlex.quote(source)}` lists them)" \
            if len(errors) > 1 else ""
        raise DescribeError(f"{source} holds no valid Seed manifest: {first}{more}")
    manifest = Manifest.from_dict(document)
    warnings = tuple(f for f in findings if f.severity is Severity.WARNING)
    return JobDescription(source, kind, manifest, document, image or manifest.image_name, warnings)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _number(value: float) -> str:
    return f"{value:g}"


def print_description(description: JobDescription, *, console: Any = None) -> None:
    """The job for its user: what it is, what it takes and gives, what it needs, how it fails, how to run it."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False, soft_wrap=True)
    m = description.manifest
    job = m.job
    face = job.interface

    def table(*columns: str) -> Table:
        grid = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=True, header_style="dim")
        for column in columns:
            grid.add_column(column, no_wrap=column in ("name", "code", "path", "pattern", "key"))
        return grid

    def section(title: str, grid: Table | None, empty: str) -> None:
        console.print()
        console.print(f"[bold]{title}[/]" + ("" if grid is not None else f"  [dim]{empty}[/]"))
        if grid is not None:
            console.print(grid)

    console.print(f"[bold]{escape(job.title)}[/]  [dim]{escape(job.name)} {escape(job.job_version)} "
                  f"(package {escape(job.package_version)})[/]")
    console.print(escape(job.description))
    maintainer = job.maintainer
    who = f"{maintainer.name} <{maintainer.email}>"
    who += "".join(f", {extra}" for extra in (maintainer.organization, maintainer.url, maintainer.phone) if extra)
    facts = [("image", description.image), ("maintainer", who),
             ("timeout", f"{job.timeout} s" + ("" if job.timeout > 0 else " (no limit)"))]
    if job.tags:
        facts.append(("tags", ", ".join(job.tags)))
    facts.append(("command", face.command if face.command is not None else "(none: the image's ENTRYPOINT/CMD)"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for key, value in facts:
        grid.add_row(key, escape(value))
    console.print(grid)

    inputs = None
    if face.file_inputs or face.json_inputs:
        inputs = table("name", "kind", "required", "multiple", "media types / type")
        for f in face.file_inputs:
            kinds = ", ".join(f.media_types) if f.media_types else "any"
            inputs.add_row(escape(f.name), "file", _yes(f.required), _yes(f.multiple),
                           escape(kinds) + (" [dim](partial)[/]" if f.partial else ""))
        for j in face.json_inputs:
            inputs.add_row(escape(j.name), "json", _yes(j.required), "", j.type)
    section("Inputs", inputs, "none")

    outputs = None
    if face.file_outputs or face.json_outputs:
        outputs = table("name", "kind", "pattern / key", "media type / type", "required", "multiple")
        for o in face.file_outputs:
            outputs.add_row(escape(o.name), "file", escape(o.pattern), escape(o.media_type or "-"),
                            _yes(o.required), _yes(o.multiple))
        for json_output in face.json_outputs:
            outputs.add_row(escape(json_output.name), "json", escape(json_output.key), json_output.type,
                            _yes(json_output.required), "")
    section("Outputs", outputs, "none")

    settings = None
    if face.settings:
        settings = table("name", "secret")
        for s in face.settings:
            settings.add_row(escape(s.name), "[yellow]secret[/]" if s.secret else "no")
    section("Settings", settings, "none")

    mounts = None
    if face.mounts:
        mounts = table("name", "path", "mode")
        for mount in face.mounts:
            mounts.add_row(escape(mount.name), escape(mount.path),
                           "read-write (rw)" if mount.mode == "rw" else "read-only (ro)")
    section("Mounts", mounts, "none")

    resources = None
    if job.resources:
        resources = table("name", "value", "inputMultiplier", "variable")
        for r in job.resources:
            unit = " MiB" if r.name in ("mem", "disk", "sharedMem") else ""
            resources.add_row(escape(r.name), _number(r.value) + unit,
                              _number(r.input_multiplier) if r.input_multiplier else "-", escape(r.variable))
    section("Resources", resources, "none declared: the runner's defaults apply")

    errors = None
    if job.errors:
        errors = table("code", "name", "title", "category", "description")
        for e in job.errors:
            errors.add_row(str(e.code), escape(e.name), escape(e.title or "-"), e.category,
                           escape(e.description or ""))
    section("Errors", errors, "none declared: any non-zero exit is algorithm-unknown")

    console.print()
    console.print("[bold]Run it[/]")
    console.print("  " + run_line(m, description.image), markup=False)
    optional = [f.name for f in face.file_inputs if not f.required] + \
        [j.name for j in face.json_inputs if not j.required]
    if optional:
        console.print(f"  [dim]optional inputs: {escape(', '.join(optional))}[/]")
    secrets = [s.name for s in face.settings if s.secret]
    if secrets:
        console.print(f"  [dim]secret settings ({escape(', '.join(secrets))}): export them and pass -e NAME bare, "
                      "or --secret NAME=FILE, to keep them out of the shell's history[/]")
    if description.warnings:
        n = len(description.warnings)
        console.print(f"  [yellow]{n} warning{'s' * (n != 1)}[/] [dim](seed validate "
                      f"{escape(shlex.quote(description.source))} shows them)[/]")


# -- seed list --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedImage:
    """An image on the local engine that carries the Seed label, or has a ``-seed`` repository without it."""

    id: str
    references: tuple[str, ...]
    """Its tags (``repository:tag``), sorted."""
    size: int
    """Bytes, as the engine reports them."""
    created: datetime
    """When the image was built (UTC)."""
    labeled: bool
    """Whether it carries the ``com.ngageoint.seed.manifest`` label."""
    name: str | None = None
    job_version: str | None = None
    package_version: str | None = None
    title: str | None = None
    problem: str | None = None
    """Why it is not a proper Seed image (no label, a label that does not parse, a name that does not match
    the manifest), or None."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "references": list(self.references), "name": self.name,
                "jobVersion": self.job_version, "packageVersion": self.package_version, "title": self.title,
                "size": self.size, "created": self.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "labeled": self.labeled, "problem": self.problem}


def list_seed_images(docker_client: Any = None) -> list[SeedImage]:
    """The Seed images on the local engine, sorted by name and versions.

    An image is listed when it carries the ``com.ngageoint.seed.manifest`` label, or when one of its tags has a
    repository ending in ``-seed`` (then ``labeled`` is False: registries would list it as a Seed image, but
    it is not one). Untagged images (left behind by rebuilds) are not listed. The label is read, not validated
    (``seed validate IMAGE`` does that). Raises EngineUnavailableError when the engine does not answer.
    """
    from .build import connect_docker
    from ..manifest.image import ImageInfo
    from ..manifest.label import decode_label
    from ..manifest.names import LABEL, split_reference
    from ..validation.image_rules import image_name_findings

    client = connect_docker(docker_client)
    try:
        summaries = client.api.images()
    except Exception as exc:  # noqa: BLE001 - requests' or docker's errors: the engine went away
        raise EngineUnavailableError(f"the Docker engine could not list its images ({exc}); check that it "
                                     "runs") from None
    images = []
    for summary in summaries:
        tags = tuple(sorted(t for t in summary.get("RepoTags") or () if t != "<none>:<none>"))
        if not tags:
            continue
        labels = summary.get("Labels") or {}
        label = labels.get(LABEL)
        seed_named = any(split_reference(t)[0].endswith("-seed") for t in tags)
        if label is None and not seed_named:
            continue
        image_id = str(summary.get("Id", ""))
        image = SeedImage(id=image_id, references=tags, size=int(summary.get("Size") or 0),
                          created=datetime.fromtimestamp(summary.get("Created") or 0, tz=timezone.utc), labeled=True)
        if label is None:  # only its -seed names matter: the others are not Seed names at all
            images.append(replace(image, labeled=False,
                                  references=tuple(t for t in tags if split_reference(t)[0].endswith("-seed")),
                                  problem=f"no {LABEL} label: not a Seed image; rebuild it with `seed build`"))
            continue
        document, findings = decode_label(label)
        job = document.get("job") if isinstance(document, dict) else None
        if not isinstance(job, dict):
            images.append(replace(image, problem=findings[0].message if findings else "the label holds no job"))
            continue

        def text(key: str) -> str | None:
            value = job.get(key)
            return value if isinstance(value, str) else None

        info = ImageInfo(reference=image_id, id=image_id, repo_tags=tags, labels=labels, env={})
        naming = next(iter(image_name_findings(info, document)), None)
        images.append(replace(image, name=text("name"), job_version=text("jobVersion"),
                              package_version=text("packageVersion"), title=text("title"),
                              problem=naming.message if naming else None))
    return sorted(images, key=lambda i: (i.name or i.references[0], i.job_version or "", i.package_version or "",
                                         i.created))


def image_list_document(images: Sequence[SeedImage]) -> dict[str, Any]:
    """`seed list --json`: ``{"reportVersion": 1, "seedRunner": ..., "images": [SeedImage.to_dict(), ...]}``."""
    from .. import __version__

    return {"reportVersion": LIST_REPORT_VERSION, "seedRunner": __version__,
            "images": [image.to_dict() for image in images]}


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def print_image_list(images: Sequence[SeedImage], *, console: Any = None) -> None:
    """A table of the labelled images, then the ``-seed`` images without a label, then a summary line."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False, soft_wrap=True)
    labeled = [i for i in images if i.labeled]
    unlabeled = [i for i in images if not i.labeled]
    if labeled:
        table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False, header_style="dim")
        for column in ("name", "job version", "package", "title", "size", "created", "image"):
            # Names, versions and sizes stay whole; a long title or image name wraps instead.
            wraps = column in ("title", "image")
            table.add_column(column, justify="right" if column == "size" else "left", no_wrap=not wraps,
                             overflow="fold", min_width={"title": 10, "image": 24}.get(column),
                             ratio=1 if wraps else None)
        for image in labeled:
            created = image.created.astimezone().strftime("%Y-%m-%d %H:%M")
            refs = "\n".join(escape(r) for r in image.references)
            table.add_row(escape(image.name or "?"), escape(image.job_version or "?"),
                          escape(image.package_version or "?"), escape(image.title or ""),
                          _human_size(image.size), created, refs + (" [yellow]⚠[/]" if image.problem else ""))
        console.print(table)
        for image in labeled:
            if image.problem:
                console.print(f"[yellow]⚠[/] {escape(image.references[0])}: {escape(image.problem)}")
    if unlabeled:
        console.print(f"[yellow]{len(unlabeled)} image{'s' * (len(unlabeled) != 1)} with a -seed repository but "
                      "no com.ngageoint.seed.manifest label[/] [dim](not Seed images; rebuild with seed build)[/]:")
        for image in unlabeled:
            console.print(f"  {escape(', '.join(image.references))}  [dim]{image.id[7:19]}[/]")
    n = len(labeled)
    console.print(f"[dim]{n} Seed image{'s' * (n != 1)} on the local engine[/]" if n or unlabeled else
                  "[dim]no Seed image on the local engine; build one with `seed build`[/]")

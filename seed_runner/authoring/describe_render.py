"""How `seed inspect` and `seed list` show what they found: the job's description and the table of the local
Seed images (rich text), and the ready-to-edit `seed run` line (``run_line``, which `seed build` prints too).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, Sequence

from ..problems import one_line
from .describe_records import JobDescription, SeedImage

if TYPE_CHECKING:  # annotations only
    from ..manifest.model import Manifest

__all__ = ["run_line", "json_example", "print_description", "print_image_list"]


def _e(text: object) -> str:
    """Manifest text as rich markup that shows it as it is: markup escaped, and control characters (ESC, a
    newline, ...) shown as Python escapes, so that a title can neither drive the terminal nor forge a row."""
    from rich.markup import escape

    return escape(one_line(str(text)))


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


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _number(value: float) -> str:
    return f"{value:g}"


def print_description(description: JobDescription, *, console: Any = None) -> None:
    """The job for its user: what it is, what it takes and gives, what it needs, how it fails, how to run it."""
    from rich.console import Console
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

    console.print(f"[bold]{_e(job.title)}[/]  [dim]{_e(job.name)} {_e(job.job_version)} "
                  f"(package {_e(job.package_version)})[/]")
    for line in job.description.split("\n"):  # a paragraph may span lines (and only that: \r, ESC... escaped)
        console.print(_e(line))
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
        grid.add_row(key, _e(value))
    console.print(grid)

    inputs = None
    if face.file_inputs or face.json_inputs:
        inputs = table("name", "kind", "required", "multiple", "media types / type")
        for f in face.file_inputs:
            kinds = ", ".join(f.media_types) if f.media_types else "any"
            inputs.add_row(_e(f.name), "file", _yes(f.required), _yes(f.multiple),
                           _e(kinds) + (" [dim](partial)[/]" if f.partial else ""))
        for j in face.json_inputs:
            inputs.add_row(_e(j.name), "json", _yes(j.required), "", _e(j.type))
    section("Inputs", inputs, "none")

    outputs = None
    if face.file_outputs or face.json_outputs:
        outputs = table("name", "kind", "pattern / key", "media type / type", "required", "multiple")
        for o in face.file_outputs:
            outputs.add_row(_e(o.name), "file", _e(o.pattern), _e(o.media_type or "-"),
                            _yes(o.required), _yes(o.multiple))
        for json_output in face.json_outputs:
            outputs.add_row(_e(json_output.name), "json", _e(json_output.key), _e(json_output.type),
                            _yes(json_output.required), "")
    section("Outputs", outputs, "none")

    settings = None
    if face.settings:
        settings = table("name", "secret")
        for s in face.settings:
            settings.add_row(_e(s.name), "[yellow]secret[/]" if s.secret else "no")
    section("Settings", settings, "none")

    mounts = None
    if face.mounts:
        mounts = table("name", "path", "mode")
        for mount in face.mounts:
            mounts.add_row(_e(mount.name), _e(mount.path),
                           "read-write (rw)" if mount.mode == "rw" else "read-only (ro)")
    section("Mounts", mounts, "none")

    resources = None
    if job.resources:
        resources = table("name", "value", "inputMultiplier", "variable")
        for r in job.resources:
            unit = " MiB" if r.name in ("mem", "disk", "sharedMem") else ""
            resources.add_row(_e(r.name), _number(r.value) + unit,
                              _number(r.input_multiplier) if r.input_multiplier else "-", _e(r.variable))
    section("Resources", resources, "none declared: the runner's defaults apply")

    errors = None
    if job.errors:
        errors = table("code", "name", "title", "category", "description")
        for e in job.errors:
            errors.add_row(str(e.code), _e(e.name), _e(e.title or "-"), _e(e.category),
                           _e(e.description or ""))
    section("Errors", errors, "none declared: any non-zero exit is algorithm-unknown")

    console.print()
    console.print("[bold]Run it[/]")
    console.print("  " + one_line(run_line(m, description.image)), markup=False)
    optional = [f.name for f in face.file_inputs if not f.required] + \
        [j.name for j in face.json_inputs if not j.required]
    if optional:
        console.print(f"  [dim]optional inputs: {_e(', '.join(optional))}[/]")
    secrets = [s.name for s in face.settings if s.secret]
    if secrets:
        console.print(f"  [dim]secret settings ({_e(', '.join(secrets))}): export them and pass -e NAME bare, "
                      "or --secret NAME=FILE, to keep them out of the shell's history[/]")
    if description.warnings:
        n = len(description.warnings)
        console.print(f"  [yellow]{n} warning{'s' * (n != 1)}[/] [dim](seed validate "
                      f"{_e(shlex.quote(description.source))} shows them)[/]")


# -- seed list --------------------------------------------------------------------------------------------


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def print_image_list(images: Sequence[SeedImage], *, console: Any = None, plain: bool | None = None) -> None:
    """A table of the labelled images, then the ``-seed`` images without a label, then a summary line.

    Without a terminal (``plain``; default: stdout is not one) the same as plain tab-separated lines that are
    never wrapped or cut: a header, one line per image, then the unlabelled images and the summary.
    """
    import sys

    labeled = [i for i in images if i.labeled]
    unlabeled = [i for i in images if not i.labeled]
    if (not sys.stdout.isatty() if plain is None and console is None else bool(plain)):
        _print_plain_list(labeled, unlabeled)
        return
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False, soft_wrap=True)
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
            refs = "\n".join(_e(r) for r in image.references)
            table.add_row(_e(image.name or "?"), _e(image.job_version or "?"),
                          _e(image.package_version or "?"), _e(image.title or ""),
                          _human_size(image.size), created, refs + (" [yellow]⚠[/]" if image.problem else ""))
        console.print(table)
        for image in labeled:
            if image.problem:
                console.print(f"[yellow]⚠[/] {_e(image.references[0])}: {_e(image.problem)}")
    if unlabeled:
        console.print(f"[yellow]{len(unlabeled)} image{'s' * (len(unlabeled) != 1)} with a -seed repository but "
                      "no com.ngageoint.seed.manifest label[/] [dim](not Seed images; rebuild with seed build)[/]:")
        for image in unlabeled:
            console.print(f"  {_e(', '.join(image.references))}  [dim]{image.id[7:19]}[/]")
    n = len(labeled)
    console.print(f"[dim]{n} Seed image{'s' * (n != 1)} on the local engine[/]" if n or unlabeled else
                  "[dim]no Seed image on the local engine; build one with `seed build`[/]")


def _print_plain_list(labeled: Sequence[SeedImage], unlabeled: Sequence[SeedImage]) -> None:
    import sys

    lines = ["name\tjob version\tpackage\ttitle\tsize\tcreated\timages"] if labeled else []
    for image in labeled:
        created = image.created.astimezone().strftime("%Y-%m-%d %H:%M")
        lines.append("\t".join(one_line(cell) for cell in (
            image.name or "?", image.job_version or "?", image.package_version or "?",
            image.title or "", _human_size(image.size), created, ",".join(image.references))))
    lines += [one_line(f"{image.references[0]}: warning {image.problem}") for image in labeled if image.problem]
    lines += [f"{one_line(', '.join(image.references))}: not a Seed image (a -seed repository without the "
              f"com.ngageoint.seed.manifest label; rebuild with seed build)" for image in unlabeled]
    n = len(labeled)
    lines.append(f"{n} Seed image{'s' * (n != 1)} on the local engine" if n or unlabeled else
                 "no Seed image on the local engine; build one with `seed build`")
    sys.stdout.write("\n".join(lines) + "\n")

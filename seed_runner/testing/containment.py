"""What a `seed test` case may reach on the host: only its job folder.

CI runs `seed test` on pull requests from strangers, so a case file is untrusted input. Every path it names (a
file input, a file of a folder input, a host mount) must resolve, links followed, inside the job folder: a
``..`` that climbs out, or a link to ``/etc/shadow``, is a case error before anything runs. Host mounts are
checked the same way and mounted read-only, unless the user trusts the cases (`seed test --trust-mounts`).

Why links inside a mounted folder are not chased: the engine resolves them inside the container, never on the
host; only the path handed to the engine as a mount source (a file, or a folder of links the runner stages as
files) is resolved on the host, and that is what is checked here.

Pure: it reads the file system (the paths of the case), never the engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from .cases import Case

__all__ = ["job_roots", "containment_problem"]


def job_roots(cases_dir: Path, job_folder: Path | None) -> tuple[Path, ...]:
    """The folders a case may reach, resolved: the job folder being tested (``seed test DIR``), and the folder
    the cases folder sits in (as ``tests/`` sits in its job folder; for a cases folder that is itself one case,
    the folder above that)."""
    from .cases import CASE_FILE

    cases = cases_dir.resolve()
    holder = cases.parent.parent if (cases / CASE_FILE).is_file() else cases.parent
    roots = [holder]
    if job_folder is not None:
        roots.insert(0, job_folder.resolve())
    return tuple(dict.fromkeys(roots))


def containment_problem(case: Case, roots: Sequence[Path], *, mounts_anywhere: bool = False
                        ) -> tuple[tuple[str | int, ...], str] | None:
    """The first path of ``case`` that reaches outside ``roots`` (links followed), as (its JSON path's parts,
    a one-line message), or None. ``mounts_anywhere``: host mounts are not checked (`--trust-mounts`)."""
    for name, paths in case.request.inputs.items():
        for index, relative in enumerate(paths):
            where = ("request", "inputs", name) + ((index,) if len(paths) > 1 else ())
            for path in _reached(case.path(relative)):
                if (problem := _outside(path, relative, roots, "input")) is not None:
                    return where, problem
    if not mounts_anywhere:
        for name, relative in case.request.mounts.items():
            if relative is not None and (problem := _outside(case.path(relative), relative, roots, "mount")):
                return ("request", "mounts", name), problem + "; or pass --trust-mounts for cases you trust"
    return None


def _reached(path: Path) -> Iterable[Path]:
    """The host paths an input hands the runner: the path itself and, for a folder, each of its entries (the
    runner stages the files a folder's links point at)."""
    yield path
    try:
        if path.is_dir():
            with os.scandir(path) as entries:
                yield from (Path(entry.path) for entry in entries)
    except OSError:
        return  # the runner says why it cannot list the folder


def _outside(path: Path, relative: str, roots: Sequence[Path], what: str) -> str | None:
    try:
        real = path.resolve(strict=False)
    except (OSError, RuntimeError):  # RuntimeError: a loop of links
        return f"{relative}: the {what} is a loop of links; give a file inside the job folder"
    if any(real == root or real.is_relative_to(root) for root in roots):
        return None
    shown = "" if str(path) == str(real) else f" (it resolves to {real})"
    place = " or ".join(str(root) for root in roots)
    via = f" through {path.name}" if path.name != Path(relative).name else ""
    return (f"{relative}{via} reaches outside the job folder {place}{shown}; a case may only name files "
            f"inside it")

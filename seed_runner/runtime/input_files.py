"""The host files of a file input: what exists, is readable and fits the input, and the names it gets in the
container's flat input directory (DECISIONS "Container layout"). Reads the file system; writes nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..manifest.media_types import guess_media_type
from ..manifest.model import FileInput
from ..problems import Problem, error, json_path, warning


def request_path(member: str, name: str) -> str:
    """Where a plan problem is: a JSON path into the run request (``$.file_inputs.INPUT_FILE``)."""
    return json_path((member, name))


def container_name(name: str) -> str:
    # File names are kept, except that a name cannot climb or hide in the container's tree.
    return name.replace("/", "_") if name not in ("", ".", "..") else f"_{name}"


def input_files(spec: FileInput, paths: list[Path]
                ) -> tuple[list[tuple[str, Path]], int, list[Problem], list[Problem]]:
    """(container file name, host file) pairs of an input, their total size, the problems and the warnings.

    Every problem's path is the input in the request, ``$.file_inputs.<NAME>``; its message names the file.
    """
    at = request_path("file_inputs", spec.name)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    files: list[tuple[str, Path]] = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            problems.append(error("input-not-found", at, f"input {spec.name}: {_shown(path)} does not exist"))
            continue
        if stat.S_ISDIR(mode):
            if not spec.multiple:
                problems.append(error("input-is-directory", at,
                                      f"input {spec.name} takes one file, but {_shown(path)} is a directory"))
                continue
            skipped = 0
            for child in sorted(path.iterdir()):
                if child.is_file():
                    files.append((child.name, child))
                else:
                    skipped += 1
            if skipped:  # DECISIONS: a multiple input is one flat directory of files
                warnings.append(warning("input-subfolders-skipped", at,
                                 f"input {spec.name}: {skipped} entr{'y' if skipped == 1 else 'ies'} of "
                                 f"{_shown(path)} that are not files (subfolders) were left out; a multiple input "
                                 "is one flat directory"))
        elif stat.S_ISREG(mode):
            files.append((path.name, path))
        else:
            problems.append(error("input-not-regular-file", at,
                                  f"input {spec.name}: {_shown(path)} is not a regular file"))
    if not spec.multiple and len(files) > 1:
        problems.append(error("input-takes-one-file", at, f"input {spec.name} takes one file, but {len(files)} were "
                              "given (declare it multiple, or give one)"))
    names: dict[str, Path] = {}
    total = 0
    for name, file in files:
        if _shown(name) != name:
            problems.append(error("input-name-not-utf8", at,
                                  f"input {spec.name}: the file name {_shown(name)!r} is not valid UTF-8; rename it"))
            continue
        if not os.access(file, os.R_OK):
            problems.append(error("input-unreadable", at, f"input {spec.name}: {_shown(file)} is not readable"))
        other = names.setdefault(container_name(name), file)
        if other != file:
            problems.append(error("input-name-clash", at, f"input {spec.name}: {_shown(other)} and {_shown(file)} have "
                                  "the same name; the input directory is flat, rename one"))
        total += file.stat().st_size
    if spec.multiple and not files and not problems:
        problems.append(error("input-empty", at,
                              f"input {spec.name}: no files in {', '.join(_shown(p) for p in paths)}"))
    return [(container_name(n), f) for n, f in files], total, problems, warnings


def _shown(path: str | Path) -> str:
    """A path as text that can always be printed: bytes that are not UTF-8 become U+FFFD."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_flat_directory(path: Path) -> bool:
    """A directory holding only regular files (no subdirectories, links or devices) can be mounted as it is;
    anything else is staged as a flat directory of its regular files (DECISIONS: one flat directory)."""
    if not path.is_dir():
        return False
    with os.scandir(path) as entries:
        return all(entry.is_file(follow_symlinks=False) for entry in entries)


def media_type_warnings(spec: FileInput, files: list[Path]) -> list[Problem]:
    if not spec.media_types:
        return []
    return [warning("input-media-type", request_path("file_inputs", spec.name),
                    f"input {spec.name}: {f.name} looks like {guess_media_type(f.name)}, not "
             f"{' or '.join(spec.media_types)}") for f in files if guess_media_type(f.name) not in spec.media_types]

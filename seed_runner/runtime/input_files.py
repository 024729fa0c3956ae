"""The host files of a file input: what exists, is readable and fits the input, and the names it gets in the
container's flat input directory (DECISIONS "Container layout"). Reads the file system; writes nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..manifest.media_types import OCTET_STREAM, guess_media_type
from ..manifest.model import FileInput
from ..problems import Problem, error, json_path, warning


def env_value_problem(value: str) -> str | None:
    """Why the engine cannot carry ``value`` as an environment variable (a NUL, or text that is not UTF-8:
    ``-e NAME`` takes bytes from the environment as they are), or None. Never quotes the value: it may be a
    secret, and the engine's own error would."""
    if "\0" in value:
        return "the value holds a NUL character (\\u0000), which no environment variable can carry; remove it"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ("the value is not UTF-8 text (it holds bytes of another encoding, e.g. from an environment "
                "variable, or a lone surrogate), which the engine cannot carry; give it as UTF-8")
    return None


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
            try:
                children = sorted(path.iterdir())
            except OSError as exc:
                problems.append(error("input-unreadable", at, f"input {spec.name}: the folder {_shown(path)} cannot "
                                                              f"be listed ({exc.strerror}); check its permissions"))
                continue
            for child in children:
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
    names: dict[str, Path] = {}
    kept: list[tuple[str, Path]] = []
    total = 0
    for name, file in files:
        if _shown(name) != name:
            problems.append(error("input-name-not-utf8", at,
                                  f"input {spec.name}: the file name {_shown(name)!r} is not valid UTF-8; rename it"))
            continue
        other = names.setdefault(container_name(name), file)
        if other is not file and os.path.samefile(other, file):  # given twice (or by two paths): passed once
            warnings.append(warning("input-file-repeated", at, f"input {spec.name}: {_shown(file)} is given more "
                                    "than once; it is passed once"))
            continue
        if not os.access(file, os.R_OK):
            problems.append(error("input-unreadable", at, f"input {spec.name}: {_shown(file)} is not readable"))
        if other is not file:
            problems.append(error("input-name-clash", at, f"input {spec.name}: {_shown(other)} and {_shown(file)} have "
                                  "the same name; the input directory is flat, rename one"))
        kept.append((name, file))
        total += file.stat().st_size
    if not spec.multiple and len(kept) > 1:
        problems.append(error("input-takes-one-file", at, f"input {spec.name} takes one file, but {len(kept)} were "
                              "given (declare it multiple, or give one)"))
    if spec.multiple and not files and not problems:
        problems.append(error("input-empty", at,
                              f"input {spec.name}: no files in {', '.join(_shown(p) for p in paths)}"))
    return [(container_name(n), f) for n, f in kept], total, problems, warnings


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


def media_type(spec: FileInput, name: str, given: str | None = None) -> str:
    """A file's media type: ``given`` (a URL input's Content-Type) when the input allows it (it is one of the
    input's ``mediaTypes``, or the input lists none and ``given`` says more than application/octet-stream),
    else the type its name suggests."""
    if given and (given in spec.media_types or (not spec.media_types and given != OCTET_STREAM)):
        return given
    return guess_media_type(name)


def media_type_warnings(spec: FileInput, files: list[Path], types: dict[str, str] | None = None) -> list[Problem]:
    """A warning for each file whose media type (``types`` by file name, else guessed) the input does not list."""
    if not spec.media_types:
        return []
    types = types or {}
    shown = {f.name: types.get(f.name) or guess_media_type(f.name) for f in files}
    return [warning("input-media-type", request_path("file_inputs", spec.name),
                    f"input {spec.name}: {f.name} looks like {shown[f.name]}, not "
             f"{' or '.join(spec.media_types)}") for f in files if shown[f.name] not in spec.media_types]


def file_sha256(path: str | Path) -> tuple[str, int]:
    """(sha256 hex digest, size) of a file, streamed (the run store's input hashes and the crate's)."""
    import hashlib

    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
        return digest.hexdigest(), handle.tell()

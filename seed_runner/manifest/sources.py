"""Where manifests come from: a file, a directory (or every manifest below it), or a local image.

A source the user names is resolved without raising: whatever is wrong with it (missing, unreadable,
not a manifest) becomes a finding of that source, so that the other sources are still checked.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..problems import Finding, error
from .jsontext import MAX_DOCUMENT_BYTES, parse_json_text
from .names import looks_like_path  # noqa: F401 - part of this module's interface too

MANIFEST_FILE = "seed.manifest.json"
SourceKind = Literal["file", "directory", "image", "document"]

# Directories never searched by --recursive: they hold tools' state, not jobs.
SKIPPED_DIRECTORIES = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    """What the user named (a path as given, an image reference), for messages."""
    kind: SourceKind
    path: Path | str | None = None
    """The file to read (a manifest found by ``--recursive`` keeps the text the search made)."""
    problem: Finding | None = field(default=None, compare=False)
    """Set when the source could not even be located."""


def resolve(text: str, *, recursive: bool = False) -> list[Source]:
    """One argument of `seed validate` to the sources it stands for."""
    path = Path(os.path.expanduser(text) if text.startswith("~") else text)
    try:
        mode: int | None = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError:  # there, but out of reach (a folder of its path cannot be searched, a link loop): reading
        return [Source(text, "file", path)]  # it says why, where an image lookup would say "no such image"
    if mode is not None and stat.S_ISDIR(mode):
        if recursive:
            found = find_manifests(path)
            if found:
                return [Source(p, "file", p) for p in found]  # text: 3,000 Path objects cost 10 ms
            return [Source(text, "directory", path, error(
                "missing-manifest", "$", f"no {MANIFEST_FILE} anywhere below {text}; check the directory"))]
        manifest = path / MANIFEST_FILE
        try:
            present = manifest.exists()
        except OSError:  # the directory cannot be searched: reading the manifest says why (unreadable-source)
            present = True
        if present:
            return [Source(text, "directory", manifest)]
        return [Source(text, "directory", path, error(
            "missing-manifest", "$", f"{text} has no {MANIFEST_FILE}; name the manifest file, or add --recursive "
                                     "to check every manifest below it"))]
    if mode is not None or looks_like_path(text):
        return [Source(text, "file", path)]
    return [Source(text, "image")]


def find_manifests(root: Path | str) -> list[str]:
    """Every seed.manifest.json below ``root``, sorted as text (comparing Path objects is 10 times slower).

    What ``os.walk(root)`` finds, with one ``scandir`` a directory and nothing more: a symbolic link to a
    directory is not followed, a directory that cannot be read is skipped, and so are SKIPPED_DIRECTORIES."""
    found = []
    top = str(Path(root))  # as a Path spells it ("./a/" is "a"), so found paths are spelt as Paths spell them
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        if entry.name == MANIFEST_FILE:
                            found.append(entry.path)
                    elif entry.name not in SKIPPED_DIRECTORIES and not entry.is_symlink():
                        pending.append(entry.path)
        except OSError:
            continue
    if top == os.curdir:  # scandir(".") names "./a/...", which a Path (and so every report) names "a/..."
        found = [path[2:] for path in found]
    return sorted(found)


class NotARegularFile(OSError):
    """The path names a directory, a FIFO, a device or a socket: nothing is read from it."""


def read_regular_file(path: str | Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of a regular file (one byte more than allowed tells "too large" without
    reading it all); raises NotARegularFile, or OSError when the file cannot be opened or read.

    One open and one fstat: O_NONBLOCK keeps a FIFO from blocking the open, and the fstat refuses
    anything that is not a regular file (``/dev/zero``, a FIFO) before a byte is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError:
        raise NotARegularFile(f"{path} is not a regular file") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(f"{path} is not a regular file")
        chunks = []
        remaining = limit + 1
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 20))):
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_file(path: str | Path, name: str) -> tuple[Any, list[Finding]]:
    """Read and parse a manifest file; never raises for a bad file."""
    try:
        data = read_regular_file(path)
    except FileNotFoundError:
        return None, [error("source-not-found", "$", f"{name}: no such file or directory; check the path")]
    except NotARegularFile:
        return None, [error("unreadable-source", "$", f"{name} is not a regular file; name a seed.manifest.json")]
    except OSError as exc:
        return None, [error("unreadable-source", "$", f"{name} cannot be read ({exc.strerror}); {_advice(exc)}")]
    return parse_json_text(data, refuse_huge_numbers=True)


def _advice(exc: OSError) -> str:
    """What to do about a file that cannot be read, by why (a link loop is no matter of permissions)."""
    if exc.errno == errno.ELOOP:
        return "a symbolic link on its path points back into itself: fix or remove the link"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "check its permissions"
    return "check the file and the device it is on"

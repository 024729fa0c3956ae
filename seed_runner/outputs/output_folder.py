"""One output folder, read-only: each directory listed once, symbolic links checked before use, nothing
outside the folder ever opened or listed; the regular files a pattern matches, bounded reads, and each
file's size and SHA-256 (streamed through a 1 MiB buffer, each real file read once)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from typing import TYPE_CHECKING, NamedTuple

from ..manifest.json_limits import encodes_as_utf8
from .harvest_result import HarvestError
from .patterns import METADATA_SUFFIX, OUTPUTS_JSON, component_matcher, pattern_components

if TYPE_CHECKING:
    from pathlib import Path

HASH_BUFFER_BYTES = 1024 * 1024


class Match(NamedTuple):
    """A regular file a pattern matches."""

    path: str
    """Relative POSIX path (the name as found, links not resolved)."""
    real_path: str
    """The file to read: the path itself, or a symbolic link's target inside the folder."""
    directory: str
    """The real directory the name was found in (where its sidecar would be)."""
    name: str


class Rejected(NamedTuple):
    """A name a pattern matches that is not captured: ``code`` is the warning's, ``reason`` says why."""

    path: str
    code: str
    reason: str


class OutputFolder:
    """A read-only view of one output folder: each directory is listed once, links are checked before use,
    and nothing outside the folder is ever opened or listed."""

    def __init__(self, output_dir: str | Path):
        self.root = os.path.realpath(output_dir)
        self._prefix = self.root.rstrip("/") + "/"
        self._listings: dict[str, dict[str, os.DirEntry[str]]] = {}
        self.unlistable: dict[str, str] = {}
        self._buffer = memoryview(bytearray(HASH_BUFFER_BYTES))
        self._digests: dict[str, tuple[int, str] | str] = {}
        if not os.path.isdir(self.root):
            raise HarvestError(f"the output folder {output_dir} does not exist or is not a folder")
        if self.listing(self.root) == {} and self.root in self.unlistable:
            raise HarvestError(f"cannot list the output folder {output_dir}: {self.unlistable[self.root]}")

    def listing(self, directory: str) -> dict[str, os.DirEntry[str]]:
        """The entries of a real directory inside the folder, by name ({} when it cannot be listed)."""
        entries = self._listings.get(directory)
        if entries is None:
            try:
                with os.scandir(directory) as scan:
                    entries = {entry.name: entry for entry in scan}
            except OSError as exc:
                self.unlistable[directory] = exc.strerror or str(exc)
                entries = {}
            self._listings[directory] = entries
        return entries

    def inside(self, real_path: str) -> bool:
        return real_path == self.root or real_path.startswith(self._prefix)

    def resolve(self, directory: str, entry: os.DirEntry[str]) -> tuple[str, str]:
        """``(kind, real path or reason)``; kind is file, dir, outside, broken or special."""
        path = os.path.join(directory, entry.name)
        try:
            if entry.is_symlink():
                target = os.path.realpath(path)
                if not self.inside(target):
                    return "outside", "is a symbolic link pointing outside the output folder; it was not followed"
                try:
                    mode = os.stat(target).st_mode
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        return "broken", "is a symbolic link that loops back on itself"
                    if exc.errno == errno.ENOENT:
                        return "broken", "is a symbolic link to a file that does not exist"
                    return "broken", f"is a symbolic link that cannot be followed: {exc.strerror or exc}"
                path = target
            elif entry.is_file(follow_symlinks=False):
                return "file", path
            elif entry.is_dir(follow_symlinks=False):
                return "dir", path
            else:
                mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            return "broken", f"cannot be examined: {exc.strerror or exc}"
        if stat.S_ISREG(mode):
            return "file", path
        if stat.S_ISDIR(mode):
            return "dir", path
        return "special", f"is {_special_kind(mode)}, not a regular file"

    def match(self, pattern: str) -> tuple[list[Match], list[Rejected]]:
        """Regular files matching a glob(7) pattern relative to the folder, sorted by path."""
        components = pattern_components(pattern)
        if not components:
            return [], []
        last = components[-1]
        keep_metadata = last.endswith(METADATA_SUFFIX)
        keep_outputs_json = last == OUTPUTS_JSON
        level = [("", self.root)]
        matches: list[Match] = []
        rejected: list[Rejected] = []
        for depth, component in enumerate(components):
            final = depth == len(components) - 1
            accepts = component_matcher(component)
            below: list[tuple[str, str]] = []
            for relative, directory in level:
                entries = self.listing(directory)
                if directory in self.unlistable and not entries:
                    rejected.append(Rejected(relative or ".", "unreadable-output",
                                              f"cannot be listed: {self.unlistable[directory]}"))
                    continue
                if accepts is None:
                    names = [component] if component in entries else []
                else:
                    names = [name for name in entries if accepts(name)]
                for name in names:
                    path = f"{relative}/{name}" if relative else name
                    if final and not keep_metadata and name.endswith(METADATA_SUFFIX):
                        continue
                    if final and not keep_outputs_json and name == OUTPUTS_JSON:
                        continue
                    kind, where = self.resolve(directory, entries[name])
                    if final and kind == "file" and not encodes_as_utf8(path):
                        # Such a path points at no file once written as UTF-8 (and strict JSON rejects it).
                        shown = _printable(path)
                        rejected.append(Rejected(shown, "unreadable-output",
                                                  f"file name is not UTF-8: {shown}; rename it"))
                    elif kind == "outside":
                        rejected.append(Rejected(path, "symlink-outside-output-dir", where))
                    elif final and kind == "file":
                        matches.append(Match(path, where, directory, name))
                    elif not final and kind == "dir":
                        below.append((path, where))
                    elif final and kind in ("broken", "special"):
                        rejected.append(Rejected(path, "unreadable-output", where))
                    # Directories at the end of a pattern and files on the way down are simply no match.
            level = below
        matches.sort(key=lambda m: m.path)
        rejected = [r._replace(path=_printable(r.path), reason=_printable(r.reason)) for r in rejected]
        rejected.sort(key=lambda r: r.path)
        return matches, rejected

    def open_file(self, real_path: str) -> int:
        """A descriptor for a regular file found inside the folder (never blocks on a pipe)."""
        fd = os.open(real_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise IsADirectoryError(0, f"it is {_special_kind(mode)}, not a regular file")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read_entry(self, directory: str, name: str, limit: int) -> tuple[bytes | None, str | None]:
        """At most ``limit`` bytes of the file ``name`` in ``directory``, or ``(None, reason)``; None, None when
        there is no such entry."""
        entry = self.listing(directory).get(name)
        if entry is None:
            return None, None
        kind, where = self.resolve(directory, entry)
        if kind == "dir":
            return None, "is a folder, not a file"
        if kind != "file":
            return None, where
        try:
            fd = self.open_file(where)
        except OSError as exc:
            return None, f"cannot be read: {exc.strerror or exc}"
        try:
            chunks = []
            remaining = limit
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 16 * 1024 * 1024))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks), None
        except OSError as exc:
            return None, f"cannot be read: {exc.strerror or exc}"
        finally:
            os.close(fd)

    def digest(self, real_path: str) -> tuple[int, str] | str:
        """(size, sha256) of a file found inside the folder, or why it cannot be read; each real file is read
        once."""
        known = self._digests.get(real_path)
        if known is not None:
            return known
        try:
            fd = self.open_file(real_path)
        except OSError as exc:
            result: tuple[int, str] | str = f"cannot be read: {exc.strerror or exc}"
        else:
            try:
                result = _sha256(fd, self._buffer)
            except OSError as exc:
                result = f"cannot be read: {exc.strerror or exc}"
            finally:
                os.close(fd)
        self._digests[real_path] = result
        return result

    def size_of_files(self) -> int:
        """Bytes in the regular files of the folder and its subfolders (links are not followed)."""
        total = 0
        pending = [self.root]
        while pending:
            directory = pending.pop()
            for entry in self.listing(directory).values():
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(os.path.join(directory, entry.name))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
        return total


def _printable(text: str) -> str:
    """``text`` with the bytes that are not UTF-8 shown as U+FFFD (no lone surrogates)."""
    if encodes_as_utf8(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")



def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"



def _sha256(fd: int, buffer: memoryview) -> tuple[int, str]:
    """(bytes read, hex digest), streamed through ``buffer`` so memory stays constant."""
    digest = hashlib.sha256()
    size = 0
    while True:
        count = os.readv(fd, [buffer])
        if not count:
            return size, digest.hexdigest()
        digest.update(buffer[:count])
        size += count

"""What the result cache trusts of a run folder: nothing it did not record itself.

When a run that could be a cache origin ends, ``origin_record`` writes down, for the run store, the sha256 and
size of every file below its ``outputs/`` and ``logs/`` (the captured outputs' hashes come from the capture, the
rest are read here) and the parts of its result a hit repeats (outputs, JSON outputs, input metadata, warnings,
log sizes). A run folder is anyone's to edit, its ``result.json`` included; the store row is not part of it.

On a hit, ``deliver`` links the origin's files into the new run folder and then checks what it delivered, in
the new folder: every entry a directory or a regular file (never a symbolic link, a device, a FIFO or a socket),
the same set of files as recorded, each with the recorded size and sha256. Checking the new folder's files
(hard links to the same inodes) rather than the origin's closes the gap between a check and a link.
``OriginRefused`` says which file failed, for the result's ``cache-miss`` warning.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path
from typing import Any

PARTS = ("outputs", "logs")
CHUNK = 1 << 20


class OriginRefused(Exception):
    """Why an origin's folder cannot give a hit (one line)."""


def origin_record(document: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The store's record of a successful run's files and results; ``unusable`` says why it can never be an
    origin (a symbolic link or a special file in its folder, a file that cannot be read)."""
    captured = {f"outputs/{file['path']}": (file["size"], file["sha256"])
                for output in (document.get("outputs") or {}).values() for file in output.get("files") or ()}
    try:
        files = {}
        for relative in _walk(run_dir):
            files[relative] = list(captured.get(relative) or _digest(run_dir / relative))
    except OriginRefused as exc:
        return {"unusable": str(exc)}
    except OSError as exc:
        return {"unusable": f"its files could not be read when it ended ({exc.strerror})"}
    return {"files": files, "outputs": document.get("outputs"), "json_outputs": document.get("json_outputs"),
            "input_metadata": document.get("input_metadata"), "warnings": document.get("warnings") or [],
            "logs": document.get("logs")}


def deliver(record: dict[str, Any] | None, origin: Path, run_dir: Path) -> None:
    """The origin's files linked (else copied) into ``run_dir`` and checked there against ``record``; raises
    OriginRefused (after removing what it linked) when anything differs."""
    try:
        if not isinstance(record, dict) or not record:
            raise OriginRefused("the run store holds no hashes of its files (recorded by an older seed-runner)")
        if "unusable" in record:
            raise OriginRefused(str(record["unusable"]))
        expected = record.get("files")
        if not isinstance(expected, dict) or not _names_its_files(record, expected):
            raise OriginRefused("the run store's record of its files is not readable")
        for relative in _walk(origin):
            if relative not in expected:
                raise OriginRefused(f"{relative} was not in its folder when it ended")
            _link(origin / relative, run_dir / relative)
        for relative, (size, sha256) in sorted(expected.items()):
            if not os.path.lexists(run_dir / relative):  # recorded, but not in the origin's folder any more
                raise OriginRefused(f"{relative} is gone")
            try:
                found = _digest(run_dir / relative, size)
            except OSError as exc:
                raise OriginRefused(f"{relative} cannot be read ({exc.strerror})") from None
            if found != (size, sha256):
                raise OriginRefused(f"{relative} is not the file it wrote (its sha256 differs from the one the "
                                    "run store recorded)")
    except OriginRefused:
        undo(run_dir)
        raise
    except (TypeError, ValueError, AttributeError):  # a store row edited by hand
        undo(run_dir)
        raise OriginRefused("the run store's record of its files is not readable") from None
    except OSError as exc:
        undo(run_dir)
        raise OriginRefused(f"its files could not be linked ({exc.strerror})") from None


def _names_its_files(record: dict[str, Any], files: dict[str, Any]) -> bool:
    """Whether the record's result parts have the shape a result needs, and its outputs name the recorded
    files with their recorded sizes and hashes (a store edited by hand: refused, never a crash)."""
    for member in ("outputs", "json_outputs", "input_metadata", "logs"):
        if not isinstance(record.get(member), (dict, type(None))):
            return False
    if not isinstance(record.get("warnings"), list) or not all(isinstance(w, dict) for w in record["warnings"]):
        return False
    for output in (record.get("outputs") or {}).values():
        if not isinstance(output, dict) or not isinstance(output.get("files"), list):
            return False
        for file in output["files"]:
            if not isinstance(file, dict) or not {"path", "size", "sha256", "media_type", "metadata"} <= set(file):
                return False
            if list(files.get(f"outputs/{file['path']}") or ()) != [file["size"], file["sha256"]]:
                return False
    return True


def undo(run_dir: Path) -> None:
    for part in (*PARTS, "work"):
        shutil.rmtree(run_dir / part, ignore_errors=True)


def _walk(root: Path) -> list[str]:
    """The files below ``root``'s parts (relative paths), refusing anything that is not a directory or a
    regular file; every part must be a real directory (not a link to one)."""
    files = []
    for part in PARTS:
        top = root / part
        try:
            mode = os.lstat(top).st_mode
        except FileNotFoundError:
            raise OriginRefused(f"its {part}/ folder is gone") from None
        if not stat.S_ISDIR(mode):
            raise OriginRefused(f"its {part}/ is not a folder (a symbolic link, or a file)")
        for directory, subdirs, names in os.walk(top):  # never follows a link: links are refused below
            for name in (*subdirs, *names):
                path = Path(directory) / name
                mode = os.lstat(path).st_mode
                relative = path.relative_to(root).as_posix()
                if stat.S_ISLNK(mode):
                    raise OriginRefused(f"{relative} is a symbolic link")
                if stat.S_ISREG(mode):
                    files.append(relative)
                elif not stat.S_ISDIR(mode):
                    raise OriginRefused(f"{relative} is not a regular file")
    return files


def _link(source: Path, target: Path) -> None:
    """A hard link to ``source`` itself (never to where a link would lead), else a copy of its bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:  # another file system, or links not allowed (another user's file): a copy
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as src, open(target, "xb") as out:
            shutil.copyfileobj(src, out, CHUNK)


def _digest(path: Path, expected_size: int | None = None) -> tuple[int, str]:
    """(size, sha256) of a regular file, read without following a link; a size other than ``expected_size``
    is given back without reading the file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OriginRefused(f"{path.name} is not a regular file")
        if expected_size is not None and info.st_size != expected_size:
            return info.st_size, ""
        digest = hashlib.sha256()
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return info.st_size, digest.hexdigest()

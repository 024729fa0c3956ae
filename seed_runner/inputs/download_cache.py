"""The content-addressed download cache: ``blobs/<sha256>`` (the bytes), ``named/<sha256>/<name>`` (hard links
that give a blob the URL's file name, which the container sees), ``index/<key>.json`` (a URL's entry: the URL
without credentials, its hash, size, type, times; ``key`` is the sha256 of the full URL, so no credential is
written in clear), ``locks/<key>.lock`` (held while a URL downloads) and ``tmp/`` (downloads in progress).

Where: ``$SEED_HOME/cache/downloads`` when SEED_HOME is set, else the user cache dir (platformdirs)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


def cache_dir() -> Path:
    home = os.environ.get("SEED_HOME")
    if home:
        return Path(home) / "cache" / "downloads"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("seed-runner")) / "downloads"


@dataclass(frozen=True)
class Entry:
    key: str
    url: str
    sha256: str
    size: int
    name: str
    content_type: str | None
    fetched: float
    last_used: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class DownloadCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else cache_dir()

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    @staticmethod
    def key(fetch_url: str) -> str:
        return hashlib.sha256(fetch_url.encode("utf-8")).hexdigest()

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Held while ``key`` downloads: a second run waits, then finds the entry."""
        with open(self._dir("locks") / f"{key}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def temp_file(self) -> tuple[int, Path]:
        import tempfile

        fd, name = tempfile.mkstemp(dir=self._dir("tmp"), prefix="part-")
        return fd, Path(name)

    def lookup(self, key: str) -> Entry | None:
        """The entry of a URL whose blob is still there (its use is recorded), or None (an index file that is
        not ours: a hash that is not 64 hex digits, a name with a folder in it, is no entry either)."""
        try:
            data = json.loads((self._dir("index") / f"{key}.json").read_text(encoding="utf-8"))
            entry = Entry(**data)
        except (OSError, ValueError, TypeError):
            return None
        if not _is_sha256(entry.sha256) or not _is_file_name(entry.name):
            return None
        if not (self.root / "blobs" / entry.sha256).is_file():
            return None
        entry = Entry(**{**entry.to_dict(), "last_used": time.time()})
        self._write_entry(entry)
        return entry

    def store(self, key: str, temp: Path, *, url: str, sha256: str, size: int, name: str,
              content_type: str | None) -> Entry:
        """Move a complete, hashed download into place (atomically) and record it."""
        blob = self._dir("blobs") / sha256
        if blob.exists():
            temp.unlink(missing_ok=True)
        else:
            os.chmod(temp, 0o444)
            os.replace(temp, blob)
        now = time.time()
        entry = Entry(key=key, url=url, sha256=sha256, size=size, name=name, content_type=content_type,
                      fetched=now, last_used=now)
        self._write_entry(entry)
        return entry

    def intact(self, entry: Entry) -> bool:
        """Whether the entry's blob still holds the bytes its sha256 names (read again, on every use: a cached
        file can be overwritten in place); a named copy that is not the blob itself (a link to it) is removed,
        so that ``named_path`` makes it anew from the checked blob."""
        blob = self.root / "blobs" / entry.sha256
        try:
            fd = os.open(blob, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size != entry.size:
                return False
            digest = hashlib.sha256()
            while chunk := file.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != entry.sha256:
            return False
        named = self.root / "named" / entry.sha256 / entry.name
        with contextlib.suppress(FileNotFoundError):
            seen = os.lstat(named)
            if (seen.st_dev, seen.st_ino) != (info.st_dev, info.st_ino):  # a copy, a link elsewhere, a new file
                named.unlink()
        return True

    def discard(self, entry: Entry) -> None:
        """Forget an entry whose bytes changed: its index file, its blob and the blob's named links."""
        (self.root / "index" / f"{entry.key}.json").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (self.root / "blobs" / entry.sha256).unlink()
        shutil.rmtree(self.root / "named" / entry.sha256, ignore_errors=True)

    def named_path(self, entry: Entry) -> Path:
        """The blob under the URL's file name (a hard link, else a copy)."""
        directory = self._dir("named") / entry.sha256
        target = directory / entry.name
        if not target.exists():
            directory.mkdir(parents=True, exist_ok=True)
            part = directory / f".{entry.name}.{os.urandom(6).hex()}"  # unique: runs and threads race here
            try:
                os.link(self.root / "blobs" / entry.sha256, part)
            except OSError:
                shutil.copyfile(self.root / "blobs" / entry.sha256, part)
            os.replace(part, target)
        return target

    def _write_entry(self, entry: Entry) -> None:
        path = self._dir("index") / f"{entry.key}.json"
        part = path.with_name(f".{path.name}.{os.urandom(6).hex()}")
        part.write_text(json.dumps(entry.to_dict(), indent=2), encoding="utf-8")
        os.replace(part, path)

    def entries(self) -> list[Entry]:
        found = []
        index = self.root / "index"
        for path in sorted(index.glob("*.json")) if index.is_dir() else ():
            try:
                found.append(Entry(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(found, key=lambda e: e.last_used, reverse=True)

    def prune(self, *, older_than: float | None = None, everything: bool = False) -> tuple[int, int]:
        """Remove entries not used for ``older_than`` seconds (or all), then blobs no entry refers to.
        Returns (entries removed, bytes freed)."""
        now = time.time()
        removed = 0
        for entry in self.entries():
            if everything or (older_than is not None and now - entry.last_used > older_than):
                (self.root / "index" / f"{entry.key}.json").unlink(missing_ok=True)
                removed += 1
        kept = {entry.sha256 for entry in self.entries()}
        freed = 0
        blobs = self.root / "blobs"
        for blob in list(blobs.iterdir()) if blobs.is_dir() else ():
            if blob.name not in kept:
                freed += blob.stat().st_size
                blob.unlink(missing_ok=True)
                shutil.rmtree(self.root / "named" / blob.name, ignore_errors=True)
        tmp = self.root / "tmp"
        for part in list(tmp.iterdir()) if tmp.is_dir() else ():  # downloads abandoned a day ago or more
            with contextlib.suppress(OSError):
                if everything or now - part.stat().st_mtime > 86400:
                    part.unlink()
        return removed, freed


def _is_sha256(text: object) -> bool:
    return isinstance(text, str) and re.fullmatch(r"[0-9a-f]{64}", text) is not None


def _is_file_name(text: object) -> bool:
    return isinstance(text, str) and text not in ("", ".", "..") and "/" not in text and "\0" not in text

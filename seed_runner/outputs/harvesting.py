"""Harvest: from a job's output folder (after the run) to captured files, JSON outputs and metadata.

Pure file-system work: it reads the folder and never writes, never talks to a container engine, so a
scheduler that ran the container itself calls it directly::

    from seed_runner.outputs.harvesting import harvest

    result = harvest(manifest, "/runs/42/outputs", strict=False, disk_mib=1000)
    if result.failure:                       # the run outcome uses result.failure.code
        ...
    document["outputs"] = result.to_dict()   # or merge the fragment into your own record

The rules are DECISIONS.md "Outputs" and "Metadata sidecars" (where SEED-RULES.md section 5 differs, the
decisions win):

- File outputs: each ``pattern`` is a glob(7) pattern relative to the output folder, never recursive
  (``**`` is ``*``); ``*``, ``?``, ``[...]`` and ``[!...]`` never match ``/``, and a leading ``.`` must be
  matched explicitly; as in Python's glob module (SEED-RULES 5.1), ``[^...]`` is not a negation and a
  backslash is an ordinary character. Only regular files count (matching directories are ignored), and
  matches are sorted by path. Names ending in ``.metadata.json``, and ``seed.outputs.json`` (in any
  folder), are never captured unless the pattern's last component ends with ``.metadata.json`` / is
  ``seed.outputs.json``. ``required`` (default
  true) with no match fails with ``missing-required-output``; ``multiple: false`` with more than one fails
  with ``unexpected-multiple-outputs``. Two outputs may capture the same file (a warning says so).
- Hostile folders: a match that is a symbolic link resolving outside the folder is rejected and never
  read or followed (also for directories on the way down a pattern such as ``sub-*/*.txt``); a link to a
  file inside the folder is captured under the link's own path. A match that cannot be read (a named pipe,
  a socket, a broken link, a file without read permission) is reported and not captured. A rejected
  match counts as no match, so a required output left with none fails.
- Each captured file gets its size, its SHA-256 (streamed through a 1 MiB buffer) and a media type: the
  manifest's ``mediaType``, else a guess from the name (Python's built-in table, the same on every
  machine, plus ``.geojson``), else ``application/octet-stream``.
- JSON outputs: the top-level member ``key`` of ``OUTPUT_DIR/seed.outputs.json``, type-checked (a boolean
  is not an integer, 3.0 is not an integer), stored under the output's ``name``; other members are
  ignored. The file missing, unreadable, malformed (line and column in the message), not an object, or a
  required member missing or of the wrong type fails with ``invalid-outputs-json``; when only optional
  outputs are concerned it is a warning instead (an optional member that is simply absent is fine and
  says nothing; one of the wrong type is a warning and is not stored).
- Metadata: ``<file>.metadata.json`` beside a captured file is checked by ``seed_runner.sidecar`` and
  attached to the file. ``OUTPUT_DIR/<INPUT_NAME>.metadata.json`` for a single-file input (the name exactly
  as in the manifest) is an update of that input's metadata, reported under ``input_metadata``. An invalid
  sidecar never costs the file: the metadata is dropped with a warning saying where and why, and
  ``strict=True`` makes that the failure ``invalid-metadata`` instead.
- ``disk_mib``: when the regular files of the folder add up to more MiB than this, a warning.

``Harvest.to_dict()`` is the result-document fragment (JSON-serializable)::

    {
      "outputs": {                              # every file output of the manifest, in manifest order
        "NAME": {"files": [                     # sorted by path; [] when nothing was captured
          {"path": "sub/a.tif",                 # POSIX, relative to the output folder
           "size": 1234, "sha256": "<64 hex>", "media_type": "image/tiff",
           "metadata_path": "sub/a.tif.metadata.json" | null,   # the sidecar found beside it, if any
           "metadata": {...} | null}            # Sidecar.to_dict() when the sidecar is valid
        ]}
      },
      "json_outputs": {"NAME": value},          # outputs that were found and well typed; absent ones left out
      "input_metadata": {"INPUT_NAME": {...}},  # Sidecar.to_dict() of each valid input-metadata update
      "warnings": [{"code": "...", "path": "..." | null, "message": "..."}],
      "failures": [{"code": "...", "path": "..." | null, "message": "..."}]
    }

Problem codes. Failures, in the order ``failures`` lists them (so ``failure``, the first, is the most
basic): ``missing-required-output``, ``unexpected-multiple-outputs``, ``invalid-outputs-json``,
``invalid-metadata`` (only with ``strict``). Warnings: ``invalid-outputs-json`` and ``invalid-metadata``
(when not fatal), ``shared-output-file``, ``symlink-outside-output-dir``, ``unreadable-output``,
``invalid-pattern``, ``ignored-input-metadata``, ``disk-allocation-exceeded``.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import math
import os
import re
import stat
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Sequence

from ..errors import SeedRunnerError
from ..manifest.media_types import guess_media_type
from ..manifest.model import FileOutput, JsonOutput, Manifest

if TYPE_CHECKING:  # names for annotations only; the sidecar module is imported when a sidecar is read
    from pathlib import Path

    from .sidecar import Sidecar

OUTPUTS_JSON = "seed.outputs.json"
METADATA_SUFFIX = ".metadata.json"
HASH_BUFFER_BYTES = 1024 * 1024

FAILURE_ORDER = ("missing-required-output", "unexpected-multiple-outputs", "invalid-outputs-json",
                 "invalid-metadata")

_MAGIC = re.compile(r"[*?[]")


class HarvestError(SeedRunnerError):
    """The output folder itself cannot be harvested (missing, not a folder, not listable)."""


@dataclass(frozen=True, slots=True)
class HarvestProblem:
    """One problem: a stable ``code``, the ``path`` at fault (relative to the output folder) or None for a
    problem with an output as a whole, and one line saying what is wrong and where."""

    code: str
    path: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class CapturedFile:
    output: str
    """The name of the file output that captured it."""
    path: str
    """POSIX path relative to the output folder (for a symbolic link, the link's path)."""
    size: int
    sha256: str
    media_type: str
    metadata: Sidecar | None = None
    """The valid sidecar beside the file, if there is one."""
    metadata_path: str | None = None
    """The sidecar's path when there is one, valid or not."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "media_type": self.media_type,
                "metadata_path": self.metadata_path,
                "metadata": None if self.metadata is None else self.metadata.to_dict()}


@dataclass(frozen=True)
class Harvest:
    """What an output folder holds for a manifest (see the module docstring for every rule)."""

    files: Mapping[str, tuple[CapturedFile, ...]]
    """By output name, every file output of the manifest (an empty tuple when nothing was captured)."""
    json: Mapping[str, Any]
    """JSON output values by output name; absent or ill-typed ones are left out."""
    input_metadata: Mapping[str, Sidecar] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[HarvestProblem, ...] = ()
    failures: tuple[HarvestProblem, ...] = ()

    @property
    def failure(self) -> HarvestProblem | None:
        """The failure that decides the run's outcome (its ``code`` is the error name), or None."""
        return self.failures[0] if self.failures else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": {name: {"files": [f.to_dict() for f in captured]} for name, captured in self.files.items()},
            "json_outputs": dict(self.json),
            "input_metadata": {name: sidecar.to_dict() for name, sidecar in self.input_metadata.items()},
            "warnings": [w.to_dict() for w in self.warnings],
            "failures": [f.to_dict() for f in self.failures],
        }


def harvest(manifest: Manifest, output_dir: str | Path, *, strict: bool = False,
            disk_mib: float | None = None) -> Harvest:
    """Harvest ``output_dir`` for ``manifest``; problems go into the result, never into exceptions.

    Raises ``HarvestError`` only when ``output_dir`` is not a readable folder.
    """
    return _Harvester(manifest, _Folder(output_dir), strict=strict).run(disk_mib)


# --------------------------------------------------------------------------------------- the folder


class _Match(NamedTuple):
    path: str
    """Relative POSIX path (the name as found, links not resolved)."""
    real_path: str
    """The file to read: the path itself, or a symbolic link's target inside the folder."""
    directory: str
    """The real directory the name was found in (where its sidecar would be)."""
    name: str


class _Rejected(NamedTuple):
    path: str
    code: str
    reason: str


class _Folder:
    """A read-only view of one output folder: each directory is listed once, links are checked before use,
    and nothing outside the folder is ever opened or listed."""

    def __init__(self, output_dir: str | Path):
        self.root = os.path.realpath(output_dir)
        self._prefix = self.root.rstrip("/") + "/"
        self._listings: dict[str, dict[str, os.DirEntry[str]]] = {}
        self.unlistable: dict[str, str] = {}
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

    def match(self, pattern: str) -> tuple[list[_Match], list[_Rejected]]:
        """Regular files matching a glob(7) pattern relative to the folder, sorted by path."""
        components = pattern_components(pattern)
        if not components:
            return [], []
        last = components[-1]
        keep_metadata = last.endswith(METADATA_SUFFIX)
        keep_outputs_json = last == OUTPUTS_JSON
        level = [("", self.root)]
        matches: list[_Match] = []
        rejected: list[_Rejected] = []
        for depth, component in enumerate(components):
            final = depth == len(components) - 1
            accepts = _component_matcher(component)
            below: list[tuple[str, str]] = []
            for relative, directory in level:
                entries = self.listing(directory)
                if directory in self.unlistable and not entries:
                    rejected.append(_Rejected(relative or ".", "unreadable-output",
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
                    if final and kind == "file" and not _is_utf8(path):
                        # Such a path points at no file once written as UTF-8 (and strict JSON rejects it).
                        shown = _printable(path)
                        rejected.append(_Rejected(shown, "unreadable-output",
                                                  f"file name is not UTF-8: {shown}; rename it"))
                    elif kind == "outside":
                        rejected.append(_Rejected(path, "symlink-outside-output-dir", where))
                    elif final and kind == "file":
                        matches.append(_Match(path, where, directory, name))
                    elif not final and kind == "dir":
                        below.append((path, where))
                    elif final and kind in ("broken", "special"):
                        rejected.append(_Rejected(path, "unreadable-output", where))
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


def _is_utf8(name: str) -> bool:
    """Whether a name read from the file system (surrogate-escaped) is valid UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    """``text`` with the bytes that are not UTF-8 shown as U+FFFD (no lone surrogates)."""
    if _is_utf8(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def pattern_components(pattern: str) -> list[str] | None:
    """The path components of a pattern; [] when nothing can match (empty, or ends in ``/`` which only
    directories match), None when it is absolute or climbs with ``..`` (the validator refuses both)."""
    if pattern.startswith("/"):
        return None
    parts = pattern.split("/")
    if ".." in parts:
        return None
    if parts[-1] == "":
        return []
    return [part for part in parts if part not in ("", ".")]


def pattern_matches(pattern: str, path: str) -> bool:
    """Whether an output ``pattern`` captures the file at ``path`` (POSIX, relative to the output folder), by
    the harvest's own rules; for tools that need the answer without a folder (``seed init``)."""
    parts = pattern_components(pattern)
    names = path.split("/")
    if not parts or len(parts) != len(names):
        return False
    for part, name in zip(parts, names):
        matcher = _component_matcher(part)
        if not (matcher(name) if matcher else part == name):
            return False
    return True


def _component_matcher(component: str) -> Callable[[str], bool] | None:
    """None for a literal component; else glob(7) matching of one name (fnmatch, hidden names only for a
    component that starts with a dot)."""
    if not _MAGIC.search(component):
        return None
    matches = re.compile(fnmatch.translate(component)).match
    if component.startswith("."):
        return lambda name: matches(name) is not None
    return lambda name: not name.startswith(".") and matches(name) is not None


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


# ------------------------------------------------------------------------------------------ the work


class _Harvester:
    """One harvest: walks the manifest's outputs once and collects files, values and problems."""

    def __init__(self, manifest: Manifest, folder: _Folder, *, strict: bool):
        self.manifest = manifest
        self.folder = folder
        self.strict = strict
        self.warnings: list[HarvestProblem] = []
        self.failures: list[HarvestProblem] = []
        self._buffer = memoryview(bytearray(HASH_BUFFER_BYTES))
        self._digests: dict[str, tuple[int, str] | str] = {}
        self._sidecars: dict[str, tuple[Sidecar | None, str | None]] = {}
        self._media_types: dict[str, str] = {}

    def run(self, disk_mib: float | None) -> Harvest:
        face = self.manifest.job.interface
        files = {output.name: self._capture(output) for output in face.file_outputs}
        self._report_shared(files)
        values = self._json_outputs(face.json_outputs)
        input_metadata = self._input_metadata()
        if disk_mib is not None:
            used = self.folder.size_of_files() / 1048576
            if used > disk_mib:
                self.warnings.append(HarvestProblem(
                    "disk-allocation-exceeded", None,
                    f"the output folder holds {used:.1f} MiB of files, more than the job's disk allocation of "
                    f"{disk_mib:.1f} MiB"))
        order = {code: rank for rank, code in enumerate(FAILURE_ORDER)}
        failures = sorted(self.failures, key=lambda f: order.get(f.code, len(order)))
        return Harvest(files=MappingProxyType(files), json=MappingProxyType(values),
                       input_metadata=MappingProxyType(input_metadata), warnings=tuple(self.warnings),
                       failures=tuple(failures))

    # ---- file outputs

    def _capture(self, output: FileOutput) -> tuple[CapturedFile, ...]:
        about = f"output {output.name} (pattern {output.pattern!r})"
        if pattern_components(output.pattern) is None:
            self.warnings.append(HarvestProblem(
                "invalid-pattern", None,
                f"{about}: a pattern must be relative to OUTPUT_DIR and stay inside it; nothing was matched"))
        matches, rejected = self.folder.match(output.pattern)
        for problem in rejected:
            self.warnings.append(HarvestProblem(problem.code, problem.path,
                                                f"{problem.path} matches {about} but {problem.reason}"))
        captured = []
        for match in matches:
            digest = self._digest(match)
            if isinstance(digest, str):
                self.warnings.append(HarvestProblem("unreadable-output", match.path,
                                                    f"{match.path} matches {about} but {digest}; not captured"))
                continue
            size, sha256 = digest
            metadata, metadata_path = self._sidecar(match)
            captured.append(CapturedFile(output.name, match.path, size, sha256,
                                         output.media_type or self._media_type(match.name), metadata,
                                         metadata_path))
        if not captured and output.required:
            lost = f" ({len(rejected) + len(matches)} match(es) rejected, see the warnings)" \
                if rejected or matches else ""
            self.failures.append(HarvestProblem("missing-required-output", None,
                                                f"{about} is required but no file matches it{lost}"))
        elif len(captured) > 1 and not output.multiple:
            self.failures.append(HarvestProblem(
                "unexpected-multiple-outputs", None,
                f"{about} allows one file (multiple: false) but {len(captured)} match: "
                f"{_listed([c.path for c in captured])}"))
        return tuple(captured)

    def _digest(self, match: _Match) -> tuple[int, str] | str:
        """(size, sha256) of a file, or why it cannot be read; each real file is read once."""
        known = self._digests.get(match.real_path)
        if known is not None:
            return known
        try:
            fd = self.folder.open_file(match.real_path)
        except OSError as exc:
            result: tuple[int, str] | str = f"cannot be read: {exc.strerror or exc}"
        else:
            try:
                result = _sha256(fd, self._buffer)
            except OSError as exc:
                result = f"cannot be read: {exc.strerror or exc}"
            finally:
                os.close(fd)
        self._digests[match.real_path] = result
        return result

    def _sidecar(self, match: _Match) -> tuple[Sidecar | None, str | None]:
        known = self._sidecars.get(match.path)
        if known is not None:
            return known
        name = match.name + METADATA_SUFFIX
        sidecar_path = match.path[: len(match.path) - len(match.name)] + name
        found: tuple[Sidecar | None, str | None] = (None, None)
        if name in self.folder.listing(match.directory):
            sidecar = self._metadata(match.directory, name, sidecar_path,
                                     f"metadata sidecar of {match.path} (the file is kept, its metadata dropped)")
            found = (sidecar, sidecar_path)
        self._sidecars[match.path] = found
        return found

    def _metadata(self, directory: str, name: str, path: str, what: str) -> Sidecar | None:
        from .sidecar import MAX_SIDECAR_BYTES, parse_sidecar

        data, reason = self.folder.read_entry(directory, name, MAX_SIDECAR_BYTES + 1)
        if data is None:
            problems = [f"it {reason}"]
        else:
            sidecar, problems = parse_sidecar(data)
            if sidecar is not None:
                return sidecar
        message = f"{path}: invalid {what}: {'; '.join(problems)}"
        (self.failures if self.strict else self.warnings).append(HarvestProblem("invalid-metadata", path, message))
        return None

    def _media_type(self, name: str) -> str:
        suffix = os.path.splitext(name)[1].lower()
        known = self._media_types.get(suffix)
        if known is None:
            known = self._media_types[suffix] = guess_media_type(name)
        return known

    def _report_shared(self, files: Mapping[str, tuple[CapturedFile, ...]]) -> None:
        owners: dict[str, list[str]] = {}
        for name, captured in files.items():
            for item in captured:
                owners.setdefault(item.path, []).append(name)
        for path, names in owners.items():
            if len(names) > 1:
                self.warnings.append(HarvestProblem(
                    "shared-output-file", path, f"{path} is captured by {len(names)} outputs: {', '.join(names)}"))

    # ---- JSON outputs

    def _json_outputs(self, outputs: Sequence[JsonOutput]) -> dict[str, Any]:
        if not outputs:
            return {}
        required = [o.name for o in outputs if o.required]

        def whole_file(reason: str) -> None:
            if required:
                self._json_problem(True, f"{OUTPUTS_JSON} {reason}; the required JSON output(s) "
                                         f"{', '.join(required)} cannot be read")
            else:
                self._json_problem(False, f"{OUTPUTS_JSON} {reason}; the optional JSON output(s) "
                                          f"{', '.join(o.name for o in outputs)} are left out")

        from ..manifest.jsontext import MAX_DOCUMENT_BYTES, json_kind, parse_json_text

        # A small object: one byte over parse_json_text's limit is enough to refuse a larger file.
        data, reason = self.folder.read_entry(self.folder.root, OUTPUTS_JSON, MAX_DOCUMENT_BYTES + 1)
        if data is None:
            whole_file(reason or "is missing")
            return {}
        document, findings = parse_json_text(data, what=OUTPUTS_JSON)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            whole_file("is unusable: " + errors[0].message)
            return {}
        for finding in findings:
            self.warnings.append(HarvestProblem("invalid-outputs-json", OUTPUTS_JSON,
                                                f"{OUTPUTS_JSON}: {finding.path}: {finding.message}"))
        if not isinstance(document, dict):
            whole_file(f"must hold a JSON object, got {json_kind(document)}")
            return {}
        from ..runtime.plan import json_type_problem

        values: dict[str, Any] = {}
        for output in outputs:
            about = f"member '{output.key}' (JSON output {output.name})"
            if output.key not in document:
                if output.required:
                    self._json_problem(True, f"{OUTPUTS_JSON}: {about} is required but missing")
                continue
            value = document[output.key]
            problem = json_type_problem(value, output.type) or _infinity_problem(value)
            if problem:
                left = "" if output.required else "; the optional output is left out"
                self._json_problem(output.required, f"{OUTPUTS_JSON}: {about} {problem}{left}")
            else:
                values[output.name] = value
        return values

    def _json_problem(self, fatal: bool, message: str) -> None:
        (self.failures if fatal else self.warnings).append(
            HarvestProblem("invalid-outputs-json", OUTPUTS_JSON, message))

    # ---- input metadata

    def _input_metadata(self) -> dict[str, Sidecar]:
        updates: dict[str, Sidecar] = {}
        root = self.folder.listing(self.folder.root)
        for spec in self.manifest.job.interface.file_inputs:
            name = spec.name + METADATA_SUFFIX
            if name not in root:
                continue
            if spec.multiple:
                self.warnings.append(HarvestProblem(
                    "ignored-input-metadata", name,
                    f"{name} is ignored: input {spec.name} takes several files, and metadata updates apply only "
                    f"to single-file inputs"))
                continue
            sidecar = self._metadata(self.folder.root, name, name, f"metadata update of input {spec.name}")
            if sidecar is not None:
                updates[spec.name] = sidecar
        return updates


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


def _infinity_problem(value: Any) -> str | None:
    """JSON outputs go into the result document: a number such as 1e999 (infinity) could not."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float) and math.isinf(item):
            return "holds a number too large for a 64-bit float (such as 1e999)"
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _listed(paths: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown} and {len(paths) - limit} more"

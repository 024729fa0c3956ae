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
- Metadata: ``<file>.metadata.json`` beside a captured file is checked by ``seed_runner.outputs.sidecar`` and
  attached to the file. ``OUTPUT_DIR/<INPUT_NAME>.metadata.json`` for a single-file input (the name exactly
  as in the manifest) is an update of that input's metadata, reported under ``input_metadata``. An invalid
  sidecar never costs the file: the metadata is dropped with a warning saying where and why, and
  ``strict=True`` makes that the failure ``invalid-metadata`` instead.
- ``disk_mib``: when the regular files of the folder add up to more MiB than this, a warning.
- ``secrets`` (the values of a run's secret settings): masked in everything the harvest gives that was read
  from the job, at the source: JSON output values and member names, side-car strings, and every message, whose
  excerpts are taken from the masked content (``json_outputs``, ``sidecar.parse_sidecar``), so that no clipped
  excerpt shows a piece of a secret; the verdicts come from the files as written. Paths, sizes, hashes and
  media types stay exact.

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
      "warnings": [{"severity": "warning", "code": "...", "path": "..." | null, "message": "..."}],
      "failures": [{"severity": "error", "code": "...", "path": "..." | null, "message": "..."}]
    }

Problem codes. Failures, in the order ``failures`` lists them (so ``failure``, the first, is the most
basic): ``missing-required-output``, ``unexpected-multiple-outputs``, ``invalid-outputs-json``,
``invalid-metadata`` (only with ``strict``). Warnings: ``invalid-outputs-json`` and ``invalid-metadata``
(when not fatal), ``shared-output-file``, ``symlink-outside-output-dir``, ``unreadable-output``,
``invalid-pattern``, ``ignored-input-metadata``, ``disk-allocation-exceeded``. Both are
``seed_runner.problems.Problem`` (severity error and warning); ``HarvestProblem`` is an alias of it.

The parts: ``patterns`` (which names a pattern matches), ``output_folder`` (walking the folder, reading and
hashing files), ``json_outputs`` (``seed.outputs.json``), ``harvest_result`` (what a harvest returns); this
module runs one harvest over them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from ..manifest.media_types import guess_media_type
from ..manifest.model import FileOutput, Manifest
from ..problems import Problem, error, warning
from ..runtime.masking import SecretMask, as_mask
from .harvest_result import FAILURE_ORDER, CapturedFile, Harvest, HarvestError, HarvestProblem
from .json_outputs import read_json_outputs
from .output_folder import HASH_BUFFER_BYTES, Match, OutputFolder
from .patterns import METADATA_SUFFIX, OUTPUTS_JSON, pattern_components, pattern_matches

if TYPE_CHECKING:  # names for annotations only; the sidecar module is imported when a sidecar is read
    from pathlib import Path

    from .sidecar import Sidecar

__all__ = ["harvest", "Harvest", "CapturedFile", "HarvestError", "HarvestProblem", "FAILURE_ORDER", "OUTPUTS_JSON",
           "METADATA_SUFFIX", "HASH_BUFFER_BYTES", "pattern_components", "pattern_matches", "guess_media_type"]


def harvest(manifest: Manifest, output_dir: str | Path, *, strict: bool = False,
            disk_mib: float | None = None, secrets: Iterable[str] = frozenset()) -> Harvest:
    """Harvest ``output_dir`` for ``manifest``; problems go into the result, never into exceptions.

    ``secrets`` are masked in every value and message (see the module docstring). Raises ``HarvestError`` only
    when ``output_dir`` is not a readable folder.
    """
    return _Harvester(manifest, OutputFolder(output_dir), strict=strict, secrets=as_mask(secrets)).run(disk_mib)


class _Harvester:
    """One harvest: walks the manifest's outputs once and collects files, values and problems."""

    def __init__(self, manifest: Manifest, folder: OutputFolder, *, strict: bool, secrets: SecretMask):
        self.manifest = manifest
        self.folder = folder
        self.strict = strict
        self.secrets = secrets
        self.warnings: list[Problem] = []
        self.failures: list[Problem] = []
        self._sidecars: dict[str, tuple[Sidecar | None, str | None]] = {}
        self._media_types: dict[str, str] = {}

    def run(self, disk_mib: float | None) -> Harvest:
        face = self.manifest.job.interface
        files = {output.name: self._capture(output) for output in face.file_outputs}
        self._report_shared(files)
        values, problems = read_json_outputs(self.folder, face.json_outputs, self.secrets)
        for problem in problems:
            self._add(problem)
        input_metadata = self._input_metadata()
        if disk_mib is not None:
            used = self.folder.size_of_files() / 1048576
            if used > disk_mib:
                self._add(warning(
                    "disk-allocation-exceeded", None,
                    f"the output folder holds {used:.1f} MiB of files, more than the job's disk allocation of "
                    f"{disk_mib:.1f} MiB"))
        order = {code: rank for rank, code in enumerate(FAILURE_ORDER)}
        failures = sorted(self.failures, key=lambda f: order.get(f.code, len(order)))
        return Harvest(files=MappingProxyType(files), json=MappingProxyType(values),
                       input_metadata=MappingProxyType(input_metadata), warnings=tuple(self.warnings),
                       failures=tuple(failures))

    def _add(self, problem: Problem) -> None:
        """An error is a failure, a warning a warning; the message masked (a path may hold a secret too)."""
        if self.secrets:
            problem = replace(problem, message=self.secrets.text(problem.message))
        (self.failures if problem.is_error else self.warnings).append(problem)

    # ---- file outputs

    def _capture(self, output: FileOutput) -> tuple[CapturedFile, ...]:
        about = f"output {output.name} (pattern {output.pattern!r})"
        if pattern_components(output.pattern) is None:
            self._add(warning(
                "invalid-pattern", None,
                f"{about}: a pattern must be relative to OUTPUT_DIR and stay inside it; nothing was matched"))
        matches, rejected = self.folder.match(output.pattern)
        for problem in rejected:
            self._add(warning(problem.code, problem.path, f"{problem.path} matches {about} but {problem.reason}"))
        captured = []
        for match in matches:
            digest = self.folder.digest(match.real_path)
            if isinstance(digest, str):
                self._add(warning("unreadable-output", match.path,
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
            self._add(error("missing-required-output", None, f"{about} is required but no file matches it{lost}"))
        elif len(captured) > 1 and not output.multiple:
            self._add(error(
                "unexpected-multiple-outputs", None,
                f"{about} allows one file (multiple: false) but {len(captured)} match: "
                f"{_listed([c.path for c in captured])}"))
        return tuple(captured)

    def _sidecar(self, match: Match) -> tuple[Sidecar | None, str | None]:
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
            sidecar, problems = parse_sidecar(data, secrets=self.secrets)
            if sidecar is not None:
                return sidecar
        message = f"{path}: invalid {what}: {'; '.join(problems)}"
        self._add((error if self.strict else warning)("invalid-metadata", path, message))
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
                self._add(warning(
                    "shared-output-file", path, f"{path} is captured by {len(names)} outputs: {', '.join(names)}"))

    # ---- input metadata

    def _input_metadata(self) -> dict[str, Sidecar]:
        updates: dict[str, Sidecar] = {}
        root = self.folder.listing(self.folder.root)
        for spec in self.manifest.job.interface.file_inputs:
            name = spec.name + METADATA_SUFFIX
            if name not in root:
                continue
            if spec.multiple:
                self._add(warning(
                    "ignored-input-metadata", name,
                    f"{name} is ignored: input {spec.name} takes several files, and metadata updates apply only "
                    f"to single-file inputs"))
                continue
            sidecar = self._metadata(self.folder.root, name, name, f"metadata update of input {spec.name}")
            if sidecar is not None:
                updates[spec.name] = sidecar
        return updates


def _listed(paths: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown} and {len(paths) - limit} more"

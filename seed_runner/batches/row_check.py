"""A batch's check of its rows made cheap: what every row shares is checked once, each row only for its own values.

``make_plan`` checks a whole request: the names given against the manifest, every input file, every JSON
value and setting, the mounts, the resources, the command's syntax, the timeouts. Over 100,000 rows of one batch
most of that is the same for every row: the template (``-i/-j/-e/-m``, resources, timeouts) and the manifest
are the batch's, and what a row can change is which inputs and settings it gives and their values. So:

- the first row that gives a set of names (its *shape*: which file inputs, JSON inputs and settings it has) gets
  the whole ``make_plan``; a shape that passed once has every name-level check passed (nothing unknown, nothing
  missing), and the template's own values, the mounts, the command's parse and the timeouts with it;
- every later row of a known shape has only its own values checked, the way ``make_plan`` checks them: each of
  its files exists, is a regular readable file with a UTF-8 name (and its size, for the resources), each JSON
  value parses and is of its input's type and fits an environment variable, each setting too; the resources are
  planned once per total input size.

Whenever this fast check finds anything wrong, or meets anything it does not handle itself (a URL, a folder, a
list of files, a JSON value that is not a plain number or word), it says "not sure" and the row gets the whole
``make_plan``: problems are always ``make_plan``'s own, with its messages. The fast path only ever says yes to a
row that ``make_plan`` would pass; the command's expansion is the one thing it skips, as expanding can find no
problem that its parse (checked with the shape) has not (a batch gives no image ENTRYPOINT to fall back on).
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any, Mapping

from ..manifest.model import Manifest
from ..manifest.names import normalize_name
from ..runtime.input_files import env_value_problem
from ..runtime.json_inputs import JsonText, encode_json_input, json_type_problem, parse_json_input
from ..runtime.plan import RunRequest
from ..runtime.resources import plan_resources

# CSV cells that are plainly one JSON value of a type: read without the strict parser (which would give the
# same value). Anything else (objects, exponents, long numbers, words that could be JSON literals) takes the
# strict parser.
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}")
_WORD = re.compile(r"[A-HJ-MO-Za-eg-mo-su-z_./][^\x00-\x1f\x7f\"\\]*")
"""A string input's cell that is no JSON at all, so the text itself: its first character starts no JSON value
and no literal Python's reader takes (true, false, null, NaN, Infinity: not t, f, n, N, I), and it holds no
control character, quote or backslash."""
_RESOURCE_SIZES = 4096
"""Total input sizes whose resources are remembered (rows of one size share their plan of resources)."""

NOT_SURE = None


class RowCheck:
    """What every row of one batch shares, worked out once; ``allocations(request)`` for each row's request.

    The requests are ``requests.row_request``'s: their names are normalized already (``DATA``, not ``data``)."""

    def __init__(self, manifest: Manifest, template: RunRequest) -> None:
        face = manifest.job.interface
        self.manifest = manifest
        self.overrides = template.resources
        self.file_specs = {spec.variable: spec for spec in face.file_inputs}
        self.json_types = {spec.variable: spec.type for spec in face.json_inputs}
        self.settings = {spec.variable for spec in face.settings}
        # A row's request holds the template's values by their normalized names (``requests.row_request``).
        self.template_files = {normalize_name(k): tuple(v) for k, v in template.file_inputs.items()}
        self.template_json = {normalize_name(k): v for k, v in template.json_inputs.items()}
        self.template_settings = {normalize_name(k): v for k, v in template.settings.items()}
        self.shapes: set[tuple[frozenset[Any], ...]] = set()
        self.fixed_bytes: dict[tuple[frozenset[Any], ...], int] = {}
        self.resources: dict[float, Mapping[str, float] | None] = {}

    def shape(self, request: RunRequest) -> tuple[frozenset[Any], ...]:
        """Which names the request gives (file inputs with their values, JSON inputs, settings, mounts)."""
        return (frozenset((k, tuple(v) if self.template_files.get(k) == tuple(v) else None)
                          for k, v in request.file_inputs.items()),
                frozenset(request.json_inputs), frozenset(request.settings))

    def passed(self, request: RunRequest) -> None:
        """``request`` passed the whole ``make_plan``: rows of its shape get the fast check from now on."""
        shape = self.shape(request)
        fixed = self._own_bytes(request, template_only=True)
        if fixed is not None:
            self.shapes.add(shape)
            self.fixed_bytes[shape] = fixed

    def allocations(self, request: RunRequest) -> Mapping[str, float] | None:
        """The resources ``request``'s plan allocates, when its own values pass; None when not sure (the row then
        gets the whole ``make_plan``)."""
        shape = self.shape(request)
        if shape not in self.shapes:
            return NOT_SURE
        own = self._own_bytes(request, template_only=False)
        if own is None or not self._json_fine(request) or not self._settings_fine(request):
            return NOT_SURE
        return self._resources((self.fixed_bytes[shape] + own) / 1048576)

    def _own_bytes(self, request: RunRequest, *, template_only: bool) -> int | None:
        """The total size of the request's input files that are the template's (``template_only``) or the row's
        own (the others); None when one is not a plain readable regular file with a UTF-8 name."""
        total = 0
        for name, paths in request.file_inputs.items():
            if (self.template_files.get(name) == tuple(paths)) != template_only:
                continue
            spec = self.file_specs.get(name)
            if spec is None or len(paths) != 1:
                return NOT_SURE
            path = paths[0]
            if not isinstance(path, str) or "://" in path or not path or path.endswith("/"):
                return NOT_SURE
            try:
                path.encode("utf-8")
                found = os.stat(path)
            except (OSError, UnicodeEncodeError, ValueError):
                return NOT_SURE
            if not stat.S_ISREG(found.st_mode) or not os.access(path, os.R_OK):
                return NOT_SURE
            total += found.st_size
        return total

    def _json_fine(self, request: RunRequest) -> bool:
        for name, value in request.json_inputs.items():
            if self.template_json.get(name, self) is value:
                continue  # the template's, checked with the shape
            expected = self.json_types.get(name)
            if expected is None:
                return False
            if isinstance(value, JsonText):
                if expected in ("integer", "number") and _INTEGER.fullmatch(value):
                    continue
                if expected == "number" and _DECIMAL.fullmatch(value):
                    continue
                if expected == "string" and _WORD.fullmatch(value):
                    continue
                try:
                    value = parse_json_input(value, expected)
                except ValueError:
                    return False
            if json_type_problem(value, expected) is not None:
                return False
            if env_value_problem(encode_json_input(value, expected)) is not None:
                return False
        return True

    def _settings_fine(self, request: RunRequest) -> bool:
        for name, value in request.settings.items():
            if self.template_settings.get(name, self) is value:
                continue
            if name not in self.settings or env_value_problem(str(value)) is not None:
                return False
        return True

    def _resources(self, mib: float) -> Mapping[str, float] | None:
        if mib in self.resources:
            return self.resources[mib]
        planned = plan_resources(self.manifest, self.overrides, mib)
        if len(self.resources) >= _RESOURCE_SIZES:
            self.resources.clear()
        found = None if planned.problems else dict(planned.allocations)
        self.resources[mib] = found
        return found

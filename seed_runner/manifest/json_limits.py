"""What JSON text can say but no JSON reader or writer can carry, found in a parsed value.

JSON's grammar allows a lone surrogate escape (``"\\ud800"``, which no UTF-8 text can hold), numbers of any
size (``1e400`` reads as infinity, a 400-digit integer as no 64-bit number) and nesting of any depth (the
schema validator gives up at 255 levels, Python's recursion at about 1,000). ``value_findings`` names each
such value with its JSON path, so that every reader and validator can refuse it with a finding instead of
failing somewhere further on. Values built in Python (``seed_runner.validate`` of a mapping) may also hold
NaN, member names that are not strings, or objects of no JSON type: those are findings too. Neither pass
recurses deeper than MAX_NESTING, whatever the value's depth.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..problems import Finding, error, json_path

MAX_NESTING = 128
"""Arrays and objects nested deeper than this are refused. A manifest nests about 8 levels; the bound stays well
inside every reader on the way (jsonschema-rs: 255 levels, Python's recursion: about 1,000)."""

# Enough to show what is wrong; a document with thousands of bad values gets no thousands of findings.
MAX_REPORTED = 20

# The documents that hold a Seed manifest: only their messages say what a manifest is.
MANIFEST_DOCUMENTS = ("manifest", "image label")

# Patterns (compiled by re on first use, not on import). A lone surrogate in parsed JSON comes from an escape
# such as \ud800 (or, in a str built in Python, is the code point itself).
_SURROGATE = "[\ud800-\udfff]"
_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F]"

# No 64-bit float has more digits before its point (its largest is about 1.8e308).
_BIGGEST_DIGITS = 309


def too_deep_message(what: str, where: str = "") -> str:
    """``where``: 'below $.job.x' or 'at line 1, column 42', when known."""
    at = f", {where}" if where else ""
    if what in MANIFEST_DOCUMENTS:
        return f"the {what} nests arrays or objects too deeply (more than {MAX_NESTING} levels{at}) to be a " \
               "manifest; check the file"
    return f"the {what} nests arrays or objects too deeply (more than {MAX_NESTING} levels{at})"


class NumberGuard:
    """``parse_int`` and ``parse_float`` for ``json.loads`` that note a number past a 64-bit float (``huge``):
    then the value needs ``value_findings``. An integer longer than any float is not converted digit by digit
    (Python refuses past 4,300): it reads as infinity. A manifest holds a few numbers, so the calls cost less
    than scanning its text for long numbers."""

    def __init__(self) -> None:
        self.huge = False

    def parse_int(self, text: str) -> int | float:
        if len(text) - text.startswith("-") > _BIGGEST_DIGITS:
            self.huge = True
            return -math.inf if text.startswith("-") else math.inf
        value = int(text)
        if value.bit_length() > 1000:
            self.huge = True
        return value

    def parse_float(self, text: str) -> float:
        value = float(text)
        if value - value != 0:  # infinity (NaN is no JSON number)
            self.huge = True
        return value


def printable(text: str) -> str:
    """``text`` with every surrogate code point written as its escape, so that it can always be printed."""
    return re.sub(_SURROGATE, lambda m: f"\\u{ord(m.group()):04x}", text)


def _route_path(route: tuple | None) -> str:
    parts: list[str | int] = []
    while route is not None:
        route, key = route
        parts.append(printable(key) if isinstance(key, str) else key)
    return json_path(parts[::-1])


def _clipped_path(route: tuple | None, steps: int = 6) -> str:
    chain = []
    while route is not None:
        chain.append(route)
        route = route[0]
    return _route_path(chain[-steps] if len(chain) >= steps else (chain[0] if chain else None))


def _scalar_problem(value: Any) -> tuple[str, str] | None:
    """(code, message) for a scalar no JSON reader can carry, or None."""
    if isinstance(value, str):
        if not value.isascii() and re.search(_SURROGATE, value):
            return "invalid-string", ("this string holds a lone surrogate escape (\\ud800 to \\udfff without its "
                                      "pair), which cannot be encoded as UTF-8; remove it or write the character "
                                      "itself")
        return None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value.bit_length() > 1000 and not _fits_float(value):
            return "number-too-large", _TOO_LARGE
        return None
    if isinstance(value, float):
        if math.isinf(value):
            return "number-too-large", _TOO_LARGE
        if math.isnan(value):
            return "invalid-number", "NaN is not a JSON number; use a number or a string instead"
        return None
    return "not-json-value", f"a Python {type(value).__name__} is not a JSON value; use a string, number, " \
                             "boolean, null, array or object"


def _fits_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


_NUMBER_CODES = ("number-too-large", "invalid-number")
_TOO_LARGE = ("this number is too large for a 64-bit float (over 1.8e308), so JSON readers cannot hold it; "
              "write a smaller number")


def value_findings(value: Any, *, what: str = "manifest", numbers: bool = True) -> list[Finding]:
    """Errors for every value of ``value`` that no JSON reader can carry (at most MAX_REPORTED), each at its
    JSON path; deep nesting is reported once, at ``$``, with where it starts in the message. ``numbers``:
    False leaves numbers alone (infinity, NaN, huge integers), for readers that judge them value by value."""
    if not isinstance(value, (dict, list, tuple)):
        problem = _scalar_problem(value)
        if problem is None or (not numbers and problem[0] in _NUMBER_CODES):
            return []
        return [error(problem[0], "$", problem[1])]
    if _nothing_to_report(value, 1):
        return []
    findings: list[Finding] = []
    too_deep = False
    # (container, its depth, its route): a route is (parent route, key), turned into a path only when reported.
    stack: list[tuple[Any, int, tuple | None]] = [(value, 1, None)]
    while stack and len(findings) < MAX_REPORTED:
        node, depth, route = stack.pop()
        if depth > MAX_NESTING:
            if not too_deep:
                too_deep = True
                where = f"below {_clipped_path(route)}"
                findings.append(error("too-deeply-nested", "$", too_deep_message(what, where)))
            continue
        if isinstance(node, dict):
            if not _plain_keys(node):
                findings.extend(problem for key in node for problem in _key_problems(key, route))
            pairs: Any = node.items()
        else:
            pairs = enumerate(node)
        for key, child in pairs:
            # The common values first, by exact type: this loop sees every value of every document.
            kind = type(child)
            if kind is str:
                if child.isascii():
                    continue
            elif kind is int:
                if child.bit_length() <= 1000 or not numbers:
                    continue
            elif kind is float:
                if child - child == 0 or not numbers:  # finite (inf - inf and NaN - NaN are NaN)
                    continue
            elif kind is bool or child is None:
                continue
            if isinstance(child, (dict, list, tuple)):
                stack.append((child, depth + 1, (route, key)))
            elif (problem := _scalar_problem(child)) is not None:
                findings.append(error(problem[0], _route_path((route, key)), problem[1]))
    return findings[:MAX_REPORTED]


def _nothing_to_report(value: dict | list, depth: int) -> bool:
    """True in the common case: plain dicts and lists of plain values that UTF-8 holds, none too deep. One
    recursive pass (at most MAX_NESTING calls deep), about twice as fast as the walk that names findings."""
    if depth > MAX_NESTING:
        return False
    if isinstance(value, dict):  # a subclass too: the reader's object with duplicated members is one
        if not _plain_keys(value):
            return False
        children: Any = value.values()
    else:
        children = value
    for child in children:
        kind = type(child)
        if kind is str:
            if not child.isascii() and not encodes_as_utf8(child):
                return False
        elif kind is dict or kind is list or isinstance(child, dict):
            if not _nothing_to_report(child, depth + 1):
                return False
        elif kind is int:
            if child.bit_length() > 1000:
                return False
        elif kind is float:
            if child - child != 0:  # infinity or NaN
                return False
        elif not (kind is bool or child is None):
            return False
    return True


def _plain_keys(node: dict) -> bool:
    """Every member name is a string UTF-8 holds (joined in C: a name that is no string raises TypeError)."""
    try:
        names = "".join(node)
    except TypeError:
        return False
    return names.isascii() or encodes_as_utf8(names)


def _key_problems(key: Any, route: tuple | None) -> list[Finding]:
    if not isinstance(key, str):
        return [error("not-json-value", _route_path(route), f"member name {key!r} is a Python "
                      f"{type(key).__name__}; JSON member names are strings")]
    if re.search(_SURROGATE, key):
        return [error("invalid-string", _route_path((route, key)),
                      "this member name holds a lone surrogate escape (\\ud800 to \\udfff without its pair), "
                      "which cannot be encoded as UTF-8; rename the member")]
    return []


def may_need_checking(text: str) -> bool:
    """False when the JSON text cannot nest past MAX_NESTING (it has fewer brackets) nor hold a lone surrogate:
    the common case costs no walk (numbers are NumberGuard's)."""
    if text.count("[") + text.count("{") > MAX_NESTING:
        return True
    if "\\u" in text and re.search(_SURROGATE_ESCAPE, text):
        return True
    return not text.isascii() and not encodes_as_utf8(text)


def may_hold_surrogates(data: bytes) -> bool:
    """Whether JSON bytes hold an escape that may be a lone surrogate (a fast search, then a pattern)."""
    return (b"\\ud" in data or b"\\uD" in data) and re.search(_SURROGATE_ESCAPE.encode(), data) is not None


def encodes_as_utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: no lone surrogate (also a surrogate-escaped file name's bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

"""A Seed command as CWL ``arguments``: each word becomes a JavaScript expression that expands it at run time
the way ``runtime.command`` does (Bash parameter expansion and word splitting, never a shell).

The parser is the runner's own (``runtime.command_parser``), so the export reads a command exactly as ``seed run``
does. What a CWL engine evaluates is a small JavaScript library (``EXPRESSION_LIB``) plus one expression a word:
unquoted results are split on blanks, quoted ones never, and a word that expands to nothing disappears, as in
Bash. The operators that take a pattern (``#``, ``%``, ``/``) are exported only with a literal pattern (no
``*``, ``?``, ``[`` or ``\\`` outside quotes, no variable in it): a glob would need Bash's matcher in JavaScript,
and the export refuses it instead of approximating it (``UnsupportedCommand``).
"""

from __future__ import annotations

import json
from typing import Iterable

from ..runtime.command import parse_command
from ..runtime.command_parser import _Lit, _Param, _Part

__all__ = ["EXPRESSION_LIB", "UnsupportedCommand", "command_arguments"]


class UnsupportedCommand(ValueError):
    """The command uses an expansion the CWL export cannot carry; ``str(exc)`` is one line."""


# seedVar(name) is defined by the export (cwl.py): the variable's container-side value, or null when unset.
EXPRESSION_LIB = r"""
function seedSplit(segs) {
  var out = [], field = [], content = false;
  segs.forEach(function (s) {
    var pieces = s[1] ? [s[0]] : s[0].split(/[ \t\n]+/);
    if (pieces[0] || s[1]) { field.push(pieces[0]); content = true; }
    for (var i = 1; i < pieces.length; i++) {
      if (content) { out.push(field.join("")); }
      field = [pieces[i]]; content = pieces[i].length > 0;
    }
  });
  if (content) { out.push(field.join("")); }
  return out;
}
function seedJoin(segs) { return segs.map(function (s) { return s[0]; }).join(""); }
function seedRemove(v, p, op) {
  if (!p) { return v; }
  if (op[0] === "#") { return v.indexOf(p) === 0 ? v.slice(p.length) : v; }
  return v.length >= p.length && v.slice(v.length - p.length) === p ? v.slice(0, v.length - p.length) : v;
}
function seedSubst(v, p, r, op) {
  if (op === "/#") { return !p ? r + v : (v.indexOf(p) === 0 ? r + v.slice(p.length) : v); }
  if (op === "/%") {
    if (!p) { return v + r; }
    return v.length >= p.length && v.slice(v.length - p.length) === p ? v.slice(0, v.length - p.length) + r : v;
  }
  if (!p) { return v; }
  return op === "//" ? v.split(p).join(r) : (v.indexOf(p) < 0 ? v : v.replace(p, function () { return r; }));
}
function seedLength(v) { return String(Array.from(v || "").length); }
"""

_PATTERN_OPS = ("#", "##", "%", "%%", "/#", "/%", "/", "//")


def command_arguments(command: str) -> list[str]:
    """One CWL argument expression per word of ``command`` (each evaluates to a list of words)."""
    parsed = parse_command(command)
    out = []
    for word in parsed.words:
        segments = _segments(word.parts, command)
        out.append(f"$(seedSplit({segments}))" if word.split else f"$([seedJoin({segments})])")
    return out


def _segments(parts: Iterable[_Part], command: str) -> str:
    """A JavaScript expression giving the ``[text, quoted]`` segments of ``parts``."""
    pieces = [_part(part, command) for part in parts]
    return "[]" if not pieces else pieces[0] if len(pieces) == 1 else f"[].concat({', '.join(pieces)})"


def _part(part: _Part, command: str) -> str:
    if isinstance(part, _Lit):
        return f"[[{json.dumps(part.text)}, {str(part.quoted).lower()}]]"
    assert isinstance(part, _Param)
    ref, dq = part.ref, str(part.dq).lower()
    value = f"seedVar({json.dumps(ref.name)})"
    op = ref.operator
    if op is None:
        return f"[[{value} === null ? \"\" : {value}, {dq}]]"
    if op in (":-", "-"):
        unset = f"{value} === null" + (f" || {value} === \"\"" if op == ":-" else "")
        return f"(({unset}) ? {_segments(part.word, command)} : [[{value}, {dq}]])"
    if op in (":+", "+"):
        isset = f"{value} !== null" + (f" && {value} !== \"\"" if op == ":+" else "")
        return f"(({isset}) ? {_segments(part.word, command)} : [])"
    if op == "length":
        return f"[[seedLength({value}), {dq}]]"
    if op in _PATTERN_OPS:
        pattern = _literal(part.word, command, ref.position, "pattern")
        if op in ("/#", "/%"):  # the parser keeps the anchor as the pattern's first character
            pattern = pattern[1:]
        if op in ("#", "##", "%", "%%"):
            return f"[[{value} === null ? \"\" : seedRemove({value}, {json.dumps(pattern)}, {json.dumps(op)}), {dq}]]"
        replacement = _literal(part.rep, command, ref.position, "replacement", replacement=True)
        return (f"[[{value} === null ? \"\" : seedSubst({value}, {json.dumps(pattern)}, {json.dumps(replacement)}, "
                f"{json.dumps(op)}), {dq}]]")
    raise UnsupportedCommand(f"the command's {_shown(command, ref.position)} uses an expansion the CWL export "
                             "does not know")


def _literal(parts: Iterable[_Part], command: str, position: int, what: str, replacement: bool = False) -> str:
    """The text of a pattern or replacement made of literal characters only, else UnsupportedCommand."""
    special = "&\\" if replacement else "*?[\\"
    text = []
    for part in parts:
        if not isinstance(part, _Lit):
            raise UnsupportedCommand(f"the command's {_shown(command, position)} has a variable in its {what}, "
                                     "which the CWL export cannot expand: use a literal text")
        if not part.quoted and any(c in special for c in part.text) or (
                not replacement and not part.quoted and any(part.text[i:i + 2] in ("+(", "!(", "@(")
                                                            for i in range(len(part.text)))):
            raise UnsupportedCommand(f"the command's {_shown(command, position)} has a glob {what}, which the CWL "
                                     "export cannot match as Bash does: use a literal text, or quote it")
        text.append(part.text)
    return "".join(text)


def _shown(command: str, position: int) -> str:
    """The expansion at ``position`` (its ``${...}``), for a message."""
    end = command.find("}", position)
    return repr(command[position:end + 1] if end > position else command[position:position + 20])

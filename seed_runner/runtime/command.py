"""Safe, Bash-compatible expansion of a Seed manifest's ``interface.command``.

The command is never handed to a shell: the runner expands it itself against the
container-side environment and passes the words as the container's argv, exactly the
words Bash 5.2 produces for ``set -f; set -- <command>`` (parameter expansion, word
splitting of unquoted results on the default IFS, quote removal, no globbing).

Parsing and checking live in ``command_parser``; this module applies values to a
``ParsedCommand`` and re-exports the parser's public names, so callers need only this
one.  Expansion yields ``(text, quoted)`` segments: unquoted ones are split on blanks,
quoted ones never, and a quoted empty one (``""``) still makes a word, like Bash's
quoted nulls.  Bash is the oracle (``tests/test_command_bash.py``), odd corners
included: patterns are backslash-quoted and matched like ``strmatch``, keeping the
``match_upattern`` shortcuts whose effects show; the ``#``/``%`` anchor of ``${V/p/r}``
is looked for after ``p`` is expanded; ``&`` in the replacement is the match
(``patsub_replacement``).

Known limits, all in pattern matching and mostly reached through values used as
patterns: characters are code points (Bash in a UTF-8 locale), classes such as
``[[:alpha:]]`` match ASCII only, multi-character collating names (``[[.space.]]``)
match nothing, and a stray ``[:`` or ``[.`` inside ``[...]`` may differ (Bash's own
reading of those depends on the character tested, or on memory past the pattern).
Splitting always uses the default IFS, whatever ``IFS`` the environment holds.
"""

from __future__ import annotations

import functools
import re
from typing import Mapping

# _Lit and _Part are the parser's word parts: shared with this module, private to everyone else.
from .command_parser import CommandSyntaxError, ParsedCommand, VariableReference, _Lit, _Part, parse_command

__all__ = ["CommandSyntaxError", "VariableReference", "ParsedCommand", "parse_command", "expand_command"]


def expand_command(command: str | ParsedCommand, env: Mapping[str, str]) -> list[str]:
    """The argv words of ``command`` given the variables in ``env`` (absent means unset)."""
    parsed = parse_command(command) if isinstance(command, str) else command
    out: list[str] = []
    for word in parsed.words:
        segments = _expand(word.parts, env)
        if word.split:
            _split(segments, out)
        else:
            out.append("".join(text for text, _ in segments))
    return out


def _expand(parts: tuple[_Part, ...], env: Mapping[str, str],
            out: list[tuple[str, bool]] | None = None) -> list[tuple[str, bool]]:
    """The (text, quoted) segments of ``parts``."""
    out = [] if out is None else out
    for part in parts:
        if type(part) is _Lit:
            out.append((part.text, part.quoted))
            continue
        op, value = part.ref.operator, env.get(part.ref.name)
        if op in (":-", "-") and (value is None or op == ":-" and not value):
            _expand(part.word, env, out)
        elif op in (":+", "+"):
            if value is not None and (op == "+" or value):
                _expand(part.word, env, out)
        elif op == "length":
            out.append((str(len(value or "")), part.dq))
        elif value is None or op in (None, ":-", "-"):
            out.append((value or "", part.dq))
        elif op[0] in "#%":
            out.append((_remove(value, _pattern(part.word, env), op), part.dq))
        else:
            out.append((_substitute(value, _pattern(part.word, env), _replacement(part.rep, env), op == "//"),
                        part.dq))
    return out


def _split(segments: list[tuple[str, bool]], out: list[str]) -> None:
    """Word splitting on the default IFS; quoted segments, even empty ones, are content."""
    field: list[str] = []
    content = False
    for text, quoted in segments:
        pieces = [text] if quoted else re.split(r"[ \t\n]+", text)
        if pieces[0] or quoted:
            field.append(pieces[0])
            content = True
        for piece in pieces[1:]:  # each later piece follows a delimiter
            if content:
                out.append("".join(field))
            field, content = [piece], bool(piece)
    if content:
        out.append("".join(field))


def _pattern(parts: tuple[_Part, ...], env: Mapping[str, str]) -> str:
    """The pattern as Bash hands it to strmatch: quoted characters backslash-escaped."""
    return "".join(re.sub(r"(?s).", r"\\\g<0>", t) if q else t for t, q in _expand(parts, env))


def _replacement(parts: tuple[_Part, ...], env: Mapping[str, str]) -> list[str]:
    """Replacement tokens.  Bash escapes quoted ``&`` and ``\\`` with a backslash;
    then ``\\&`` is ``&``, ``\\\\`` is ``\\`` and a bare ``&`` (token "&") the match."""
    text = "".join(re.sub(r"[&\\]", r"\\\g<0>", t) if q else t for t, q in _expand(parts, env))
    return re.findall(r"\\[&\\]|[^&]|&", text, re.DOTALL)


def _remove(value: str, pattern: str, op: str) -> str:
    """``${V#p}``, ``${V##p}``, ``${V%p}``, ``${V%%p}``, as Bash's remove_upattern."""
    match, n, prefix = _glob(pattern).fullmatch, len(value), op[0] == "#"
    for j in (range(n + 1) if op in ("#", "%%") else range(n, -1, -1)) if pattern else ():
        if match(value, 0, j) if prefix else match(value, j):
            return value[j:] if prefix else value[:j]
    return value


def _substitute(value: str, pattern: str, rep: list[str], every: bool) -> str:
    """``${V/p/r}`` and ``${V//p/r}``, as Bash's pat_subst."""
    def render(matched: str) -> str:
        return "".join(matched if r == "&" else r[-1] for r in rep)

    mode = "any"
    if not every and pattern[:1] in ("#", "%"):
        mode, pattern = ("beg" if pattern[0] == "#" else "end"), pattern[1:]
    if not pattern:
        return value if mode == "any" else render("") + value if mode == "beg" else value + render("")
    if not value:
        return render("") if _find(value, pattern, mode) else ""
    out, pos = [], 0
    while pos < len(value) and (found := _find(value[pos:], pattern, mode)):
        start, end = found[0] + pos, found[1] + pos
        out += [value[pos:start], render(value[start:end])]
        pos = end
        if not every:
            break
        if start == end:  # an empty match: copy one character to make progress
            out.append(value[pos:pos + 1])
            pos += 1
    return "".join(out) + value[pos:]


def _find(value: str, pattern: str, mode: str) -> tuple[int, int] | None:
    """Bash's match_upattern: the longest match, at the leftmost start for "any".  Its
    shortcuts change results, so they are kept: the pattern is first checked with
    ``*`` around it, a fixed-length pattern is only tried at that length, and a start
    only if match_pattern_char accepts its first character."""
    wrapped = pattern
    if not (pattern[0] == "*" and pattern[-1] == "*"):
        wrapped = ("*" if mode != "beg" and pattern[0] != "*" else "") + pattern
        backslashes = len(pattern[:-1]) - len(pattern[:-1].rstrip("\\"))
        if mode != "end" and (pattern[-1] != "*" or backslashes % 2):
            wrapped += "*"
    regex, n, fixed = _glob(pattern), len(value), _matchlen(pattern)
    if not _glob(wrapped).fullmatch(value) or fixed > n:
        return None
    if mode == "end":
        starts = range(n - fixed, n - fixed + 1) if fixed >= 0 else range(n + 1)
        return next(((start, n) for start in starts if regex.fullmatch(value, start)), None)
    first = pattern[0]
    for start in range(n + 1) if mode == "any" else (0,):
        ch = value[start:start + 1]
        if ch and (first in "?*[" or ch == (pattern[1:2] if first == "\\" else first)
                   or first in "+!@" and pattern[1:2] == "(") or not ch and first == "*":
            if fixed >= 0 and start + fixed > n:
                break
            for end in range(n, start - 1, -1) if fixed < 0 else (start + fixed,):
                if regex.fullmatch(value, start, end):
                    return start, end
    return None


def _matchlen(pattern: str) -> int:
    """Bash's MATCHLEN: the length of every match, or -1.  Its scan of brackets is
    cruder than the matcher's (``[!]]`` counts 2), and match_upattern trusts it."""
    n, i, length, opened = len(pattern), 0, 0, set()
    while i < n:
        c, i = pattern[i], i + 1
        if c == "*" or c in "?+!@" and pattern[i:i + 1] == "(":
            return -1
        if c == "\\":
            if i >= n:
                return length + 1
            i += 1
        elif c == "[":
            count, c, i = 1, pattern[i:i + 1], i + 1
            while True:  # a do-while: the first character never closes the bracket
                if not c or c == "\\" and i + 1 >= n:  # unclosed: every character counts
                    return length + count + (c == "\\")
                count += 1
                if c == "\\":
                    i += 1
                elif c == "[" and pattern[i:i + 1] in (":", ".", "="):
                    opened.add(pattern[i])
                    skip = 2 if pattern[i] != ":" and pattern[i + 1:i + 2] == "]" else 1
                    i, count = i + skip, count + skip
                elif c in opened and pattern[i:i + 1] == "]":
                    opened.discard(c)
                    i, count = i + 1, count + 1
                c, i = pattern[i:i + 1], i + 1
                if c == "]":
                    break
        length += 1
    return length


_CLASSES = {"alpha": "A-Za-z", "upper": "A-Z", "lower": "a-z", "digit": "0-9", "xdigit": "0-9A-Fa-f",
            "alnum": "0-9A-Za-z", "word": "0-9A-Za-z_", "space": " \\t\\n\\r\\f\\v", "blank": " \\t",
            "cntrl": "\\x00-\\x1f\\x7f", "punct": "!-/:-@\\[-`{-~", "print": " -~", "graph": "!-~"}


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """Compile a Bash glob (``\\`` escapes, ``*``, ``?``, ``[...]``) to a regex."""
    out, i, n, star = [], 0, len(pattern), False
    while i < n:
        c, i = pattern[i], i + 1
        if c == "\\" and i == n:  # a final backslash matches itself, except right after a * (strmatch)
            out.append("(?!)" if star else re.escape(c))
        elif c == "\\":
            out.append(re.escape(pattern[i]))
            i += 1
        elif c in "*?":
            out.append(".*" if c == "*" else ".")
            star = star or c == "*"
            continue
        elif c == "[" and (bracket := _bracket(pattern, i)):
            out.append(bracket[0])
            i = bracket[1]
        else:
            out.append(re.escape(c))
        star = False
    return re.compile("".join(out), re.DOTALL)


def _bracket(pattern: str, i: int) -> tuple[str, int] | None:
    """The bracket expression after the ``[`` at ``i - 1`` as Bash 5.2's BRACKMATCH
    reads it: (regex, index past ``]``); None when it is not closed (the ``[`` is
    then literal); a regex matching nothing when Bash's scan fails (a backslash, a
    ``-`` or a ``[.`` without ``.]`` at the end)."""
    n, fail, members, first = len(pattern), ("(?!)", len(pattern)), [], True
    negate = pattern[i:i + 1] in ("!", "^")
    i += negate

    def point(c: str, i: int) -> tuple[str | None, int] | None:  # one end of a range, or None to fail
        if c == "\\":
            return (pattern[i], i + 1) if i < n else None
        if c == "[" and pattern[i:i + 1] == ".":  # [.c.]; a longer name matches nothing here
            close = pattern.find(".]", i + 1)
            return ((pattern[i + 1] if close == i + 2 else None), close + 2) if close > 0 else None
        return c, i

    while True:
        if i >= n:
            return None
        c, i = pattern[i], i + 1
        if c == "]" and not first:
            break
        first = False
        if c == "[" and pattern[i:i + 1] == "=" and pattern[i + 2:i + 4] == "=]":  # [=c=], one character only
            members.append(re.escape(pattern[i + 1]))
            i += 4
            continue
        if c == "[" and pattern[i:i + 1] == ":":  # [:class:]; without a :] the [ is dropped
            close = pattern.find(":]", i + 1)
            if close > 0:
                members.append(_CLASSES.get(pattern[i + 1:close], ""))  # an unknown class matches nothing
                i = close + 2
            continue
        if not (low := point(c, i)):
            return fail
        low_char, i = low
        if pattern.startswith("-", i) and i + 1 == n:  # a range without its end
            return fail
        if pattern.startswith("-", i) and pattern[i + 1] != "]":
            if not (high := point(pattern[i + 1], i + 2)):
                return fail
            high_char, i = high
            if low_char is not None and high_char is not None and low_char <= high_char:  # else: matches nothing
                members.append(re.escape(low_char) + "-" + re.escape(high_char))
        elif low_char is not None:
            members.append(re.escape(low_char))
    if not members or not "".join(members):
        return ("(?s:.)" if negate else "(?!)"), i
    return ("[^" if negate else "[") + "".join(members) + "]", i

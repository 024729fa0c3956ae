"""Safe, Bash-compatible expansion of a Seed manifest's ``interface.command``.

The command is never handed to a shell: the runner expands it itself against the
container-side environment and passes the words as the container's argv, exactly the
words Bash 5.2 produces for ``set -f; set -- <command>`` (parameter expansion, word
splitting of unquoted results on the default IFS, quote removal, no globbing).

``parse_command`` does all the checking and builds words of parts: ``_Lit`` (text,
``quoted`` if it came from quotes or a backslash) and ``_Param`` (``$V``/``${V...}``,
whose operator words are parts again).  Anything unsupported raises
``CommandSyntaxError`` with a stable ``code``, so a validator needs no environment;
expanding a parsed command cannot fail.  Expansion yields ``(text, quoted)``
segments: unquoted ones are split on blanks, quoted ones never, and a quoted empty
one (``""``) still makes a word, like Bash's quoted nulls.  Bash is the oracle
(``tests/test_command_bash.py``), odd corners included: a ``$`` left alone after a
word's last expansion turns splitting off (``$V$%``); the word of a double-quoted
``${V:-w}`` loses its own quotes before it is expanded; patterns are backslash-quoted
and matched like ``strmatch``, keeping the ``match_upattern`` shortcuts whose effects
show; the ``#``/``%`` anchor of ``${V/p/r}`` is looked for after ``p`` is expanded;
``&`` in the replacement is the match (``patsub_replacement``).  Where emulating a
corner would be guesswork, the parser rejects it rather than differ silently.

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
from dataclasses import dataclass
from typing import Mapping, Union

__all__ = ["CommandSyntaxError", "VariableReference", "ParsedCommand", "parse_command", "expand_command"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RUNS = {"top": re.compile(r"[^ \t\n'\"\\$`;|&<>()]+"), "op": re.compile(r"[^'\"\\$`}/<>]+"),  # plain text
         '"': re.compile(r"[^\"\\$`]+"), "}": re.compile(r"[^\"'\\$`}]+")}
_SPECIAL = "@*#?$!-0123456789"
_NO_SHELL = "is not allowed: the command is not run by a shell;"
_ERRORS = {  # kind: (code, what, how to fix)
    "comsub": ("command-substitution", "command substitution {}", f"{_NO_SHELL} pass the value as an input or setting"),
    "arith": ("arithmetic-expansion", "arithmetic expansion {}", f"{_NO_SHELL} compute the value beforehand"),
    "procsub": ("process-substitution", "process substitution {}", f"{_NO_SHELL} pass a file path as an input"),
    "operator": ("shell-operator", "shell operator {}", f"{_NO_SHELL} wrap it in sh -c '...' if you need one"),
    "special": ("special-parameter", "special parameter {}", f"{_NO_SHELL} use a named input or setting"),
    "bad": ("bad-substitution", "bad substitution {}", "is malformed: write ${{NAME}} or ${{NAME<operator>word}}"),
    "unclosed": ("bad-substitution", "unterminated ${{", "has no closing }}: add the }}"),
    "quote": ("unterminated-quote", "unterminated {} quote", "is not closed: add the closing quote"),
    "op": ("unsupported-expansion", "{}", "is not supported: use $V, ${{V}}, ${{V:-w}}, ${{V-w}}, ${{V:+w}}, "
           "${{V+w}}, ${{V#p}}, ${{V##p}}, ${{V%p}}, ${{V%%p}}, ${{V/p/r}}, ${{V//p/r}} or ${{#V}}"),
    "tilde": ("unsupported-expansion", "tilde expansion ~", "is not supported: write the path out, or quote the ~"),
    "brace": ("unsupported-expansion", "brace expansion {{...}}", "is not supported: write the words out, or quote {{"),
    "quoting": ("unsupported-expansion", "{} quoting", "is not supported: use '...' or \"...\""),
    "continuation": ("unsupported-expansion", "line continuation inside {}", "is not supported: join the lines"),
    "dq_word": ("unsupported-expansion", "{} in the word of a double-quoted ${{V:-w}}", "is not supported, as "
                "Bash strips that word's quotes before expanding it: write ${{NAME}}, and \"'\" for a quote"),
}


class CommandSyntaxError(ValueError):
    """A command uses syntax the safe expander rejects; ``str(exc)`` is one line."""

    def __init__(self, code: str, position: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


def _error(kind: str, position: int, shown: str = "") -> CommandSyntaxError:
    code, what, fix = _ERRORS[kind]
    return CommandSyntaxError(code, position, f"{what.format(shown)} at column {position + 1} {fix.format()}")


@dataclass(frozen=True)
class VariableReference:
    name: str
    operator: str | None  # None, ":-", "-", ":+", "+", "/#", "/%", "/", "//", "#", "##", "%", "%%", "length"
    quoted: bool  # lexically inside double quotes
    position: int  # offset of the "$"


@dataclass(frozen=True, slots=True)
class _Lit:
    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class _Param:
    ref: VariableReference
    dq: bool  # the result is quoted: not split, literal in a pattern
    word: tuple[_Part, ...] = ()  # the operand of :- - :+ +, or the pattern
    rep: tuple[_Part, ...] = ()  # the replacement of / and //


_Part = Union[_Lit, _Param]
_DOLLAR = _Lit("$", False)  # an unquoted $ that starts no expansion


@dataclass(frozen=True, slots=True)
class _Word:
    parts: tuple[_Part, ...]
    split: bool  # Bash splits a word only if its last unquoted $ started an expansion


@dataclass(frozen=True)
class ParsedCommand:
    source: str
    references: tuple[VariableReference, ...]  # in source order, nested ones included
    words: tuple[_Word, ...]  # what expand_command works from


class _Parser:
    """Recursive descent over the quoting contexts that Bash tells apart."""

    def __init__(self, source: str) -> None:
        self.s, self.n = source, len(source)
        self.refs: list[VariableReference] = []
        self.dq_depth = 0  # double-quoted regions around the cursor, for VariableReference.quoted

    def command(self) -> tuple[_Word, ...]:
        s, n, i, words = self.s, self.n, 0, []
        while True:
            while i < n and (s[i] in " \t" or s.startswith("\\\n", i)):  # blanks, line continuations
                i += 1 + (s[i] == "\\")
            if i < n and s[i] == "#":  # a comment runs to the end of the line (a newline is then rejected)
                i = s.find("\n", i) % (n + 1)
            if i >= n:
                return tuple(words)
            bare: list[tuple[int, str]] = []
            parts, i = self.unquoted(i, " \t", None, bare)
            self.check_word(bare)
            last = next((p for p in reversed(parts) if p == _DOLLAR or type(p) is _Param and not p.dq), None)
            words.append(_Word(tuple(parts), last != _DOLLAR))

    def unquoted(self, i: int, stops: str, dollar: int | None,
                 bare: list[tuple[int, str]] | None = None) -> tuple[list[_Part], int]:
        """A top-level word (``dollar`` None), or an operator word read as unquoted:
        the word of ``${V:-w}`` outside double quotes, and every pattern and
        replacement (Bash expands those as unquoted even inside double quotes).
        ``bare`` collects (position, text) of unquoted text, "\\0" for other parts."""
        s, n, top, parts = self.s, self.n, dollar is None, []
        while i < n and s[i] not in stops:
            c, start = s[i], i
            if c == "\\":
                if s.startswith("\n", i + 1):  # a line continuation is removed
                    i += 2
                    continue
                if i + 1 == n and not top:
                    raise _error("unclosed", dollar)
                parts.append(_Lit(s[i + 1:i + 2] or "\\", True))  # a final backslash is literal
                i += 2
            elif c == "'":
                end = s.find("'", i + 1)
                if end < 0:
                    raise _error("quote", i, "single")
                parts.append(_Lit(s[i + 1:end], True))
                i = end + 1
            elif c == '"':
                parts.append(_Lit("", True))  # "" still makes a word
                i = self.dq(i + 1, parts) + 1
            elif c == "$":
                i = self.dollar(i, parts, False, None)
            elif c == "`":
                raise _error("comsub", i, "`...`")
            elif c in "<>" and s.startswith("(", i + 1):
                raise _error("procsub", i, c + "(...)")
            elif top and c in "\n;|&()<>":
                raise _error("operator", i, "newline" if c == "\n" else repr(c))
            else:
                m = _RUNS["top" if top else "op"].match(s, i)
                text = m.group() if m else c  # "}" or "/" that does not end this word
                if text[0] == "~" and not parts and not top:
                    raise _error("tilde", i)
                parts.append(_Lit(text, False))
                i += len(text)
                if bare is not None:
                    bare.append((start, text))
                continue
            if bare is not None:
                bare.append((start, "\0"))
        if i >= n and not top:
            raise _error("unclosed", dollar)
        return parts, i

    def check_word(self, bare: list[tuple[int, str]]) -> None:
        """Reject tilde and brace expansion, which Bash would perform on this word."""
        if not any("~" in t or "{" in t for _, t in bare):
            return
        text = "".join(t for _, t in bare)
        where = [p + k if t != "\0" else p for p, t in bare for k in range(len(t))]
        assignment = re.match(r"[A-Za-z_][A-Za-z0-9_]*\+?=", text)  # there ~ after = or : expands too
        for k, ch in enumerate(text):
            if ch == "~" and (k == 0 or assignment and text[k - 1] in "=:"):
                raise _error("tilde", where[k])
        brace = re.search(r"\{[^}]*?(,|\.\.)[^{]*?\}", text)
        if brace:
            raise _error("brace", where[brace.start()])

    def dq(self, i: int, parts: list[_Part], word_of: int | None = None, nested: bool = False) -> int:
        """Double-quoted text from ``i`` up to its end, whose index is returned: "..."
        or, with ``word_of`` (the position of its ``$``), the word of a double-quoted
        ``${V:-w}``, which ends at ``}`` and where ``\\}`` escapes too.  Bash strips the
        quotes inside such a word first, and between them (``nested``) drops every
        backslash that would not escape, so there a backslash escapes anything."""
        s, n, start, end = self.s, self.n, i - 1, '"' if word_of is None else "}"
        escapes = '$`"\\' if word_of is None else '$`"\\}'
        self.dq_depth += word_of is None
        while i < n and s[i] != end:
            c = s[i]
            if c == "\\" and s.startswith("\n", i + 1):  # a line continuation is removed
                i += 2
            elif c == "\\":
                escaped = s[i + 1:i + 2] and (nested or s[i + 1] in escapes)
                parts.append(_Lit(s[i + 1] if escaped else "\\", True))
                i += 1 + bool(escaped)
            elif c == "$":
                i = self.dollar(i, parts, True, "word" if word_of is not None else "nested" if nested else None)
            elif c == "`":
                raise _error("comsub", i, "`...`")
            elif c == "'" and word_of is not None:  # Bash pairs it when looking for }, then keeps it
                raise _error("dq_word", i, "a single quote")
            elif c == '"':  # only in a word
                i = self.dq(i + 1, parts, nested=True) + 1
            else:
                m = _RUNS[end].match(s, i)
                parts.append(_Lit(m.group(), True))
                i = m.end()
        if i >= n:
            raise _error("quote", start, "double") if word_of is None else _error("unclosed", word_of)
        self.dq_depth -= word_of is None
        return i

    def dollar(self, i: int, parts: list[_Part], dq: bool, glue: str | None) -> int:
        """A ``$`` at ``i``.  ``glue`` is "word" or "nested" in the word of a
        double-quoted ``${V:-w}``, where Bash's quote stripping turns ``$V"x"`` into
        ``$Vx`` and ``"$"(`` into ``$(``: such spellings are rejected."""
        s, c = self.s, self.s[i + 1:i + 2]
        if c == "{":
            return self.brace(i, parts, dq)
        if c.isascii() and (c.isalpha() or c == "_"):
            end = _NAME.match(s, i + 1).end()
            name = s[i + 1:end]
            if name == "_":
                raise _error("special", i, "$_")
            if s.startswith("\\\n", end):
                raise _error("continuation", end, "$" + name)
            if glue and re.match(r'["\\]+\w', s[end:]):
                raise _error("dq_word", i, f"${name} before a quote or backslash")
            parts.append(_Param(self.ref(name, None, i), dq))
            return end
        if c and c in _SPECIAL:
            raise _error("special", i, "$" + c)
        if c == "(":
            raise _error("arith", i, "$((...))") if s.startswith("((", i + 1) else _error("comsub", i, "$(...)")
        if c == "[":
            raise _error("arith", i, "$[...]")
        if c in ("'", '"') and c and (not dq or glue == "word"):
            raise _error("quoting", i, "ANSI-C $'...'" if c == "'" else 'locale $"..."')
        if glue and c and (c == '"' or glue == "nested" and c == "\\"):
            raise _error("dq_word", i, "a $ before a quote or backslash")
        if s.startswith("\\\n", i + 1):
            raise _error("continuation", i, "$...")
        parts.append(_Lit("$", dq))  # Bash leaves such a $ alone
        return i + 1

    def ref(self, name: str, op: str | None, position: int) -> VariableReference:
        ref = VariableReference(name, op, self.dq_depth > 0, position)
        self.refs.append(ref)
        return ref

    def brace(self, i: int, parts: list[_Part], dq: bool) -> int:
        """``${...}`` with its ``$`` at ``i``."""
        s, j = self.s, i + 2
        c = s[j:j + 1]
        if c == "#" and s[j + 1:j + 2] not in ("}", ""):  # ${#V}
            m = _NAME.match(s, j + 1)
            if m and s.startswith("}", m.end()) and m.group() != "_":
                parts.append(_Param(self.ref(m.group(), "length", i), dq))
                return m.end() + 1
            if not m and s[j + 1] in _SPECIAL or m and m.group() == "_":
                raise _error("special", i, "${#" + s[j + 1] + "...}")
            raise self.bad(i)
        if c == "!":
            raise _error("special", i, "${!}") if s.startswith("}", j + 1) else _error("op", i, "${!V} indirection")
        if c and c in _SPECIAL:  # ${1}, ${10}, ${@}, ${-}... (but ${-i :x} is malformed)
            k = j + 1 + (len(re.match(r"\d*", s[j + 1:]).group()) if c.isdigit() else 0)
            if s[k:k + 1] and s[k] in "}:-+=?#%/^,@[":
                raise _error("special", i, "${" + s[j:k] + "}" if s[k] == "}" else "$" + s[j:k])
            raise self.bad(i)
        m = _NAME.match(s, j)
        if not m:
            raise self.bad(i) if c else _error("unclosed", i)
        if m.group() == "_":
            raise _error("special", i, "${_}")
        op, k = self.operator(i, m.end())
        ref = self.ref(m.group(), op, i)
        word: list[_Part] = []
        rep: list[_Part] = []
        if op in (":-", "-", ":+", "+") and dq:
            k = self.dq(k, word, word_of=i)
        elif op in (":-", "-", ":+", "+", "#", "##", "%", "%%"):
            word, k = self.unquoted(k, "}", i)
        elif op:  # ${V/p/r}: p ends at the first unquoted /, though ${V///r} replaces "/"
            lead = op == "//" and s.startswith("/", k)
            word, k = self.unquoted(k + lead, "}/", i)
            word[:0] = [_Lit("/", False)] * lead
            if s[k] == "/":
                rep, k = self.unquoted(k + 1, "}", i)
        parts.append(_Param(ref, dq, tuple(word), tuple(rep)))
        return k + 1

    _UNSUPPORTED = {":=": "${V:=w} assignment", "=": "${V=w} assignment", ":?": "${V:?w} error check",
                    "?": "${V?w} error check", "^": "${V^} case modification", ",": "${V,} case modification",
                    "@": "${V@op} transformation", "[": "${V[i]} array subscript", ":": "${V:offset} substring"}

    def operator(self, dollar: int, k: int) -> tuple[str | None, int]:
        """The operator after the name at ``k``, and where its word starts."""
        s = self.s
        for op in ("}", ":-", ":+", "##", "%%", "//", "-", "+", "#", "%", "/"):
            if s.startswith(op, k):
                if op == "/" and s[k + 1:k + 2] in ("#", "%"):
                    return "/" + s[k + 1], k + 1  # the anchor stays in the pattern
                return (None, k) if op == "}" else (op, k + len(op))
        what = self._UNSUPPORTED.get(s[k:k + 2]) or self._UNSUPPORTED.get(s[k:k + 1])
        if what:
            raise _error("op", dollar, what)
        if s.startswith("\\\n", k):
            raise _error("continuation", k, "${...}")
        raise self.bad(dollar) if k < self.n else _error("unclosed", dollar)

    def bad(self, dollar: int) -> CommandSyntaxError:
        end = self.s.find("}", dollar)
        shown = self.s[dollar:end + 1] if 0 < end - dollar < 40 else self.s[dollar:dollar + 12] + "..."
        return _error("bad", dollar, shown)


def parse_command(command: str) -> ParsedCommand:
    """Parse and check ``command``; raises ``CommandSyntaxError`` for anything unsupported."""
    parser = _Parser(command)
    words = parser.command()
    return ParsedCommand(command, tuple(parser.refs), words)


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

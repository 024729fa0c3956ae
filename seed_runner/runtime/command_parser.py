"""Parsing of a Seed manifest's ``interface.command``: its text checked and read into words.

``parse_command`` does all the checking and builds words of parts: ``_Lit`` (text,
``quoted`` if it came from quotes or a backslash) and ``_Param`` (``$V``/``${V...}``,
whose operator words are parts again).  Anything unsupported raises
``CommandSyntaxError`` with a stable ``code``, so a validator needs no environment;
expanding a parsed command (``seed_runner.runtime.command``) cannot fail.  The reading
is Bash 5.2's (``tests/test_command_bash.py``), odd corners included: a ``$`` left alone
after a word's last expansion turns splitting off (``$V$%``), and the word of a
double-quoted ``${V:-w}`` loses its own quotes before it is expanded.  Where emulating
a corner would be guesswork, the parser rejects it rather than differ silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

__all__ = ["CommandSyntaxError", "VariableReference", "ParsedCommand", "command_references", "parse_command"]

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


# Most commands are blanks, plain words and ${NAME}, $NAME or ${NAME<op>word} with a plain word: no quotes,
# backslashes, nested expansions, tildes, braces or comments. Such a command cannot fail to parse, and its
# references are read by two patterns in a few microseconds instead of the parser's 30 (a validator needs only
# them). Anything else goes through the parser. The loops are possessive: no input makes the pattern backtrack.
# tests/test_command_references.py holds this reading to the parser's on generated commands.
_V = r"(?:[A-Za-z][A-Za-z0-9_]*+|_[A-Za-z0-9_]++)"  # a name; "_" alone is a special parameter
_PLAIN = r"[A-Za-z0-9_./=:,@%+\-]"  # top-level text that no rule of check_word or command() looks at
_WORD = r"[A-Za-z0-9_./=:,@%+\- \t#]"  # an operator's word (read as unquoted: blanks, '#' are plain there)
_PATTERN = r"[A-Za-z0-9_.=:,@%+\- \t#]"  # ${V/p/r}'s p, which ends at '/'
_SIMPLE = re.compile(
    rf"(?:[ \t]|{_PLAIN}|\${_V}(?![A-Za-z0-9_])|\$\{{{_V}(?:\}}|(?::-|:\+|##|%%|-|\+|#|%){_WORD}*+\}}"
    rf"|/[/#%]?{_PATTERN}*+(?:/{_WORD}*+)?\}}))*+")
_REFERENCE = re.compile(rf"\$(?:\{{({_V})(:-|:\+|##|%%|//|-|\+|#|%|/[#%]?)?|({_V}))")


def command_references(command: str) -> tuple[VariableReference, ...]:
    """``parse_command(command).references``, read without building the words when the command is simple
    (see _SIMPLE); raises ``CommandSyntaxError`` as ``parse_command`` does."""
    if _SIMPLE.fullmatch(command) is None:
        return parse_command(command).references
    return tuple([VariableReference(m[1] or m[3], m[2], False, m.start()) for m in _REFERENCE.finditer(command)])

"""Safe, Bash-compatible expansion of a Seed manifest's ``interface.command``.

The command is never handed to a shell.  The runner expands it itself, against
the container-side environment, and passes the resulting words to the container
as its argv.  The words are exactly those that Bash 5.2 produces for::

    set -f; set -- <command>; printf '%s\\0' "$@"

that is: parameter expansion, word splitting of unquoted expansion results on
the default IFS (space, tab, newline), quote removal, and no pathname expansion.

Design
------
* ``parse_command`` does all the checking.  It turns the string into words, each
  a tuple of parts: ``_Lit`` (literal text, ``quoted`` when it came from quotes or
  a backslash) and ``_Param`` (a ``$V``/``${V...}`` reference whose operator words
  are parts again).  Anything we do not implement raises ``CommandSyntaxError``
  with a stable ``code`` and a one-line message, so a validator can report it
  without an environment.  ``expand_command`` on a parsed command cannot fail.
* Expansion yields *segments* ``(text, quoted)``.  Unquoted segments are split on
  IFS whitespace; quoted ones never are, and a quoted empty segment ("" or '')
  still makes a word, which is how Bash's quoted null strings behave.
* Patterns are built the way Bash builds them: quoted characters are
  backslash-escaped, unquoted ones (including text from unquoted variables) stay
  active.  The glob is translated to a cached ``re`` pattern that follows Bash's
  ``strmatch`` (``lib/glob/sm_loop.c``), and the match loops follow
  ``remove_pattern``/``pat_subst`` in ``subst.c``: ``#``/``%`` shortest, ``##``/``%%``
  longest, ``/`` leftmost-longest, an anchor ``#``/``%`` recognised *after* the
  pattern is expanded (a Bash extension), and ``&`` in the replacement standing
  for the match (``patsub_replacement``, on by default in 5.2).
* Characters are Unicode code points (Bash in a UTF-8 locale); POSIX classes
  such as ``[[:alpha:]]`` match ASCII characters only, and multi-character
  collating names (``[[.space.]]``) match nothing.  Splitting always uses the
  default IFS, whatever ``IFS`` the environment holds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Mapping, Union

__all__ = ["CommandSyntaxError", "VariableReference", "ParsedCommand", "parse_command", "expand_command"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
_IFS_RUN = re.compile(r"[ \t\n]+")
_SPECIAL = "@*#?$!-0123456789"
# Plain-text runs; each context stops at the characters it treats specially.
_TOP_RUN = re.compile(r"[^ \t\n'\"\\$`;|&<>()]+")
_DQ_RUN = re.compile(r"[^\"\\$`]+")
_DQWORD_RUN = re.compile(r"[^\"'\\$`}]+")
_UWORD_RUN = re.compile(r"[^'\"\\$`}/<>]+")
_NO_SHELL = "the command is not run by a shell"


class CommandSyntaxError(ValueError):
    """A command uses syntax the safe expander rejects; ``str(exc)`` is one line."""

    def __init__(self, code: str, position: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.position = position


@dataclass(frozen=True)
class VariableReference:
    name: str
    operator: str | None  # None, ":-", "-", ":+", "+", "/#", "/%", "/", "//", "#", "##", "%", "%%", "length"
    quoted: bool  # lexically inside double quotes
    position: int  # offset of the '$'


@dataclass(frozen=True, slots=True)
class _Lit:
    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class _Param:
    ref: VariableReference
    dq: bool  # the result is quoted (not split; literal in patterns)
    word: tuple[_Lit | _Param, ...] = ()  # operand of :- - :+ + or the pattern
    rep: tuple[_Lit | _Param, ...] | None = None  # replacement of / and //


_Part = Union[_Lit, _Param]
_LITERAL_DOLLAR = _Lit("$", False)  # an unquoted $ that starts no expansion


@dataclass(frozen=True, slots=True)
class _Word:
    parts: tuple[_Part, ...]
    split: bool  # False when a literal $ follows the last expansion (see _Parser.word)


@dataclass(frozen=True)
class ParsedCommand:
    source: str
    references: tuple[VariableReference, ...]
    words: tuple[_Word, ...]  # internal structure used by expand_command


def _fail(code: str, pos: int, what: str, fix: str) -> CommandSyntaxError:
    return CommandSyntaxError(code, pos, f"{what} at column {pos + 1} {fix}")


class _Parser:
    """Recursive descent over the quoting contexts Bash distinguishes."""

    def __init__(self, s: str) -> None:
        self.s = s
        self.n = len(s)
        self.refs: list[VariableReference] = []
        self.dq_depth = 0  # how many double-quoted regions enclose the cursor

    # ---- top level -------------------------------------------------------
    def command(self) -> tuple[_Word, ...]:
        s, n, i = self.s, self.n, 0
        words: list[_Word] = []
        while True:
            while i < n and (s[i] in " \t" or s.startswith("\\\n", i)):
                i += 2 if s[i] == "\\" else 1
            if i >= n:
                break
            if s[i] == "#":  # a comment runs to the end of the line
                nl = s.find("\n", i)
                if nl < 0:
                    break
                i = nl
            parts, bare, i = self.word(i)
            self.check_word(bare)
            # Bash splits a word only if its last unquoted top-level $ was an expansion:
            # a $ left alone (as in $V$%) resets the flag that asks for word splitting.
            last = next((p for p in reversed(parts) if p == _LITERAL_DOLLAR or type(p) is _Param and not p.dq), None)
            words.append(_Word(parts, last != _LITERAL_DOLLAR))
        return tuple(words)

    def word(self, i: int) -> tuple[tuple[_Part, ...], list[tuple[int, str]], int]:
        """One top-level word; also returns its unquoted literal text for the checks."""
        s, n = self.s, self.n
        parts: list[_Part] = []
        bare: list[tuple[int, str]] = []  # (position, text); "\0" marks any other part
        while i < n:
            c = s[i]
            if c in " \t":
                break
            if c == "\n" or c in ";|&()" or (c in "<>" and not s.startswith("(", i + 1)):
                shown = "newline" if c == "\n" else repr(c)
                raise _fail("shell-operator", i, f"shell operator {shown}", "is not allowed: "
                            f"{_NO_SHELL}; wrap it in sh -c '...' if you need one")
            m = _TOP_RUN.match(s, i)
            if m:
                parts.append(_Lit(m.group(), False))
                bare.append((i, m.group()))
                i = m.end()
                continue
            if c == "\\":
                if s.startswith("\n", i + 1):  # line continuation: removed
                    i += 2
                    continue
                parts.append(_Lit(s[i + 1:i + 2] or "\\", True))  # a final backslash is literal
                i += 2
            else:
                i = self.common(i, parts, dq=False, in_word=False)
            bare.append((i, "\0"))
        return tuple(parts), bare, i

    def common(self, i: int, parts: list[_Part], dq: bool, in_word: bool) -> int:
        """Quotes, ``$`` and the rejected substitutions, shared by unquoted contexts."""
        s, c = self.s, self.s[i]
        if c == "'":
            end = s.find("'", i + 1)
            if end < 0:
                raise _fail("unterminated-quote", i, "unterminated single quote", "is not closed: add the closing '")
            parts.append(_Lit(s[i + 1:end], True))
            return end + 1
        if c == '"':
            parts.append(_Lit("", True))  # "" still makes a word
            return self.dquote(i, parts)
        if c == "$":
            return self.dollar(i, parts, dq, dq_special=in_word)
        if c == "`":
            raise self.comsub(i, "`...`")
        if c in "<>":  # only reached when followed by "("
            raise _fail("process-substitution", i, f"process substitution {c}(...)", "is not allowed: "
                        f"{_NO_SHELL}; pass a file path as an input instead")
        raise AssertionError(c)

    def check_word(self, bare: list[tuple[int, str]]) -> None:
        """Reject tilde and brace expansion, which Bash would perform on this word."""
        if not any("~" in t or "{" in t for _, t in bare):
            return
        text = "".join(t for _, t in bare)
        pos = [p + k if t != "\0" else p for p, t in bare for k in range(len(t))]
        tilde = [k for k, ch in enumerate(text) if ch == "~" and
                 (k == 0 or (text[k - 1] in "=:" and _ASSIGNMENT.match(text)))]
        if tilde:
            raise _fail("unsupported-expansion", pos[tilde[0]], "tilde expansion ~", "is not supported: "
                        "write the path out in full, or quote the ~ ('~') to keep it literal")
        brace = re.search(r"\{[^}]*?(,|\.\.)[^{]*?\}", text)
        if brace:
            raise _fail("unsupported-expansion", pos[brace.start()], "brace expansion {...}", "is not supported: "
                        "write every word out, or quote the braces ('{a,b}') to keep them literal")

    # ---- quoting contexts --------------------------------------------------
    def dquote(self, start: int, parts: list[_Part], escapes: str | None = '$`"\\') -> int:
        """``"..."``: backslash escapes only $ ` " \\ and newline; ``escapes=None``:
        before any character (nested quotes in a double-quoted ``${V:-w}``)."""
        s, n, i = self.s, self.n, start + 1
        self.dq_depth += 1
        while i < n:
            c = s[i]
            if c == '"':
                self.dq_depth -= 1
                return i + 1
            m = _DQ_RUN.match(s, i)
            if m:
                parts.append(_Lit(m.group(), True))
                i = m.end()
            elif c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt == "\n":
                    i += 2
                elif nxt and (escapes is None or nxt in escapes):
                    parts.append(_Lit(nxt, True))
                    i += 2
                else:
                    parts.append(_Lit("\\", True))
                    i += 1
            elif c == "$":
                i = self.dollar(i, parts, dq=True, dq_special=False)
            else:
                raise self.comsub(i, "`...`")
        raise _fail("unterminated-quote", start, "unterminated double quote", 'is not closed: add the closing "')

    def uword(self, i: int, stops: str, dollar: int) -> tuple[tuple[_Part, ...], int]:
        """An operator word in unquoted mode: the word of ``${V:-w}`` outside double
        quotes, and every pattern and replacement (Bash expands those as if
        unquoted even inside double quotes).  Blanks and ; | & ( ) are plain text."""
        s, n = self.s, self.n
        parts: list[_Part] = []
        while True:
            if i >= n:
                raise self.unterminated(dollar)
            c = s[i]
            if c in stops:
                return tuple(parts), i
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if not nxt:
                    raise self.unterminated(dollar)
                if nxt != "\n":  # a line continuation is removed
                    parts.append(_Lit(nxt, True))
                i += 2
            elif c in "'\"$`" or (c in "<>" and s.startswith("(", i + 1)):
                i = self.common(i, parts, dq=False, in_word=True)
            else:
                m = _UWORD_RUN.match(s, i)
                text = m.group() if m else c
                if text[0] == "~" and not parts:
                    raise _fail("unsupported-expansion", i, "tilde expansion ~", "is not supported: "
                                "write the path out in full, or quote the ~ ('~') to keep it literal")
                parts.append(_Lit(text, False))
                i += len(text)

    def dqword(self, i: int, dollar: int) -> tuple[tuple[_Part, ...], int]:
        """The word of ``${V:-w}`` inside double quotes: like "..." but ending at }."""
        s, n = self.s, self.n
        parts: list[_Part] = []
        while True:
            if i >= n:
                raise self.unterminated(dollar)
            c = s[i]
            if c == "}":
                return tuple(parts), i
            m = _DQWORD_RUN.match(s, i)
            if m:
                parts.append(_Lit(m.group(), True))
                i = m.end()
            elif c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt == "\n":
                    i += 2
                elif nxt and nxt in '$`"\\}':
                    parts.append(_Lit(nxt, True))
                    i += 2
                else:
                    parts.append(_Lit("\\", True))
                    i += 1
            elif c == "'":
                # Bash matches these quotes when looking for } but keeps them literally.
                raise _fail("unsupported-expansion", i, "single quote inside a double-quoted ${...}",
                            "is not supported (Bash keeps it literally): use \"'\" or move the quotes outside")
            elif c == '"':
                # Bash strips these quotes first and, between them, drops every
                # backslash that would not escape in "..." (string_extract_double_quoted).
                i = self.dquote(i, parts, None)
            elif c == "$":
                i = self.dollar(i, parts, dq=True, dq_special=True)
            else:
                raise self.comsub(i, "`...`")

    # ---- expansions ----------------------------------------------------------
    def comsub(self, i: int, form: str) -> CommandSyntaxError:
        return _fail("command-substitution", i, f"command substitution {form}", "is not allowed: "
                     f"{_NO_SHELL}; pass the value as an input or setting")

    def unterminated(self, dollar: int) -> CommandSyntaxError:
        return _fail("bad-substitution", dollar, "unterminated ${", "has no closing }: add the }")

    def special(self, i: int, shown: str) -> CommandSyntaxError:
        return _fail("special-parameter", i, f"special parameter {shown}", "is not available: "
                     f"{_NO_SHELL}, so there are no positional or special parameters; use a named input or setting")

    def dollar(self, i: int, parts: list[_Part], dq: bool, dq_special: bool) -> int:
        """``$`` at ``i``; ``dq_special``: ``$'`` and ``$"`` would be ANSI-C/locale quotes here."""
        s = self.s
        c = s[i + 1:i + 2]
        if c == "{":
            return self.brace(i, parts, dq)
        if c and (c.isascii() and (c.isalpha() or c == "_")):
            name = _NAME.match(s, i + 1).group()
            end = i + 1 + len(name)
            if name == "_":
                raise self.special(i, "$_")
            if s.startswith("\\\n", end):
                raise _fail("unsupported-expansion", end, "line continuation after $" + name,
                            "is not supported: write ${" + name + "} or join the lines")
            parts.append(_Param(self.ref(name, None, i), dq))
            return end
        if c and c in _SPECIAL:
            raise self.special(i, "$" + c)
        if c == "(":
            if s.startswith("((", i + 1):
                raise _fail("arithmetic-expansion", i, "arithmetic expansion $((...))", "is not allowed: "
                            f"{_NO_SHELL}; compute the value before the job runs and pass it as an input")
            raise self.comsub(i, "$(...)")
        if c == "[":
            raise _fail("arithmetic-expansion", i, "arithmetic expansion $[...]", "is not allowed: "
                        f"{_NO_SHELL}; compute the value before the job runs and pass it as an input")
        if (c == "'" or c == '"') and (dq_special or not dq):
            kind = "ANSI-C quoting $'...'" if c == "'" else 'locale quoting $"..."'
            raise _fail("unsupported-expansion", i, kind, "is not supported: use plain '...' or \"...\" quotes")
        if c == "\\" and s.startswith("\n", i + 2):
            raise _fail("unsupported-expansion", i, "line continuation after $", "is not supported: join the lines")
        parts.append(_Lit("$", dq))  # Bash leaves such a $ alone (_LITERAL_DOLLAR when unquoted)
        return i + 1

    def ref(self, name: str, op: str | None, pos: int) -> VariableReference:
        ref = VariableReference(name, op, self.dq_depth > 0, pos)
        self.refs.append(ref)
        return ref

    def brace(self, i: int, parts: list[_Part], dq: bool) -> int:
        s, n = self.s, self.n
        j = i + 2
        c = s[j:j + 1]
        if not c:
            raise self.unterminated(i)
        if c == "#" and s[j + 1:j + 2] not in ("}", ""):  # ${#V}
            m = _NAME.match(s, j + 1)
            if m and s.startswith("}", m.end()) and m.group() != "_":
                parts.append(_Param(self.ref(m.group(), "length", i), dq))
                return m.end() + 1
            if not m and s[j + 1] in _SPECIAL:
                raise self.special(i, "${#" + s[j + 1] + "}")
            raise self.bad(i)
        if c == "!":
            if s.startswith("}", j + 1):
                raise self.special(i, "${!}")
            raise _fail("unsupported-expansion", i, "indirect expansion ${!...}", "is not supported: "
                        "refer to the variable by its name")
        if c in _SPECIAL:
            k = j + 1
            while c.isdigit() and k < n and s[k].isdigit():
                k += 1
            if s[k:k + 1] and s[k] in "}:-+=?#%/^,@[":
                raise self.special(i, "${" + s[j:k] + "}" if s[k] == "}" else "$" + s[j:k])
            raise self.bad(i)
        m = _NAME.match(s, j)
        if not m:
            raise self.bad(i)
        name, k = m.group(), m.end()
        if name == "_":
            raise self.special(i, "${_}")
        op = self.operator(i, k)
        ref = self.ref(name, op[0], i)
        k += op[1]
        if op[0] is None:
            parts.append(_Param(ref, dq))
            return k + 1
        if op[0] in (":-", "-", ":+", "+"):
            word, k = self.dqword(k, i) if dq else self.uword(k, "}", i)
            rep = None
        elif op[0] in ("#", "##", "%", "%%"):
            word, k = self.uword(k, "}", i)
            rep = None
        else:  # pattern substitution; the pattern ends at the first unquoted /
            lead = s.startswith("/", k) and op[0] == "//"  # ${V///x}: the pattern is "/"
            word, k = self.uword(k + lead, "}/", i)
            word = (_Lit("/", False),) + word if lead else word
            rep = None
            if s[k] == "/":
                rep, k = self.uword(k + 1, "}", i)
        parts.append(_Param(ref, dq, word, rep))
        return k + 1

    def operator(self, dollar: int, k: int) -> tuple[str | None, int]:
        """The operator after the name at ``k``: (operator, its length)."""
        s = self.s
        two, one = s[k:k + 2], s[k:k + 1]
        if one == "}":
            return None, 0
        if two in (":-", ":+", "##", "%%", "//"):
            return two, 2
        if one in ("-", "+", "#", "%"):
            return one, 1
        if one == "/":
            return "/" + s[k + 1] if s[k + 1:k + 2] in ("#", "%") else "/", 1
        unsupported = {":=": "assignment ${V:=...}", "=": "assignment ${V=...}", ":?": "error check ${V:?...}",
                       "?": "error check ${V?...}", "^": "case modification ${V^...}", ",": "case modification ${V,...}",
                       "@": "transformation ${V@...}", "[": "array subscript ${V[...]}", ":": "substring ${V:...}"}
        what = unsupported.get(two) or unsupported.get(one)
        if what:
            raise _fail("unsupported-expansion", dollar, what, "is not supported: use $V, ${V:-w}, ${V-w}, "
                        "${V:+w}, ${V+w}, ${V#p}, ${V%p}, ${V/p/r} or ${#V}")
        if s.startswith("\\\n", k):
            raise _fail("unsupported-expansion", k, "line continuation inside ${...}", "is not supported: join the lines")
        if k >= self.n:
            raise self.unterminated(dollar)
        raise self.bad(dollar)

    def bad(self, dollar: int) -> CommandSyntaxError:
        end = self.s.find("}", dollar)
        shown = self.s[dollar:end + 1] if 0 <= end - dollar < 40 else self.s[dollar:dollar + 12] + "..."
        return _fail("bad-substitution", dollar, f"bad substitution {shown}", "is malformed: write ${NAME} or "
                     "${NAME<op>word}, with NAME made of letters, digits and _ and not starting with a digit")


def parse_command(command: str) -> ParsedCommand:
    """Parse and check ``command``; raises ``CommandSyntaxError`` for anything unsupported."""
    parser = _Parser(command)
    words = parser.command()
    return ParsedCommand(command, tuple(parser.refs), words)


def expand_command(command: str | ParsedCommand, env: Mapping[str, str]) -> list[str]:
    """The argv words for ``command`` with the variables of ``env`` (absent = unset)."""
    parsed = parse_command(command) if isinstance(command, str) else command
    out: list[str] = []
    for word in parsed.words:
        segments: list[tuple[str, bool]] = []
        _expand(word.parts, env, segments)
        if word.split:
            _split(segments, out)
        else:
            out.append("".join(text for text, _ in segments))
    return out


# ---- expansion ------------------------------------------------------------------

def _expand(parts: tuple[_Part, ...], env: Mapping[str, str], out: list[tuple[str, bool]]) -> None:
    for part in parts:
        if type(part) is _Lit:
            out.append((part.text, part.quoted))
            continue
        op, value = part.ref.operator, env.get(part.ref.name)
        if op is None:
            out.append((value or "", part.dq))
        elif op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                _expand(part.word, env, out)
            else:
                out.append((value, part.dq))
        elif op in (":+", "+"):
            if value is not None and (op == "+" or value != ""):
                _expand(part.word, env, out)
        elif op == "length":
            out.append((str(len(value or "")), part.dq))
        elif value is None:  # removal and substitution on an unset variable give nothing
            out.append(("", part.dq))
        elif part.rep is None and op[0] in "#%":
            out.append((_remove(value, _pattern(part.word, env), op), part.dq))
        else:
            out.append((_substitute(value, _pattern(part.word, env), part.rep, env, op == "//"), part.dq))


def _split(segments: list[tuple[str, bool]], out: list[str]) -> None:
    """Bash word splitting with the default IFS; quoted segments, even empty ones, are content."""
    field: list[str] = []
    content = False
    for text, quoted in segments:
        if quoted:
            field.append(text)
            content = True
            continue
        pieces = _IFS_RUN.split(text)
        if pieces[0]:
            field.append(pieces[0])
            content = True
        for piece in pieces[1:]:  # every piece after the first follows a delimiter
            if content:
                out.append("".join(field))
            field, content = ([piece], True) if piece else ([], False)
    if content:
        out.append("".join(field))


def _pattern(parts: tuple[_Part, ...], env: Mapping[str, str]) -> str:
    """The glob source, as Bash builds it: quoted characters backslash-escaped."""
    segments: list[tuple[str, bool]] = []
    _expand(parts, env, segments)
    return "".join(re.sub(r"(?s)(.)", r"\\\1", t) if q else t for t, q in segments)


def _remove(value: str, source: str, op: str) -> str:
    if not source:
        return value
    match = _glob(source).fullmatch
    n = len(value)
    if op[0] == "#":  # shortest (or longest, ##) matching prefix
        for j in (range(n, -1, -1) if op == "##" else range(n + 1)):
            if match(value, 0, j):
                return value[j:]
    else:  # shortest (or longest, %%) matching suffix
        for j in (range(n + 1) if op == "%%" else range(n, -1, -1)):
            if match(value, j):
                return value[:j]
    return value


def _substitute(value: str, source: str, rep_parts: tuple[_Part, ...] | None, env: Mapping[str, str],
                every: bool) -> str:
    """``${V/pat/rep}`` following Bash's pat_subst."""
    rep = _replacement(rep_parts or (), env)
    anchor = ""
    if not every and source[:1] in ("#", "%"):  # anchors are looked for after expansion, as Bash does
        anchor, source = source[0], source[1:]
    if not source:
        if not anchor:
            return value
        return _render(rep, "") + value if anchor == "#" else value + _render(rep, "")
    regex = _glob(source)
    n = len(value)
    if n == 0:
        return _render(rep, "") if regex.fullmatch("") else ""
    if anchor == "#":  # longest matching prefix
        for j in range(n, -1, -1):
            if regex.fullmatch(value, 0, j):
                return _render(rep, value[:j]) + value[j:]
        return value
    if anchor == "%":  # longest matching suffix
        for j in range(n + 1):
            if regex.fullmatch(value, j):
                return value[:j] + _render(rep, value[j:])
        return value
    out: list[str] = []
    pos = 0
    while pos < n:
        m = regex.search(value, pos)  # leftmost start ...
        if not m:
            break
        start, end = m.start(), m.end()
        for j in range(n, end, -1):  # ... and the longest match there
            if regex.fullmatch(value, start, j):
                end = j
                break
        out.append(value[pos:start])
        out.append(_render(rep, value[start:end]))
        pos = end
        if not every:
            break
        if start == end:  # an empty match: copy one character to make progress
            out.append(value[pos:pos + 1])
            pos += 1
    out.append(value[pos:])
    return "".join(out)


def _replacement(parts: tuple[_Part, ...], env: Mapping[str, str]) -> list[str | None]:
    """Replacement pieces; ``None`` stands for the matched text.  Bash escapes quoted
    ``&`` and ``\\`` with a backslash, then ``\\&`` is ``&``, ``\\\\`` is ``\\`` and ``&`` the match."""
    segments: list[tuple[str, bool]] = []
    _expand(parts, env, segments)
    text = "".join(re.sub(r"([&\\])", r"\\\1", t) if q else t for t, q in segments)
    pieces: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            pieces.append(None)
        elif c == "\\" and text[i + 1:i + 2] in ("&", "\\"):
            i += 1
            pieces.append(text[i])
        else:
            pieces.append(c)
        i += 1
    return pieces


def _render(pieces: list[str | None], matched: str) -> str:
    return "".join(matched if p is None else p for p in pieces)


# ---- glob patterns -------------------------------------------------------------

_CLASSES = {
    "alpha": "A-Za-z", "upper": "A-Z", "lower": "a-z", "digit": "0-9", "xdigit": "0-9A-Fa-f",
    "alnum": "0-9A-Za-z", "word": "0-9A-Za-z_", "space": " \\t\\n\\r\\f\\v", "blank": " \\t",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), "cntrl": "\\x00-\\x1f\\x7f",
    "print": " -~", "graph": "!-~",
}


@functools.lru_cache(maxsize=512)
def _glob(source: str) -> re.Pattern[str]:
    """Compile a Bash glob (backslash escapes, ``*``, ``?``, ``[...]``) to a regex."""
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        i += 1
        if c == "\\":
            out.append(re.escape(source[i] if i < n else "\\"))  # a final backslash matches itself
            i += 1
        elif c == "*":
            if not out or out[-1] != ".*":
                out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[" and (bracket := _bracket(source, i)):
            out.append(bracket[0])
            i = bracket[1]
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def _subbracket(source: str, i: int) -> int:
    """End of ``[:name:]``/``[=c=]``/``[.c.]`` whose type character is at ``i``, or -1."""
    kind = source[i]
    j = i + 1
    while j < len(source) and not (kind != "." and source[j] == "]"):
        if source[j] == kind and source.startswith("]", j + 1):
            return j
        j += 1
    return -1


def _bracket(source: str, i: int) -> tuple[str, int] | None:
    """A bracket expression starting after the ``[`` at ``i - 1``, as Bash's BRACKMATCH
    reads it: (regex, index after ``]``), or None when unterminated (then ``[`` is literal)."""
    n = len(source)
    negate = source[i:i + 1] in ("!", "^")
    i += negate
    members: list[str] = []
    first = True
    while True:
        if i >= n:
            return None
        c = source[i]
        i += 1
        if c == "]" and not first:
            break
        first = False
        start: str | None = c
        if c == "[" and source[i:i + 1] in (":", "=", ".") and (close := _subbracket(source, i)) >= 0:
            kind, name = source[i], source[i + 1:close]
            i = close + 2
            if kind == ":":
                members.append(_CLASSES.get(name, ""))  # an unknown class matches nothing
                continue
            start = name if len(name) == 1 else None  # multi-character names match nothing
            if kind == "=":
                members.append(re.escape(start) if start else "")
                continue
        elif c == "\\":
            if i >= n:
                return None
            start = source[i]
            i += 1
        if source.startswith("-", i) and i + 1 < n and source[i + 1] != "]":
            end: str | None = source[i + 1]
            i += 2
            if end == "\\":
                if i >= n:
                    return None
                end = source[i]
                i += 1
            elif end == "[" and source.startswith(".", i) and (close := _subbracket(source, i)) >= 0:
                name = source[i + 1:close]
                end = name if len(name) == 1 else None
                i = close + 2
            if start is not None and end is not None and start <= end:
                members.append(re.escape(start) + "-" + re.escape(end))
        elif start is not None:
            members.append(re.escape(start))
    body = "".join(members)
    if not body:
        return ("(?s:.)" if negate else "(?!)"), i
    return ("[^" if negate else "[") + body + "]", i

"""Differential tests: seed_runner.runtime.command against the real Bash (/bin/bash is the oracle).

Commands are generated from a grammar of the supported constructs and run by Bash as
``set -f; set -- <command>`` (through ``eval`` so that a trailing comment or backslash
behaves as at the end of a string).  Many cases share one Bash process: each runs in
its own subshell that assigns only that case's variables, and prints its word count
followed by the words, NUL-separated.
"""

from __future__ import annotations

import functools
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed_runner.runtime.command import CommandSyntaxError, expand_command, parse_command

BASH = "/bin/bash"
NAMES = ("V_A", "V_B", "V_C", "V_D")  # prefixed so that no name clashes with Bash's own variables


def sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def run_bash(cases: list[tuple[str, dict[str, str]]], locale: dict[str, str] | None = None) -> list[list[str] | None]:
    """The words Bash produces for each (command, variables); None when Bash failed."""
    script = ["set -f"]
    for command, env in cases:
        assigns = "".join(f"{name}={sh_quote(value)}; " for name, value in env.items())
        script.append(f"( {assigns}eval {sh_quote('set -- ' + command)} && printf '%s\\0' \"$#\" \"$@\" )"
                      "; printf 'END%s\\0' \"$?\"")
    # The script goes through stdin (no argument size limit); env holds only what the
    # caller passes, so nothing from this process's environment reaches Bash.
    done = subprocess.run([BASH, "--norc", "--noprofile", "-s"], input="\n".join(script).encode(),
                          env=locale or {}, capture_output=True, timeout=120)
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    results: list[list[str] | None] = []
    i = 0
    for _ in cases:
        if fields[i].startswith("END"):  # eval failed: no words were printed
            results.append(None)
            i += 1
            continue
        count = int(fields[i])
        results.append(fields[i + 1:i + 1 + count])
        i += 1 + count
        assert fields[i] == "END0", fields[i]
        i += 1
    return results


# ---- the grammar -------------------------------------------------------------------------

VALUE_CHARS = "ab  \t\n*?[]!^-\\\"'&/#%:}{,.~$x"
values = st.text(alphabet=VALUE_CHARS, max_size=8)
envs = st.dictionaries(st.sampled_from(NAMES), values, max_size=len(NAMES))
names = st.sampled_from(NAMES)

BARE_TOP = "abcXYZ019-_.:=@%+/*?[]!^},"  # no { ~ # (brace, tilde, comment) at top level
BARE_RHS = "ab \t*?[]!^-_.,:=@%+#&;|(){"  # inside ${...}: blanks and operators are plain text
BARE_PAT = "ab *?[]!^-.#%&"
BRACKETS = ("[[:alpha:]]", "[![:space:]]", "[[:punct:]a]", "[[:foo:]]", "[[=a=]b]", "[[.a.]-c]", "[a-c]", "[c-a]",
            "[!a]", "[^ab]", "[]a]", "[!]]", "[a-]", "[\\]a]", "[a", "[[:alpha:]", "*[ab]?", "\\[a]", "[*?]")
NOT_EXPANDING = "%=,/.:^]+"  # a $ before these stays literal
ESCAPABLE = "ab $\"'\\&;|{}~#*?[]/\t\n"


def text(chars: str, min_size: int = 1) -> st.SearchStrategy[str]:
    return st.text(alphabet=chars, min_size=min_size, max_size=4)


def single_quoted() -> st.SearchStrategy[str]:
    return st.text(alphabet="ab $\"\\{}~#&*\t\n/", max_size=4).map(lambda t: f"'{t}'")


def escaped(chars: str = ESCAPABLE) -> st.SearchStrategy[str]:
    return st.sampled_from(chars).map(lambda c: "\\" + c)


@functools.cache
def expansion(ctx: str, depth: int) -> st.SearchStrategy[str]:
    """``$V`` and every supported ``${...}`` form.  ``ctx``: "unquoted", "dq" (inside
    "..."), or "glue" (inside the word of a double-quoted ${V:-w}, where Bash strips
    the quotes before expanding, so $V"x" would become $Vx: only ${V} there)."""
    simple = st.one_of(names.map(lambda n: "${%s}" % n), names.map(lambda n: "${#%s}" % n),
                       *([names.map(lambda n: "$" + n)] if ctx != "glue" else []))
    if depth == 0:
        return simple
    rhs = u_word(depth - 1, BARE_RHS + "/") if ctx == "unquoted" else dq_word(depth - 1)
    pattern = u_word(depth - 1, BARE_PAT, BRACKETS)
    replacement = u_word(depth - 1, BARE_PAT + "/")
    return st.one_of(
        simple,
        st.tuples(names, st.sampled_from([":-", "-", ":+", "+"]), rhs).map(lambda t: "${%s%s%s}" % t),
        st.tuples(names, st.sampled_from(["#", "##", "%", "%%"]), pattern).map(lambda t: "${%s%s%s}" % t),
        st.tuples(names, st.sampled_from(["/", "//", "/#", "/%"]), pattern, st.none() | replacement).map(
            lambda t: "${%s%s%s}" % t[:3] if t[3] is None else "${%s%s%s/%s}" % t),
    )


@functools.cache
def u_word(depth: int, bare: str, extra: tuple[str, ...] = ("",)) -> st.SearchStrategy[str]:
    """An operator word read as unquoted text (patterns, replacements, unquoted ${V:-w})."""
    piece = st.one_of(text(bare), single_quoted(), escaped(), dq_string(depth, False), expansion("unquoted", depth),
                      st.sampled_from(NOT_EXPANDING).map(lambda c: "$" + c), st.sampled_from(extra))
    return st.lists(piece, max_size=3).map("".join)


@functools.cache
def dq_word(depth: int) -> st.SearchStrategy[str]:
    """The word of a double-quoted ${V:-w}: like "..." but \\} is an escape too."""
    piece = st.one_of(text("ab \t*?&#{/\n"), escaped(ESCAPABLE.replace("'", "")), dq_string(depth, True),
                      expansion("glue", depth), st.just("\\}"))
    return st.lists(piece, max_size=3).map("".join)


@functools.cache
def dq_string(depth: int, glue: bool) -> st.SearchStrategy[str]:
    piece = st.one_of(text("ab \t*?&#{}/'~\n"), escaped(), expansion("glue" if glue else "dq", depth),
                      st.sampled_from(["$%", "$'", "$/"]))
    return st.lists(piece, max_size=3).map(lambda ps: '"' + "".join(ps) + '"')


def top_word(depth: int = 2) -> st.SearchStrategy[str]:
    piece = st.one_of(text(BARE_TOP), single_quoted(), escaped(), dq_string(depth, False),
                      expansion("unquoted", depth), st.sampled_from(NOT_EXPANDING).map(lambda c: "$" + c),
                      st.just("\\\n"))
    # A line continuation right after $NAME would extend the name (the parser rejects that): brace it.
    brace = functools.partial(re.sub, r"\$(V_[A-D]\w*)(?=\\\n)", r"${\1}")
    return st.lists(piece, min_size=1, max_size=4).map(lambda ps: brace("".join(ps)))


blanks = st.text(alphabet=" \t", min_size=1, max_size=2)


@st.composite
def word_lists(draw: st.DrawFn) -> list[tuple[str, str]]:
    """(blanks, word) pairs; a composite, so that Hypothesis never prints the huge grammar."""
    return draw(st.lists(st.tuples(blanks, top_word()), min_size=1, max_size=4))


comments = st.sampled_from(["", " #", " # $(x) ${ 'unclosed", "\t#c"])
commands = st.tuples(word_lists(), comments).map(lambda t: "".join(b + w for b, w in t[0]).lstrip(" \t") + t[1])


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(commands, envs), min_size=1, max_size=25))
def test_expansion_matches_bash(cases: list[tuple[str, dict[str, str]]]) -> None:
    expected = run_bash(cases)
    for (command, env), want in zip(cases, expected):
        parse_command(command)  # the grammar only produces supported syntax
        assert want is not None, f"bash rejected {command!r}"
        assert expand_command(command, env) == want, (command, env)


# ---- rejected syntax ---------------------------------------------------------------------

FORBIDDEN = {  # construct: code; never run through Bash (some would execute something)
    "$(echo x)": "command-substitution", "`echo x`": "command-substitution", '"$(x)"': "command-substitution",
    "$((1+2))": "arithmetic-expansion", "$[1+2]": "arithmetic-expansion",
    "<(x)": "process-substitution", ">(x)": "process-substitution",
    "${V_A:=w}": "unsupported-expansion", "${V_A=w}": "unsupported-expansion", "${V_A:?w}": "unsupported-expansion",
    "${V_A?w}": "unsupported-expansion", "${V_A:1}": "unsupported-expansion", "${!V_A}": "unsupported-expansion",
    "${V_A^}": "unsupported-expansion", "${V_A,,}": "unsupported-expansion", "${V_A@Q}": "unsupported-expansion",
    "$'x'": "unsupported-expansion", "{a,b}": "unsupported-expansion", "{1..3}": "unsupported-expansion",
    ";": "shell-operator", "|": "shell-operator", "&": "shell-operator", "&&": "shell-operator",
    ">": "shell-operator", "<": "shell-operator", "(": "shell-operator", ")": "shell-operator",
    "\n": "shell-operator", "$1": "special-parameter", "${10}": "special-parameter", "$@": "special-parameter",
    "$*": "special-parameter", "$#": "special-parameter", "$?": "special-parameter", "$$": "special-parameter",
    "$!": "special-parameter", "$-": "special-parameter", "$0": "special-parameter",
}


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(word_lists(), st.sampled_from(sorted(FORBIDDEN)), st.data())
def test_forbidden_constructs_are_rejected_where_they_start(words: list[tuple[str, str]], construct: str,
                                                            data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(words) - 1))
    before = "".join(b + w for b, w in words[:at + 1]).lstrip(" \t")
    command = before + construct + " " + "".join(b + w for b, w in words[at + 1:])
    with pytest.raises(CommandSyntaxError) as caught:
        parse_command(command)
    where = len(before) + construct.startswith('"')  # the $ of "$(x)"
    assert (caught.value.code, caught.value.position) == (FORBIDDEN[construct], where), command


MALFORMED = ["${", "${V_A", "${V_A:-x", "${}", "${ V_A}", "${V_A }", "${V_A;}", "${-i :x}", "${#V_A:-x}", "${1a}",
             "${V_A:}", "${V_A/", "'abc", '"abc', '"${V_A}', "${V_A:-'x}"]


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(word_lists(), st.sampled_from(MALFORMED), envs), min_size=1, max_size=10))
def test_what_bash_rejects_is_rejected(cases: list[tuple[list[tuple[str, str]], str, dict[str, str]]]) -> None:
    # The malformed piece ends the command, so no later quote or brace can close it.
    commands = [("".join(b + w for b, w in words).lstrip(" \t") + " " + bad, env) for words, bad, env in cases]
    for (command, _), words in zip(commands, run_bash(commands)):
        assert words is None, f"bash accepted {command!r}"  # bad substitution or unexpected EOF
        with pytest.raises(CommandSyntaxError):
            parse_command(command)


def test_unicode_values_match_bash_in_a_utf8_locale() -> None:
    env = {"V_A": "héllo wörld", "V_B": "ü", "V_C": "ß€\U0001d11e"}
    commands = ["${#V_A} ${#V_C}", "${V_A#h?} ${V_A%%w*}", "${V_A//[é]/e}", '"${V_A/ö/&&}"', "${V_B/?/x}",
                "${V_C//?/.}", "${V_C/[€-\U0001d11e]/-}", "${V_A//[!a-z]/_}", '"$V_A" $V_A']
    results = run_bash([(command, env) for command in commands], {"LC_ALL": "C.UTF-8"})
    for command, want in zip(commands, results):
        assert want is not None and expand_command(command, env) == want, command

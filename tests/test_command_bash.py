"""Differential tests: seed_runner.command against the real Bash (/bin/bash is the oracle).

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

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seed_runner.command import CommandSyntaxError, expand_command, parse_command

BASH = "/bin/bash"
NAMES = ("V_A", "V_B", "V_C", "V_D")  # prefixed so that no name clashes with Bash's own variables


def sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def run_bash(cases: list[tuple[str, dict[str, str]]]) -> list[list[str] | None]:
    """The words Bash produces for each (command, variables); None when Bash failed."""
    script = ["set -f"]
    for command, env in cases:
        assigns = "".join(f"{name}={sh_quote(value)}; " for name, value in env.items())
        script.append(f"( {assigns}eval {sh_quote('set -- ' + command)} && printf '%s\\0' \"$#\" \"$@\" )"
                      "; printf 'END%s\\0' \"$?\"")
    # Only the case variables: nothing from this process's environment reaches Bash.
    done = subprocess.run([BASH, "--norc", "--noprofile", "-c", "\n".join(script)], env={},
                          capture_output=True, timeout=120)
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


def escaped() -> st.SearchStrategy[str]:
    return st.sampled_from(ESCAPABLE).map(lambda c: "\\" + c)


@functools.cache
def expansion(dq: bool, depth: int) -> st.SearchStrategy[str]:
    """``$V`` and every supported ``${...}`` form, in double quotes when ``dq``."""
    simple = st.one_of(names.map(lambda n: "$" + n), names.map(lambda n: "${%s}" % n),
                       names.map(lambda n: "${#%s}" % n))
    if depth == 0:
        return simple
    rhs = dq_word(depth - 1) if dq else u_word(depth - 1, BARE_RHS + "/")
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
    """An operator word parsed as unquoted text (patterns, replacements, unquoted ${V:-w})."""
    piece = st.one_of(text(bare), single_quoted(), escaped(), dq_string(depth), expansion(False, depth),
                      st.sampled_from(NOT_EXPANDING).map(lambda c: "$" + c), st.sampled_from(extra))
    return st.lists(piece, max_size=3).map("".join)


@functools.cache
def dq_word(depth: int) -> st.SearchStrategy[str]:
    """The word of a double-quoted ${V:-w}: like "..." but \\} is an escape too."""
    piece = st.one_of(text("ab \t*?&#{/\n"), escaped().filter(lambda e: e[1] != "'"), dq_string(depth),
                      expansion(True, depth), st.just("\\}"))
    return st.lists(piece, max_size=3).map("".join)


@functools.cache
def dq_string(depth: int) -> st.SearchStrategy[str]:
    piece = st.one_of(text("ab \t*?&#{}/'~\n"), escaped(), expansion(True, depth),
                      st.sampled_from(["$%", "$'", "$/"]))
    return st.lists(piece, max_size=3).map(lambda ps: '"' + "".join(ps) + '"')


def top_word(depth: int = 2) -> st.SearchStrategy[str]:
    piece = st.one_of(text(BARE_TOP), single_quoted(), escaped(), dq_string(depth), expansion(False, depth),
                      st.sampled_from(NOT_EXPANDING).map(lambda c: "$" + c), st.just("\\\n"))
    # A line continuation right after $NAME would extend the name; the parser rejects that.
    return st.lists(piece, min_size=1, max_size=4).map("".join).filter(lambda w: not re.search(r"\$V_[A-D]\w*\\\n", w))


blanks = st.text(alphabet=" \t", min_size=1, max_size=2)
commands = st.tuples(
    st.lists(st.tuples(blanks, top_word()), min_size=1, max_size=4),
    st.sampled_from(["", " #", " # $(x) ${ 'unclosed", "\t#c"]),
).map(lambda t: "".join(b + w for b, w in t[0]).lstrip(" \t") + t[1])


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(commands, envs), min_size=1, max_size=25))
def test_expansion_matches_bash(cases: list[tuple[str, dict[str, str]]]) -> None:
    expected = run_bash(cases)
    for (command, env), want in zip(cases, expected):
        parse_command(command)  # the grammar only produces supported syntax
        assert want is not None, f"bash rejected {command!r}"
        assert expand_command(command, env) == want, (command, env)
